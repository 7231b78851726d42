"""The ``onelane`` command line: one module per command group."""
