"""Evaluation metrics: what the harness measures about a generator."""
