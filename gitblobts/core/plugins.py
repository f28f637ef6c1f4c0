"""Plugin loading, and the registries of what plugins provide.

Plugins come from the ``gitblobts`` entry-point group, built-in ones included: core never
imports a plugin module by name. The environment variable ``GITBLOBTS_PLUGINS`` decides which
third-party plugins load, so that tests and bug reports are reproducible:

- unset: every installed plugin;
- a comma-separated list of entry-point names: the built-in plugins and those;
- empty: the built-in plugins only.

:func:`load_plugins` builds an independent :class:`Plugins` (for tests, or to add plugin
objects that are not installed); :func:`default_plugins` is the shared one stores use.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import pluggy

from gitblobts.core import hookspecs
from gitblobts.core.backend import Backend
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.errors import (
    ArgumentTypeError,
    GitBlobTSError,
    PluginError,
    TimeError,
    UnknownPluginError,
)
from gitblobts.core.layout import Layout
from gitblobts.core.stages import CORE_STAGES
from gitblobts.core.timestamps import TimeParser

ENTRY_POINT_GROUP = "gitblobts"
PLUGINS_ENV = "GITBLOBTS_PLUGINS"
BUILTIN_DISTRIBUTION = "gitblobts"
CORE_PLUGIN_NAME = "gitblobts.core"

T = TypeVar("T")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


class Registry(Generic[T]):
    """Classes of one kind (codec, cipher...) by name, with the plugin that provides each."""

    def __init__(self, kind: str, base: type[T]) -> None:
        self.kind = kind
        self._base = base
        self._classes: dict[str, type[T]] = {}
        self._owners: dict[str, str] = {}

    def add(self, cls: type[T], owner: str) -> None:
        """Register ``cls`` under its ``name``, as provided by plugin ``owner``."""
        if not (isinstance(cls, type) and issubclass(cls, self._base)):
            raise PluginError(
                f"plugin {owner!r} registered {cls!r} as a {self.kind}, but it is not a "
                f"subclass of {self._base.__module__}.{self._base.__qualname__}"
            )
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise PluginError(
                f"plugin {owner!r}: {self.kind} {cls.__qualname__} needs a class attribute "
                f"'name' of lowercase letters, digits, '-' and '_', not {name!r}"
            )
        if name in self._classes and self._classes[name] is not cls:
            raise PluginError(
                f"{self.kind} name {name!r} is provided by both plugin {self._owners[name]!r} "
                f"and plugin {owner!r}; uninstall one, or limit plugins with {PLUGINS_ENV}"
            )
        self._classes[name] = cls
        self._owners[name] = owner

    def get(self, name: str) -> type[T]:
        """The class named ``name``; :class:`UnknownPluginError` lists the names there are."""
        try:
            return self._classes[name]
        except (KeyError, TypeError):
            raise UnknownPluginError(self.kind, name, self._classes) from None

    def owner(self, name: str) -> str:
        """The plugin that provides ``name``."""
        return self._owners[name]

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._classes)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[type[T]]:
        return iter(self._classes.values())


class Plugins:
    """A plugin manager and the registries filled from its plugins' registration hooks."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self.manager = manager
        self.hook = manager.hook
        self.codecs = Registry[Codec]("codec", Codec)  # type: ignore[type-abstract]
        self.ciphers = Registry[Cipher]("cipher", Cipher)  # type: ignore[type-abstract]
        self.layouts = Registry[Layout]("layout", Layout)  # type: ignore[type-abstract]
        self.backends = Registry[Backend]("backend", Backend)  # type: ignore[type-abstract]
        self.time_parsers = Registry[TimeParser](
            "time parser",
            TimeParser,  # type: ignore[type-abstract]
        )
        self._collect("gitblobts_register_codecs", self.codecs)
        self._collect("gitblobts_register_ciphers", self.ciphers)
        self._collect("gitblobts_register_layouts", self.layouts)
        self._collect("gitblobts_register_backends", self.backends)
        self._collect("gitblobts_register_time_parsers", self.time_parsers)
        self._codecs_by_extension = self._index_extensions()
        self._parsers: list[TimeParser] | None = None

    def _collect(self, hook_name: str, registry: Registry[Any]) -> None:
        hook = getattr(self.hook, hook_name)
        for impl in hook.get_hookimpls():
            register: Callable[[type], None] = functools.partial(
                registry.add, owner=impl.plugin_name
            )
            try:
                impl.function(register)
            except GitBlobTSError:
                raise
            except Exception as error:
                raise PluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: {error!r}"
                ) from error

    def _index_extensions(self) -> dict[str, type[Codec]]:
        by_extension: dict[str, type[Codec]] = {}
        for codec in self.codecs:
            extension = getattr(codec, "extension", None)
            if not isinstance(extension, str) or not (
                extension == "" or _NAME.fullmatch(extension)
            ):
                raise PluginError(
                    f"plugin {self.codecs.owner(codec.name)!r}: codec {codec.name!r} needs a "
                    f"class attribute 'extension' of lowercase letters and digits, not "
                    f"{extension!r}"
                )
            if extension in by_extension:
                raise PluginError(
                    f"codecs {by_extension[extension].name!r} and {codec.name!r} share the "
                    f"file extension {extension!r}"
                )
            if extension in self.ciphers:
                raise PluginError(
                    f"codec {codec.name!r} has the extension {extension!r}, which is also the "
                    "name of a cipher; file names could not tell them apart"
                )
            by_extension[extension] = codec
        return by_extension

    def codec_for_extension(self, extension: str) -> type[Codec] | None:
        """The codec whose files end in ``extension`` (``""``: uncompressed), if installed."""
        return self._codecs_by_extension.get(extension)

    def parse_time(self, text: str, now_ns: int) -> int:
        """Parse ``text`` with the installed time parsers, in registration order (built-in
        first); the first that understands it wins. Raises :class:`TimeError` quoting it, or
        :class:`PluginError` naming a parser that raised."""
        if self._parsers is None:
            self._parsers = [parser() for parser in self.time_parsers]
        for parser in self._parsers:
            try:
                ns = parser.parse(text, now_ns)
            except GitBlobTSError:
                raise
            except Exception as error:  # the contract: never raise
                cls = type(parser)
                raise PluginError(
                    f"time {text!r}: time parser {parser.name!r} "
                    f"({cls.__module__}.{cls.__qualname__}) raised {error!r}, which its "
                    "contract does not allow: a bug in the plugin; report it to its authors"
                ) from error
            if ns is not None:
                return ns
        names = ", ".join(repr(p.name) for p in self._parsers) or "none installed"
        suggestions = [s for s in map(_suggestion(text), self._parsers) if s]
        raise TimeError(
            f"time {text!r} is not understood by any time parser ({names})",
            remedy="; ".join(suggestions) or None,
        )

    def plugin_names(self) -> list[str]:
        """Names of the registered plugins, core's own stage implementations excluded."""
        return [
            name
            for name, _ in self.manager.list_name_plugin()
            if name is not None and name != CORE_PLUGIN_NAME
        ]

    def provided_by(self, plugin_name: str) -> dict[str, list[str]]:
        """What ``plugin_name`` registered, by kind."""
        provided: dict[str, list[str]] = {}
        for registry in (self.codecs, self.ciphers, self.layouts, self.backends, self.time_parsers):
            names = [n for n in registry.names() if registry.owner(n) == plugin_name]
            if names:
                provided[registry.kind] = names
        return provided


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _is_builtin(entry_point: importlib.metadata.EntryPoint) -> bool:
    dist = getattr(entry_point, "dist", None)
    return dist is not None and dist.name.lower().replace("_", "-") == BUILTIN_DISTRIBUTION


def load_plugins(only: Iterable[str] | None = None, extra: Iterable[object] = ()) -> Plugins:
    """Load plugins into a new, independent :class:`Plugins`.

    ``only``: entry-point names of third-party plugins to load besides the built-in ones
    (``None``: all installed). ``extra``: plugin objects to register as well, e.g. a module
    or class with hook implementations that is not installed.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(CORE_STAGES, name=CORE_PLUGIN_NAME)
    wanted = _plugin_names(only)
    if isinstance(extra, (str, bytes)) or not isinstance(extra, Iterable):
        raise ArgumentTypeError(f"extra is {type(extra).__name__}, not an iterable of plugins")
    entry_points = _entry_points()
    available = {ep.name for ep in entry_points if not _is_builtin(ep)}
    if wanted is not None and not wanted <= available:
        unknown = sorted(wanted - available)[0]
        raise UnknownPluginError("plugin", unknown, available)
    # Built-in plugins first: their time parsers are asked first, so a string's meaning
    # does not depend on which third-party plugins are installed.
    entry_points.sort(key=lambda ep: not _is_builtin(ep))
    for entry_point in entry_points:
        if not _is_builtin(entry_point) and wanted is not None and entry_point.name not in wanted:
            continue
        _register(manager, entry_point)
    for plugin in extra:
        try:
            manager.register(plugin)
        except ValueError as error:
            raise PluginError(f"cannot register plugin {plugin!r}: {error}") from error
    return Plugins(manager)


def _plugin_names(only: Iterable[str] | None) -> set[str] | None:
    """``only`` as a set of names; :class:`ArgumentTypeError` if it is not an iterable of
    them (one string is not: ``only='zstd'`` would mean the plugins ``z``, ``s``, ...)."""
    if only is None:
        return None
    if isinstance(only, (str, bytes)) or not isinstance(only, Iterable):
        raise ArgumentTypeError(
            f"only is {type(only).__name__}, not an iterable of plugin names; pass a list"
        )
    names = set(only)
    for name in names:
        if not isinstance(name, str):
            raise ArgumentTypeError(f"only holds {name!r} ({type(name).__name__}), not a name")
    return names


def _register(manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint) -> None:
    try:
        plugin = entry_point.load()
    except Exception as error:
        raise PluginError(
            f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {error!r}"
        ) from error
    if manager.is_registered(plugin):
        return
    if manager.has_plugin(entry_point.name):
        raise PluginError(
            f"two installed plugins are both named {entry_point.name!r}; uninstall one"
        )
    try:
        manager.register(plugin, name=entry_point.name)
    except ValueError as error:
        raise PluginError(f"plugin {entry_point.name!r} is invalid: {error}") from error


def _plugins_from_environment() -> tuple[str, ...] | None:
    value = os.environ.get(PLUGINS_ENV)
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip())


@functools.lru_cache(maxsize=4)
def _cached_plugins(only: tuple[str, ...] | None) -> Plugins:
    return load_plugins(only)


def default_plugins() -> Plugins:
    """The shared :class:`Plugins`, loaded once per value of ``GITBLOBTS_PLUGINS``."""
    return _cached_plugins(_plugins_from_environment())


def _suggestion(text: str) -> Callable[[TimeParser], str | None]:
    """What a parser suggests for ``text``; a parser whose ``suggest`` fails suggests
    nothing (the error is about the text, not the parser)."""

    def suggest(parser: TimeParser) -> str | None:
        try:
            suggestion = parser.suggest(text)
        except Exception:
            return None
        return suggestion if isinstance(suggestion, str) else None

    return suggest
