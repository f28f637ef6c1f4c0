"""gitblobts: git-backed, time-indexed blob storage.

Each blob is a file in a git repository, named by its nanosecond UTC time plus 128 random
bits, and blobs come back by time range. See :class:`Store` (and
:class:`AsyncStore` for asyncio programs).
"""

import logging
from importlib.metadata import PackageNotFoundError, version

from gitblobts.core.asyncstore import AsyncStore
from gitblobts.core.blob import Blob, BlobInfo, BlobRef
from gitblobts.core.blobrefs import BlobRefs
from gitblobts.core.cloning import clone
from gitblobts.core.errors import (
    AddInterrupted,
    ArgumentError,
    ArgumentTypeError,
    BlobNotFoundError,
    BlobTooLargeError,
    BlobTypeError,
    ConfigError,
    ConflictError,
    CorruptBlobError,
    CryptoKeyError,
    ForeignEntryWarning,
    GitBlobTSError,
    InvalidKeyError,
    KeyRequiredError,
    PartialCloneWarning,
    PluginError,
    PluginMissingWarning,
    PushFailedWarning,
    PushRejectedError,
    RemoteError,
    RepositoryError,
    TimeError,
    UnknownPluginError,
    WrongKeyError,
)
from gitblobts.core.formats.v1.migration import MigrationReport
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.keyed import EVERY_KEY
from gitblobts.core.keys import generate_key
from gitblobts.core.plugins import Plugins, load_plugins
from gitblobts.core.pushrecord import PushFailure
from gitblobts.core.sharded import ShardedStore
from gitblobts.core.sharding import init_sharded
from gitblobts.core.store import Store
from gitblobts.core.sync import PullResult, PushResult
from gitblobts.core.timestamps import Nanoseconds
from gitblobts.core.verify import Problem, VerifyReport

try:
    __version__ = version("gitblobts")
except PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "EVERY_KEY",
    "AddInterrupted",
    "ArgumentError",
    "ArgumentTypeError",
    "AsyncStore",
    "Blob",
    "BlobInfo",
    "BlobNotFoundError",
    "BlobRef",
    "BlobRefs",
    "BlobTooLargeError",
    "BlobTypeError",
    "ConfigError",
    "ConflictError",
    "CorruptBlobError",
    "CryptoKeyError",
    "ForeignEntryWarning",
    "GitBlobTSError",
    "InvalidKeyError",
    "KeyRequiredError",
    "MigrationReport",
    "Nanoseconds",
    "PartialCloneWarning",
    "PluginError",
    "PluginMissingWarning",
    "Plugins",
    "Problem",
    "PullResult",
    "PushFailedWarning",
    "PushFailure",
    "PushRejectedError",
    "PushResult",
    "RemoteError",
    "RepositoryError",
    "ShardedStore",
    "Store",
    "TimeError",
    "UnknownPluginError",
    "VerifyReport",
    "WrongKeyError",
    "__version__",
    "clone",
    "generate_key",
    "hookimpl",
    "init_sharded",
    "load_plugins",
]
