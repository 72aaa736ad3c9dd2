"""Training data: corpus building, seed samples, the FIM transform, tokenization to memmaps."""
