"""`python -m edge` runs the technician CLI."""

from edge.cli.main import main

raise SystemExit(main())
