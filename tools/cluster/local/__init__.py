"""The local cluster: upstream components built from Go modules, run by this package."""
