"""Synthetic Sentinel-2 scenes with exact truth, written as real SAFE products (the test fixture factory)."""
