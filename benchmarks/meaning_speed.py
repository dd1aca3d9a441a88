"""Encoding speed of a meaning tower against the sentence encoder it was distilled from, same texts, one run.

Texts/s of `MeaningTower.text_vectors` (the starter shelf's `starter-meaning`,
or `--meaning DIR`; ids from the starter preprocessor, batches of 256 padded
to their longest text) and of all-MiniLM-L6-v2's `encode` (batches of 128,
`bash scripts/setup.sh teacher`), both on the CPU, on the English tasks' test
texts of benchmarks/fewshot.py (docstring paragraphs and package
descriptions). Best of `--repeats` timings each; the teacher's disk cache is
not used, so it really encodes.

Run: python benchmarks/meaning_speed.py [--texts 1000] [--quick]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import teachers  # noqa: E402
from preprocess import best_time as best_seconds  # noqa: E402
from real_text_tasks import package_task, topic_task  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=1000, help="texts per task")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--meaning", help="a saved MeaningPretrainer (default: the starter shelf's starter-meaning)")
    parser.add_argument("--quick", action="store_true", help="a few texts, one repeat: checks the script")
    args = parser.parse_args(argv)
    if args.quick:
        args.texts, args.repeats = 16, 1
    from cclm.pretraining import MeaningPretrainer
    from cclm.shelf.starter import StarterShelf

    meaning = MeaningPretrainer.load(args.meaning) if args.meaning else StarterShelf().load("starter-meaning")
    prep = meaning.preprocessor
    factor = prep.downsample_factor
    encode = tf.function(meaning.tower.text_vectors, input_signature=[tf.TensorSpec((None, None), tf.int32)])
    teacher = teachers.minilm(cache_dir=None, progress=False) if teachers.available() else None
    sizes = {"train": 10, "dev": 10, "test": args.texts}
    rows = []
    for task in (topic_task(None, sizes, 0), package_task(sizes, 0)):
        texts = task.texts["test"][: args.texts]
        order = np.argsort([len(t) for t in texts])  # batches of similar lengths, as a server would make them

        def student():
            for start in range(0, len(texts), 256):
                batch = [texts[i] for i in order[start:start + 256]]
                longest = -(-(max(map(len, batch)) + 1) // factor) * factor  # padded to the longest text only
                encode(tf.constant(prep.encode(batch, min(prep.sequence_length or longest, longest))))

        student()  # traces once per batch length
        seconds = best_seconds(student, args.repeats)
        row = [task.name, len(texts), np.mean([len(t) for t in texts]), len(texts) / seconds]
        if teacher is not None:
            row.append(len(texts) / best_seconds(lambda: teacher.encode(texts), args.repeats))
        rows.append(row)
    print(f"{'task':<10}{'texts':>7}{'mean chars':>12}{'meaning texts/s':>18}{'teacher texts/s':>18}{'ratio':>9}")
    for row in rows:
        teacher_cell = f"{row[4]:>18,.0f}{row[3] / row[4]:>8.1f}x" if len(row) > 4 else f"{'(not installed)':>18}"
        print(f"{row[0]:<10}{row[1]:>7,}{row[2]:>12.0f}{row[3]:>18,.0f}" + teacher_cell)


if __name__ == "__main__":
    main()
