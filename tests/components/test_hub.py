"""`hf://` references, read offline from the Hugging Face Hub's own cache layout; uploads; the card's metadata.

No test here reaches the Hub: the cache is laid out as `huggingface_hub` writes it
(`models--owner--repo/refs/<revision>` naming a commit, `snapshots/<commit>/...`)
and the library runs in its offline mode, as it does for a user with `HF_HUB_OFFLINE=1`;
uploads go through the real `huggingface_hub` client to a stand-in of the Hub's
upload endpoints on loopback.
"""

import base64
import hashlib
import http.server
import json
import re
import threading
import urllib.parse

import huggingface_hub
import pytest
from huggingface_hub import ModelCard

from cclm import Preprocessor, load_component
from cclm.components.hub import hub_path, parse_hub_reference, push_to_hub
from cclm.errors import ComponentError

COMMITS = {"main": "a" * 40, "v1.0.0": "b" * 40}


@pytest.fixture()
def hub_cache(tmp_path, monkeypatch):
    """A Hub cache holding someone/langid at two revisions, each with a saved preprocessor in `prep/`."""
    cache = tmp_path / "hub"
    repo = cache / "models--someone--langid"
    for revision, commit in COMMITS.items():
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / revision).write_text(commit)
        Preprocessor(sequence_length=16).fit([f"text of {revision}"], progress=False).save(
            repo / "snapshots" / commit / "prep")
    (repo / "snapshots" / COMMITS["main"] / "notes").mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_a_reference_names_a_repository_a_folder_and_a_revision():
    assert parse_hub_reference("someone/langid/prep@v1.0.0") == ("someone/langid", "prep", "v1.0.0")
    assert parse_hub_reference("someone/langid/a/b") == ("someone/langid", "a/b", None)
    for bad in ("langid", "someone/langid/../x", "someone/langid@", "/x/y"):
        with pytest.raises(ValueError, match="is not a Hub reference"):
            parse_hub_reference(bad)


def test_components_load_from_the_hub_cache_at_a_pinned_revision(hub_cache):
    newest = load_component("hf://someone/langid/prep")
    pinned = Preprocessor.load("hf://someone/langid/prep@v1.0.0")
    assert "m" in newest.characters and "m" not in pinned.characters  # "main" vs "v1.0.0"
    assert hub_path("someone/langid/prep@" + COMMITS["v1.0.0"]) == hub_cache / "models--someone--langid" / \
        "snapshots" / COMMITS["v1.0.0"] / "prep"
    with pytest.raises(ComponentError, match="hf://someone/langid/prep@v9 could not be fetched.*offline"):
        load_component("hf://someone/langid/prep@v9")
    with pytest.raises(ComponentError, match="holds no cclm component \\(manifest.json is missing in notes\\)"):
        load_component("hf://someone/langid/notes")


def test_every_saved_card_carries_the_hubs_metadata(tmp_path):
    prep = Preprocessor(sequence_length=16).fit(["hello"], progress=False)
    prep.card.update({"datasets": ["someone/greetings"], "license": "mit"})
    card = ModelCard.load(prep.save(tmp_path / "prep") / "README.md")
    assert card.data.library_name == "cclm" and "preprocessor" in card.data.tags
    assert card.data.datasets == ["someone/greetings"] and card.data.license == "mit"
    assert "# " in card.text and "## Trained on" in card.text


class HubStandIn(http.server.BaseHTTPRequestHandler):
    """The Hub's upload endpoints that `HfApi.create_repo`, `upload_folder` and `create_tag` call, on loopback.

    It keeps what a commit sends (files arrive inline, base64, as the Hub asks
    for small files) and the tags made; anything else is a 404 the test would see.
    """

    repos: dict = {}
    tags: dict = {}

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, payload, status=200):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        path = urllib.parse.urlparse(self.path).path
        endpoint = f"http://{self.headers['Host']}"
        if path == "/api/repos/create":
            request = json.loads(body)
            repo = f"{request['organization']}/{request['name']}"
            self.repos.setdefault(repo, {})
            return self._answer({"url": f"{endpoint}/{repo}"})
        if path == "/api/validate-yaml":
            return self._answer({"errors": [], "warnings": []})
        found = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit|tag)/(.+)", path)
        if found is None or found.group(1) not in self.repos:
            return self._answer({"error": f"not here: {path}"}, 404)
        repo, action, revision = found.groups()
        if action == "preupload":
            files = json.loads(body)["files"]
            return self._answer({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                           for f in files]})
        if action == "commit":
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            commit = hashlib.sha1(body).hexdigest()
            self.repos[repo][commit] = {line["value"]["path"]: base64.b64decode(line["value"]["content"])
                                        for line in lines if line["key"] == "file"}
            return self._answer({"commitUrl": f"{endpoint}/{repo}/commit/{commit}", "commitOid": commit,
                                 "pullRequestUrl": None})
        self.tags[(repo, json.loads(body)["tag"])] = revision
        return self._answer({})


@pytest.fixture()
def hub_stand_in():
    HubStandIn.repos, HubStandIn.tags = {}, {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HubStandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_push_to_hub_uploads_the_saved_directory_in_one_tagged_commit(hub_stand_in, tmp_path):
    prep = Preprocessor(sequence_length=16).fit(["hello world"], progress=False)
    reference = prep.push_to_hub("someone/langid", folder="prep", tag="v1.0.0", endpoint=hub_stand_in, token="t")
    (commit, files), = HubStandIn.repos["someone/langid"].items()
    assert reference == "hf://someone/langid/prep@v1.0.0" and HubStandIn.tags == {("someone/langid", "v1.0.0"): commit}
    saved = prep.save(tmp_path / "prep")
    expected = {f"prep/{p.relative_to(saved).as_posix()}": p.read_bytes() for p in saved.rglob("*") if p.is_file()}
    assert files.keys() == expected.keys()
    uploaded, local = (json.loads(each["prep/manifest.json"]) for each in (files, expected))
    assert uploaded["config"] == local["config"] and uploaded["kind"] == "preprocessor"  # what it learned
    untagged = push_to_hub(saved, "someone/langid", endpoint=hub_stand_in, token="t")
    assert untagged.startswith("hf://someone/langid@") and len(HubStandIn.repos["someone/langid"]) == 2
    with pytest.raises(ComponentError, match="holds no cclm component"):
        push_to_hub(tmp_path, "someone/langid", endpoint=hub_stand_in, token="t")


@pytest.mark.parametrize("revision", ["../../../outside/ref", "/abs/outside", "a/../../b", ".hidden", "x.lock", "a b"])
def test_a_revision_that_is_not_a_branch_tag_or_commit_is_refused(hub_cache, revision):
    outside = hub_cache.parent / "outside"
    Preprocessor(sequence_length=16).fit(["from outside the cache"], progress=False).save(outside / "snap")
    (outside / "ref").write_text("../../outside/snap")
    with pytest.raises(ValueError, match="is not a Hub revision"):
        load_component(f"hf://someone/langid@{revision}")


def test_a_cache_ref_that_leads_outside_the_cache_is_refused(hub_cache):
    # A refs/ file is a path component to huggingface_hub: "../../../x" serves a folder outside the cache.
    outside = hub_cache.parent / "outside"
    Preprocessor(sequence_length=16).fit(["from outside the cache"], progress=False).save(outside)
    (hub_cache / "models--someone--langid" / "refs" / "evil").write_text("../../../outside")
    with pytest.raises(ComponentError, match="outside the Hub cache"):
        load_component("hf://someone/langid@evil")
