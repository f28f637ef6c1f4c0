"""Making a sharded store (:func:`init_sharded`), and making a clone of one one
(:func:`adopt_clone`). See :mod:`gitblobts.core.catalog` for what a sharded store is."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

from gitblobts.core import keys, periods
from gitblobts.core.catalog import (
    BRANCH,
    DEFAULT_MAX_SHARD_BYTES,
    PARTIAL_MARK,
    SETTINGS_KEY,
    SHARDS_FOLDER,
    CatalogStore,
    Sharding,
    check_max_shard_bytes,
    check_template,
    local_path,
    template_for,
)
from gitblobts.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    BlobNotFoundError,
    KeyRequiredError,
)
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.redaction import redact
from gitblobts.core.settings import DEFAULT_CIPHER, DEFAULT_CODEC, DEFAULT_LAYOUT, NO_CIPHER
from gitblobts.core.state import check_names
from gitblobts.core.store import BACKEND_ENV, DEFAULT_BACKEND, Store

CATALOG_LAYOUT = "flat"
"""The layout of a new catalog: each key holds a version or two, in its own folder (keys
fan out on their own), so that the catalog reads in a few trees rather than a path of
folders per key."""


def init_sharded(
    path: str | os.PathLike[str],
    *,
    shard_by: str = "month",
    remote: str | None = None,
    shard_remote: str | None = None,
    max_shard_bytes: int | None = DEFAULT_MAX_SHARD_BYTES,
    layout: str | None = None,
    compression: str | None = None,
    cipher: str | None = None,
    key: bytes | str | None = None,
    backend: str | None = None,
    plugins: Plugins | None = None,
    push: bool | str = True,
) -> Store:
    """Make the sharded store ``path`` (a new or empty folder) and open it.

    ``shard_by``: ``'year'``, ``'month'`` or ``'day'`` (UTC): each period's blobs go to a
    repository of their own. ``remote``: the catalog's remote (a URL or path; a local path
    that does not exist is made a bare repository). ``shard_remote``: each shard's remote,
    ``{shard}`` (or ``{period}``) replaced by the shard's name (``2026-01``, or ``2026-01.2``
    for the second shard of a period); by default ``remote`` with ``-{shard}`` before its
    ``.git``, and no remote without ``remote``. ``max_shard_bytes``: size of a shard's
    repository past which its period gets another shard (``None``: never).
    ``layout``, ``compression``, ``cipher``, ``key``: those of every shard, as for a new
    :class:`~gitblobts.Store`. ``push``: as for :class:`~gitblobts.Store`; the catalog is
    pushed once made, if it has a remote and ``push`` is not ``False``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"path is {type(path).__name__}, not a str or path-like")
    target = os.fspath(path)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise ArgumentError(f"{target}: exists and is not an empty folder; make a new one")
    check_names(layout=layout, compression=compression, cipher=cipher, backend=backend)
    if remote is not None and not isinstance(remote, str):
        raise ArgumentTypeError(f"remote is {type(remote).__name__}, not a str or None")
    plugins = plugins if plugins is not None else default_plugins()
    backend = backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    if cipher not in (None, NO_CIPHER) and key is None:
        raise KeyRequiredError(f"cipher {cipher!r} needs a key", remedy="pass key=")
    sharding = Sharding(
        shard_by=periods.check_shard_by(shard_by),
        remote=check_template(shard_remote or (template_for(remote) if remote else None)),
        max_shard_bytes=check_max_shard_bytes(max_shard_bytes),
        layout=layout or DEFAULT_LAYOUT,
        compression=compression or DEFAULT_CODEC,
        cipher=None if key is None or cipher == NO_CIPHER else cipher or DEFAULT_CIPHER,
    )
    if sharding.cipher is not None and key is not None:
        sharding = replace(sharding, key_check=keys.key_check(keys.decode_key(key)))
    plugins.layouts.get(sharding.layout)
    plugins.codecs.get(sharding.compression)
    if sharding.cipher is not None:
        plugins.ciphers.get(sharding.cipher)
    repositories = plugins.backends.get(backend)
    made = not os.path.exists(target)
    try:
        repositories.create_repository(target, branch=BRANCH, origin=remote)
        os.mkdir(os.path.join(target, SHARDS_FOLDER))
        with _catalog(target, backend, plugins, layout=CATALOG_LAYOUT) as catalog:
            if remote is not None:
                folder = local_path(remote)
                if folder is not None and not os.path.isdir(folder):
                    repositories.create_repository(folder, branch=BRANCH, origin=None)
                catalog.pull()
            recorded = _recorded_sharding(catalog)
            if recorded is None:
                _check_not_a_store(catalog, remote)
                catalog.addblob(sharding.to_bytes(), key=SETTINGS_KEY, push=push is not False)
            else:
                _check_joined(recorded, sharding, remote, same_remote=shard_remote is not None)
    except BaseException:
        shutil.rmtree(target) if made else _empty(target)
        raise
    return Store(target, key=key, backend=backend, plugins=plugins, push=push)


def adopt_clone(path: str, *, partial: bool, backend: str | None, plugins: Plugins | None) -> bool:
    """Make the clone ``path`` a sharded store if its branch is a catalog (its shards are
    then cloned as queries need them, partially if ``partial``); return whether it was."""
    with _catalog(path, backend, plugins) as catalog:
        if _recorded_sharding(catalog) is None:
            return False
    os.mkdir(os.path.join(path, SHARDS_FOLDER))
    _exclude_shards(path)
    if partial:
        with open(os.path.join(path, SHARDS_FOLDER, PARTIAL_MARK), "x"):
            pass
    return True


def _catalog(
    path: str, backend: str | None, plugins: Plugins | None, layout: str | None = None
) -> CatalogStore:
    return CatalogStore(
        path, branch=BRANCH, backend=backend, plugins=plugins, compression="none", layout=layout
    )


def _exclude_shards(path: str) -> None:
    """Keep :data:`SHARDS_FOLDER` out of ``git status`` of a clone with a working tree."""
    git_dir = os.path.join(path, ".git")
    if not os.path.isdir(git_dir):
        return
    os.makedirs(os.path.join(git_dir, "info"), exist_ok=True)
    with open(os.path.join(git_dir, "info", "exclude"), "a", encoding="utf-8") as exclude:
        exclude.write(f"\n/{SHARDS_FOLDER}/\n")


def _recorded_sharding(catalog: Store) -> Sharding | None:
    try:
        return Sharding.from_bytes(catalog.getblob(SETTINGS_KEY).blob)
    except BlobNotFoundError:
        return None


def _check_not_a_store(catalog: Store, remote: str | None) -> None:
    """Refuse to make a catalog of a remote store that is not sharded."""
    if catalog.configured:
        raise ArgumentError(
            f"{redact(remote or catalog.path)} holds a store that is not sharded: a sharded "
            "store needs a remote of its own"
        )


def _check_joined(
    recorded: Sharding, asked: Sharding, remote: str | None, *, same_remote: bool
) -> None:
    """Refuse to join a remote sharded store made with other choices than those asked (its
    shards' remotes only if asked for: the catalog's URL may be another name of the same)."""
    fields = ["shard_by", "max_shard_bytes", "layout", "compression", "cipher"]
    differences = [
        f"{field} {getattr(recorded, field)!r}, not {getattr(asked, field)!r}"
        for field in fields + (["remote"] if same_remote else [])
        if getattr(recorded, field) != getattr(asked, field)
    ]
    if differences:
        raise ArgumentError(
            f"{redact(remote or '')} is a sharded store already, with "
            f"{'; '.join(differences)}: clone it to join it (gitblobts.clone)"
        )


def _empty(folder: str) -> None:
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        shutil.rmtree(full) if os.path.isdir(full) else os.remove(full)
