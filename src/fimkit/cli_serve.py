"""The serving verbs of the CLI: serve and complete. Thin: parse flags, call the library, print."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.settings import add_flags, build, flag_type, overrides_from_args

SHUTDOWN_GRACE_S = 3  # seconds a stopping server gives the requests in flight
MAX_INPUT_BYTES = 50_000_000  # --prefix-file, --suffix-file, FILE: far past any prompt window


def _engine_args(p) -> None:
    from fimkit.infer.config import EngineConfig

    add_flags(p.add_argument_group("model and backend"), EngineConfig)


def register(sub, formatter, dedent) -> None:
    p = sub.add_parser(
        "serve", formatter_class=formatter, help="serve completions over the APIs editors speak",
        description=dedent("""
            Serve fill-in-the-middle completions over every API editors already speak, from one model
            loaded once:
              POST /complete          {prefix, suffix} -> {completion, success}  (the seed's API)
              POST /v1/completions    OpenAI (suffix, stream, stop, n, logprobs); Tabby's segments too
              POST /infill            llama.cpp (input_prefix, input_suffix, input_extra, prompt, n_indent,
                                      t_max_predict_ms; timings in the reply) - for llama.vscode
              POST /api/generate      Ollama (suffix or a raw FIM prompt, NDJSON streaming); GET /api/tags,
                                      POST /api/show - for Continue and twinny
              POST /v1/events, GET /v1/stats   telemetry: accept rate mid-line vs end of line
              GET /health, GET /metrics        liveness and Prometheus metrics
            Every reply holds only the middle. Models without FIM tokens are served prefix-only with
            suffix-aware post-processing. Binds 127.0.0.1; any other address needs --api-key.
        """),
        epilog=dedent("""
            examples:
              fimkit serve                                   the embedded FIM model (--model auto) on 127.0.0.1:5000
              fimkit serve --model fim-model-q4_0.gguf --port 8012
              fimkit serve --model ./fim-model-merged --backend transformers
              fimkit serve --backend openai --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-Coder-1.5B \\
                  --fim-format qwen2.5-coder:psm
              FIMKIT_API_KEY=secret fimkit serve --host 0.0.0.0
              # a team: requests batched on 8 slots, an adapter per repository (docs/team.md)
              fimkit serve --backend llama-server --parallel 8 --routes routes.yaml \\
                  --adapter shop=runs/adapt-shop/adapter.gguf
              # the same on vLLM (make vllm; a GPU node: --engine-args '--tensor-parallel-size 2')
              fimkit serve --backend vllm --parallel 16 --routes routes.yaml --adapter shop=runs/adapt-shop/peft
            try it:
              curl -s localhost:5000/complete -H 'Content-Type: application/json' \\
                  -d '{"prefix": "def add(a, b):\\n    return ", "suffix": "\\n"}'
        """),
    )
    _engine_args(p)
    from fimkit.serve.config import ServerConfig

    add_flags(p.add_argument_group("server"), ServerConfig, skip=("telemetry_path",))
    p.add_argument("--no-telemetry", action="store_true", help="do not store /v1/events in $FIMKIT_HOME/telemetry.sqlite")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "complete", formatter_class=formatter, help="complete one cursor position from the command line",
        description=dedent("""
            Complete the code at one cursor position with the same engine and post-processing as the
            server, printing only the middle (nothing else on stdout). The cursor is FILE at --line and
            --col (1-based, as editors count), or --prefix-file/--suffix-file, or JSON on stdin
            ({"prefix": ..., "suffix": ..., "language": ...}) when FILE is '-'.
        """),
        epilog=dedent("""
            examples:
              fimkit complete app.py --line 12 --col 16
              fimkit complete --prefix-file before.py --suffix-file after.py --max-tokens 64
              echo '{"prefix": "def add(a, b):\\n    return ", "suffix": "\\n"}' | fimkit complete -
              fimkit complete app.py --line 3 --col 1 --json      middle plus timings and stop reason
        """),
    )
    p.add_argument("file", nargs="?", help="source file, or '-' for JSON on stdin")
    p.add_argument("--line", type=flag_type(int, min=1), help="cursor line, 1-based")
    p.add_argument("--col", type=flag_type(int, min=1), help="cursor column, 1-based (1 = start of the line)")
    p.add_argument("--prefix-file")
    p.add_argument("--suffix-file")
    p.add_argument("--max-tokens", type=flag_type(int, min=1, max=100_000), default=128,
                   help="most tokens of the middle (default: 128)")
    p.add_argument("--temperature", type=flag_type(float, min=0.0, max=2.0), default=0.0,
                   help="sampling temperature; 0 is greedy (default: 0)")
    p.add_argument("--min-confidence", type=flag_type(float, min=-100.0, max=0.0),
                   help="hide a middle whose mean token log-probability is lower (e.g. -1.5)")
    p.add_argument("--language", help="language for the parse check (default: from the file name)")
    p.add_argument("--json", action="store_true", help="print a JSON object with the middle, timings and stop reason")
    p.add_argument("--workspace", metavar="PATH",
                   help="project folder for repository context (indexed once, then kept under $FIMKIT_HOME)")
    _engine_args(p)
    p.set_defaults(func=cmd_complete)

    p = sub.add_parser(
        "index", formatter_class=formatter, help="index a project for repository context (serve --workspace)",
        description=dedent("""
            Build or refresh the workspace index that repository context reads: the project's source
            files (git ls-files in a checkout, else every file not excluded by a .gitignore) cut into
            chunks at definition boundaries, a BM25 index over them, and the definitions (functions,
            classes, methods, module constants) by name. It is saved under $FIMKIT_HOME/workspaces;
            running it again re-reads only the files that changed. `fimkit serve --workspace PATH`, the
            language server and `fimkit complete --workspace PATH` build it themselves when needed;
            this command shows what they would see.
        """),
        epilog=dedent("""
            examples:
              fimkit index .
              fimkit index ~/src/myrepo --lookup parse_args       where is parse_args defined?
              fimkit index ~/src/myrepo --search "def read_config(path):"
        """),
    )
    p.add_argument("path", help="project folder")
    p.add_argument("--lookup", metavar="NAME", help="print the definitions of NAME")
    p.add_argument("--search", metavar="CODE", help="print the chunks most like CODE (BM25)")
    p.set_defaults(func=cmd_index)


def is_loopback_bind(host: str) -> bool:
    # An empty host (an unset `--host "$HOST"`) makes uvicorn listen on every address: not loopback.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _engine_config(args):
    from fimkit.infer.config import EngineConfig

    return build(EngineConfig, overrides_from_args(args, EngineConfig), "command line")


def _say(message: str) -> None:
    print(f"fimkit: {message}", file=sys.stderr)


def cmd_serve(args) -> int:
    from fimkit.infer.engines.choice import load_engine, preflight
    from fimkit.paths import fimkit_home
    from fimkit.serve.config import ServerConfig

    values = overrides_from_args(args, ServerConfig)
    values.setdefault("api_key", os.environ.get("FIMKIT_API_KEY") or None)
    if not args.no_telemetry:
        values["telemetry_path"] = str(fimkit_home() / "telemetry.sqlite")
    config = build(ServerConfig, values, "command line")
    if config.workspace and not Path(config.workspace).expanduser().is_dir():
        raise FimkitError(f"workspace {config.workspace}: not a folder; give the project's root folder")
    if not is_loopback_bind(config.host) and not config.api_key:
        raise FimkitError(f"binding {config.host} exposes the server beyond this machine: set --api-key (or FIMKIT_API_KEY)")
    engine_config = _engine_config(args)
    # Everything that can fail does so here, as one line, before anything is printed or bound: the
    # model and adapter files, the address, then loading the model.
    preflight(engine_config, progress=sys.stderr.isatty(), log=_say)
    from fimkit.infer.config import adapter_names
    from fimkit.serve.routing import Router

    Router(config.routes, tuple(adapter_names(engine_config.adapters)), config.rollback)  # a bad table: one line
    sock = _listen(config.host, config.port)
    import uvicorn

    from fimkit.serve.app import create_app

    engine = None
    try:
        engine = load_engine(engine_config)
        app = create_app(engine, config)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"fimkit: serving {engine.name} ({engine_config.backend}) on http://{shown}:{port}", file=sys.stderr)
        if engine_config.model.strip().lower() == "auto":
            from fimkit.models.auto import cached_choice

            choice = cached_choice()
            if choice is not None:
                _say(f"--model auto: {choice.model}, {choice.reason} (fimkit models --measure measures again)")
        # A stop (SIGTERM, Ctrl-C) waits this long for requests in flight, then cancels them (which
        # hangs up their engine calls): a stalled engine or client never holds the server up.
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=SHUTDOWN_GRACE_S))
        server.run(sockets=[sock])
    finally:
        sock.close()
        if engine is not None:
            engine.close()  # a llama-server or vLLM child stops with the server
    return 0


def _listen(host: str, port: int):
    """A socket bound to ``host``:``port`` (0: a free port, whose number the caller prints); binding
    here rather than in uvicorn makes a taken port one line, and says which port 0 became."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise FimkitError(f"--host {host}: not an address this machine can bind ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise FimkitError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port (or 0 for "
                          "any free one)") from None
    sock.set_inheritable(True)
    return sock


def _read(path: str) -> str:
    from fimkit.fileio import read_text_file

    return read_text_file(path, "cannot read", max_bytes=MAX_INPUT_BYTES)


def cursor_split(text: str, line: int, col: int, name: str = "file") -> tuple[str, str]:
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise FimkitError(f"--line {line} is outside {name}, which has {len(lines)} lines")
    if not 1 <= col <= len(lines[line - 1]) + 1:
        raise FimkitError(f"--col {col} is outside line {line} of {name} ({len(lines[line - 1])} characters; "
                          f"col {len(lines[line - 1]) + 1} is its end)")
    offset = sum(len(ln) + 1 for ln in lines[: line - 1]) + col - 1
    return text[:offset], text[offset:]


def cmd_complete(args) -> int:
    from fimkit.infer.complete import run_completion
    from fimkit.infer.engines.choice import load_engine
    from fimkit.infer.engines.contract import CompletionRequest, SamplingParams

    if args.workspace is not None and (not args.workspace.strip() or not Path(args.workspace).expanduser().is_dir()):
        raise FimkitError(f"--workspace {args.workspace!r}: not a folder; give the project's root folder")
    language, filename = args.language, None
    if args.file == "-":
        try:
            data = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise FimkitError(f"stdin is not valid JSON ({exc.msg}); send {{\"prefix\": ..., \"suffix\": ...}}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("prefix"), str):
            raise FimkitError("stdin JSON needs a string field 'prefix' (and optionally 'suffix', 'language')")
        prefix, suffix = data["prefix"], str(data.get("suffix", ""))
        language = language or data.get("language")
        filename = data.get("filename")
    elif args.file:
        if args.line is None or args.col is None:
            raise FimkitError("give the cursor with --line and --col (1-based), e.g. --line 12 --col 8")
        prefix, suffix = cursor_split(_read(args.file), args.line, args.col, args.file)
        filename = args.file
    elif args.prefix_file:
        prefix = _read(args.prefix_file)
        suffix = _read(args.suffix_file) if args.suffix_file else ""
        filename = args.prefix_file
    else:
        raise FimkitError("say where the cursor is: FILE --line L --col C, --prefix-file [--suffix-file], or '-' for JSON on stdin")
    engine = load_engine(_engine_config(args))
    context = None
    if args.workspace is not None:
        from fimkit.infer.context.repository import RepoContext
        from fimkit.infer.context.workspace import WorkspaceIndex

        context = RepoContext(WorkspaceIndex.open(args.workspace, progress=sys.stderr.isatty()))
        if filename and not Path(filename).is_absolute():
            try:
                filename = str(Path(filename).resolve())
            except (OSError, RuntimeError):  # a looping link: the index cannot place it, no context
                pass
    request = CompletionRequest(prefix, suffix, sampling=SamplingParams(max_tokens=args.max_tokens, temperature=args.temperature),
                                min_mean_logprob=args.min_confidence, language=language, filename=filename)
    result = run_completion(engine, request, context=context)
    if args.json:
        st = result.stats
        print(json.dumps({"middle": result.text, "stop": result.stop_type, "gated": result.gated,
                          "mean_logprob": result.mean_logprob, "fim_format": engine.fim_format.spec,
                          "prompt_tokens": st.prompt_tokens, "completion_tokens": st.predicted_tokens,
                          "prompt_ms": round(st.prompt_ms, 1), "total_ms": round(st.prompt_ms + st.predicted_ms, 1),
                          "context": [{"path": p, "text": t} for p, t in result.context]}))
    else:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    return 0


def cmd_index(args) -> int:
    import time

    from fimkit.infer.context.workspace import WorkspaceIndex

    started = time.perf_counter()
    index = WorkspaceIndex(args.path)
    index.load()
    stats = index.refresh(progress=sys.stderr.isatty())
    if stats.read:
        index.save()
    dropped = ", ".join(f"{n} {why}" for why, n in sorted(stats.dropped.items())) or "none"
    print(f"fimkit index: {stats.files} files, {stats.chunks} chunks, {stats.symbols} definitions; "
          f"{stats.read} files read in {time.perf_counter() - started:.1f} s; skipped: {dropped}; "
          f"{index.size_bytes() / 1e6:.1f} MB at {index.cache}", file=sys.stderr)
    if args.lookup:
        for path, sym in index.definitions(args.lookup):
            print(f"{path}:{sym.line + 1}: {sym.kind}\n{sym.stub}\n")
    if args.search:
        for path, chunk, score in index.search(args.search, 3):
            print(f"{path}:{chunk.start + 1}-{chunk.end} (BM25 {score:.2f})\n{index.text(path, chunk)}\n")
    return 0
