"""Built-in plugins: codecs, ciphers, layouts, backends and the time parser.

Each module here is a plugin like any third-party one: listed under the ``gitblobts``
entry-point group in ``pyproject.toml`` and loaded by :mod:`gitblobts.core.plugins`.
Nothing in :mod:`gitblobts.core` imports these modules by name.
"""
