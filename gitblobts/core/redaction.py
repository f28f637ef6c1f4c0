"""Keeping secrets out of text: credentials embedded in remote URLs.

A URL's user part (``scheme://USERINFO@host``) carries credentials in every form git
accepts: ``user:password``, a token alone (``https://<token>@host``, as GitHub and GitLab
hand them out), a token with a placeholder (``<token>:x-oauth-basic``), a password alone
(``:<token>``), each possibly percent-encoded. Which part is the secret cannot be told from
the text, so the whole user part becomes ``***``. An ssh URL's user name is a login, not a
secret, and stays (its password, if one is written, does not); git's scp-like form
(``user@host:path``) can carry no password and is left as it is.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/?#\s]*)@",
)
"""A URL's scheme and user part: up to the last ``@`` before the path, query or fragment."""
_SSH_SCHEMES = frozenset({"ssh://", "git+ssh://", "ssh+git://"})
MASK = "***"


def _masked(match: re.Match[str]) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if scheme.lower() in _SSH_SCHEMES:
        user, colon, _ = userinfo.partition(":")
        if "@" not in user and "%" not in user:
            return f"{scheme}{user}{colon and ':' + MASK}@"
    return f"{scheme}{MASK}@"


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it (see the module docstring) replaced
    by ``***``, so URLs can appear in logs, errors and reprs."""
    return _USERINFO.sub(_masked, text)


def scrub_chain(error: BaseException) -> None:
    """Cut from ``error``'s chain (its ``__cause__`` and ``__context__``, theirs, and so on)
    every exception whose message or repr holds a credential :func:`redact` would hide, with
    all behind it, so that neither a traceback nor a look at the chain shows one. Messages
    of gitblobts' own errors are redacted where they are made; this catches what another
    library (dulwich, urllib3) put in the exceptions they are raised from."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        for attribute in ("__cause__", "__context__"):
            linked = getattr(link, attribute)
            if linked is not None and _holds_credentials(linked):
                setattr(link, attribute, None)
            elif linked is not None:
                pending.append(linked)


def _holds_credentials(error: BaseException) -> bool:
    try:
        said = f"{error!r} {error}"
    except Exception:  # an exception that cannot say what it is says nothing secret
        return False
    return redact(said) != said
