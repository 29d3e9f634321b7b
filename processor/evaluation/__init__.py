"""Scoring masks: the metrics (also the trainers' validation), the comparison with a reference mask that
``s2mask evaluate`` and the benchmarks report, and the peer masks run on the same bands."""
