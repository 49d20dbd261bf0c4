"""Reproducible benchmarks; `make bench` (python -m benchmarks) writes JSON under var/bench/."""
