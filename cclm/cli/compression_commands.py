"""`cclm trim` and `cclm prune`: a smaller copy of a saved component, from a shell.

    cclm trim classifier train.txt --output trimmed      # only the characters of train.txt
    cclm prune classifier 0.5 --layers starter-contrastive --output pruned

Both write a new component directory and print what shrank; the source is
left as it is. Errors print one line to stderr and exit with 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cclm.cli.arguments import component_source, existing_path, output_component
from cclm.cli.errors import reporting_errors


def directory_bytes(path: Path) -> int:
    """The bytes of every file under `path`."""
    return sum(item.stat().st_size for item in Path(path).rglob("*") if item.is_file())


def _load(source: str):
    from cclm.components import component_path, load_component

    path = component_path(source)
    return load_component(path), path


def _trim(args: argparse.Namespace) -> None:
    from cclm.compression import trim_vocabulary
    from cclm.data.files import open_data

    component, source = _load(args.model)
    texts = open_data(args.texts, args.text_column)
    trimmed = trim_vocabulary(component, texts, text_column=args.text_column)
    path = trimmed.save(args.output)
    before = getattr(component, "preprocessor", component).vocab_size
    after = getattr(trimmed, "preprocessor", trimmed).vocab_size
    print(f"Kept {after:,} of {before:,} ids; {directory_bytes(source):,} -> {directory_bytes(path):,} bytes on disk. "
          f"Saved to {path}")


def _prune(args: argparse.Namespace) -> None:
    from cclm.compression import prune, sparsity

    component, source = _load(args.model)
    pruned = prune(component, args.fraction, method=args.method, layers=args.layers, seed=args.seed)
    path = pruned.save(args.output)
    shares = sparsity(pruned, args.layers)
    print(f"Zeroed {args.fraction:.0%} of each of {len(shares)} weight tensors ({args.method}); "
          f"{directory_bytes(source):,} -> {directory_bytes(path):,} bytes on disk. Saved to {path}")


def add_compression_commands(commands: argparse._SubParsersAction) -> None:
    """Adds `trim` and `prune` to the `cclm` command line."""
    trim = commands.add_parser(
        "trim", help="keep only the characters of some texts: a smaller component that predicts the same on them",
        description="Writes a copy of a saved preprocessor, composition or text classifier whose vocabulary holds "
        "only the characters of TEXTS (cclm.compression.trim_vocabulary): fewer embedding rows, the same outputs "
        "on texts of those characters; any other character maps to the unknown id.",
    )
    trim.add_argument("model", type=component_source, help="a saved preprocessor, composed_model or text_classifier, or shelf:ID[@VERSION]")
    trim.add_argument("texts", type=existing_path, help="the texts whose characters to keep: .txt (one per line), .jsonl, .csv, ...")
    trim.add_argument("--output", "-o", required=True, type=output_component, help="where to save the trimmed component")
    trim.add_argument("--text-column", default="text", help="the column holding the text (tables)")
    trim.set_defaults(run=reporting_errors(_trim), needs_tensorflow=True)

    prune = commands.add_parser(
        "prune", help="zero a fraction of a component's weights (l1 or random) and save it compressed",
        description="Writes a copy of a saved component with FRACTION of every chosen kernel and table set to zero "
        "(cclm.compression.prune: exact per tensor), its weights stored compressed so the directory shrinks.",
    )
    prune.add_argument("model", type=component_source, help="a saved embedder, composed_model, text_classifier or pretrainer")
    prune.add_argument("fraction", type=float, help="the share of each chosen tensor's weights to zero, 0 to 1")
    prune.add_argument("--output", "-o", required=True, type=output_component, help="where to save the pruned component")
    prune.add_argument("--method", choices=["l1", "random"], default="l1",
                       help="smallest magnitude first (l1, the default) or drawn at random")
    prune.add_argument("--layers", nargs="+", metavar="PART",
                       help='parts to prune: "embedder", a tower\'s name, "head", "ngrams", or "part/path" '
                       "(default: every kernel and table)")
    prune.add_argument("--seed", type=int, default=0, help="the draw of --method random (default 0)")
    prune.set_defaults(run=reporting_errors(_prune), needs_tensorflow=True)
