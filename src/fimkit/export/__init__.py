"""Export: GGUF files llama.cpp loads, quantization, Ollama Modelfiles."""
