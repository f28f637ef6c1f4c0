"""The built-in backends: :mod:`.dulwich` (in-process) and :mod:`.git` (the git command)."""
