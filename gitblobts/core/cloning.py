"""Making a store from a remote one: :func:`gitblobts.clone`.

A partial clone (the default) fetches commits and trees only; a query then fetches the
blob contents it reads that the clone lacks, in one request per query (see
:meth:`gitblobts.core.reading.Reading.fetched`), and keeps them. The backend clones
(:meth:`gitblobts.core.backend.Backend.clone`); a server that ignores the filter sends
everything, which makes a whole clone, with a :class:`~gitblobts.PartialCloneWarning`.
"""

from __future__ import annotations

import os
import warnings

from gitblobts.core import sharding
from gitblobts.core.errors import ArgumentError, ArgumentTypeError, PartialCloneWarning
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.redaction import redact
from gitblobts.core.store import BACKEND_ENV, DEFAULT_BACKEND, Store


def clone(
    url: str,
    path: str | os.PathLike[str],
    *,
    partial: bool = True,
    bare: bool = False,
    **store_options: object,
) -> Store:
    """Clone the store at ``url`` into the new folder ``path`` and open it.

    ``partial``: fetch commits and trees only; blob contents are fetched when a query reads
    them (the server must allow filters, ``uploadpack.allowFilter``). A server that ignores
    the filter makes a whole clone, with a :class:`~gitblobts.PartialCloneWarning`.
    ``bare``: no working tree (a working tree of a partial clone holds the files at its
    root only, and needs ``backend='git'``). ``store_options``:
    those of :class:`~gitblobts.Store` (``backend``, ``key``...), which opens the clone.
    """
    plugins = store_options.get("plugins")
    backend = store_options.get("backend")
    if plugins is not None and not isinstance(plugins, Plugins):
        raise ArgumentTypeError(f"plugins is {type(plugins).__name__}, not a Plugins")
    if backend is not None and not isinstance(backend, str):
        raise ArgumentTypeError(f"backend is {type(backend).__name__}, not a str or None")
    clone_store(url, path, partial=partial, bare=bare, backend=backend, plugins=plugins)
    return Store(path, **store_options)  # type: ignore[arg-type]


def clone_store(
    url: str,
    path: str | os.PathLike[str],
    *,
    partial: bool,
    bare: bool,
    backend: str | None = None,
    plugins: Plugins | None = None,
) -> bool:
    """:func:`clone`'s store, not opened: the repository, made a sharded store if it is a
    catalog; return whether it is partial."""
    is_partial = clone_repository(
        url, path, partial=partial, bare=bare, backend=backend, plugins=plugins
    )
    sharding.adopt_clone(os.fspath(path), partial=is_partial, backend=backend, plugins=plugins)
    return is_partial


def clone_repository(
    url: str,
    path: str | os.PathLike[str],
    *,
    partial: bool,
    bare: bool,
    backend: str | None = None,
    plugins: Plugins | None = None,
) -> bool:
    """:func:`clone`'s repository, not opened nor made a sharded store (a shard's clone):
    return whether it is partial (a server that ignores the filter makes a whole one, with
    a :class:`~gitblobts.PartialCloneWarning`)."""
    if not isinstance(url, str):
        raise ArgumentTypeError(f"url is {type(url).__name__}, not a str")
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"path is {type(path).__name__}, not a str or path-like")
    target = os.fspath(path)
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise ArgumentError(f"{target}: exists and is not an empty folder; clone into a new one")
    plugins = plugins if plugins is not None else default_plugins()
    name = backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    is_partial = plugins.backends.get(name).clone(url, target, bare=bare, partial=partial)
    if partial and not is_partial:
        message = (
            f"{redact(url)} ignored the filter (its server does not allow filters: "
            "uploadpack.allowFilter), so the clone is a whole one"
        )
        warnings.warn(PartialCloneWarning(message), stacklevel=3)
    return is_partial
