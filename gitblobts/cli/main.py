"""The ``gitblobts`` command's entry point.

``main(argv)`` parses the command line, runs the command and returns the exit status: 0 on
success, 1 on a failure the user can fix (one line on standard error: ``gitblobts:
message``; the traceback only with ``--debug``), 2 on a usage error, 130 when interrupted
(an interrupted ``add`` says on standard error whether its blobs were committed),
141 when standard output is closed early (``gitblobts ls | head``), as for SIGPIPE.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence

from gitblobts.cli import output
from gitblobts.cli.errors import CommandError, StdoutClosed
from gitblobts.cli.key import KEY_HELP, taken_from_environment
from gitblobts.cli.parser import PROG, build_parser
from gitblobts.core.errors import (
    AddInterrupted,
    GitBlobTSError,
    InvalidKeyError,
    KeyRequiredError,
    PushFailedWarning,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_STDOUT_CLOSED = 141

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gitblobts`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # --help, --version, or a usage error
        return _status(exit)
    except KeyboardInterrupt:
        output.error("interrupted before the command ran: nothing was done")
        return EXIT_INTERRUPTED
    debug: bool = args.debug
    try:
        with _log_to_stderr(debug), taken_from_environment() as key_from_environment:
            args.key_from_environment = key_from_environment
            base = os.path.join(*args.directory) if args.directory else None
            if base is not None and not os.path.isdir(base):
                raise CommandError(f"{base}: no such folder (-C)")
            status: int = args.run(args)
            return status
    except SystemExit as exit:  # a usage error a command found
        return _status(exit)
    except StdoutClosed:
        _silence_stdout()
        return EXIT_STDOUT_CLOSED
    except KeyboardInterrupt as interrupt:
        # An add says whether it landed: AddInterrupted says it did, else the command knows.
        said = str(interrupt) if isinstance(interrupt, AddInterrupted) else None
        said = said or getattr(args, "interrupted", None)
        if callable(said):  # what it says depends on what landed
            said = said()
        if said:
            output.error(said)
        return EXIT_INTERRUPTED
    except GitBlobTSError as error:
        if debug:
            traceback.print_exc()
        output.error(_in_our_words(error))
        return EXIT_FAILURE


def _in_our_words(error: GitBlobTSError) -> str:
    """The library's error, with the command's remedy where the library's names what the
    API does: its ``problem``, and how to give a key or make one on the command line."""
    if isinstance(error, KeyRequiredError):
        return f"{error.problem}; give the key with {KEY_HELP}"
    if isinstance(error, InvalidKeyError):
        return f"{error.problem}; a key is one line as '{PROG} keygen' writes it"
    return str(error)


def _status(exit: SystemExit) -> int:
    code = exit.code
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_FAILURE


class _Formatter(logging.Formatter):
    """``gitblobts: warning: message``, on one line (tracebacks, with --debug, below it)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        text = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        line = f"{PROG}: {record.levelname.lower()}: {output.printable(text)}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


@contextlib.contextmanager
def _log_to_stderr(debug: bool) -> Iterator[None]:
    """Show the library's warnings, logged or issued (and with ``--debug``, everything it
    logs) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    logger = logging.getLogger(PROG)
    level = logger.level
    logger.addHandler(handler)
    if debug:
        logger.setLevel(logging.DEBUG)

    def show(message: Warning | str, *_: object, **__: object) -> None:
        logger.warning("%s", message)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            # The store logs a failed push each time; its warning would say it twice.
            warnings.filterwarnings("ignore", category=PushFailedWarning)
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
