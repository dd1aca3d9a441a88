"""scripts/train_starter.py end to end on tiny corpora: held-out text kept out, a starter shelf that loads and composes."""

import email
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from cclm import ComposedModel
from cclm.shelf.starter import StarterShelf

SCRIPT = pathlib.Path(__file__).parents[2] / "scripts" / "train_starter.py"
sys.path.insert(0, str(SCRIPT.parents[1] / "benchmarks"))
import teachers


@pytest.mark.skipif(not list(pathlib.Path("/usr/share/locale").glob("sv/LC_MESSAGES/*.mo")),
                    reason="no Debian message catalogs here")
@pytest.mark.slow  # a script run end to end: `python -m pytest -m slow` (docs/development.md)
def test_the_recipe_keeps_held_out_text_out_and_writes_a_starter_shelf(tmp_path):
    output = tmp_path / "starter_shelf"
    # Source files from one small stdlib package: walking all of /usr is most of a quick run's time.
    sources = pathlib.Path(email.__file__).parent
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--no-measure", "--output", str(output),
                             "--source-root", str(sources)],
                            check=False, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Skipping an invalid catalog entry" not in result.stderr  # the starter writer may stage reserved names
    out = result.stdout
    assert "left in any corpus: 0" in out and "locales" in out and "source chunks" in out
    for name in ("starter-contrastive", "starter-multilingual", "starter-code", "starter-student"):
        assert any(line.startswith(name) for line in out.splitlines()), name
    # starter-meaning where its teacher is installed (`bash scripts/setup.sh teacher`), else said to be skipped.
    meaning = teachers.available()
    assert f"Starter shelf at {output}: {7 if meaning else 6} versions" in out
    assert ("left in it: 0" in out) if meaning else ("starter-meaning skipped" in out)
    shelf = StarterShelf(output, cache_dir=tmp_path / "cache")
    assert shelf.verify() == []
    card = shelf.card("starter-multilingual")
    assert "## Limitations" in card and "held-out texts left in the corpora: 0" in card
    composed = ComposedModel(shelf.load("starter-embedder"), [shelf.load("starter-contrastive"), shelf.load("starter-student")],
                             preprocessor=shelf.load("starter"))
    assert np.isfinite(np.asarray(composed(["Fichier introuvable", "int main(void)"]))).all()


def test_the_meaning_recipe_refuses_to_rewrite_a_published_version_before_training(tmp_path):
    sys.path.insert(0, str(SCRIPT.parent))
    import train_starter  # the recipe's module: its imports need scripts/ on the path

    shelf = StarterShelf()
    published = shelf.versions("starter-meaning")[-1]
    with pytest.raises(SystemExit, match=f"starter-meaning {published} is already published.*Raise VERSION"):
        train_starter.refuse_published(published, shelf.root)
    assert train_starter.refuse_published("99.0.0", shelf.root) is None  # a new version goes on
    # A reproduction written elsewhere leaves the package's shelf as it is: it goes on.
    assert train_starter.refuse_published(published, tmp_path / "reproduction") is None
