"""Cluster providers, the local cluster and its tests."""
