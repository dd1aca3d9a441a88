"""`cclm trim` and `cclm prune` on a saved composition: components that load, and what shrank."""

from __future__ import annotations

from cclm.cli.main import main
from cclm.components import load_component, read_manifest
from cclm.compression import sparsity


def test_trim_and_prune_commands_write_working_components(tiny_classifier, tmp_path, capsys):
    source = tiny_classifier.composed.save(tmp_path / "composed")
    (tmp_path / "texts.txt").write_text("the cat sat\nDer Hund\n", encoding="utf-8")
    assert main(["trim", str(source), str(tmp_path / "texts.txt"), "--output", str(tmp_path / "trimmed")]) == 0
    characters = read_manifest(tmp_path / "trimmed" / "preprocessor")["config"]["characters"]
    assert set(characters) == set("the cat sat Der Hund")
    assert main(["prune", str(source), "0.5", "--layers", "tower", "-o", str(tmp_path / "pruned")]) == 0
    shares = sparsity(load_component(tmp_path / "pruned"), ["tower"])
    assert shares and all(abs(share - 0.5) < 0.01 for share in shares.values())
    printed = capsys.readouterr().out
    assert "Kept 18 of 58 ids" in printed and "bytes on disk" in printed and "Zeroed 50%" in printed
