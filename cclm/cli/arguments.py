"""What every `cclm` parser shares: help that shows defaults, and input paths checked while parsing.

Paths are checked by argparse itself (their `type=`), so a missing model or
data file is one usage line and exit code 2 before any TensorFlow import.
A command that needs TensorFlow says so with `needs_tensorflow(parser)`;
`cclm.cli.main` imports it (quietly) only for those. Importing this module
imports no TensorFlow.

Example:
>>> parser = CommandParser(prog="cclm x")
>>> _ = parser.add_argument("--epochs", type=int, default=3, help="passes over the data")
>>> "passes over the data (default: 3)" in parser.format_help()
True
>>> component_source("shelf:starter@1.1.0")
'shelf:starter@1.1.0'
"""

from __future__ import annotations

import argparse
from pathlib import Path

REFERENCE_PREFIXES = ("shelf:", "hf://")  # sources that name a component elsewhere, checked when fetched


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless it says its default itself or has none worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        default = action.default
        if (
            "default" in help or default is None or default is False or default == argparse.SUPPRESS
            or not action.option_strings or isinstance(action, argparse._HelpAction)
        ):
            return help
        return f"{help} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose help shows defaults; its subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def needs_tensorflow(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Marks a command whose work imports TensorFlow, so `cclm` imports it quietly first."""
    parser.set_defaults(needs_tensorflow=True)
    return parser


def existing_path(value: str) -> str:
    """An argparse `type`: `value` if a file or directory is there, else a usage error naming it."""
    if not Path(value).exists():
        raise argparse.ArgumentTypeError(f"{value} does not exist")
    return value


def component_source(value: str) -> str:
    """An argparse `type`: a shelf or Hub reference as given, or an existing component directory."""
    if value.startswith(REFERENCE_PREFIXES):
        return value
    if not Path(value).exists():
        raise argparse.ArgumentTypeError(
            f"{value} does not exist; give a saved component directory or shelf:NAME[@VERSION]"
        )
    return value
