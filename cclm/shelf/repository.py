"""Creating a shelf: a bare repository seeded from the template, with its pre-receive hook and the rules it imports.

The hook checks pushes with the library's own rules (`cclm.shelf.archive_limits`,
`cclm.shelf.names`, standard library only), copied beside it, so a push
can never pass what publish would refuse.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from cclm.components.files import follow_umask
from cclm.shelf.git import BRANCH, check_lfs, ensure_identity, git_env, git_module


def pinned_hook(text: str) -> str:
    """The hook's text, run by this Python (`-IS`: no site, no environment) rather than `env python3`.

    A version manager's `python3` shim can take 150 ms to start, on every push;
    the template keeps `#!/usr/bin/env python3` for a shelf copied to a server.
    """
    if not Path(sys.executable).is_absolute() or any(c.isspace() for c in sys.executable):
        return text
    first, _, rest = text.partition("\n")
    return f"#!{sys.executable} -IS\n{rest}" if first.startswith("#!") else text


def hook_modules() -> dict[Path, str]:
    """The standard-library-only modules a shelf's pre-receive hook imports, by the name it imports them as."""
    import cclm.shelf.archive_limits
    import cclm.shelf.names

    return {Path(cclm.shelf.archive_limits.__file__): "cclm_archive_limits.py",
            Path(cclm.shelf.names.__file__): "cclm_names.py"}


def create_repository(path: Path, template: Path) -> None:
    """Creates an empty shelf: a bare repository at `path` seeded from the shelf `template`.

    The repository gets `.gitattributes` (archives through LFS), the catalog
    format, a README, and the `pre-receive` hook that refuses any push
    changing or removing a published version. It is built beside `path` and
    renamed into place, so a failure leaves nothing behind.

    Raises:
        FileExistsError: `path` exists and is not empty.
    """
    git = git_module()
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is a file; choose a new directory path for the shelf.")
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} exists and is not empty; choose a new path for the shelf.")
    check_lfs()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    follow_umask(staging)
    seed = Path(tempfile.mkdtemp(prefix="cclm-shelf-seed-"))
    try:
        bare = git.Repo.init(staging, bare=True, initial_branch=BRANCH)
        hook = Path(bare.git_dir, "hooks", "pre-receive")
        hook.write_text(pinned_hook((template / "hooks" / "pre-receive").read_text(encoding="utf-8")), encoding="utf-8")
        hook.chmod(0o755)
        for module, name in hook_modules().items():  # the hook checks with the library's own rules
            shutil.copyfile(module, hook.with_name(name))
        work = git.Repo.init(seed, initial_branch=BRANCH)
        for name in ("README.md", "CATALOG.md", ".gitattributes"):
            shutil.copyfile(template / name, seed / name)
        for folder in ("catalog", "components"):
            (seed / folder).mkdir()
            (seed / folder / ".gitkeep").touch()
        ensure_identity(work)
        work.git.add(A=True)
        work.git.commit(m="Create the cclm shelf")
        work.git.push(staging.as_uri(), f"{BRANCH}:refs/heads/{BRANCH}", env=git_env())
        if path.exists():
            path.rmdir()  # empty, checked above
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(seed, ignore_errors=True)
