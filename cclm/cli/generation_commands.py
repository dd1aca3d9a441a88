"""`cclm generate`: continue prompts with a saved causal language model, from a shell.

    cclm generate lm "The function returns"                      # greedy
    cclm generate lm "def " --do-sample --top-p 0.9 --seed 0     # nucleus sampling, repeatable
    cclm generate lm "Return the" --num-beams 4 --max-new-chars 40
    printf 'one prompt\\nanother\\n' | cclm generate lm - --json

Prints each prompt with its continuation (`--json`: one JSON line per prompt
with "prompt" and "text"). Options left out take the library's defaults
(`CausalLanguagePretrainer.generate`: greedy, 64 new characters).
"""

from __future__ import annotations

import argparse

from cclm.cli.arguments import component_source, needs_tensorflow, stdin_lines
from cclm.cli.errors import reporting_errors
from cclm.cli.terminal import json_text, printable

# Options passed on only when given, so the library's defaults hold (the CLI does not restate them).
_OPTIONS = ("max_new_chars", "do_sample", "temperature", "top_k", "top_p", "num_beams", "seed", "length_penalty")


def _generate(args: argparse.Namespace) -> None:
    from cclm.components import component_path, load_component

    prompts = []
    for prompt in args.prompts:  # "-": one prompt per line of standard input
        prompts += stdin_lines() if prompt == "-" else [prompt]
    model = load_component(component_path(args.model))
    if not hasattr(model, "generate"):
        raise ValueError(f"{args.model} holds a {model.component_kind!r} component, which does not generate "
                         "text; give a saved causal_language_pretrainer (CausalLanguagePretrainer.save).")
    options = {name: getattr(args, name) for name in _OPTIONS if hasattr(args, name)}
    if args.no_stop:
        options["stop_at_end"] = False
    texts = model.generate(prompts, **options)
    for prompt, text in zip(prompts, texts):
        print(json_text({"prompt": prompt, "text": text}) if args.json else printable(text))


def add_generation_commands(commands: argparse._SubParsersAction) -> None:
    """Adds `generate` to the `cclm` command line."""
    generate = commands.add_parser(
        "generate", help="continue prompts with a saved causal language model",
        description="Continues each prompt character by character with a saved CausalLanguagePretrainer: "
        "greedy by default, sampling with --do-sample (--temperature, --top-k, --top-p), beam search with "
        "--num-beams; the options mean what they mean in Hugging Face's generate.",
        argument_default=argparse.SUPPRESS,
    )
    generate.add_argument("model", metavar="MODEL", type=component_source, help="a saved causal_language_pretrainer, or shelf:NAME[@VERSION]")
    generate.add_argument("prompts", nargs="+", metavar="PROMPT", help='texts to continue; "-" reads one per line of stdin')
    generate.add_argument("--max-new-chars", type=int, help="the most characters added to each prompt (default 64)")
    generate.add_argument("--do-sample", action="store_true", help="draw each character instead of taking the likeliest")
    generate.add_argument("--temperature", type=float, help="with --do-sample: above 1 flatter, below 1 sharper (default 1)")
    generate.add_argument("--top-k", type=int, help="with --do-sample: draw among the K likeliest only (default 0: all)")
    generate.add_argument("--top-p", type=float, help="with --do-sample: draw among the likeliest whose probability "
                          "reaches P (nucleus sampling; default 1: all)")
    generate.add_argument("--num-beams", type=int, help="beam search with this many beams (default 1: none)")
    generate.add_argument("--length-penalty", type=float, help="beam search: a finished text's score is its "
                          "log-likelihood / length ** this (default 1)")
    generate.add_argument("--seed", type=int, help="makes a draw repeatable (default: a new draw each run)")
    generate.add_argument("--no-stop", action="store_true", default=False,
                          help="keep going past the end-of-text character")
    generate.add_argument("--json", action="store_true", default=False, help="JSON Lines: prompt and text")
    needs_tensorflow(generate).set_defaults(run=reporting_errors(_generate))
