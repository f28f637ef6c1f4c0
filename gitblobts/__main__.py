"""``python -m gitblobts``: the ``gitblobts`` command."""

from gitblobts.cli import main

raise SystemExit(main())
