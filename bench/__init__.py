"""ember's benchmarks against PyTorch: each workload runs both in one process and prints the ratio."""
