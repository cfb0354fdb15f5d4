"""The answer: baseline + trusted adjustment → the forecast shown and scored, its bounds, steps and warnings."""
