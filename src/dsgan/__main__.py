"""Allow ``python -m dsgan`` (needed for ``torchrun -m dsgan``)."""

from dsgan.cli.main import main

raise SystemExit(main())
