"""``python -m glassnet``: the same as the ``glassnet`` command."""

from glassnet.cli import main

raise SystemExit(main())
