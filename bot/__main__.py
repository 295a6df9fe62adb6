"""`python -m bot` is the same as the `motcua` console script."""

from bot.cli import main

raise SystemExit(main())
