"""Components on the Hugging Face Hub: `"hf://owner/repo[/folder][@revision]"` references.

A saved component is a plain directory, so a Hub model repository holds one
as it is (at its root, or in a folder of it). Anything that takes a
component directory takes such a reference: `load_component`, every
`load`, `ComposedModel` towers and the CLI. It is fetched with
`huggingface_hub.snapshot_download`, so the Hub's cache, pinned revisions (a
tag, a branch or a commit: `@v1.0.0`), tokens (`HF_TOKEN`) and offline
mode (`HF_HUB_OFFLINE=1`: the cached copy, no network) all work as they do
for any Hub model. `push_to_hub` (and every component's `push_to_hub`
method) uploads a saved component in one commit (`HfApi.upload_folder`) and
tags it (`HfApi.create_tag`); `hf upload owner/repo ./classifier` does the
same from a shell. The `README.md` model card carries the Hub's YAML
metadata (`cclm.components.card`).

Example:
>>> parse_hub_reference("someone/language-id/classifier@v1.0.0")
('someone/language-id', 'classifier', 'v1.0.0')
>>> parse_hub_reference("someone/language-id")
('someone/language-id', None, None)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from cclm.components.files import MANIFEST_NAME
from cclm.errors import ComponentError

HUB_PREFIX = "hf://"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REFERENCE = re.compile(rf"^({_NAME}/{_NAME})((?:/[^/@]+)*)(?:@([^@]+))?$")


_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# git check-ref-format: no control characters, space, ~ ^ : ? * [ \\, "..", "@{", "//", and no
# component that starts with "." or ends with ".lock"; nor a leading or trailing "/" or a trailing ".".
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|(^|/)\.|\.lock(/|$)|^/|/$|\.$|^@$")


def check_revision(revision: str) -> str:
    """`revision` if it can name a Hub revision (a 40-hex commit, or a branch or tag by git's rules).

    A revision becomes a path in the Hub's cache (`refs/<revision>`), so
    anything else (`../x`, an absolute path) is refused before it is used.

    Raises:
        ValueError: it is not one (the message names it and the forms that work).
    """
    if _COMMIT.match(revision) or (revision and len(revision) <= 255 and not _BAD_REF.search(revision)):
        return revision
    raise ValueError(f"@{revision!r} is not a Hub revision; use a branch or tag name (e.g. 'v1.0.0', 'main', "
                     "no '..', no leading '/', no spaces) or a 40-character commit id.")


def parse_hub_reference(reference: str) -> tuple[str, str | None, str | None]:
    """`"owner/repo[/folder][@revision]"` -> (repo id, folder or None, revision or None).

    Raises:
        ValueError: the reference does not name an `owner/repo`.
    """
    found = _REFERENCE.match(reference)
    if found is None or any(part in (".", "..") for part in found.group(2).split("/")):
        raise ValueError(f"{HUB_PREFIX}{reference!r} is not a Hub reference; write e.g. "
                         f"'{HUB_PREFIX}owner/repo', '{HUB_PREFIX}owner/repo/folder' or '{HUB_PREFIX}owner/repo@v1.0.0'.")
    repo_id, folder, revision = found.groups()
    return repo_id, folder.strip("/") or None, None if revision is None else check_revision(revision)


def hub_path(reference: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The local directory of the component at `reference` (`"owner/repo[/folder][@revision]"`, no prefix).

    Only the folder's files are downloaded; a cached revision is used as it is.

    Raises:
        ComponentError: the repository, revision or folder cannot be found (or,
            offline, is not cached), or it holds no cclm component.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo_id, folder, revision = parse_hub_reference(reference)
    patterns = [f"{folder}/*", f"{folder}/**"] if folder else None
    try:
        root = snapshot_download(repo_id, revision=revision, allow_patterns=patterns, cache_dir=cache_dir)
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ComponentError(f"{HUB_PREFIX}{reference} could not be fetched from the Hugging Face Hub: {first} "
                             "(offline, only a revision in the Hub's cache can be used).") from None
    path = Path(root, folder) if folder else Path(root)
    _check_inside_cache(reference, path, repo_id, cache_dir)
    if not (path / MANIFEST_NAME).is_file():
        raise ComponentError(f"{HUB_PREFIX}{reference} holds no cclm component ({MANIFEST_NAME} is missing"
                             f"{' in ' + folder if folder else ''}); point at the folder of a saved component.")
    return path


def _check_inside_cache(reference: str, path: Path, repo_id: str, cache_dir: str | os.PathLike | None) -> None:
    """Refuses a snapshot outside the repository's `snapshots/` in the Hub's cache (a `refs/` file edited to `../..`)."""
    from huggingface_hub import constants

    snapshots = Path(cache_dir or constants.HF_HUB_CACHE, f"models--{repo_id.replace('/', '--')}", "snapshots")
    if not path.resolve().is_relative_to(snapshots.resolve()):
        raise ComponentError(f"{HUB_PREFIX}{reference} resolves to {path.resolve()}, outside the Hub cache's "
                             f"{snapshots}; refusing it. Delete {snapshots.parent} and fetch it again.")


def push_to_hub(
    directory: str | os.PathLike, repo_id: str, folder: str | None = None, tag: str | None = None,
    private: bool | None = None, token: str | None = None, endpoint: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Uploads a saved component directory to a Hub model repository; returns its `hf://` reference.

    The repository is created when it does not exist. The directory's files
    go up in one commit (`HfApi.upload_folder`), at the repository's root or
    in `folder`; with `tag`, that commit is tagged (`HfApi.create_tag`), so
    the returned `hf://repo_id[/folder]@tag` names exactly this upload (the
    commit's id stands in for the tag when there is none).

    Args:
        directory: a saved component (`component.save(...)`'s directory).
        repo_id: "owner/name" of a model repository.
        folder: where in the repository it goes; default: its root.
        tag: a tag for the commit, e.g. "v1.0.0".
        private: for a new repository: private or public (the Hub's default).
        token: a Hub token; default: `HF_TOKEN` or the one `hf auth login` saved.
        endpoint: another Hub than huggingface.co (a mirror, an enterprise Hub).
        commit_message: default "Upload <kind> <name> with cclm".

    Raises:
        ComponentError: `directory` holds no component.
        ValueError: `repo_id` or `folder` is not a valid name.
        huggingface_hub.errors.HfHubHTTPError: the Hub refused the upload (rights, an existing tag, ...).
    """
    from huggingface_hub import HfApi

    path = Path(directory)
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ComponentError(f"{path} holds no cclm component ({MANIFEST_NAME} is missing); push a saved component.")
    parse_hub_reference(f"{repo_id}/{folder}" if folder else repo_id)  # names checked before any request
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    commit = api.upload_folder(
        repo_id=repo_id, folder_path=path, path_in_repo=folder or "",
        commit_message=commit_message or f"Upload {manifest.get('kind')} {manifest.get('name')!r} with cclm",
    )
    if tag:
        api.create_tag(repo_id, tag=tag, revision=commit.oid)
    return f"{HUB_PREFIX}{repo_id}{'/' + folder if folder else ''}@{tag or commit.oid}"
