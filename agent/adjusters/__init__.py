"""Adjusters: turn a situation into a bounded, structured change of its baseline (none, analog, carry, llm)."""
