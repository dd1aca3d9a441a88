"""Components on the Hugging Face Hub: `"hf://owner/repo[/folder][@revision]"` references.

A saved component is a plain directory, so a Hub model repository holds one
as it is (at its root, or in a folder of it). Anything that takes a
component directory takes such a reference: `load_component`, every
`load`, `ComposedModel` towers and the CLI. It is fetched with
`huggingface_hub.snapshot_download`, so the Hub's cache, pinned revisions (a
tag, a branch or a commit: `@v1.0.0`), tokens (`HF_TOKEN`) and offline
mode (`HF_HUB_OFFLINE=1`: the cached copy, no network) all work as they do
for any Hub model. Uploading needs no cclm code: `hf upload owner/repo
./classifier` (or `huggingface_hub.upload_folder`) and `hf repos tag create`
publish a saved directory; its `README.md` model card already carries the
Hub's YAML metadata (`cclm.components.card`).

Example:
>>> parse_hub_reference("someone/language-id/classifier@v1.0.0")
('someone/language-id', 'classifier', 'v1.0.0')
>>> parse_hub_reference("someone/language-id")
('someone/language-id', None, None)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cclm.components.files import MANIFEST_NAME
from cclm.errors import ComponentError

HUB_PREFIX = "hf://"
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REFERENCE = re.compile(rf"^({_NAME}/{_NAME})((?:/[^/@]+)*)(?:@([^@]+))?$")


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
    return repo_id, folder.strip("/") or None, revision


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
    if not (path / MANIFEST_NAME).is_file():
        raise ComponentError(f"{HUB_PREFIX}{reference} holds no cclm component ({MANIFEST_NAME} is missing"
                             f"{' in ' + folder if folder else ''}); point at the folder of a saved component.")
    return path
