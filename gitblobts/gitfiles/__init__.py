"""Git's own file formats, read and written directly by the backends; none is a plugin.

One module per kind of file: :mod:`.locks` (git's ``*.lock`` files), :mod:`.refs` (refs and
their logs), :mod:`.objects` (loose objects and packs written), :mod:`.packs` (packs read),
:mod:`.commits` (commit objects), :mod:`.trees` (tree objects, and editing them along
changed paths), :mod:`.index` (the index file), :mod:`.indexlock` (holding the index lock
while the index and working tree change), :mod:`.worktree` (files checked out) and
:mod:`.checkouts` (which working trees have a branch checked out).
"""
