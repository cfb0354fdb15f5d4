"""python -m agent: the trendcast CLI."""
from agent.cli import main

if __name__ == "__main__":  # spawned report/eval workers re-import this module
    main()
