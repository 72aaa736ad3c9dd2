"""Training: LoRA fine-tuning for FIM (train), merging adapters (merge)."""
