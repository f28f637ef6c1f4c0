"""Name formats: how a store's blob files are named, and what that implies.

A store's files are named in one format, which its layout names (``Layout.name_format``,
the version its names carry) and its :class:`~gitblobts.core.settings.Settings` carry as
``names``. The store's read and write paths ask the format, never a version number:

- reading: :meth:`NameFormat.parse_parts` and :meth:`NameFormat.from_parts` turn a file
  name into a time and a :class:`~gitblobts.core.naming.BlobName`;
  :attr:`NameFormat.blob_class` is the type a read returns; a format that records no
  configuration (:attr:`NameFormat.records_config`) is read with the codec and cipher the
  store was opened with, and :meth:`NameFormat.read_hint` says which options matter when
  such a file does not decode; a format that records one is read by the suffixes its names
  carry;
- writing: :meth:`NameFormat.new_name` names a new file; :meth:`NameFormat.seconds_to_ns`
  converts float seconds where a format's writer did it its own way;
  :meth:`NameFormat.new_config` is what the store's first commit records (or reports);
- the branch: :meth:`NameFormat.owns` says whether a path is one of its blob files (the
  index is mended for them), :meth:`NameFormat.on_branch` finds a store of a format that
  records nothing, and :meth:`NameFormat.unrecorded_stages` chooses such a store's codec
  and cipher from the options.

A new format (keyed names that hide the time, content-addressed ``sha256-<hex>`` names)
implements this protocol, records a configuration (``records_config = True``; the
configuration's ``version`` names it), gives its layout a ``name_format`` of its own
version, and registers in :data:`gitblobts.core.formats.registry.FORMATS`: its names then
parse, sort by the time :meth:`~NameFormat.parse_parts` gives (a content-addressed format
gives the time it keeps in the name or beside it), and read through the suffix stages,
without a change to the store's read and write paths. ``from_parts`` must give a name
whose ``identity`` is unique per blob, since ciphers bind it.

The formats are :mod:`~gitblobts.core.formats.time` (the current names) and
:mod:`~gitblobts.core.formats.v1` (the stores of an earlier gitblobts, read and migrated;
deleting that package and its lines in :mod:`~gitblobts.core.formats.registry` drops them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gitblobts.core.backend import Backend
    from gitblobts.core.blob import Blob
    from gitblobts.core.cipher import Cipher
    from gitblobts.core.codec import Codec
    from gitblobts.core.config import StoreConfig
    from gitblobts.core.errors import GitBlobTSError
    from gitblobts.core.naming import BlobName, Tail
    from gitblobts.core.plugins import Plugins


class NameFormat(Protocol):
    """One format of blob file names, and what a store in it records and reads."""

    version: int
    """The version its names carry, and its layouts' ``name_format``."""
    records_config: bool
    """Whether its stores record ``.gitblobts.json`` (and file names say how each file is
    encoded); one that does not is read and added to with the options' codec and cipher."""
    title: str
    """What its stores are, for messages, such as ``"gitblobts (format 2)"``."""
    blob_class: type[Blob]
    """The type of the blobs a read of its files returns."""

    def parse(self, filename: str) -> BlobName | None:
        """A file name (no folders) parsed; ``None`` if it is not one of this format's."""

    def parse_parts(self, filename: str) -> tuple[int, Tail] | None:
        """:meth:`parse`, for reading many names: the time and the name's tail."""

    def from_parts(self, filename: str, timestamp_ns: int, tail: Tail) -> BlobName:
        """The name :meth:`parse` makes of ``filename``, from what :meth:`parse_parts` made."""

    def new_name(self, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        """A fresh name for a blob at ``timestamp_ns`` whose file has ``suffixes``."""

    def seconds_to_ns(self, seconds: float) -> int | None:
        """Finite float seconds as this format's writer converted them; ``None``: as
        :func:`~gitblobts.core.timestamps.to_ns` does."""

    def owns(self, path: str) -> bool:
        """Whether ``path``'s file name is one of this format's blob file names."""

    def on_branch(self, backend: Backend, head: str | None) -> bool:
        """Whether the branch at ``head``, which records no configuration, is a store of
        this format (always ``False`` for a format that records one)."""

    def new_config(
        self, layout: str, codec: Codec, cipher: Cipher | None, raw_key: bytes | None
    ) -> StoreConfig:
        """The configuration a new store records (or, if it records none, reports)."""

    def unrecorded_stages(
        self,
        plugins: Plugins,
        path: str,
        compression: str | None,
        cipher: str | None,
        raw_key: bytes | None,
    ) -> tuple[Codec, Cipher | None, GitBlobTSError | None]:
        """For a format that records no configuration: the codec and cipher of its files,
        from the options, and why adding is refused, if it is."""

    def read_hint(self, compression: str | None, keyed: bool) -> str | None:
        """What to tell a reader whose file of this format did not decode, opened with
        ``compression=`` and a key (or none); ``None``: the error says enough."""
