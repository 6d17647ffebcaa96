"""Benchmarks and their harnesses: the broker-backed bench and soak, and in-process figures."""
