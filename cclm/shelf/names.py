"""The one rule for shelf names and versions: used by publish, by a shelf's pre-receive hook and by every reader.

Names (identifiers, item types) and versions become paths and git tags, so
they are 1 to 100 of letters, digits, `.`, `_` and `-`, starting with a
letter or digit, with no `..` and no `.lock` ending. A version is also in
its one canonical form, `MAJOR.MINOR.PATCH` with no leading zeros and
optionally a PEP 440 pre-, post- or dev-release (`1.0.0rc1`, `1.0.0.post1`):
`1.0`, `01.0.0`, `v1.0.0`, `1.0.0.0` and `1.0.00` would be a second
spelling of a version (or sort beside it), which is how a pusher could
shadow one. Identifiers `starter` and `starter-*` are reserved for the
starter components that ship with cclm.

This module needs only the standard library: `cclm shelf init` copies it
beside a shelf's pre-receive hook, which runs with no cclm installed.

Example:
>>> check_version("1.0.0"), check_version("2.1.0rc1")
('1.0.0', '2.1.0rc1')
>>> check_version("v1.0.0")
Traceback (most recent call last):
...
cclm.errors.CatalogError: version='v1.0.0' is not a shelf version: use MAJOR.MINOR.PATCH with no leading zeros (optionally a pre-release such as 1.0.0rc1), e.g. '1.0.0'.
>>> is_reserved("starter-embedder"), is_reserved("starters")
(True, False)
"""

from __future__ import annotations

import re
from typing import Any

try:
    from cclm.errors import CatalogError
except ImportError:  # beside a shelf's pre-receive hook, where cclm is not installed

    class CatalogError(ValueError):  # type: ignore[no-redef]
        """A name or version that is not valid on a shelf."""


RESERVED_PREFIX = "starter"
"""Identifiers `starter` and `starter-...` name the starter components; no shelf may publish them."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_NUMBER = r"(?:0|[1-9][0-9]*)"
_VERSION = re.compile(rf"^{_NUMBER}\.{_NUMBER}\.{_NUMBER}(?:(?:a|b|rc){_NUMBER})?(?:\.post{_NUMBER})?(?:\.dev{_NUMBER})?$")


def check_name(value: Any, what: str) -> str:
    """`value` if it is a valid identifier, item type or version text, else a CatalogError naming it."""
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value or value.endswith((".", ".lock")):
        raise CatalogError(
            f"{what}={value!r} is not valid: use 1-100 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (e.g. 'docs-en' or '1.0.0')."
        )
    return value


def check_version(value: Any, what: str = "version") -> str:
    """`value` if it is a version in its canonical form, else a CatalogError naming it and a form that works."""
    if not isinstance(value, str) or not _VERSION.match(value):
        numbers = [str(int(n)) for n in re.findall(r"[0-9]+", str(value))[:3]]
        example = ".".join(numbers + ["0"] * (3 - len(numbers))) if numbers else "1.0.0"
        raise CatalogError(
            f"{what}={value!r} is not a shelf version: use MAJOR.MINOR.PATCH with no leading zeros "
            f"(optionally a pre-release such as 1.0.0rc1), e.g. {example!r}."
        )
    return value


def is_reserved(identifier: str) -> bool:
    """Whether `identifier` names a starter component (`starter`, `starter-...`)."""
    return identifier == RESERVED_PREFIX or identifier.startswith(RESERVED_PREFIX + "-")


def version_problem(item_type: Any, identifier: Any, version: Any, starter: bool = False) -> str | None:
    """Why `item_type/identifier/version` cannot be a version on a shelf (None when it can).

    `starter=True` reads the starter shelf, where reserved identifiers belong.
    """
    try:
        check_name(item_type, "item_type")
        check_name(identifier, "identifier")
        check_version(version)
    except CatalogError as error:
        return str(error)
    if is_reserved(identifier) and not starter:
        return (f"identifier={identifier!r} is reserved for the starter components that ship with cclm; "
                f"publish under another name, e.g. 'my-{identifier}'.")
    return None
