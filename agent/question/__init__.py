"""The question: what an analyst typed → a category (resolve) and a horizon (parse)."""
