"""`cclm shelf init|publish|fetch|list|info|verify`: the Shelf from a shell.

None of these imports TensorFlow: a shelf is git, git-lfs and JSON.
Errors print one line to stderr and exit with 2.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from cclm.cli.arguments import existing_path
from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable


def _shelf(args: argparse.Namespace) -> Any:
    from cclm.shelf.shelf import Shelf

    return Shelf(args.remote, cache_dir=args.cache_dir)


def _init(args: argparse.Namespace) -> None:
    from cclm.shelf.shelf import Shelf

    shelf = Shelf.init(args.path, cache_dir=args.cache_dir)
    print(f"Created an empty shelf at {shelf.remote}.")
    print(f"Use it with: export CCLM_SHELF={shelf.remote}  (or Shelf({str(shelf.remote)!r}))")


def _publish(args: argparse.Namespace) -> None:
    entry = _shelf(args).publish(
        args.path, args.identifier, item_type=args.type, version=args.version, description=args.description
    )
    print(f"Published {entry.tag} ({entry.size:,} bytes, sha256 {entry.sha256[:12]}).")


def _fetch(args: argparse.Namespace) -> None:
    print(_shelf(args).fetch(args.identifier, args.type, version=args.version))


def _verify(args: argparse.Namespace) -> int:
    shelf = _shelf(args)
    problems = shelf.starter.verify() + shelf.verify()
    for problem in problems:
        print(printable(problem))
    print(f"{len(problems)} problem(s) on the starter shelf and the shelf {shelf.remote}." if problems else
          f"Every starter archive matches its sha256; every version on the shelf {shelf.remote} is as its tag "
          "recorded it, every catalog file is valid, and every cached copy is exactly its archive.")
    return 1 if problems else 0


def _list(args: argparse.Namespace) -> None:
    shelf = _shelf(args)
    starter = shelf.starter.list(item_type=args.type)
    entries = shelf.list(item_type=args.type)
    if args.json:
        print(json_text([{**dataclasses.asdict(e), "shelf": "starter"} for e in starter]
                        + [{**dataclasses.asdict(e), "shelf": shelf.remote} for e in entries], indent=2))
        return
    rows = [("TYPE", "IDENTIFIER", "VERSION", "SIZE", "CREATED", "DESCRIPTION")]
    sections = [(f"Starter components (ship with cclm, read-only; {len(starter)}):", starter),
                (f"Your shelf, {shelf.remote} ({len(entries)}):", entries)]
    for title, found in sections:
        rows.append((title,))
        rows += [(e.item_type, e.identifier, e.version, f"{e.size:,}", printable(e.created[:10]),
                  printable(e.description)) for e in found]
    widths = [max(len(row[i]) for row in rows if len(row) > 1) for i in range(5)]
    for row in rows:
        if len(row) == 1:
            print(("\n" if row is not rows[1] else "") + row[0])
        else:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[5])
    if not entries:
        print("Your shelf is empty. Publish with: cclm shelf publish PATH IDENTIFIER")


def _info(args: argparse.Namespace) -> None:
    entry = _shelf(args).info(args.identifier, args.type, version=args.version)
    if args.json:
        print(json_text(dataclasses.asdict(entry), indent=2))
        return
    for key, value in dataclasses.asdict(entry).items():
        print(f"{key:>16}: {printable(value)}")
    print(f"{'tag':>16}: {entry.tag}")


def add_shelf_commands(commands: Any) -> None:
    """Adds `shelf` and its subcommands to the `cclm` parser's subcommands."""
    shelf = commands.add_parser(
        "shelf", help="publish and fetch versioned components (git + git-lfs)",
        description="A shelf is a git repository of versioned components, archives in git-lfs. "
        "The default is a local repository ($CCLM_SHELF overrides it); see shelf/README.md.",
    )
    shelf.set_defaults(run=lambda args: shelf.print_help() or 2)
    sub = shelf.add_subparsers(dest="shelf_command", metavar="SUBCOMMAND")

    def command(name: str, help: str, run: Any, remote: bool = True) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        if remote:
            parser.add_argument("--remote", help="shelf git URL or path (default: $CCLM_SHELF, else the local shelf)")
        parser.add_argument("--cache-dir", help="cache directory (default: $CCLM_CACHE, else the user cache)")
        parser.set_defaults(run=reporting_errors(run))
        return parser

    init = command("init", "create an empty shelf repository at PATH (bare, with the immutability hook)",
                   _init, remote=False)
    init.add_argument("path", help="where to create it (a new or empty directory)")

    publish = command("publish", "publish a saved component directory as a new version", _publish)
    publish.add_argument("path", type=existing_path, help="the component directory (saved with .save(path))")
    publish.add_argument("identifier", help="its name on the shelf, e.g. docs-en")
    publish.add_argument("--version", help="e.g. 1.0.0 (default: the next version)")
    publish.add_argument("--type", help="the component kind (default: from its manifest)")
    publish.add_argument("--description", help="one line for the catalog (default: from the model card)")

    fetch = command("fetch", "fetch a version into the cache and print its directory", _fetch)
    fetch.add_argument("identifier", help="its name on the shelf")
    fetch.add_argument("--type", help="the component kind, when the identifier exists as several")
    fetch.add_argument("--version", help="e.g. 1.0.0 (default: the newest)")

    listing = command("list", "list the starter components and every version on your shelf", _list)
    listing.add_argument("--type", help="only this component kind")
    listing.add_argument("--json", action="store_true", help="print the catalog entries as JSON")

    command("verify", "check the starter archives, every version against its tag, every catalog file and "
            "every cached copy against its archive (exit code 1 on a problem)",
            _verify)

    info = command("info", "show the catalog entry of one version", _info)
    info.add_argument("identifier", help="its name on the shelf")
    info.add_argument("--type", help="the component kind, when the identifier exists as several")
    info.add_argument("--version", help="e.g. 1.0.0 (default: the newest)")
    info.add_argument("--json", action="store_true", help="print it as JSON")
