"""Every Python code block in README.md and docs/*.md runs; the README stays short."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# The README's original-API block runs, with its results checked, in tests/test_original_api.py.
BLOCKS = [
    (page, index, block)
    for page in PAGES
    for index, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S))
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
    exec(compile(block, f"{page.name} block {index}", "exec"), {"__name__": "docs"})


def test_readme_is_for_users_and_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move details to docs/."


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_links_resolve(page):
    for target in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    command = "bash scripts/setup.sh test && python -m pytest"
    assert command in README.read_text() and command in ci
