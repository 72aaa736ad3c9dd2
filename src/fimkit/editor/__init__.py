"""Editor integrations: the language server (and the shared client rules the VS Code extension mirrors)."""
