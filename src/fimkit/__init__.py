"""fimkit: from raw code to fill-in-the-middle completions in your editor."""

__version__ = "0.1.0"
