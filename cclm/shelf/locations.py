"""Where a shelf and its cache live by default: `$CCLM_SHELF`, `$CCLM_CACHE`, the user's directories.

Example:
>>> default_cache_dir().name in ("cclm", "cache") or "CCLM_CACHE" in __import__("os").environ
True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cclm.errors import ShelfError

SHELF_ENV = "CCLM_SHELF"
CACHE_ENV = "CCLM_CACHE"


def default_data_dir() -> Path:
    """The user's data directory for cclm (XDG_DATA_HOME on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "cclm"


def default_cache_dir() -> Path:
    """`$CCLM_CACHE`, else the user's cache directory for cclm (XDG_CACHE_HOME on Linux)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "cclm" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cclm"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cclm"


def default_remote() -> str:
    """`$CCLM_SHELF`, else a local shelf repository in the user's data directory."""
    return os.environ.get(SHELF_ENV) or str(default_data_dir() / "shelf.git")


def shelf_template_dir() -> Path:
    """The shelf template (`shelf/` of the source tree; `cclm/shelf_template` when installed from a wheel)."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "shelf_template", package.parent / "shelf"):
        if (candidate / "hooks" / "pre-receive").is_file():
            return candidate
    raise ShelfError(f"The shelf template is missing next to {package}; reinstall cclm.")
