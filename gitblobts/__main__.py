"""``python -m gitblobts``: the ``gitblobts`` command."""

from gitblobts.cli.main import main

raise SystemExit(main())
