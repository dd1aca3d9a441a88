"""Failures a user can meet while publishing or naming a shelf: one line that says what to do, nothing half-done."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from cclm import Preprocessor
from cclm.errors import ShelfError
from cclm.shelf.shelf import Shelf

pytestmark = pytest.mark.skipif(shutil.which("git-lfs") is None, reason="needs git-lfs (scripts/setup.sh installs it)")


def test_a_full_disk_while_publishing_is_one_publish_error_and_publishes_nothing(tmp_path):
    shelf = Shelf.init(tmp_path / "shelf.git", cache_dir=tmp_path / "cache")
    shelf.list()  # the clone exists; what is left to write is the archive
    component = Preprocessor().fit(["text"], progress=False).save(tmp_path / "component")
    (component / "filler.bin").write_bytes(os.urandom(3_000_000))  # incompressible: the archive is 3 MB
    # A file-size limit makes the kernel refuse the write (EFBIG), as a full disk would (ENOSPC).
    script = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))\n"
        "from cclm.cli.main import main\n"
        f"raise SystemExit(main(['shelf', 'publish', {str(component)!r}, 'docs', '--remote', {str(shelf.remote)!r},"
        f" '--cache-dir', {str(shelf.cache_dir)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.startswith("cclm ") or "Error" in line]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines == [lines[0]] and "nothing was published" in lines[0] and "File too large" in lines[0]
    assert "Free some space there" in lines[0]
    assert shelf.list() == [] and subprocess.run(["git", "--git-dir", shelf.remote, "tag"], capture_output=True,
                                                 text=True).stdout == ""


@pytest.mark.parametrize("remote", ["ext::sh -c touch% {marker}", "--upload-pack=touch {marker}"])
def test_a_remote_that_would_run_a_command_is_refused_in_one_line(tmp_path, remote):
    marker = tmp_path / "ran"
    remote = remote.format(marker=marker)
    with pytest.raises(ShelfError, match="would make git run a command"):
        Shelf(remote, cache_dir=tmp_path / "cache").list()
    for command, env in ((["shelf", "list", "--remote", remote], {}), (["shelf", "list"], {"CCLM_SHELF": remote})):
        result = subprocess.run([sys.executable, "-m", "cclm.cli", *command], capture_output=True, text=True,
                                timeout=120, env={**os.environ, "CCLM_CACHE": str(tmp_path / "cache"), **env})
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.stderr.count("\n") == 1 and "would make git run a command" in result.stderr
    assert not marker.exists()
