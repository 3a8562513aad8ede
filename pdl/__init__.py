"""The course package: data, simulated data, metrics and the ``check`` helper that exercises use."""
