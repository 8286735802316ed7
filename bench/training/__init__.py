"""`bench train`: fine-tune a bi-encoder or a cross-encoder from what a dataset offers, then benchmark it."""
