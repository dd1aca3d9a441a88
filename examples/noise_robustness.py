"""How training with typo augmentation changes a classifier's accuracy under typos.

Two runs of the same recipe, same data and seeds; one trains on clean text,
the other with `Augmentor.typos(--augment)` in every training pipeline
(masked-language pretraining and the classifier):

1. a preprocessor, then an embedder and MLM tower pretrained on unlabelled sentences;
2. a `TextClassifier` on that composition, fine-tuned on labelled sentences;
3. `noise_report` on held-out sentences at each typo rate (the same noisy
   texts for both runs).

Data (shipped with Faker, nothing downloaded): the language of 4-word
sentences drawn from the real lorem word lists of 9 Latin-script languages
(`cclm.data.sample_text.language_sentences`).

Run: python examples/noise_robustness.py [--output DIR]   (about 5 minutes on 2 CPU cores)
     python examples/noise_robustness.py --quick          (seconds: checks the script only)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras

from cclm.pipelines import Augmentor
from cclm.models import ComposedModel
from cclm.models import Embedder
from cclm.pretraining import MaskedLanguagePretrainer
from cclm.classification.noise_report import NoiseReport, noise_report
from cclm.preprocessing import Preprocessor
from cclm.data.sample_text import language_sentences
from cclm.classification import TextClassifier


def train_and_report(args, augment: bool, unlabelled, train, test) -> NoiseReport:
    keras.utils.set_random_seed(args.seed)
    transforms = [Augmentor.typos(args.augment, seed=args.seed)] if augment else []
    preprocessor = Preprocessor(sequence_length=args.length, downsample_factor=4).fit(unlabelled, progress=False)
    tower = {"hidden_dim": args.width, "num_layers": 2, "num_heads": 4, "intermediate_dim": 2 * args.width,
             "max_length": args.length}
    mlm = MaskedLanguagePretrainer(
        embedder=Embedder(vocab_size=preprocessor.vocab_size, hidden_dim=args.width // 2, num_blocks=2, max_length=args.length),
        preprocessor=preprocessor, tower_options=tower, batch_size=64, seed=args.seed,
        transforms=transforms, name="mlm",
    )
    started = time.perf_counter()
    if args.mlm_epochs:  # 0 skips pretraining (--quick)
        mlm.fit(unlabelled, epochs=args.mlm_epochs, verbose=0)
    composed = ComposedModel(mlm.embedder, [mlm], preprocessor=preprocessor)
    classifier = TextClassifier(
        composed, train_composition=True, seed=args.seed, transforms=transforms,
        name="trained with typos" if augment else "trained on clean text",
    )
    classifier.fit(train, epochs=1, steps_per_epoch=args.head_steps, verbose=0)
    accuracy = mlm.card.get("metrics", {}).get("accuracy", float("nan"))
    print(f"  {classifier.name}: {time.perf_counter() - started:.0f} s (masked-character accuracy {accuracy:.3f})")
    report = noise_report(classifier, test, rates=args.rates, seed=args.seed + 1)
    report.extra = {"augmentation": repr(transforms[0]) if transforms else None}
    if args.output:
        report.save(Path(args.output) / f"noise-{'augmented' if augment else 'clean'}.json")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--augment", type=float, default=0.05, help="training typo rate of the augmented run")
    parser.add_argument("--per-language", type=int, default=200, help="labelled training sentences per language")
    parser.add_argument("--test", type=int, default=100, help="held-out sentences per language")
    parser.add_argument("--unlabelled", type=int, default=1000, help="unlabelled sentences per language")
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--width", type=int, default=96, help="tower width (the embedder is half)")
    parser.add_argument("--mlm-epochs", type=int, default=4)
    parser.add_argument("--head-steps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="a directory for the two reports as JSON")
    parser.add_argument("--quick", action="store_true", help="tiny data and models: checks the script only")
    args = parser.parse_args(argv)
    args.rates = (0.0, 0.05, 0.1, 0.2)
    if args.quick:
        args.per_language, args.test, args.unlabelled, args.width = 8, 4, 20, 16
        args.mlm_epochs, args.head_steps = 0, 2

    test = language_sentences(per_language=args.test, words=4, seed=args.seed + 1)
    train = language_sentences(per_language=args.per_language, words=4, seed=args.seed + 2)
    unlabelled, _ = language_sentences(per_language=args.unlabelled, words=4, seed=args.seed + 3)
    held_out = set(test[0])
    train = tuple(map(list, zip(*[(t, l) for t, l in zip(*train) if t not in held_out])))
    unlabelled = [t for t in unlabelled if t not in held_out]
    print(f"{len(train[0])} labelled sentences to train on, {len(test[0])} held out, {len(unlabelled)} unlabelled.")

    reports = [train_and_report(args, augment, unlabelled, train, test) for augment in (False, True)]
    print()
    header = f"{'training':<26}" + "".join(f"{f'{rate:.0%} typos':>11}" for rate in args.rates) + f"{'lost at 10%':>13}"
    print(header)
    print("-" * len(header))
    for report in reports:
        lost = (report.accuracy[0] - report.accuracy[args.rates.index(0.1)]) * 100
        print(f"{report.model:<26}" + "".join(f"{a:>11.3f}" for a in report.accuracy) + f"{lost:>10.1f} pt")
    print(f"(augmented run: {reports[1].extra['augmentation']}; test noise: Augmentor.typos, seed {args.seed + 1})")


if __name__ == "__main__":
    main()
