"""The ``gitblobts`` command: a git-like front end to :class:`gitblobts.Store`.

:func:`gitblobts.cli.main.main` is its entry point; it reads the command line with
:mod:`~gitblobts.cli.parser` and runs one function of :mod:`~gitblobts.cli.commands`. This
package imports none of its modules, so that they can import each other's siblings from it
without a cycle.
"""
