"""The one error reporter of the `cclm` command: a known failure is one stderr line and exit code 2.

Errors that the user can fix (a bad value, a missing or damaged file, an
unknown shelf version, a missing extra) print `cclm COMMAND: message`, with
the message that names the value and the fix; anything else is a bug and
keeps its traceback. Importing this module imports no TensorFlow.

Example:
>>> import argparse
>>> def fails(args):
...     raise ValueError("epochs=-1; use a positive int.")
>>> reporting_errors(fails)(argparse.Namespace(command="pretrain", subcommand="mlm"))
2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from cclm.cli.terminal import printable
from cclm.errors import CatalogError, ComponentError, DataFileError, ShelfError

REPORTED = (
    ComponentError, DataFileError, ShelfError, CatalogError,
    ValueError, TypeError, OSError, ImportError,
)
"""The failures a user can fix; they print one line instead of a traceback.

`OSError` covers a path that is a file where a directory is needed, a
missing permission, a full disk: the message names the path.
"""


def command_name(args: argparse.Namespace) -> str:
    """`"pretrain mlm"`, `"shelf fetch"`, `"demo"`: the command as typed."""
    parts = (args.command, getattr(args, "subcommand", None), getattr(args, "shelf_command", None))
    return " ".join(part for part in parts if part)


def reporting_errors(handler: Callable[[argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    """A command runner: `handler(args)`; exit code 0, or 2 with one stderr line for a `REPORTED` failure.

    A handler may return an int exit code of its own (e.g. 2 after printing help).
    """

    def run(args: argparse.Namespace) -> int:
        try:
            code = handler(args)
        except BrokenPipeError:  # a closed pipe is no failure of the command: `cclm.cli.main` ends quietly
            raise
        except REPORTED as error:
            print(f"cclm {command_name(args)}: {printable(error, lines=True)}", file=sys.stderr)
            return 2
        return code if isinstance(code, int) else 0

    return run
