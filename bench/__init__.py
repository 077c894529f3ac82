"""``make bench``: our gRPC server on PostgreSQL against its baselines, in one run.

Run ``python -m bench`` (``--help`` for sizes and ``--quick``). Every figure is the median
of several repetitions, and every target is a ratio against a baseline measured in the same
run on the same machine (docs/benchmarks.md says why).
"""
