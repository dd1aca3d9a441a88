"""Every public error cclm raises, in one place, by the layer that raises it.

Each message names the value that was wrong and says what to do. Catch a
whole family through its base: `ComponentError` (a component directory),
`ShelfError` (publishing and fetching), `CatalogError` (a shelf's catalog).

Example:
>>> from cclm.errors import ShelfLookupError, ShelfError
>>> issubclass(ShelfLookupError, ShelfError) and issubclass(ShelfLookupError, LookupError)
True
"""

# ------------------------------------------------------- missing extras
def install_hint(extra: str, packages: str) -> str:
    """How to install an optional extra from a clone: the `cclm` on PyPI is another project, never named.

    >>> install_hint("plot", "matplotlib")
    'in your clone of cclm: bash scripts/setup.sh plot (or pip install matplotlib)'
    """
    return f"in your clone of cclm: bash scripts/setup.sh {extra} (or pip install {packages})"


# ---------------------------------------------------------------- data
class DataFileError(ValueError):
    """A data path that cannot be read as asked."""


# ------------------------------------------------------- training input
class NoUsableTextError(ValueError):
    """The data gave no text to train on: it was empty, or every document was empty or filtered out."""


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; training stopped at that batch."""


# ------------------------------------------------------------ components
class ComponentError(ValueError):
    """A component directory is missing, damaged, or not what was asked for."""


# ---------------------------------------------------------------- shelf
class CatalogError(ValueError):
    """A catalog entry or a name in it is not valid."""


class UnsafeArchiveError(ValueError):
    """An archive holds something `unpack` will not write: a link, an escaping path, too much data."""


class ShelfError(RuntimeError):
    """Something about a shelf went wrong; the message says what to do."""


class ShelfLookupError(ShelfError, LookupError):
    """The identifier, item type or version is not on the shelf."""


class VersionExistsError(ShelfError):
    """That version is already published; versions are immutable."""


class ShelfUnreachableError(ShelfError):
    """The shelf's remote cannot be reached (and the cache cannot answer)."""


class GitLfsMissingError(ShelfError):
    """git-lfs is not installed."""


class ChecksumMismatchError(ShelfError):
    """Downloaded or cached content does not match its recorded sha256 and size."""


class MissingContentError(ShelfError):
    """The shelf has a version's git-lfs pointer but git-lfs gave no content for it."""


class PublishError(ShelfError):
    """The push was refused or failed; nothing was published."""
