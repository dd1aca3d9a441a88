"""Deterministic packing and safe unpacking, on real files and real tar archives."""

import gc
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tracemalloc

import pytest

from cclm.shelf.archive import MAX_MEMBERS, UnsafeArchiveError, file_sha256, pack, unpack
from cclm.shelf.archive_limits import MAX_HEADER_BYTES


def _component(directory):
    (directory / "sub").mkdir(parents=True)
    (directory / "manifest.json").write_text('{"kind": "preprocessor"}')
    (directory / "sub" / "weights.bin").write_bytes(os.urandom(5000))
    return directory


def test_same_content_gives_the_same_bytes(tmp_path):
    first = _component(tmp_path / "a")
    second = tmp_path / "b"
    second.mkdir()
    # The same files written later, in another order, with other times and modes.
    (second / "sub").mkdir()
    (second / "sub" / "weights.bin").write_bytes((first / "sub" / "weights.bin").read_bytes())
    (second / "manifest.json").write_text((first / "manifest.json").read_text())
    os.utime(second / "manifest.json", (0, 123456))
    (second / "manifest.json").chmod(0o600)
    one, two = pack(first, tmp_path / "1.tar.gz"), pack(second, tmp_path / "2.tar.gz")
    assert one.sha256 == two.sha256 == file_sha256(tmp_path / "2.tar.gz")
    assert (tmp_path / "1.tar.gz").read_bytes() == (tmp_path / "2.tar.gz").read_bytes()
    (second / "manifest.json").write_text('{"kind": "embedder"}')
    assert pack(second, tmp_path / "3.tar.gz").sha256 != one.sha256


def test_round_trip_restores_every_file(tmp_path):
    source = _component(tmp_path / "source")
    info = pack(source, tmp_path / "c.tar.gz")
    assert info.size == (tmp_path / "c.tar.gz").stat().st_size
    target = unpack(info.path, tmp_path / "target")
    for relative in ("manifest.json", "sub/weights.bin"):
        assert (target / relative).read_bytes() == (source / relative).read_bytes()
    with pytest.raises(FileExistsError):
        unpack(info.path, target)


def test_packing_refuses_links(tmp_path):
    source = _component(tmp_path / "source")
    (source / "link").symlink_to(source / "manifest.json")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        pack(source, tmp_path / "c.tar.gz")
    assert not list(tmp_path.glob("*.tar.gz*"))  # nothing half-written


def _malicious(path, name, kind=tarfile.REGTYPE, data=b"x", linkname="", size=None):
    with tarfile.open(path, "w:gz") as tar:
        safe = tarfile.TarInfo("manifest.json")
        safe.size = 2
        tar.addfile(safe, io.BytesIO(b"{}"))
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


@pytest.mark.parametrize(
    "name, kind, linkname, message",
    [
        ("../escape.txt", tarfile.REGTYPE, "", r"outside"),
        ("sub/../../escape.txt", tarfile.REGTYPE, "", r"outside"),
        ("/etc/escape.txt", tarfile.REGTYPE, "", r"absolute"),
        ("link", tarfile.SYMTYPE, "/etc/passwd", r"symbolic link"),
        ("hard", tarfile.LNKTYPE, "manifest.json", r"hard link"),
        ("fifo", tarfile.FIFOTYPE, "", r"not a regular file"),
        pytest.param("x" * 300, tarfile.REGTYPE, "", r"longer than file systems allow", id="name-over-255-bytes"),
        ("manifest.json/inside", tarfile.REGTYPE, "", r"needs 'manifest.json' to be a directory"),
        (".", tarfile.REGTYPE, "", r"'\.' is a file"),
        ("manifest.json", tarfile.REGTYPE, "", r"twice"),
    ],
)
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, name, kind, linkname, message):
    archive = _malicious(tmp_path / "bad.tar.gz", name, kind, linkname=linkname)
    with pytest.raises(UnsafeArchiveError, match=message):
        unpack(archive, tmp_path / "out" / "target")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert not (tmp_path / "escape.txt").exists()


def test_decompression_bombs_are_refused(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "zeros.bin").write_bytes(bytes(3_000_000))  # compresses to a few kB
    info = pack(source, tmp_path / "bomb.tar.gz")
    assert info.size < 50_000
    with pytest.raises(UnsafeArchiveError, match="more than the cap"):
        unpack(info.path, tmp_path / "target", max_bytes=1_000_000)
    assert not (tmp_path / "target").exists()


def test_a_damaged_archive_is_refused(tmp_path):
    info = pack(_component(tmp_path / "source"), tmp_path / "c.tar.gz")
    data = info.path.read_bytes()
    info.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnsafeArchiveError, match="not a readable"):
        unpack(info.path, tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_a_huge_header_record_is_refused_while_streaming(tmp_path):
    # 8 MiB of PAX path record, a few kB compressed: tarfile alone would read it whole
    # (the issue saw 512 MiB exhaust 3 GiB of memory) before any check could run.
    path = tmp_path / "header.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(tarfile.TarInfo("a/" * (4 * 1024 * 1024)), io.BytesIO(b""))
    assert path.stat().st_size < 100_000
    with pytest.raises(UnsafeArchiveError, match=f"more than the {MAX_HEADER_BYTES:,} allowed"):
        unpack(path, tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_pack_refuses_what_unpack_would_refuse(tmp_path):
    # Published versions are immutable: one nobody can fetch must never publish.
    source = tmp_path / "many"
    source.mkdir()
    for index in range(MAX_MEMBERS + 1):
        (source / f"{index}.txt").touch()
    with pytest.raises(UnsafeArchiveError, match="10,001 members"):
        pack(source, tmp_path / "many.tar.gz")
    assert not list(tmp_path.glob("*.tar.gz*"))


def test_a_full_disk_while_unpacking_is_one_shelf_error(tmp_path):
    # A file-size limit makes the kernel refuse the write (EFBIG), as a full disk would.
    source = tmp_path / "source"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(2_000_000))
    info = pack(source, tmp_path / "big.tar.gz")
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))\n"
        "from cclm.errors import ShelfError\n"
        "from cclm.shelf.archive import unpack\n"
        "try:\n"
        f"    unpack({str(info.path)!r}, {str(tmp_path / 'out' / 'target')!r})\n"
        "except ShelfError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Could not unpack" in result.stdout and "File too large" in result.stdout
    assert not any((tmp_path / "out").iterdir())  # the staging directory is gone


def _header(name, kind=tarfile.REGTYPE, size=0):
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _padded(data):
    return data + bytes(-len(data) % 512)


def _pax_record(key, value):
    body = f" {key}={value}\n"
    length = len(body) + 1
    length = len(body) + len(str(length))
    return f"{length}{body}".encode()


def _raw_archive(path, *blocks):
    with gzip.open(path, "wb", compresslevel=1) as stream:
        for block in blocks:
            stream.write(block)
        stream.write(bytes(1024))
    return path


def _peak_while_refused(archive, target, match):
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchiveError, match=match):
            unpack(archive, target)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


_HIDDEN = 96 * 1024**2  # what a header record would make tarfile hold, were it read


def test_a_solaris_x_header_is_bounded_like_any_header_record(tmp_path):
    # Type "X" is a PAX header to tarfile; a scan that knew only "x" counted it as a file's data.
    archive = _raw_archive(tmp_path / "x.tar.gz", _header("@PaxHeader", b"X", _HIDDEN),
                           _padded(b"a" * _HIDDEN), _header("manifest.json"))
    assert archive.stat().st_size < 1_000_000
    peak = _peak_while_refused(archive, tmp_path / "target", f"header record of {_HIDDEN:,} bytes")
    assert peak < 64 * 1024**2
    assert not (tmp_path / "target").exists()


def test_a_pax_size_of_plus_zero_cannot_hide_headers_from_the_check(tmp_path):
    # tarfile reads "size=+0" as 0 and parses the "data" that follows as headers; the check must agree.
    records = _pax_record("size", "+0")
    hidden = _header("././@LongLink", tarfile.GNUTYPE_LONGNAME, _HIDDEN) + _padded(b"a" * _HIDDEN)
    archive = _raw_archive(tmp_path / "plus.tar.gz", _header("@PaxHeader", tarfile.XHDTYPE, len(records)),
                           _padded(records), _header("decoy", size=len(hidden)), hidden, _header("manifest.json"))
    peak = _peak_while_refused(archive, tmp_path / "target", f"header record of {_HIDDEN:,} bytes")
    assert peak < 64 * 1024**2
    assert not (tmp_path / "target").exists()


@pytest.mark.parametrize("kind, records, message", [
    (tarfile.XGLTYPE, _pax_record("comment", "x"), "global PAX header"),
    (tarfile.XHDTYPE, _pax_record("GNU.sparse.major", "1") + _pax_record("GNU.sparse.minor", "0"), "sparse"),
    (tarfile.XHDTYPE, _pax_record("LIBARCHIVE.xattr.a", "b"), "PAX records"),
])
def test_header_records_pack_never_writes_are_refused(tmp_path, kind, records, message):
    archive = _raw_archive(tmp_path / "h.tar.gz", _header("@PaxHeader", kind, len(records)), _padded(records),
                           _header("manifest.json", size=512), _padded(b"1\n0\n0\n"))  # a sparse map
    with pytest.raises(UnsafeArchiveError, match=message):
        unpack(archive, tmp_path / "target")


def test_a_long_gnu_sparse_map_is_bounded_per_member(tmp_path):
    # Each 512-byte extension block of a GNU sparse header ("S") is its own read, and tarfile keeps
    # 21 pairs from each: 8 MiB of them would be hundreds of thousands of tuples before any check.
    header = bytearray(_header("sparse", tarfile.GNUTYPE_SPARSE, 0))
    header[482] = 1  # "isextended": another sparse block follows
    header[148:156] = b" " * 8
    header[148:155] = f"{sum(header):06o}\0".encode()
    extension = bytes(504) + b"\x01" + bytes(7)  # no pairs, and "isextended" again
    archive = _raw_archive(tmp_path / "sparse.tar.gz", bytes(header), extension * 16_000, bytes(512),
                           _header("manifest.json"))
    peak = _peak_while_refused(archive, tmp_path / "target", "bytes of tar headers for one member")
    assert peak < 16 * 1024**2
