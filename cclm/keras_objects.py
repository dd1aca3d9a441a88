"""cclm's Keras classes are registered as soon as Keras is imported, so `keras.saving.load_model` finds them.

`import cclm` stays light: it imports no TensorFlow. Keras can only load a
`.keras` file whose classes are registered, so `cclm/__init__.py` asks to
be told when `keras` is imported (a `wrapt` post-import hook) and then
imports the modules that define cclm's Keras classes (`set_registration`).

One case needs care: Keras first imported by a cclm module part-way
through its own import (`import cclm.models` imports Keras before it has
defined anything). Importing the other modules then would meet that
half-made module, so registration waits: each package that imports Keras
calls `ready(__name__)` as its last line, and the last of them to finish
registers everything.

Example:
>>> import cclm, keras
>>> keras.saving.get_registered_object("cclm>Embedder").__name__
'Embedder'
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

_registration: Callable[[], None] | None = None
_done = False


def keras_name(name: str) -> str:
    """`name` as Keras accepts it for a layer or model called inside another: other characters become "_".

    >>> keras_name("contrastive + multilingual")
    'contrastive___multilingual'
    """
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def unique_name(prefix: str) -> str:
    """A default name as Keras gives one: `prefix`, then `prefix_1`, `prefix_2`, ... in this session.

    Two unnamed objects of one kind (two pretrainers, say) then compose
    without a clash of names; `keras.backend.clear_session()` starts over.

    >>> import keras
    >>> keras.backend.clear_session()
    >>> unique_name("masked_language_pretrainer"), unique_name("masked_language_pretrainer")
    ('masked_language_pretrainer', 'masked_language_pretrainer_1')
    """
    import keras

    count = keras.backend.get_uid(prefix) - 1
    return f"{prefix}_{count}" if count else prefix


def set_registration(register: Callable[[], None]) -> None:
    """Sets what `ready` runs once: a function importing every module that defines a Keras class."""
    global _registration
    _registration = register


def _importing(caller: str) -> bool:
    """Whether a cclm module other than `caller` is part-way through its import (the import system's own flag)."""
    for name, module in list(sys.modules.items()):
        if (name == "cclm" or name.startswith("cclm.")) and name != caller:
            if getattr(getattr(module, "__spec__", None), "_initializing", False):
                return True
    return False


def ready(caller: str) -> None:
    """Called by `caller` when it is fully defined: registers cclm's Keras classes unless another cclm import is under way."""
    global _done
    if _done or _registration is None or "keras" not in sys.modules or _importing(caller):
        return
    _done = True
    _registration()


def on_keras_import(_keras: Any) -> None:
    """The post-import hook on `keras` (see the module docstring)."""
    ready("cclm")
