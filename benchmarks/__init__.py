"""Benchmarks: scripts that time the system against a baseline measured in the same run."""
