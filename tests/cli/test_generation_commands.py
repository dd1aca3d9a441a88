import json

import keras
import pytest

from cclm import Preprocessor
from cclm.models.embedder import Embedder
from cclm.pretraining.causal_language_pretrainer import CausalLanguagePretrainer


@pytest.fixture(scope="module")
def saved(tmp_path_factory, docs_texts):
    """A tiny untrained causal model, saved: the CLI must give what the library gives."""
    keras.utils.set_random_seed(0)
    prep = Preprocessor(sequence_length=32, downsample_factor=4).fit(docs_texts[:32], progress=False)
    embedder = Embedder(vocab_size=prep.vocab_size, hidden_dim=8, num_blocks=1, max_length=32, causal=True)
    lm = CausalLanguagePretrainer(embedder=embedder, preprocessor=prep, seed=0, tower_options={
        "hidden_dim": 8, "num_layers": 1, "num_heads": 2, "intermediate_dim": 16, "max_length": 32})
    folder = tmp_path_factory.mktemp("generate")
    lm.save(folder / "lm")
    prep.save(folder / "prep")
    return folder, lm


def test_generate_prints_what_the_library_generates(saved, run_cli):
    folder, lm = saved
    code, out, err = run_cli("generate", folder / "lm", "The ", "def ", "--max-new-chars", "6")
    assert code == 0, err
    assert out.splitlines() == lm.generate(["The ", "def "], max_new_chars=6)
    options = ("--do-sample", "--top-p", "0.9", "--temperature", "1.5", "--seed", "2", "--json", "--no-stop",
               "--max-new-chars", "8")
    code, out, err = run_cli("generate", folder / "lm", "The ", *options)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows == [{"prompt": "The ", "text": lm.generate(
        "The ", max_new_chars=8, do_sample=True, top_p=0.9, temperature=1.5, seed=2, stop_at_end=False)}], err
    assert run_cli("generate", folder / "lm", "The ", *options)[1] == out


def test_generate_refuses_a_model_that_does_not_generate(saved, run_cli):
    folder, _ = saved
    code, _, err = run_cli("generate", folder / "prep", "The ")
    assert code == 2 and "does not generate" in err and "causal_language_pretrainer" in err




def test_pretrain_causal_then_generate(tmp_path, run_cli, docs_texts):
    (tmp_path / "corpus.txt").write_text("\n".join(docs_texts[:40]), encoding="utf-8")
    code, out, err = run_cli("pretrain", "causal", "corpus.txt", "--output", "lm", "--epochs", "1", "--steps-per-epoch", "1",
                             "--width", "16", "--layers", "1", "--quiet", cwd=tmp_path)
    assert code == 0 and "Saved causal_language_pretrainer" in out, err
    code, out, err = run_cli("generate", "lm", "The ", "--max-new-chars", "5", cwd=tmp_path)
    assert code == 0 and out.startswith("The ") and len(out.rstrip("\n")) <= 9, err
