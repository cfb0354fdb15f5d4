"""Evidence: dated documents retrieved as of a date, and the ones that read like instructions to a model."""
