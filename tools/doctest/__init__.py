"""The doctest harness: runs the examples of the pages on a cluster (a pytest plugin)."""
