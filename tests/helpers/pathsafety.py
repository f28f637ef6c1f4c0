"""Whether repository paths check out on every file system: case-insensitive and
normalising ones (macOS, Windows, vfat, ext4 ``casefold``) and Windows' rules for names.

No vfat or ``casefold`` file system can be mounted where these tests run (it needs root),
so this checks the paths themselves for what such file systems do: two paths collide when
they are equal after Unicode case folding and NFC or NFD normalisation; and a Windows name
may not be a reserved device name (with or without an extension), hold ``<>:"\\|?*`` or a
control character, end in a dot or a space, or be ``.`` or ``..``. Names are at most 255
UTF-8 bytes, whole paths at most 4,096.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{d}{n}" for d in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]]
)
FORBIDDEN = frozenset('<>:"\\|?*')
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096


def name_problem(name: str) -> str | None:
    """Why a path's component ``name`` does not check out everywhere; ``None``: it does."""
    if name in (".", ".."):
        return "a dot name"
    if any(char in FORBIDDEN or ord(char) < 32 or ord(char) == 127 for char in name):
        return "a character Windows forbids"
    if name.endswith((".", " ")):
        return "ends in a dot or a space"
    if name.split(".", 1)[0].rstrip(" ").upper() in RESERVED:
        return "a Windows reserved name"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"more than {MAX_NAME_BYTES} bytes"
    return None


def folded(path: str) -> set[str]:
    """The spellings a case-insensitive, normalising file system takes ``path`` for."""
    return {unicodedata.normalize(form, path).casefold() for form in ("NFC", "NFD")} | {
        unicodedata.normalize(form, path.casefold()) for form in ("NFC", "NFD")
    }


def assert_paths_safe(paths: Iterable[str]) -> None:
    """Assert that ``paths`` (repository paths, ``/``-separated) check out everywhere: no
    component is unsafe, no path too long, and no two paths (nor their folders) collide
    once case-folded and normalised."""
    seen: dict[str, str] = {}
    for path in paths:
        assert len(path.encode("utf-8")) <= MAX_PATH_BYTES, f"{path[:80]}...: too long"
        parts = path.split("/")
        for end in range(1, len(parts) + 1):
            prefix = "/".join(parts[:end])
            problem = name_problem(parts[end - 1])
            assert problem is None, f"{prefix!r}: {problem}"
            for spelling in folded(prefix):
                other = seen.setdefault(spelling, prefix)
                assert other == prefix, f"{prefix!r} and {other!r} collide"
