"""What a component archive may hold, checked the same way at publish, in a shelf's hook and at fetch.

`checked_members` reads a `.tar.gz` with `tarfile` itself (so nothing here
can parse a header differently from the unpacking that follows), through a
reader that refuses any single read over `MAX_HEADER_BYTES` and more than
`MAX_HEADER_TOTAL` of header reads in all. Every read `tarfile` makes while
listing members is a header read: data is skipped by seeking. So every kind
of header record (PAX `x`, `g`, Solaris `X`, GNU long names, sparse maps,
and any `tarfile` learns later) is bounded by one rule, before it is held
in memory. Members are refused as they are listed, before their data is
decompressed: more than `MAX_MEMBERS`, more than the unpacked-size limit,
a compression ratio over `MAX_RATIO` (a zero bomb), sparse files and PAX
keys `pack` never writes.

`check_layout` refuses member names no file system can write or that
collide: a path component over 255 bytes, a path over 4,096, a file named
`.`, one name twice, a file where another member needs a directory.

This module needs only the standard library: `cclm shelf init` copies it
beside a shelf's pre-receive hook, which runs with no cclm installed.

Example:
>>> check_layout([("model", True), ("model/weights.h5", False)])
>>> check_layout([("a", False), ("a/b", False)])
Traceback (most recent call last):
...
cclm.errors.UnsafeArchiveError: The member 'a/b' needs 'a' to be a directory, but 'a' is a file.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

try:
    from cclm.errors import UnsafeArchiveError
except ImportError:  # beside a shelf's pre-receive hook, where cclm is not installed

    class UnsafeArchiveError(ValueError):  # type: ignore[no-redef]
        """An archive that must not be unpacked."""


MAX_UNPACKED_BYTES = 2 * 1024**3
"""The default limit on a component's unpacked size (`Shelf(max_unpacked_bytes=...)`,
`$CCLM_MAX_UNPACKED_BYTES`, a hook's `git config cclm.maxUnpackedBytes`)."""
MAX_RATIO = 200
"""Unpacked bytes per archive byte, at most, once past `RATIO_FLOOR`: weights compress about 1:1,
text about 1:5; gzip's ceiling, a zero bomb's ratio, is about 1:1030."""
RATIO_FLOOR = 64 * 1024**2
"""Below this many unpacked bytes any ratio is harmless (a small JSON-only component compresses well)."""
MAX_MEMBERS = 10_000
"""Files and directories in one component, at most."""
MAX_HEADER_BYTES = 64 * 1024
"""One header record (a PAX record block, a GNU long name), at most (a path is at most 4,096 bytes)."""
MAX_HEADER_TOTAL = 8 * 1024**2
"""Every header read of one archive together, at most: what `tarfile` holds while listing it."""
MAX_MEMBER_HEADERS = 4 * MAX_HEADER_BYTES
"""The header reads of one member (its PAX record, long name and link, a sparse map's blocks), at most."""
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4096
UNPACKED_BYTES_ENV = "CCLM_MAX_UNPACKED_BYTES"

# What `pack` writes (PAX records for long or non-ASCII names) and what tarfile reads from a
# standard header; any other key is a record nobody needs, and each one costs memory to hold.
_PAX_KEYS = frozenset(tarfile.PAX_FIELDS) | {"atime", "ctime", "hdrcharset", "comment"}


def default_max_bytes() -> int:
    """`$CCLM_MAX_UNPACKED_BYTES` when set (a whole number of bytes), else `MAX_UNPACKED_BYTES`."""
    text = os.environ.get(UNPACKED_BYTES_ENV, "").strip()
    if not text:
        return MAX_UNPACKED_BYTES
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"${UNPACKED_BYTES_ENV}={text!r} is not a positive whole number of bytes; e.g. 4294967296.")
    return int(text)


def check_totals(members: int, total_bytes: int, where: object, max_bytes: int | None = None) -> None:
    """Refuses more than `MAX_MEMBERS` members or more than `max_bytes` (default `default_max_bytes()`) in all."""
    max_bytes = default_max_bytes() if max_bytes is None else max_bytes
    if members > MAX_MEMBERS:
        raise UnsafeArchiveError(f"{where} has {members:,} members or more, more than the {MAX_MEMBERS:,} a component may hold.")
    if total_bytes > max_bytes:
        raise UnsafeArchiveError(
            f"{where} holds {total_bytes:,} bytes or more, more than the cap of {max_bytes:,}; "
            f"raise max_unpacked_bytes (or ${UNPACKED_BYTES_ENV}) if you trust it."
        )


def check_ratio(total_bytes: int, archive_bytes: int, where: object) -> None:
    """Refuses an archive that unpacks to more than `MAX_RATIO` times its size, past `RATIO_FLOOR`."""
    if total_bytes > RATIO_FLOOR and total_bytes > MAX_RATIO * max(archive_bytes, 1):
        raise UnsafeArchiveError(
            f"{where} unpacks to {total_bytes:,} bytes or more from {archive_bytes:,}, a ratio over "
            f"{MAX_RATIO}:1 that only filler such as zeros reaches; refusing it (a decompression bomb)."
        )


def check_layout(members: Iterable[tuple[str, bool]]) -> None:
    """Refuses names (normalized, relative, "/"-separated; `True` for a directory) no file system can hold together."""
    files, directories = set(), set()
    for name, is_directory in members:
        encoded = name.encode("utf-8", "surrogateescape")
        if len(encoded) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in encoded.split(b"/")):
            raise UnsafeArchiveError(
                f"The member {name[:80]!r}... has a name longer than file systems allow "
                f"({MAX_NAME_BYTES} bytes a component, {MAX_PATH_BYTES} in all)."
            )
        if name == "." and not is_directory:
            raise UnsafeArchiveError("An archive member named '.' is a file; '.' is the component directory itself.")
        if name in files or (not is_directory and name in directories):
            raise UnsafeArchiveError(f"The archive holds {name!r} twice.")
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in files:
                raise UnsafeArchiveError(f"The member {name!r} needs {parent!r} to be a directory, but {parent!r} is a file.")
            directories.add(parent)
        (directories if is_directory else files).add(name)


class HeaderReads:
    """The decompressed archive as `tarfile` reads it, with every read bounded while `bounded` is true.

    While listing members `tarfile` reads only headers (it seeks past data),
    so a read over `MAX_HEADER_BYTES` is a header record that large, whatever
    its type; `total` counts them all against `MAX_HEADER_TOTAL`.
    """

    def __init__(self, stream: gzip.GzipFile, where: object):
        self.stream, self.where = stream, where
        self.bounded, self.total, self.member = True, 0, 0  # `member`: since `next_member()`

    def next_member(self) -> None:
        """Starts counting the header reads of the next member (a sparse map's blocks are 512 bytes each)."""
        self.member = 0

    def read(self, size: int = -1) -> bytes:
        if self.bounded:
            if size < 0 or size > MAX_HEADER_BYTES:
                shown = "the rest of the archive" if size < 0 else f"{size:,} bytes"
                raise UnsafeArchiveError(
                    f"{self.where} has a header record of {shown}, more than the {MAX_HEADER_BYTES:,} allowed."
                )
            self.total, self.member = self.total + size, self.member + size
            if self.member > MAX_MEMBER_HEADERS:
                raise UnsafeArchiveError(
                    f"{self.where} has more than {MAX_MEMBER_HEADERS:,} bytes of tar headers for one member."
                )
            if self.total > MAX_HEADER_TOTAL:
                raise UnsafeArchiveError(
                    f"{self.where} has more than {MAX_HEADER_TOTAL:,} bytes of tar headers, more than a component needs."
                )
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


def _check_header(tar: tarfile.TarFile, member: tarfile.TarInfo, where: object) -> None:
    if tar.pax_headers:
        raise UnsafeArchiveError(f"{where} has a global PAX header, which pack never writes; refusing it.")
    if member.issparse() or member.type == tarfile.GNUTYPE_SPARSE:
        raise UnsafeArchiveError(f"The archive member {member.name!r} is a sparse file; only regular files are unpacked.")
    unknown = sorted(set(member.pax_headers) - _PAX_KEYS)
    if unknown:
        raise UnsafeArchiveError(
            f"The archive member {member.name!r} has PAX records {unknown[:3]}, which pack never writes; refusing it."
        )


def checked_members(
    tar: tarfile.TarFile, reads: HeaderReads, archive_bytes: int, max_bytes: int | None = None, keep: bool = True
) -> Iterator[tarfile.TarInfo]:
    """Lists `tar` (opened on `reads`) member by member, refusing it before anything large is read or held.

    Each member is checked before `tarfile` decompresses past its data: its
    header, the running member count, unpacked total and compression ratio
    against `archive_bytes`. With `keep=False` members are not kept in `tar`
    (a scan holds one member at a time).
    """
    max_bytes = default_max_bytes() if max_bytes is None else max_bytes
    members = total = 0
    member = tar.next()
    while member is not None:
        _check_header(tar, member, reads.where)
        members += 1
        total += member.size if member.isfile() else 0
        check_totals(members, total, reads.where, max_bytes)
        check_ratio(total, archive_bytes, reads.where)
        yield member
        if not keep:
            tar.members.clear()
        reads.next_member()
        member = tar.next()


@contextlib.contextmanager
def listed(
    archive: str | os.PathLike | BinaryIO, max_bytes: int | None = None, keep: bool = True, where: object = None
) -> Iterator[tuple[tarfile.TarFile, list[tarfile.TarInfo]]]:
    """`archive` (a path or a readable binary file) open in `tarfile`, and its members, all checked.

    With `keep=False` the members are counted, not kept (the list is empty).
    Inside the block the archive reads unbounded, to extract file data.

    Raises:
        UnsafeArchiveError: a rule above is broken, or it is not a readable `.tar.gz`.
    """
    where = archive if where is None else where
    with contextlib.ExitStack() as stack:
        try:
            raw = archive if hasattr(archive, "read") else stack.enter_context(open(archive, "rb"))
            size = os.fstat(raw.fileno()).st_size
            reads = HeaderReads(stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")), where)
            tar = stack.enter_context(tarfile.open(fileobj=reads, mode="r:"))  # type: ignore[call-overload]
            members = [member for member in checked_members(tar, reads, size, max_bytes, keep) if keep]
        except UnsafeArchiveError:
            raise
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError, RecursionError) as error:
            # ValueError: tarfile's own parsing of a malformed record (a sparse map, a number).
            raise UnsafeArchiveError(f"{where} is not a readable .tar.gz archive ({error}).") from None
        reads.bounded = False
        yield tar, members


def scan_headers(archive: str | os.PathLike | BinaryIO, max_bytes: int | None = None, where: object = None) -> None:
    """Lists `archive` (a path or a readable binary file) as `unpack` would, refusing it by the rules above.

    Raises:
        UnsafeArchiveError: a rule is broken, or it is not a readable `.tar.gz`.
    """
    with listed(archive, max_bytes, keep=False, where=where):
        pass
