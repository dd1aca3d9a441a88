"""`cclm shelf ...` as a user runs it: subprocesses on a real local shelf."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from cclm import Preprocessor

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def cclm(*args, cache):
    return subprocess.run([sys.executable, "-m", "cclm.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CCLM_CACHE": str(cache)})


@pytest.fixture
def published(tmp_path):
    remote, cache = tmp_path / "shelf.git", tmp_path / "cache"
    assert cclm("shelf", "init", str(remote), cache=cache).returncode == 0
    component = Preprocessor().fit(["text for the shelf"]).save(tmp_path / "prep")
    result = cclm("shelf", "publish", str(component), "docs", "--remote", str(remote),
                  "--description", "a preprocessor for docs", cache=cache)
    assert result.returncode == 0, result.stderr
    assert "Published preprocessor/docs/1.0.0" in result.stdout
    return remote, cache, component


def test_list_and_info_answer_without_tensorflow(published):
    remote, cache, _ = published
    code = ("import sys; from cclm.cli.main import main; "
            f"code = main(['shelf', 'list', '--remote', {str(remote)!r}]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TensorFlow was imported'; "
            "sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "CCLM_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["TYPE", "IDENTIFIER", "VERSION"]
    assert lines[1].startswith("Starter components (ship with cclm, read-only; 7)")
    assert any(line.split()[:3] == ["contrastive_pretrainer", "starter-contrastive", "1.1.0"] for line in lines)
    own = lines[lines.index(next(line for line in lines if line.startswith("Your shelf"))) + 1:]
    assert [row.split()[:3] for row in own] == [["preprocessor", "docs", "1.0.0"]] and "a preprocessor for docs" in own[0]
    listed = json.loads(cclm("shelf", "list", "--json", "--remote", str(remote), cache=cache).stdout)
    assert [(e["identifier"], e["version"]) for e in listed if e["shelf"] != "starter"] == [("docs", "1.0.0")]
    assert {e["identifier"] for e in listed if e["shelf"] == "starter"} >= {"starter", "starter-embedder"}
    info = json.loads(cclm("shelf", "info", "docs", "--json", "--remote", str(remote), cache=cache).stdout)
    assert info["sha256"] == listed[-1]["sha256"] and info["item_type"] == "preprocessor"


def test_fetch_prints_a_loadable_directory(published):
    remote, cache, component = published
    result = cclm("shelf", "fetch", "docs", "--version", "1.0.0", "--remote", str(remote), cache=cache)
    assert result.returncode == 0, result.stderr
    fetched = Preprocessor.load(result.stdout.strip())
    assert fetched.characters == Preprocessor.load(component).characters


def test_failures_say_what_to_do_and_exit_non_zero(published, tmp_path):
    remote, cache, component = published
    again = cclm("shelf", "publish", str(component), "docs", "--version", "1.0.0", "--remote", str(remote),
                 cache=cache)
    assert again.returncode == 2 and "already published" in again.stderr and "1.0.1" in again.stderr
    unknown = cclm("shelf", "fetch", "nothing", "--remote", str(remote), cache=cache)
    assert unknown.returncode == 2 and "preprocessor/docs" in unknown.stderr
    version = cclm("shelf", "info", "docs", "--version", "7", "--remote", str(remote), cache=cache)
    assert version.returncode == 2 and "['1.0.0']" in version.stderr
    wrong_type = cclm("shelf", "publish", str(component), "docs", "--type", "embedder", "--remote", str(remote),
                      cache=cache)
    assert wrong_type.returncode == 2 and "is a 'preprocessor'" in wrong_type.stderr
    occupied = cclm("shelf", "init", str(remote), cache=cache)
    assert occupied.returncode == 2 and "not empty" in occupied.stderr
    unreachable = cclm("shelf", "list", "--remote", str(tmp_path / "missing.git"), cache=cache)
    assert unreachable.returncode == 2 and "cannot be reached" in unreachable.stderr
    not_component = cclm("shelf", "publish", str(tmp_path), "docs", "--remote", str(remote), cache=cache)
    assert not_component.returncode == 2 and "manifest.json" in not_component.stderr


def test_list_shows_no_terminal_escapes_and_verify_passes(published, run_cli, tmp_path):
    remote, cache, component = published
    options = ("--remote", str(remote), "--cache-dir", str(cache))
    code, _, err = run_cli("shelf", "publish", str(component), "docs", "--description",
                           "nice \x1b]0;pwned\x07\x1b[2J model", *options)
    assert code == 0, err
    code, out, _ = run_cli("shelf", "list", *options)
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "nice ?]0;pwned??[2J model" in out
    code, out, _ = run_cli("shelf", "verify", *options)
    assert code == 0 and "Every starter archive matches" in out and "every version on the shelf" in out


def _deep_manifest(directory):
    directory.mkdir()
    (directory / "manifest.json").write_text('{"kind": "preprocessor", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return directory


@pytest.mark.parametrize("case", ["init-on-a-file", "cache-dir-is-a-file", "deep-manifest-info",
                                  "deep-manifest-publish"])
def test_hostile_inputs_give_one_line_not_a_traceback(run_cli, tmp_path, case):
    # Each fails before the shelf is reached, so the remote need not exist.
    remote, cache = tmp_path / "shelf.git", tmp_path / "cache"
    (tmp_path / "a-file").write_text("")
    deep = _deep_manifest(tmp_path / "deep")
    args = {
        "init-on-a-file": ("shelf", "init", tmp_path / "a-file"),
        "cache-dir-is-a-file": ("shelf", "list", "--remote", remote, "--cache-dir", tmp_path / "a-file"),
        "deep-manifest-info": ("info", deep),
        "deep-manifest-publish": ("shelf", "publish", deep, "deep", "--remote", remote,
                                  "--cache-dir", cache),
    }[case]
    code, out, err = run_cli(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("cclm "), err
    assert {"init-on-a-file": "is a file", "cache-dir-is-a-file": "a file is in the way",
            "deep-manifest-info": "nests its JSON too deeply",
            "deep-manifest-publish": "nests its JSON too deeply"}[case] in err


def test_info_without_a_model_card_shows_the_manifest(run_cli, tmp_path):
    component = Preprocessor().fit(["text for the shelf"]).save(tmp_path / "prep")
    (component / "README.md").unlink()
    code, out, err = run_cli("info", component)
    assert code == 0, err
    assert "has no README.md" in out and '"kind": "preprocessor"' in out


def test_info_reads_a_shelf_reference(published, run_cli, monkeypatch):
    remote, cache, _ = published
    monkeypatch.setenv("CCLM_SHELF", str(remote))
    monkeypatch.setenv("CCLM_CACHE", str(cache))
    code, out, err = run_cli("info", "shelf:preprocessor/docs@1.0.0")
    assert code == 0, err
    assert "preprocessor" in out and "a cclm" in out.lower()


HOSTILE = "a \x1b[2J \x9b31m \x85 \x90q\x9c \u202eevil\u202c done"


def test_control_and_bidi_characters_from_a_pusher_never_reach_the_terminal(tmp_path, run_cli, monkeypatch):
    """C1 controls and bidi overrides in a description, a card and a manifest name, in every output path."""
    remote, cache = tmp_path / "shelf.git", tmp_path / "cache"
    monkeypatch.setenv("CCLM_SHELF", str(remote))
    monkeypatch.setenv("CCLM_CACHE", str(cache))
    assert run_cli("shelf", "init", str(remote))[0] == 0
    component = Preprocessor().fit(["text for the shelf"], progress=False).save(tmp_path / "prep")
    manifest = json.loads((component / "manifest.json").read_text())
    (component / "manifest.json").write_text(json.dumps({**manifest, "name": HOSTILE}))
    (component / "README.md").write_text(f"# Card\n\n{HOSTILE}\n")
    code, _, err = run_cli("shelf", "publish", str(component), "docs", "--description", HOSTILE)
    assert code == 0, err
    outputs = {
        "list": run_cli("shelf", "list"), "list --json": run_cli("shelf", "list", "--json"),
        "info": run_cli("shelf", "info", "docs"), "info --json": run_cli("shelf", "info", "docs", "--json"),
        "cclm info": run_cli("info", "shelf:docs"), "cclm info --json": run_cli("info", "shelf:docs", "--json"),
        "an error": run_cli("shelf", "info", "docs", "--version", HOSTILE),
    }
    for what, (_, out, err) in outputs.items():
        raw = [c for c in out + err if c in "\x1b\x9b\x85\x90\x9c\u202e\u202c"]
        assert not raw, f"{what} printed {raw!r}"
    assert "evil" in outputs["cclm info"][1] and "evil" in outputs["an error"][2]
    listed = json.loads(outputs["list --json"][1])
    assert [e["description"] for e in listed if e["identifier"] == "docs"] == [HOSTILE]  # escaped, not lost
    assert json.loads(outputs["info --json"][1])["name"] == HOSTILE
    assert json.loads(outputs["cclm info --json"][1])["name"] == HOSTILE
