"""The `cclm` command line: `demo`, `preprocessor fit`, `pretrain ...`, `compose`, `evaluate`, `predict`, `shelf ...`, `info`, `version`.

TensorFlow is imported only by the commands that need it, so `cclm --help`,
`cclm version` and `cclm info` answer at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cclm.version import __version__


def _demo(args: argparse.Namespace) -> int:
    from cclm.demo import run_demo

    run_demo(args.output)
    return 0


def _info(args: argparse.Namespace) -> int:
    from cclm.component import CARD_NAME, ComponentError, read_manifest

    try:
        manifest = read_manifest(args.path)
    except ComponentError as error:
        print(f"cclm info: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
    else:
        from pathlib import Path

        print(Path(args.path, CARD_NAME).read_text(encoding="utf-8"))
    return 0


def _version(args: argparse.Namespace) -> int:
    print(f"cclm {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cclm", description="Composable, character-level text models."
    )
    parser.add_argument("--version", action="version", version=f"cclm {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="offline end-to-end run on text that ships with Python",
        description="Fits a preprocessor and builds an embedder on Python's own documentation, "
        "saves them as components, loads them back and checks they round-trip.",
    )
    demo.add_argument("--output", default="cclm-demo", help="where to write (default: ./cclm-demo)")
    demo.set_defaults(run=_demo)

    info = commands.add_parser("info", help="describe a saved component directory")
    info.add_argument("path", help="a component directory")
    info.add_argument("--json", action="store_true", help="print the manifest as JSON")
    info.set_defaults(run=_info)

    from cclm.model_commands import add_model_commands
    from cclm.shelf_commands import add_shelf_commands
    from cclm.training_commands import add_training_commands

    add_training_commands(commands)
    add_model_commands(commands)
    add_shelf_commands(commands)

    version = commands.add_parser("version", help="print the cclm version")
    version.set_defaults(run=_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cclm` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
