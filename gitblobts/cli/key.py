"""Where the command gets the key: a file, or the environment; never a command-line argument,
which other users could read in the process list. The environment's copy is taken out while
the command runs, so that the programs it starts never inherit it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from gitblobts.cli.errors import CommandError
from gitblobts.core.errors import InvalidKeyError
from gitblobts.core.keys import decode_key

KEY_ENV = "GITBLOBTS_KEY"
"""Environment variable holding the key when ``--key-file`` is not given."""

KEY_HELP = f"--key-file FILE or ${KEY_ENV}"
"""How to give the key, for messages."""


def read_key(key_file: str | None, from_environment: str | None = None) -> bytes | None:
    """The key from ``key_file`` (``-``: standard input), else ``from_environment`` (what
    :func:`taken_from_environment` took), else ``None``. Surrounding whitespace is ignored.
    An invalid key is reported with where it came from, never with its value."""
    if key_file is not None:
        source = "standard input" if key_file == "-" else key_file
        try:
            if key_file == "-":
                text = sys.stdin.buffer.read()
            else:
                with open(key_file, "rb") as file:
                    text = file.read()
        except OSError as error:
            raise CommandError(f"{source}: cannot read the key file: {error.strerror}") from None
    else:
        source = f"${KEY_ENV}"
        value = from_environment or ""
        if not value.strip():
            return None
        text = value.encode("utf-8", "surrogateescape")
    key = text.strip()
    try:
        decode_key(key)
    except InvalidKeyError as error:
        raise InvalidKeyError(f"{source}: {error.problem}", remedy=error.remedy) from None
    return key


@contextlib.contextmanager
def taken_from_environment() -> Iterator[str | None]:
    """``$GITBLOBTS_KEY``, out of the environment while the command runs, so that the
    programs it runs (git, ssh, the hooks of a repository) do not inherit the key; put back
    afterwards."""
    value = os.environ.pop(KEY_ENV, None)
    try:
        yield value
    finally:
        if value is not None:
            os.environ[KEY_ENV] = value
