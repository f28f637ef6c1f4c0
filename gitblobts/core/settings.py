"""A store's choices, as one immutable value: its configuration, layout, the codec and
cipher of new blobs, its key, and why adding is refused, if it is.

The store holds one :class:`Settings` and replaces it whole, in one assignment, when it
learns something (a configuration another writer recorded, a migration); every operation
takes the current value once and works with that snapshot, so that a thread adding while
another adopts a migrated configuration never sees half of each. :func:`choose` builds
settings from the options and the recorded configuration.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from gitblobts.core import keys, naming
from gitblobts.core.backend import Backend
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import CONFIG_PATH, PARTS_VERSION, StoreConfig
from gitblobts.core.errors import (
    ArgumentError,
    ConfigError,
    GitBlobTSError,
    KeyRequiredError,
    PluginMissingWarning,
    UnknownPluginError,
    WrongKeyError,
)
from gitblobts.core.formats import NameFormat
from gitblobts.core.formats.registry import by_version, records_config, unrecorded
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName
from gitblobts.core.plugins import Plugins

DEFAULT_LAYOUT = "20-second"
DEFAULT_CODEC = "zstd"
DEFAULT_CIPHER = "aes256gcm"
NO_CIPHER = "none"
DEFAULT_MAX_BLOB_SIZE = 1 << 30
"""Largest decompressed blob a read accepts unless told otherwise (1 GiB): a small file that
expands without bound makes a reader allocate at most this much."""
MAX_BLOB_SIZE_ENV = "GITBLOBTS_MAX_BLOB_SIZE"
"""Environment variable giving ``max_blob_size`` in bytes when ``max_blob_size=`` is not
given."""


@dataclass(frozen=True, eq=False)
class Settings:
    """What one operation of a store works with. Frozen: a change is a new value."""

    path: str
    """The repository's path, for messages."""
    config: StoreConfig | None
    """The recorded configuration, if the branch has one (as last seen)."""
    layout: Layout
    names: NameFormat
    """The format of the store's blob file names, which its layout holds."""
    codec: Codec
    """The codec of new blobs."""
    cipher: Cipher | None
    """The cipher of new blobs, if they are encrypted."""
    raw_key: bytes | None
    cipher_option: str | None
    """The ``cipher=`` the store was opened with."""
    write_refusal: GitBlobTSError | None = None
    """Why adding is refused, if it is."""
    missing_default: str | None = None
    """The store's recorded codec or cipher, when it is not installed here."""
    codecs: dict[str, Codec] = field(default_factory=dict, repr=False)
    """Codecs by extension, for reading: a cache, filled as files are read."""
    ciphers: dict[str, Cipher] = field(default_factory=dict, repr=False)
    """Ciphers by name, for reading: a cache, filled as files are read."""
    suffix_stages: dict[tuple[str, ...], tuple[Codec, Cipher | None]] = field(
        default_factory=dict, repr=False
    )
    """File suffixes read before, and the codec and cipher they are read with."""
    plain_codecs: dict[naming.Tail, Codec] = field(default_factory=dict, repr=False)
    """Name tails whose files read as their codec's decode alone (see
    :attr:`Pipeline.reads_plain`): the common case, read without a context per blob."""
    sealed_stages: dict[naming.Tail, tuple[Codec, Cipher]] = field(default_factory=dict, repr=False)
    """Name tails whose files read as their cipher's decrypt, then their codec's decode, all
    core's stages: an encrypted store's files, read without a context per blob."""

    def __post_init__(self) -> None:
        self.codecs.setdefault(self.codec.extension, self.codec)
        if self.cipher is not None:
            self.ciphers.setdefault(self.cipher.name, self.cipher)

    @property
    def parse(self) -> Callable[[str], BlobName | None]:
        """The parser of the store's blob file names."""
        return self.names.parse

    @property
    def holds_parts(self) -> bool:
        """Whether the store may hold parted blobs (configuration version 3 on): there a
        folder named like a blob is one (see :mod:`gitblobts.core.parts`)."""
        return self.config is not None and self.config.version >= PARTS_VERSION

    def new_config(self) -> StoreConfig:
        """The configuration the store's first commit records."""
        return self.names.new_config(self.layout.name, self.codec, self.cipher, self.raw_key)

    def key(self) -> bytes:
        """The key; only asked for where a cipher is chosen, which has one."""
        if self.raw_key is None:
            raise KeyRequiredError(f"{self.path}: no key was given")
        return self.raw_key

    def learning(self, config: StoreConfig | None) -> Settings:
        """These settings once ``config``, which another writer recorded after the store was
        opened without one, is known: adds it does not allow are refused from then on."""
        if self.config is not None or config is None:
            return self
        refusal = self.write_refusal or self._encryption_refusal(config)
        return dataclasses.replace(self, config=config, write_refusal=refusal)

    def _encryption_refusal(self, config: StoreConfig) -> GitBlobTSError | None:
        """Why new blobs cannot go into the store ``config`` describes: encrypted blobs into
        a store without encryption, unencrypted ones into an encrypted store, another key."""
        if self.cipher is None:
            if config.cipher is not None and self.cipher_option != NO_CIPHER:
                return key_required(self.path, config.cipher)
            return None
        if config.cipher is None:
            return unencrypted_store(self.path)
        if config.key_check is not None and not keys.matches(self.key(), config.key_check):
            return wrong_key(self.path)
        return None


def read_config(backend: Backend, path: str, commit: str | None) -> StoreConfig | None:
    """The configuration ``commit`` records, if any."""
    if commit is None:
        return None
    for entry in backend.list_folder(commit, ""):
        if entry.name == CONFIG_PATH:
            if not entry.is_file:  # never followed, nor guessed around
                raise ConfigError(
                    f"{path}: {CONFIG_PATH} is {entry.kind}, not a regular file; "
                    f"restore the store's configuration (git log -- {CONFIG_PATH})"
                )
            (data,) = backend.read_blobs([entry.oid])
            return StoreConfig.from_bytes(data)
    return None


def choose_layout(
    plugins: Plugins,
    backend: Backend,
    path: str,
    config: StoreConfig | None,
    layout: str | None,
    head: str | None,
) -> Layout:
    """The layout of a store whose branch is at ``head``, from ``layout=`` and ``config``."""
    configured = config.layout if config is not None else DEFAULT_LAYOUT
    if config is not None and layout is not None and layout != configured:
        raise ConfigError(
            f"{path}: the store was created with layout {configured!r}; a store "
            f"keeps its layout, so layout={layout!r} cannot apply"
        )
    found = unrecorded(backend, head) if config is None else None
    if found is not None:
        # A store of a format that records nothing: read and add to it as it is, until migrated.
        unrecorded_layout = _layout_of(plugins, path, found)
        if layout is not None and layout != unrecorded_layout:
            raise ConfigError(
                f"{path}: the branch holds blobs of {found.title} and "
                f"no {CONFIG_PATH}; open it without layout= to use it as it is, and "
                f"call migrate(layout={layout!r}) to rewrite it in the current format"
            )
        return plugins.layouts.get(unrecorded_layout)()
    chosen = plugins.layouts.get(layout or configured)
    if config is not None and not records_config(chosen.name_format):
        raise ConfigError(  # only stores of formats that record no configuration do
            f"{path}: {CONFIG_PATH} names layout {configured!r}, which holds names "
            f"of format {chosen.name_format}, not of a format that records a configuration"
        )
    return chosen()


def _layout_of(plugins: Plugins, path: str, names: NameFormat) -> str:
    """The name of the installed layout that holds ``names``."""
    for layout in plugins.layouts:
        if layout.name_format == names.version:
            return layout.name
    raise ConfigError(
        f"{path}: the branch holds blobs of {names.title}, and no installed layout reads them"
    )


def choose(
    plugins: Plugins,
    path: str,
    config: StoreConfig | None,
    layout: Layout,
    compression: str | None,
    cipher: str | None,
    raw_key: bytes | None,
) -> Settings:
    """The settings of a store with ``config`` (if recorded) and ``layout``, opened with
    ``compression=``, ``cipher=`` and ``raw_key``: the codec and cipher of new blobs, and
    why adding is refused (if it is). Raises if the key is not the store's."""
    refusal: GitBlobTSError | None = None
    missing: str | None = None
    new_cipher: Cipher | None
    names = by_version(layout.name_format)
    if not names.records_config:
        codec, new_cipher, refusal = names.unrecorded_stages(
            plugins, path, compression, cipher, raw_key
        )
    else:
        try:
            default_codec = config.codec if config is not None else DEFAULT_CODEC
            codec = plugins.codecs.get(compression or default_codec)()
            new_cipher, refusal = _choose_cipher(plugins, path, config, cipher, raw_key)
        except UnknownPluginError as error:
            if compression is not None or cipher is not None:
                raise
            # The store's own default is not installed here: reading still works, adding
            # must say why it cannot.
            codec, new_cipher = plugins.codecs.get("none")(), None
            missing = f"{error.kind} {error.name!r}"
            refusal = ConfigError(
                f"{path}: cannot add with the store's defaults: {error}; pass "
                "compression= (and cipher=) to choose installed ones"
            )
            warnings.warn(
                f"{path}: the store records {missing}, which is not "
                f"installed here (installed {error.kind}s: "
                f"{', '.join(map(repr, error.available))}); it reads the files whose codec "
                "and cipher are installed, and adds only with installed ones given "
                "(compression=, cipher=)",
                PluginMissingWarning,
                stacklevel=caller_stacklevel(),
            )
    recorded = config.key_check if config is not None else None
    if raw_key is not None and recorded is not None and not keys.matches(raw_key, recorded):
        raise wrong_key(path)
    return Settings(
        path, config, layout, names, codec, new_cipher, raw_key, cipher, refusal, missing
    )


def _choose_cipher(
    plugins: Plugins,
    path: str,
    config: StoreConfig | None,
    cipher: str | None,
    raw_key: bytes | None,
) -> tuple[Cipher | None, GitBlobTSError | None]:
    """The cipher for new blobs, and why adding is refused (if it is)."""
    if cipher == NO_CIPHER:
        return None, None
    configured = config.cipher if config is not None else None
    if raw_key is None:
        if cipher is not None:
            raise KeyRequiredError(f"cipher {cipher!r} needs a key", remedy="pass key=")
        if configured is not None:
            return None, key_required(path, configured)
        return None, None
    if config is not None and configured is None:
        return None, unencrypted_store(path)
    cipher_class = plugins.ciphers.get(cipher or configured or DEFAULT_CIPHER)
    return cipher_class(raw_key), None


def key_required(path: str, configured: str) -> KeyRequiredError:
    """Adding to a store that encrypts with ``configured``, without its key."""
    return KeyRequiredError(
        f"{path}: the store encrypts new blobs with {configured!r}",
        remedy=f"pass its key, or cipher={NO_CIPHER!r} to add unencrypted blobs",
    )


def unencrypted_store(path: str) -> ConfigError:
    """Adding with a key to a store without encryption."""
    return ConfigError(
        f"{path}: the store was created without encryption ({CONFIG_PATH} records "
        "no cipher), so no blob is added with a key: a store holds one key or none",
        remedy="add without the key, or create a new store with the key for encrypted blobs",
    )


def wrong_key(path: str) -> WrongKeyError:
    """A key that is not the one the store was created with."""
    return WrongKeyError(
        f"{path}: the key does not match the key this store was created "
        f"with (key_check in {CONFIG_PATH})"
    )


def caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller of this function point
    at the first frame outside gitblobts: the user's call."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


def read_max_blob_size(given: int | None) -> int:
    """``max_blob_size``: as given, else from the environment, else the default."""
    if given is None:
        text = os.environ.get(MAX_BLOB_SIZE_ENV)
        if text is None or not text.strip():
            return DEFAULT_MAX_BLOB_SIZE
        try:
            given = int(text.strip())
        except ValueError:
            raise ArgumentError(
                f"${MAX_BLOB_SIZE_ENV} is {text!r}, not a number of bytes"
            ) from None
    if given < 0:
        raise ArgumentError(f"max_blob_size must be >= 0, not {given!r}")
    return given
