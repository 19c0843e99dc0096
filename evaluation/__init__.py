"""Evaluation: datasets with exact ground truth, metrics and the benchmark harness."""
