"""What a component archive may hold, checked the same way when publishing and when fetching.

`scan_headers` reads a `.tar.gz` header by header, streaming, and refuses it
before `tarfile` holds anything large: too many members, too many bytes in
all, or a header record (a PAX record, a GNU long name) over
`MAX_HEADER_BYTES`. `check_layout` refuses member names no file system can
write or that collide: a path component over 255 bytes, a path over 4,096,
a file named `.`, one name twice, a file where another member needs a
directory. `pack` applies both limits to a directory before it publishes
it, so a published version can always be fetched.

Example:
>>> check_layout([("model", True), ("model/weights.h5", False)])
>>> check_layout([("a", False), ("a/b", False)])
Traceback (most recent call last):
...
cclm.errors.UnsafeArchiveError: The member 'a/b' needs 'a' to be a directory, but 'a' is a file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterable

from cclm.errors import UnsafeArchiveError

MAX_UNPACKED_BYTES = 4 * 1024**3
"""Unpacking stops before writing anything when the members add up to more than this."""
MAX_MEMBERS = 10_000
"""Files and directories in one component, at most."""
MAX_HEADER_BYTES = 64 * 1024
"""One PAX record block or GNU long name, at most (a path is at most 4,096 bytes)."""
MAX_NAME_BYTES, MAX_PATH_BYTES = 255, 4096

_BLOCK = 512
_EXTENDED = {b"x", b"g", b"L", b"K"}  # header records that describe the next member
_NO_DATA = {b"1", b"2", b"3", b"4", b"5", b"6"}  # links, devices, directories, fifos


def check_totals(members: int, total_bytes: int, where: object, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Refuses more than `MAX_MEMBERS` members or more than `max_bytes` in all."""
    if members > MAX_MEMBERS:
        raise UnsafeArchiveError(f"{where} has {members:,} members or more, more than the {MAX_MEMBERS:,} a component may hold.")
    if total_bytes > max_bytes:
        raise UnsafeArchiveError(
            f"{where} holds {total_bytes:,} bytes or more, more than the cap of {max_bytes:,}; "
            "raise max_bytes if you trust it."
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


def _number(field: bytes) -> int:
    if field[:1] and field[0] & 0x80:  # GNU base-256
        return int.from_bytes(field[1:], "big")
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits or b"0", 8)
    except ValueError:
        raise UnsafeArchiveError(f"A tar header has the size field {field!r}, which is not a number.") from None


def _pax_size(records: bytes) -> int | None:
    """The `size` a PAX record block sets for the next member, if any."""
    size = None
    while records:
        length, _, rest = records.partition(b" ")
        if not length.isdigit() or int(length) <= len(length) + 1:
            break
        record, records = records[: int(length)], records[int(length):]
        key, _, value = record[len(length) + 1:].rstrip(b"\n").partition(b"=")
        if key == b"size" and value.isdigit():
            size = int(value)
    return size


def scan_headers(archive: str | os.PathLike, max_bytes: int = MAX_UNPACKED_BYTES) -> None:
    """Reads `archive`'s headers as a stream and refuses it before anything large is held in memory."""
    members = total = 0
    next_size = None
    try:
        with gzip.open(archive, "rb") as stream:
            while True:
                header = stream.read(_BLOCK)
                if len(header) < _BLOCK or header == bytes(_BLOCK):
                    return  # the end (a truncated archive is left to tarfile to report)
                kind = header[156:157]
                size = _number(header[124:136])
                if kind in _EXTENDED:
                    if size > MAX_HEADER_BYTES:
                        raise UnsafeArchiveError(
                            f"{archive} has a {size:,}-byte header record, more than the {MAX_HEADER_BYTES:,} allowed."
                        )
                    records = stream.read(-(-size // _BLOCK) * _BLOCK)
                    if kind in (b"x", b"g"):
                        next_size = _pax_size(records[:size]) if kind == b"x" else next_size
                    continue
                if next_size is not None:
                    size, next_size = next_size, None
                members += 1
                remaining = 0 if kind in _NO_DATA else -(-size // _BLOCK) * _BLOCK
                total += 0 if kind in _NO_DATA else size
                check_totals(members, total, archive, max_bytes)
                while remaining:
                    skipped = len(stream.read(min(remaining, 1 << 20)))
                    if not skipped:
                        return
                    remaining -= skipped
    except (OSError, EOFError, zlib.error) as error:
        raise UnsafeArchiveError(f"{archive} is not a readable .tar.gz archive ({error}).") from None
