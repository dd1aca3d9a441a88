"""TensorFlow's start-up log lines, hidden unless asked for.

Loading TensorFlow writes 4 to 11 lines to stderr: absl's notice, "Could not
find cuda drivers", CPU-feature notes, and on a machine without a GPU
"failed call to cuInit", which reads like an error and is none. Some are
written by native code while the library loads, whatever
`TF_CPP_MIN_LOG_LEVEL` says, so they are caught at the file descriptor then.

`import cclm` calls `hide_startup_logs()`: unless you set
`TF_CPP_MIN_LOG_LEVEL` yourself (0 shows everything) or TensorFlow is
already imported, the first import of TensorFlow, by cclm or by you, drops
those lines and keeps anything else written to stderr, and TensorFlow's C++
logs stay at level 3 (fatal only; failures still reach Python as exceptions).

Example:
>>> import os, sys
>>> with startup_logs_hidden():
...     _ = os.write(2, b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers\\n")
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType
from typing import Any

# TensorFlow's and absl's own log lines (and the continuation of its CPU-feature note).
TENSORFLOW_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog"
                                 r"|To enable the following instructions:)")


@contextlib.contextmanager
def startup_logs_hidden() -> Iterator[None]:
    """Everything written to file descriptor 2 inside, less TensorFlow's log lines, is written out at the end."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            sys.stderr.write("".join(line for line in text.splitlines(keepends=True)
                                     if not TENSORFLOW_LOG_LINE.match(line)))
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with its start-up lines hidden; the module keeps the real loader."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        with startup_logs_hidden():
            self.loader.exec_module(module)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the other finders do, once, and wraps its loader in `_QuietLoader`."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def hide_startup_logs() -> None:
    """Hides TensorFlow's start-up log lines at its first import, unless `TF_CPP_MIN_LOG_LEVEL` is set or it is imported."""
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if not any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())


def show_startup_logs() -> None:
    """Undoes `hide_startup_logs` before TensorFlow is imported (`cclm --verbose`)."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _QuietTensorFlowFinder)]
