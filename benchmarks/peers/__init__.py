"""The AGC spec written with other tools, for the peer benchmark (benchmarks/bench_agc.py)."""
