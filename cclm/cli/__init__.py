"""The `cclm` command line; `main` is its entry point. Nothing in the library imports it."""

from cclm.cli.main import main

__all__ = ["main"]
