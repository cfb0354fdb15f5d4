"""python -m agent: the trendcast CLI."""
from agent.cli import main

main()
