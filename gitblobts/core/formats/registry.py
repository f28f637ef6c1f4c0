"""The name formats this gitblobts reads, current first."""

from __future__ import annotations

from gitblobts.core.backend import Backend
from gitblobts.core.errors import ConfigError
from gitblobts.core.formats import NameFormat, time, v1
from gitblobts.core.naming import BlobName

FORMATS: tuple[NameFormat, ...] = (time.NAMES, v1.NAMES)


def by_version(version: int) -> NameFormat:
    """The format whose names carry ``version`` (a layout's ``name_format``)."""
    for names in FORMATS:
        if names.version == version:
            return names
    raise ConfigError(
        f"no name format of version {version}: the layout holds names this gitblobts does "
        "not read; upgrade gitblobts"
    )


def records_config(version: int) -> bool:
    """Whether names of ``version`` are those of a format whose stores record their
    configuration (``False`` for a version no format has)."""
    return any(names.version == version and names.records_config for names in FORMATS)


def parse(filename: str) -> BlobName | None:
    """A blob file name of any format, parsed; ``None`` if it is none."""
    for names in FORMATS:
        name = names.parse(filename)
        if name is not None:
            return name
    return None


def is_blob_path(path: str) -> bool:
    """Whether ``path``'s file name is a blob file name of any format."""
    return any(names.owns(path) for names in FORMATS)


def is_unrecorded_path(path: str) -> bool:
    """Whether ``path``'s file name is a blob file name of a format that records no
    configuration (a migration rewrites such files)."""
    return any(names.owns(path) for names in FORMATS if not names.records_config)


def unrecorded(backend: Backend, head: str | None) -> NameFormat | None:
    """The format of the store at ``head``, which records no configuration, if it is one
    whose stores record none."""
    for names in FORMATS:
        if not names.records_config and names.on_branch(backend, head):
            return names
    return None
