"""The ``dsgan`` command line: one module per subcommand, registered in :mod:`dsgan.cli.main`."""
