# Benchmarks against peers; results go to bench/RESULTS.md.
.PHONY: bench bench-quick
bench:
bench-quick:
