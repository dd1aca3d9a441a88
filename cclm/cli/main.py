"""The `cclm` command line: `demo`, `preprocessor fit`, `pretrain ...`, `compose`, `evaluate`, `predict`, `shelf ...`, `info`, `version`.

TensorFlow is imported only by the commands that need it (`needs_tensorflow`,
`cclm.cli.arguments`), after argparse has checked their paths, so `cclm --help`,
`cclm version`, `cclm info`, `cclm preprocessor fit` and a mistyped path answer
at once. `--verbose` and `--quiet` may come anywhere on the line; a closed pipe
(`cclm predict ... | head -1`) ends quietly with exit code 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cclm.cli.arguments import (
    CommandParser,
    component_source,
    needs_tensorflow,
    output_directory,
)
from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable
from cclm.tensorflow_logs import show_startup_logs, startup_logs_hidden
from cclm.version import __version__


def _demo(args: argparse.Namespace) -> None:
    from cclm.cli.demo import run_demo

    run_demo(args.output, quick=args.quick, pretrain=args.pretrain)


def _info(args: argparse.Namespace) -> None:
    from cclm.components import CARD_NAME, read_manifest
    from cclm.components.loading import component_path

    directory = component_path(args.path)  # a directory, a file in one, or "shelf:[type/]name[@version]"
    manifest = read_manifest(directory)
    card = directory / CARD_NAME
    if args.json or not card.is_file():
        if not args.json:
            print(f"({directory} has no {CARD_NAME}, its model card; its manifest:)")
        print(json_text(manifest, indent=2))
    else:
        print(printable(card.read_text(encoding="utf-8"), lines=True))  # a pushed card must not drive the terminal


def _version(args: argparse.Namespace) -> int:
    print(f"cclm {__version__}")
    return 0


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its start-up log lines dropped, even where `TF_CPP_MIN_LOG_LEVEL` was set."""
    with startup_logs_hidden():
        import tensorflow  # noqa: F401


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(prog="cclm", description="Composable, character-level text models.")
    parser.add_argument("--version", action="version", version=f"cclm {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines and datasets' progress bars (hidden by default), "
                        "anywhere on the command line")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars or notes, only results and errors, anywhere on the command line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="the whole workflow, offline: starter components, compose, few-shot head, publish, fetch back",
        description="Fetches the starter components that ship with cclm (no git, no network), composes "
        "them, fits a few-shot language-identification head (32 sentences per language), evaluates it clean "
        "and with typos, publishes it to the default local shelf and fetches it back; it must predict the "
        "same. With --pretrain: fits a preprocessor and pretrains a masked-language tower, a categorical "
        "tower and a distilled student from scratch instead, and publishes every component. Real text only: "
        "Python's documentation and Faker's word lists (bash scripts/setup.sh demo, in a clone).",
    )
    demo.add_argument("--output", default="cclm-demo", type=output_directory, help="where to write (default: ./cclm-demo)")
    demo.add_argument("--quick", action="store_true", help="fewer texts (and with --pretrain, tiny models): a check")
    demo.add_argument("--pretrain", action="store_true",
                      help="pretrain every component from scratch instead of starting from the starter shelf")
    needs_tensorflow(demo).set_defaults(run=reporting_errors(_demo))

    info = commands.add_parser("info", help="describe a saved component directory")
    info.add_argument("path", type=component_source, help='a component directory, or a shelf reference "shelf:[type/]name[@version]"')
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(run=reporting_errors(_info))

    from cclm.cli.compression_commands import add_compression_commands
    from cclm.cli.generation_commands import add_generation_commands
    from cclm.cli.model_commands import add_model_commands
    from cclm.cli.selection_commands import add_selection_commands
    from cclm.cli.shelf_commands import add_shelf_commands
    from cclm.cli.training_commands import add_training_commands

    add_training_commands(commands)
    add_model_commands(commands)
    add_shelf_commands(commands)
    add_compression_commands(commands)
    add_selection_commands(commands)
    add_generation_commands(commands)

    version = commands.add_parser("version", help="print the cclm version")
    version.set_defaults(run=_version)
    return parser


GLOBAL_FLAGS = ("--verbose", "--quiet")  # accepted anywhere before a `--`


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cclm` console script; returns the exit code."""
    try:
        try:
            return _run(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()  # here, not at exit, where a closed pipe could no longer be caught
    except BrokenPipeError:  # `cclm predict ... | head -1`: the reader has all it wants
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        return 0


def _run(argv: list[str]) -> int:
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [flag for flag in GLOBAL_FLAGS if flag in argv[:end]]
    argv = flags + [a for i, a in enumerate(argv) if not (i < end and a in GLOBAL_FLAGS)]
    verbose = "--verbose" in flags
    # TensorFlow's C++ log lines (start-up notes, "failed call to cuInit" on machines without a
    # GPU) bury the command's own output; failures reach the command as exceptions anyway.
    # `--verbose` (or TF_CPP_MIN_LOG_LEVEL=0) shows them. datasets' own progress bars would
    # come before a one-line error about the file they were reading.
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        show_startup_logs()
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        if "datasets" in sys.modules:  # imported before main() (tests, a Python caller): the variable is read
            sys.modules["datasets"].disable_progress_bars()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "predict" and not any(e.startswith("-") and e != "-" for e in extra):
        args.texts += extra  # texts after an option: `cclm predict MODEL --json "a text"`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "needs_tensorflow", False) and not verbose:
        import_tensorflow_quietly()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
