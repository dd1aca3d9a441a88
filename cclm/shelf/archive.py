"""Deterministic packing and safe unpacking of component directories.

`pack` writes a gzip-compressed tar whose bytes depend only on the files'
relative paths and contents: entries are sorted, and times, owners and
permissions are fixed. The same component therefore always gives the same
archive and the same sha256, which is what a shelf records and checks.

`unpack` accepts regular files and directories only. It refuses absolute
paths, `..`, links, devices, names no file system can hold, and archives
over the limits of `cclm.shelf.archive_limits` (members, unpacked size,
compression ratio, header records: decompression bombs), which it checks as
`tarfile` lists the members through bounded reads, before anything large is
read or held; `pack` checks what it wrote by the same rules, so what
publishes can be fetched. Everything is checked before a byte is written.

Example:
>>> import pathlib, tempfile
>>> source = pathlib.Path(tempfile.mkdtemp())
>>> _ = (source / "manifest.json").write_text("{}")
>>> first = pack(source, pathlib.Path(tempfile.mkdtemp()) / "a.tar.gz")
>>> second = pack(source, pathlib.Path(tempfile.mkdtemp()) / "b.tar.gz")
>>> first.sha256 == second.sha256
True
>>> target = pathlib.Path(tempfile.mkdtemp()) / "unpacked"
>>> sorted(p.name for p in unpack(first.path, target).iterdir())
['manifest.json']
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from cclm.components.files import atomic_file, file_sha256, follow_umask  # noqa: F401  (used by the shelf)
from cclm.errors import ShelfError, UnsafeArchiveError  # noqa: F401  (re-exported)
from cclm.shelf.archive_limits import MAX_MEMBERS, MAX_UNPACKED_BYTES  # noqa: F401  (re-exported)
from cclm.shelf.archive_limits import check_layout, check_totals, listed, scan_headers

_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class ArchiveInfo:
    """Where an archive was written, its sha256 (hex) and its size in bytes."""

    path: Path
    sha256: str
    size: int


def _members(directory: Path) -> list[tuple[str, Path]]:
    found = []
    for root, directories, files in os.walk(directory):
        for name in directories + files:
            path = Path(root, name)
            relative = path.relative_to(directory).as_posix()
            if path.is_symlink():
                raise UnsafeArchiveError(f"{path} is a symbolic link; components hold regular files only.")
            if not (path.is_dir() or path.is_file()):
                raise UnsafeArchiveError(f"{path} is not a regular file or directory.")
            found.append((relative, path))
    return sorted(found)


def pack(
    directory: str | os.PathLike, archive: str | os.PathLike, compresslevel: int = 6, max_bytes: int | None = None
) -> ArchiveInfo:
    """Packs `directory` into the gzip tar `archive`, byte for byte reproducibly.

    The archive is written to a temporary name beside `archive` and renamed
    into place, so a failure never leaves a partial file.

    Args:
        directory: the component directory to pack (its contents go at the archive's root).
        archive: the `.tar.gz` file to write.
        compresslevel: gzip level; part of what the bytes depend on.
        max_bytes: the unpacked-size limit (default `archive_limits.default_max_bytes()`).

    Returns:
        `ArchiveInfo` with the archive's path, sha256 and size.

    Raises:
        UnsafeArchiveError: the directory holds a link, or more than
            `unpack` would accept (members, bytes, name lengths, compression ratio).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory; pack a saved component directory.")
    archive = Path(archive)
    members = _members(directory)
    check_totals(len(members), sum(path.stat().st_size for _, path in members if path.is_file()), directory, max_bytes)
    check_layout((relative, path.is_dir()) for relative, path in members)
    with atomic_file(archive) as raw:
        _write(raw, members, compresslevel)
        raw.flush()
        # Fetch and the hook refuse what breaks the archive rules (a ratio, a header): so must publish.
        with open(raw.fileno(), "rb", closefd=False) as written:
            written.seek(0)
            scan_headers(written, max_bytes, where=directory)
    return ArchiveInfo(archive, file_sha256(archive), archive.stat().st_size)


def _write(raw: BinaryIO, members: list[tuple[str, Path]], compresslevel: int) -> None:
    # filename="" and mtime=0 keep the gzip header free of names and times.
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0
    ) as zipped, tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for relative, path in members:
            info = tarfile.TarInfo(relative)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = path.stat().st_size
                with open(path, "rb") as stream:
                    tar.addfile(info, stream)


def _check_member(member: tarfile.TarInfo) -> str:
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = "a symbolic link" if member.issym() else "a hard link" if member.islnk() else "not a regular file"
        raise UnsafeArchiveError(f"The archive member {name!r} is {kind}; only regular files and directories are unpacked.")
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"The archive member {name!r} has an absolute path; refusing to unpack it.")
    normalized = posixpath.normpath(name.replace("\\", "/"))
    if normalized == ".." or normalized.startswith("../") or "/../" in f"/{normalized}/":
        raise UnsafeArchiveError(f"The archive member {name!r} leads outside the target directory ('..').")
    return normalized


def unpack(archive: str | os.PathLike, target: str | os.PathLike, max_bytes: int | None = None) -> Path:
    """Unpacks `archive` into the new directory `target`, safely.

    Every member is checked before anything is written (`archive_limits.listed`:
    one `tarfile` pass with bounded header reads); the files go to a
    temporary directory beside `target` that is renamed into place.

    Raises:
        UnsafeArchiveError: a link, device, absolute or escaping path, a name
            no file system can hold, too many members, a header record over
            `MAX_HEADER_BYTES`, more than `max_bytes` in all (default
            `archive_limits.default_max_bytes()`), or a zero bomb's ratio.
        ShelfError: the files could not be written (a full disk, for one).
        FileExistsError: `target` exists.
    """
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} exists; unpack into a new directory.")
    with listed(archive, max_bytes) as (tar, members):
        _unpack_members(tar, members, archive, target)
    return target


def _unpack_members(tar: tarfile.TarFile, members: list[tarfile.TarInfo], archive: object, target: Path) -> None:
    names = [_check_member(member) for member in members]
    check_layout((name, member.isdir()) for name, member in zip(names, members))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    follow_umask(staging)
    try:
        for member, name in zip(members, names):
            path = staging / name
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as source, open(path, "wb") as stream:
                shutil.copyfileobj(source, stream, _CHUNK)
        os.rename(staging, target)
    except OSError as error:  # a full disk, a quota, a read-only cache: not the archive's fault
        shutil.rmtree(staging, ignore_errors=True)
        raise ShelfError(
            f"Could not unpack {archive} into {target.parent}: {error.strerror or error}. "
            "Free some space there, or fetch with another cache_dir."
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
