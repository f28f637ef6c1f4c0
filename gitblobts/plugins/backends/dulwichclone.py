"""Cloning through dulwich, for the ``dulwich`` backend (:class:`DulwichClones` is one of its
bases): whole clones only. dulwich can ask a server for commits and trees only, but it
does not fetch an object it lacks when asked for one, and this backend does not yet ask
for the objects a read needs: a partial clone is refused, naming the ``git`` backend,
which reads one."""

from __future__ import annotations

import io
import os

from dulwich import porcelain
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository

from gitblobts.core.errors import PluginError, RemoteError
from gitblobts.core.redaction import redact


class DulwichClones:
    """The clone verb of the ``dulwich`` backend."""

    @classmethod
    def clone(cls, url: str, path: str, *, bare: bool, partial: bool) -> bool:
        if partial:
            raise PluginError(
                "the 'dulwich' backend cannot read a partial clone (it does not fetch the "
                "blobs a clone lacks); clone with backend='git' (GITBLOBTS_BACKEND=git), or "
                "a whole clone (partial=False, gitblobts clone --full)"
            )
        ssh_command = os.environ.get("GIT_SSH_COMMAND") or os.environ.get("GIT_SSH")
        said = io.BytesIO()
        try:
            porcelain.clone(
                url,
                path,
                bare=bare,
                checkout=not bare,
                errstream=said,
                ssh_command=ssh_command or None,
            ).close()
        except (OSError, GitProtocolError, HangupException, NotGitRepository) as error:
            raise RemoteError(f"cannot clone {redact(url)}: {redact(str(error))}") from None
        return False
