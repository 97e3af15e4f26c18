"""Unit tests of the local cluster build: pins, OCI layouts, the registry (no cluster)."""
