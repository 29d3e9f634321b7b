"""Training: label building, selection strategies, datasets, training loops and evaluation metrics."""
