"""Built-in plugins: codecs, ciphers, layouts, the time parser and, in :mod:`.backends`, the
backends.

Each is a plugin like any third-party one: listed under the ``gitblobts`` entry-point group
in ``pyproject.toml`` and loaded by :mod:`gitblobts.core.plugins`. Nothing in
:mod:`gitblobts.core` imports them by name. The other modules here (``lockfile``,
``dulwich_backend``, ...) are deprecated aliases of the modules that moved to
:mod:`gitblobts.gitfiles` and :mod:`gitblobts.plugins.backends`.
"""
