"""`ShelfCache` on real files, with real processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cclm import Preprocessor
from cclm.shelf.archive import pack
from cclm.shelf.cache import ShelfCache


def _install(barrier, archive, directory, results):
    barrier.wait()
    try:
        ShelfCache.install(Path(archive), Path(directory))
        results.put("ok")
    except Exception as error:  # noqa: BLE001  (the test reports whatever went wrong)
        results.put(repr(error))


def test_processes_installing_one_shared_object_at_once_all_succeed(tmp_path):
    # Objects are shared by every shelf using a cache: processes fetching one version through
    # different shelves install the same object at the same moment (before: "Directory not empty").
    Preprocessor().fit(["shared objects"], progress=False).save(tmp_path / "component")
    info = pack(tmp_path / "component", tmp_path / "component.tar.gz")
    context = multiprocessing.get_context("fork")
    for round_ in range(3):
        directory = tmp_path / f"cache-{round_}" / "objects" / info.sha256
        barrier, results = context.Barrier(6), context.Queue()
        processes = [context.Process(target=_install, args=(barrier, str(info.path), str(directory), results))
                     for _ in range(6)]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join()
        assert outcomes == ["ok"] * 6
        assert ShelfCache.verified(directory)
        assert sorted(p.name for p in directory.parent.iterdir()) == [info.sha256, f"{info.sha256}.files"]
