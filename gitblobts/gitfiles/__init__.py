"""Git's own file formats, read and written directly by both backends.

One module per kind of file: :mod:`.locks` (git's ``*.lock`` files), :mod:`.refs` (refs and
their logs), :mod:`.objects` (loose objects and packs written), :mod:`.packs` (packs read),
:mod:`.index` (the index file), :mod:`.indexlock` (holding the index lock while the index
changes), :mod:`.trees` (tree objects), :mod:`.worktree` (files checked out) and
:mod:`.checkouts` (which working trees have a branch checked out). None of these is a
plugin; the backends in :mod:`gitblobts.plugins.backends` are.
"""
