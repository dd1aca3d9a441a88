"""The `cclm` command line: `demo`, `preprocessor fit`, `pretrain ...`, `compose`, `evaluate`, `predict`, `shelf ...`, `info`, `version`.

TensorFlow is imported only by the commands that need it, so `cclm --help`,
`cclm version` and `cclm info` answer at once.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections.abc import Sequence

from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable
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


# TensorFlow's and absl's own log lines (and the continuation of its CPU-feature note).
TENSORFLOW_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog"
                                 r"|To enable the following instructions:)")
# The commands that import TensorFlow (the others answer without it).
NEEDS_TENSORFLOW = {"demo", "pretrain", "compose", "evaluate", "predict"}


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its start-up log lines dropped; anything else it writes to stderr is kept.

    Some of those lines (CUDA stubs on a machine without a GPU) are written by
    native code while the library loads, whatever `TF_CPP_MIN_LOG_LEVEL` says,
    so they are caught at the file descriptor.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            sys.stderr.write("".join(line for line in text.splitlines(keepends=True)
                                     if not TENSORFLOW_LOG_LINE.match(line)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cclm", description="Composable, character-level text models."
    )
    parser.add_argument("--version", action="version", version=f"cclm {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default), anywhere on the command line")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="the whole workflow, offline: starter components, compose, few-shot head, publish, fetch back",
        description="Fetches the starter components that ship with cclm (no git, no network), composes "
        "them, fits a few-shot language-identification head (32 sentences per language), evaluates it clean "
        "and with typos, publishes it to the default local shelf and fetches it back; it must predict the "
        "same. With --pretrain: fits a preprocessor and pretrains a masked-language tower, a categorical "
        "tower and a distilled student from scratch instead, and publishes every component. Real text only: "
        "Python's documentation and Faker's word lists (pip install 'cclm[demo]').",
    )
    demo.add_argument("--output", default="cclm-demo", help="where to write (default: ./cclm-demo)")
    demo.add_argument("--quick", action="store_true", help="fewer texts (and with --pretrain, tiny models): a check")
    demo.add_argument("--pretrain", action="store_true",
                      help="pretrain every component from scratch instead of starting from the starter shelf")
    demo.set_defaults(run=reporting_errors(_demo))

    info = commands.add_parser("info", help="describe a saved component directory")
    info.add_argument("path", help='a component directory, or a shelf reference "shelf:[type/]name[@version]"')
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(run=reporting_errors(_info))

    from cclm.cli.compression_commands import add_compression_commands
    from cclm.cli.model_commands import add_model_commands
    from cclm.cli.selection_commands import add_selection_commands
    from cclm.cli.shelf_commands import add_shelf_commands
    from cclm.cli.training_commands import add_training_commands

    add_training_commands(commands)
    add_model_commands(commands)
    add_shelf_commands(commands)
    add_compression_commands(commands)
    add_selection_commands(commands)

    version = commands.add_parser("version", help="print the cclm version")
    version.set_defaults(run=_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cclm` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # `--verbose` may come anywhere before a `--`: it belongs to the top-level parser.
    end = argv.index("--") if "--" in argv else len(argv)
    verbose = "--verbose" in argv[:end]
    argv = (["--verbose"] if verbose else []) + [a for i, a in enumerate(argv) if not (i < end and a == "--verbose")]
    # TensorFlow's C++ log lines (start-up notes, "failed call to cuInit" on machines without a
    # GPU) bury the command's own output; failures reach the command as exceptions anyway.
    # `--verbose` (or TF_CPP_MIN_LOG_LEVEL=0) shows them.
    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "predict" and not any(e.startswith("-") and e != "-" for e in extra):
        args.texts += extra  # texts after an option: `cclm predict MODEL --json "a text"`
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    if args.command in NEEDS_TENSORFLOW and not verbose:
        import_tensorflow_quietly()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
