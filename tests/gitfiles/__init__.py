"""Tests of gitblobts.gitfiles: git's own files (locks, refs, objects, packs, index, trees,
working trees)."""
