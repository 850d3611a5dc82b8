"""The subcommands of `ebookserver`, by subject (ebookserver/cli.py puts them together)."""
