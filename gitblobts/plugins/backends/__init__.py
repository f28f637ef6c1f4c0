"""The built-in backends, each a plugin: :mod:`.dulwich` (in-process, the default) and
:mod:`.git` (the git command).

What both share, reading folders through cached trees and editing trees along changed
paths, is in :mod:`.base` and :mod:`gitblobts.gitfiles`; the other modules here each hold
one part of one backend: :mod:`.dulwichindex`, :mod:`.dulwichexchange`, :mod:`.gitprocesses`.
"""
