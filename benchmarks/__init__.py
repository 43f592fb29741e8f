"""Benchmarks and plotting helpers for the reference scripts."""
