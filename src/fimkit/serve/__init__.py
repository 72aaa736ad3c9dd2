"""Serving completions: engines (llama.cpp in-process first) and post-processing."""
