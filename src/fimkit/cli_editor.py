"""The lsp verb: a language server for editors other than VS Code."""

from __future__ import annotations

import os
import sys

from fimkit.settings import flag_type


def register(sub, formatter, dedent) -> None:
    p = sub.add_parser(
        "lsp", formatter_class=formatter, help="language server: FIM completions in Neovim, Helix, Emacs, Zed",
        description=dedent("""
            Run a language server that answers textDocument/inlineCompletion (LSP 3.18 ghost text) and,
            for older clients, textDocument/completion with the completion as an item. Completions come
            from a model loaded in the server (--model) or from a running `fimkit serve` (or a llama.cpp
            or Ollama server) with --server. Context is budgeted by lines and characters, completions are
            cached (typing the start of a cached one costs no request), and $/cancelRequest stops the
            generation. Speaks LSP over stdio (what editors start) or TCP, for one editor: it completes
            only the documents that editor opened. Over TCP off loopback it needs --token, which the
            editor sends as initializationOptions {"token": ...} in its initialize request.
        """),
        epilog=dedent("""
            examples:
              fimkit lsp                                         stdio, embedded model in-process
              fimkit lsp --server http://127.0.0.1:5000          stdio, completions from fimkit serve
              fimkit lsp --server http://127.0.0.1:8012 --api infill   a llama.cpp server
              fimkit lsp --tcp --port 2087
              FIMKIT_LSP_TOKEN=secret fimkit lsp --tcp --host 0.0.0.0
            editor set-up: docs/editors.md (Neovim, Helix, Emacs configurations).
        """),
    )
    p.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    p.add_argument("--tcp", action="store_true", help="listen on TCP instead")
    p.add_argument("--host", default="127.0.0.1", help="TCP address (default: 127.0.0.1; any other needs --token)")
    p.add_argument("--token", default=os.environ.get("FIMKIT_LSP_TOKEN") or None,
                   help="TCP: a connection must send it as initializationOptions.token in initialize "
                        "(default: $FIMKIT_LSP_TOKEN); required off loopback")
    p.add_argument("--port", type=flag_type(int, min=1, max=65535), default=2087)
    p.add_argument("--model", default="auto", help="in-process model (when --server is not given; default: auto, "
                   "the model fimkit serve picks here)")
    p.add_argument("--server", help="base URL of a running completion server")
    p.add_argument("--api", choices=("openai", "infill", "ollama"), default="openai", help="API of --server (default: openai)")
    p.add_argument("--api-key", default=os.environ.get("FIMKIT_API_KEY"))
    p.add_argument("--max-tokens", type=flag_type(int, min=1, max=4096), default=64,
                   help="most tokens per completion (default: 64)")
    p.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                   help="do not evaluate a file's prompt into the model's cache when it is opened or saved")
    p.add_argument("--workspace", action="store_true",
                   help="repository context from the client's workspace root: definitions of the names at the "
                        "cursor and similar code, indexed in the background on first use (off by default: no "
                        "gain measured with the embedded 270M model; try it with larger models)")
    p.set_defaults(func=cmd_lsp)


def cmd_lsp(args) -> int:
    from fimkit.cli_serve import is_loopback_bind
    from fimkit.editor.lsp import LspConfig, create_server
    from fimkit.errors import FimkitError

    if args.tcp and not is_loopback_bind(args.host) and not args.token:
        raise FimkitError(f"--host {args.host} lets other machines use this language server, which completes with "
                          "your --server and its key: give --token (or FIMKIT_LSP_TOKEN), which the editor sends as "
                          "initializationOptions {\"token\": ...}")
    if args.server:
        from fimkit.settings import check_url

        check_url(args.server, "--server")  # a bad address is one line now, not an error inside the editor
    config = LspConfig(model=args.model, server=args.server, api=args.api, api_key=args.api_key, max_tokens=args.max_tokens,
                       warm_up=args.warm_up, workspace=args.workspace)
    if not args.server:
        from fimkit.models import resolve_model

        resolve_model(args.model)  # a bad model reference fails now, with one line, not inside the editor
    server = create_server(config)
    if args.tcp:
        print(f"fimkit lsp: listening on {args.host}:{args.port}", file=sys.stderr)
        server.start_tcp(args.host, args.port, token=args.token)
    else:
        server.start_io()
    return 0
