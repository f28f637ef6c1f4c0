"""Keeping secrets out of text: credentials embedded in remote URLs."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@\s:]*):[^/@\s]*@")


def redact(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` replaced by
    ``***``, so URLs can appear in logs, errors and reprs."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)
