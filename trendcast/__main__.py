"""python -m trendcast: the trendcast CLI."""
from trendcast.agent.cli.main import main

if __name__ == "__main__":  # spawned report/eval workers re-import this module
    main()
