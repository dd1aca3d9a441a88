"""Every Python code block in README.md and docs/*.md runs; the README stays short."""

import contextlib
import io
import itertools
import json
import pathlib
import re
import runpy
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# The README's original-API block runs, with its results checked, in tests/test_original_api.py.
BLOCKS = [
    (page, index, block)
    for page in PAGES
    for index, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL))
    if "pretrainer_a = MaskedLanguagePretrainer(" not in block
]


def test_readme_and_docs_have_python_examples():
    assert {page.name for page, _, _ in BLOCKS} >= {"README.md", "guide.md", "shelf.md"}


@pytest.mark.parametrize(
    "page, index, block", BLOCKS, ids=[f"{page.relative_to(ROOT)}:{index}" for page, index, _ in BLOCKS]
)
def test_block_runs(page, index, block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks that save write here, not into the checkout
    # Shelf() and "shelf:" references use a shelf and cache here, not the user's.
    monkeypatch.setenv("CCLM_SHELF", str(tmp_path / "default-shelf.git"))
    monkeypatch.setenv("CCLM_CACHE", str(tmp_path / "default-cache"))
    script = tmp_path / f"{page.stem}_block_{index}.py"  # a traceback names the page and the block
    script.write_text(block, encoding="utf-8")
    names = runpy.run_path(str(script), run_name="docs")
    if page == README and "TextClassifier" in block:  # the Quickstart prints answers a reader can trust
        classifier, texts, languages = names["classifier"], names["texts"], names["languages"]
        assert classifier.evaluate((texts[160:], languages[160:]))["accuracy"] >= 0.95  # the comment says 1.0
        assert classifier.predict_labels(texts[160]) == languages[160]


def test_readme_is_for_users_and_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move details to docs/."


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_links_resolve(page):
    for target in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_install_hints_work_from_a_clone():
    """PyPI's `cclm` is another project: a hint must name `scripts/setup.sh EXTRA` (a real extra), never `pip install cclm`."""
    extras = set(re.findall(r'^\s+"(\w+)": \[', (ROOT / "setup.py").read_text(), re.MULTILINE))
    assert {"demo", "plot", "test"} <= extras
    for path in [*PAGES, *(ROOT / "cclm").rglob("*.py"), *(ROOT / "examples").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install\s+['\"]?cclm\b|\bcclm\[\w+\]", text), f"{path} hints at PyPI's cclm"
        for extra in re.findall(r"scripts/setup\.sh (\w+)", text):
            assert extra in extras, f"{path} names an extra setup.py does not define: {extra}"
    readme = README.read_text(encoding="utf-8")
    assert "not on PyPI" in readme and "pip install -e" in readme


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    command = "bash scripts/setup.sh test && python -m pytest"
    assert command in README.read_text() and command in ci


# ------------------------------------------------------------------ shell blocks
# Every command of every ```bash block parses; each runs for real unless it is below, with the reason.
SKIPPED = {
    "bash scripts/setup.sh": "installs packages; CI runs `bash scripts/setup.sh test` itself (.ci/run)",
    "cclm demo": "minutes of work; tests/cli/test_cli.py runs `cclm demo --quick`",
    "python -m pytest": "the suite itself",
    "cclm pretrain": "trains for minutes; the test stands starter towers in for its output (STAND_INS), and "
                     "tests/cli/test_training_commands.py runs these commands on tiny models",
    "export TF_CONFIG": "a cluster of hosts (docs/training-at-scale.md); tests/training covers the strategies",
    "python examples/train_on_a_cluster.py": "a cluster or TPU VM; tests/test_examples.py runs the script small",
}
# What the skipped trainings would have written, stood in by starter towers that share one embedder.
STAND_INS = {"mlm": "starter-multilingual", "topic": "starter-contrastive", "student": "starter-student"}
SHELL_COMMANDS = [
    (page, line)
    for page in PAGES
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    for line in block.splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def _skip_reason(line: str) -> str | None:
    command = " ".join(part for part in shlex.split(line, comments=True) if part != "&&")
    return next((why for start, why in SKIPPED.items() if command.startswith(start)), None)


def _cclm(args: list[str], stdin: str = "") -> tuple[int, str, str]:
    from cclm.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), _stdin(stdin):
        try:
            code = main(args)
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _stdin(text):
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def test_shell_blocks_parse_and_the_cheap_ones_run(tmp_path, monkeypatch):
    from cclm.cli.main import build_parser
    from cclm.data.sample_text import language_sentences, python_docs_paragraphs
    from cclm.shelf.shelf import Shelf

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CCLM_SHELF", str(tmp_path / "default-shelf.git"))
    monkeypatch.setenv("CCLM_CACHE", str(tmp_path / "default-cache"))
    texts, labels = language_sentences(("de_DE", "it_IT"), per_language=12, words=5)
    rows = "".join(json.dumps({"text": t, "label": l}) + "\n" for t, l in zip(texts, labels))
    for name in ("labelled.jsonl", "related.jsonl", "held-out.jsonl", "test.jsonl"):
        (tmp_path / name).write_text(rows)
    (tmp_path / "corpus.txt").write_text("\n".join(" ".join(p.split()) for p in python_docs_paragraphs()[:50]))
    (tmp_path / "texts.tsv").write_text("".join(f"{i}\t{t}\n" for i, t in enumerate(texts[:3])))
    (tmp_path / "train.txt").write_text("\n".join(texts))
    pool, _ = language_sentences(("de_DE", "it_IT", "pl_PL", "fr_FR", "es_ES"), per_language=24, words=3)
    (tmp_path / "pool.txt").write_text("\n".join(pool))
    for name, starter in STAND_INS.items():
        (tmp_path / name).symlink_to(Shelf().fetch(starter), target_is_directory=True)
    ran, seen = [], set()
    for page, line in SHELL_COMMANDS:
        parts = shlex.split(line, comments=True)
        if "cclm" in parts:  # every documented command line parses, skipped or not
            args = parts[parts.index("cclm") + 1:]
            assert build_parser().parse_known_args(args)[0].command, (page.name, line)
        # A variant (the same command and positionals, other options) of one run above is only parsed.
        key = tuple(itertools.takewhile(lambda part: not part.startswith("-"), parts))
        if _skip_reason(line) or key in seen:
            continue
        seen.add(key)
        stdin = ""
        if "|" in parts:  # `cut -f2 texts.tsv | cclm predict ...`: the left side runs in a shell
            left = line.split("|")[0]
            stdin = subprocess.run(left, shell=True, capture_output=True, text=True, check=True).stdout
            parts = parts[parts.index("|") + 1:]
        if ">" in parts:  # `cclm select ... > to-label.tsv`: the output is checked, not written
            parts = parts[:parts.index(">")]
        assert parts[0] == "cclm", f"{page.name}: {line!r} is neither run nor in SKIPPED"
        code, _out, err = _cclm(parts[1:], stdin)
        assert code == 0, (page.name, line, err[-2000:])
        ran.append(parts[1])
    assert {"preprocessor", "compose", "predict", "evaluate", "shelf"} <= set(ran)
