"""The command line: thin commands over the engine API, console rendering."""
