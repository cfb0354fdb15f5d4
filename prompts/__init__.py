"""Versioned prompt templates (YAML data files) and what they are rendered from."""
from trendcast.prompts.blind import blind_context, shift_years
from trendcast.prompts.context import Evidence, FewShotExample, PromptContext
from trendcast.prompts.examples import outcome_answer_json
from trendcast.prompts.spec import PromptError, PromptSpec, list_prompts, load_prompt

__all__ = [
    "Evidence", "FewShotExample", "PromptContext", "PromptError", "PromptSpec", "blind_context", "list_prompts",
    "load_prompt", "outcome_answer_json", "shift_years",
]
