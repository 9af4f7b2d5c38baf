# Examples: small real programs, each verified against a sequential run.
.PHONY: examples examples-check
examples:
examples-check: examples
