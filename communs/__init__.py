"""The ``communs`` command line: the composition root that wires the packages together."""
