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
import sys
from pathlib import Path
from typing import Any

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


def _checked(value: str, *checks: Any) -> str:
    from cclm.components.files import check_writable  # plain Python: no TensorFlow

    try:
        for check in (check_writable, *checks):
            check(value)
    except OSError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def output_component(value: str) -> str:
    """An argparse `type`: a path `save` would write a component to, checked before any work (a usage error if not)."""
    from cclm.components.files import check_component_target

    return _checked(value, check_component_target)


def output_directory(value: str) -> str:
    """An argparse `type`: a directory to write files under (new, or an existing directory), checked first."""
    def is_directory(path: str) -> None:
        if Path(path).exists() and not Path(path).is_dir():
            raise FileExistsError(f"{path} exists and is not a directory.")

    return _checked(value, is_directory)


def output_file(value: str) -> str:
    """An argparse `type`: a file to write (new, or an existing file to replace), checked first."""
    def not_directory(path: str) -> None:
        if Path(path).is_dir():
            raise IsADirectoryError(f"{path} is a directory; give a file name.")

    return _checked(value, not_directory)


def positive_int(value: str) -> int:
    """An argparse `type`: an int >= 1 (a count: epochs, widths, layers, batch sizes)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not an int >= 1")
    return number


def positive_float(value: str) -> float:
    """An argparse `type`: a finite float > 0 (a learning rate)."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise argparse.ArgumentTypeError(f"{value} is not a finite number > 0")
    return number


def stdin_lines() -> list[str]:
    """Standard input's lines, split at line ends alone, as a text file is read (not at U+2028 or form feeds)."""
    lines = sys.stdin.read().split("\n")
    if lines[-1] == "":
        lines.pop()  # the last line's end
    return [line.removesuffix("\r") for line in lines]


def component_source(value: str) -> str:
    """An argparse `type`: a shelf or Hub reference as given, or an existing component directory."""
    if value.startswith(REFERENCE_PREFIXES):
        return value
    if not Path(value).exists():
        raise argparse.ArgumentTypeError(
            f"{value} does not exist; give a saved component directory or shelf:NAME[@VERSION]"
        )
    return value
