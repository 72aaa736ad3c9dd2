"""Engines: the contract every backend implements (``contract``), the backends (llama.cpp in-process,
transformers, a remote OpenAI-compatible server), the choice between them (``choice``) and what
backends share: token healing's vocabulary index (``healing``), llama.cpp's saved prompt states and
prompt-lookup drafts."""
