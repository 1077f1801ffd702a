"""Benchmarks of the biobank inventory: `make bench` runs `python -m bench`."""
