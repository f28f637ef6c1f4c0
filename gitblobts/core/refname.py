"""Branch and ref names git accepts: the rules of ``git check-ref-format``.

A name git refuses is never written: git would ignore such a ref (or refuse to move it), and
blobs committed to it would be lost from sight. :func:`check_branch` says which rule a name
breaks, as ``git check-ref-format --branch`` (a short name) or ``git check-ref-format`` (a
full name, ``refs/...``) would refuse it.
"""

from __future__ import annotations

_FORBIDDEN = {
    " ": "a space",
    "~": "'~'",
    "^": "'^'",
    ":": "':'",
    "?": "'?'",
    "*": "'*'",
    "[": "'['",
    "\\": "a backslash",
}
"""Characters no ref name may hold, besides control characters, and how to name them."""


def refname_problem(refname: str) -> str | None:
    """Why git refuses the full ref name ``refname`` (``refs/heads/main``), ``None`` if it
    does not."""
    if not refname:
        return "it is empty"
    if refname == "@":
        return "it is the single character '@'"
    for character in refname:
        if ord(character) < 0o40 or ord(character) == 0o177:
            return f"it holds the control character {character!r}"
        if character in _FORBIDDEN:
            return f"it holds {_FORBIDDEN[character]}"
    if "@{" in refname:
        return "it holds '@{'"
    if ".." in refname:
        return "it holds '..'"
    if refname.startswith("/") or refname.endswith("/"):
        return "it begins or ends with '/'"
    if refname.endswith("."):
        return "it ends with '.'"
    for component in refname.split("/"):
        if not component:
            return "it holds '//'"
        if component.startswith("."):
            return f"its part {component!r} begins with '.'"
        if component.endswith(".lock"):
            return f"its part {component!r} ends with '.lock'"
    return None


def branch_problem(branch: str) -> str | None:
    """Why git refuses ``branch`` as the name of a branch, ``None`` if it does not: a full
    name (``refs/...``) as ``git check-ref-format`` checks it, a short one as
    ``git check-ref-format --branch`` does."""
    if branch.startswith("refs/"):
        return refname_problem(branch)
    if branch.startswith("-"):
        return "it begins with '-'"
    if branch == "HEAD":
        return "'HEAD' names the checked-out commit, not a branch"
    return refname_problem(f"refs/heads/{branch}")


def full_branch_ref(branch: str) -> str:
    """The full ref of ``branch`` (``main`` → ``refs/heads/main``); a name starting with
    ``refs/`` is one already."""
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"
