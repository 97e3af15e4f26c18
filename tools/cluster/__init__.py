"""The local Kubernetes cluster and the cluster providers the doctest runs on."""
