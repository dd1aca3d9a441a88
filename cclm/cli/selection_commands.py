"""`cclm select`: which texts of a pool to label first, from a shell.

    cclm select pool.txt -k 100                    # the starter composition reads the texts
    cclm select pool.txt -k 100 --model composed --json > chosen.jsonl

Prints one chosen text per line, `index<TAB>text` (the index is the line's
in the pool, from 0), the largest cluster's first (`cclm.selection.select_diverse`).
"""

from __future__ import annotations

import argparse

from cclm.cli.arguments import existing_path
from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable


def _select(args: argparse.Namespace) -> None:
    from cclm.data.files import open_data
    from cclm.data.texts import iter_texts
    from cclm.selection import select_diverse

    texts = list(iter_texts(open_data(args.pool, args.text_column), args.text_column))
    if args.model == "starter":
        from cclm.shelf.starter import starter_composition

        composed = starter_composition()
    else:
        from cclm.components import component_path, load_component

        composed = load_component(component_path(args.model))
    for index in select_diverse(texts, args.k, composed, seed=args.seed):
        if args.json:
            print(json_text({"index": index, "text": texts[index]}))
        else:
            print(f"{index}\t{printable(texts[index])}")


def add_selection_commands(commands: argparse._SubParsersAction) -> None:
    """Adds `select` to the `cclm` command line."""
    select = commands.add_parser(
        "select", help="which texts of a pool to label first: one from each region of it",
        description="Reads every text of POOL with a composition, clusters the pooled features with k-means "
        "(seeded k-means++ starts) and prints the text nearest each centre: K distinct texts to label first, "
        "the largest cluster's first, the same for the same seed (cclm.selection.select_diverse).",
    )
    select.add_argument("pool", type=existing_path, help="the unlabelled texts: .txt (one per line), .jsonl, .csv, .parquet, ...")
    select.add_argument("-k", type=int, required=True, help="how many texts to choose")
    select.add_argument("--model", default="starter",
                        help='a saved composed_model or text_classifier, or "starter" (the default): the starter '
                        "embedder with the starter-contrastive, -multilingual and -meaning towers")
    select.add_argument("--seed", type=int, default=0, help="the k-means++ draw (default 0)")
    select.add_argument("--text-column", default="text", help="the column holding the text (tables)")
    select.add_argument("--json", action="store_true", help="JSON Lines: index and text")
    select.set_defaults(run=reporting_errors(_select), needs_tensorflow=True)
