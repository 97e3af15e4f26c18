"""Tests that need the running local cluster (marker `cluster`)."""
