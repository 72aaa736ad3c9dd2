"""The server's settings, kept apart from the HTTP code so `fimkit --help` builds its flags without
importing FastAPI."""

from __future__ import annotations

from dataclasses import dataclass

from fimkit.errors import FimkitError
from fimkit.settings import check, setting


@dataclass(frozen=True)
class ServerConfig:
    """The HTTP server's settings; the flags of `fimkit serve` (the engine's come from EngineConfig)."""

    host: str = setting("127.0.0.1", "address to bind; any non-loopback address needs --api-key")
    port: int = setting(5000, "port to listen on; 0 picks a free one (the address is printed)", min=0, max=65535)
    api_key: str | None = setting(None, "require 'Authorization: Bearer KEY' on every endpoint but /health "
                                  "(default: $FIMKIT_API_KEY); needed off loopback")
    max_queue: int = setting(16, "requests waiting for the model before new ones get 503 with Retry-After",
                             min=1, max=10_000)
    max_request_bytes: int = setting(2_000_000, "larger request bodies get 413", min=1024, max=1_000_000_000)
    default_max_tokens: int = setting(128, "middle length in tokens when a client sends none", flag="max-tokens",
                                      min=1, max=100_000)
    max_tokens_cap: int = setting(512, "the most tokens a client may ask for", min=1, max=100_000)
    min_confidence: float | None = setting(None, "server-wide confidence gate: hide completions whose mean token "
                                           "log-probability is lower (e.g. -1.5); a request's own value wins",
                                           min=-100.0, max=0.0)
    min_shown_logprob: float | None = setting(
        None, "for editors that ask again after a partial accept (requests with early_reply, as fimkit's VS Code "
        "extension and language server send), show a middle only as far as the model finds it likely: cut before "
        "the token that takes the sum of its tokens' log-probabilities below this (docs/typing.md); default: the "
        "model profile's (fimkit models --profiles); -100 never cuts; a request's own min_shown_logprob wins, and "
        "other requests get whole middles", min=-100.0, max=0.0)
    cors_origins: tuple[str, ...] = setting((), "browser origins allowed to call the server, comma-separated "
                                            "(none by default: requests with any Origin are refused)",
                                            flag="cors-origin")
    allowed_hosts: tuple[str, ...] = setting((), "extra Host names a loopback server answers to, comma-separated "
                                             "(localhost names always; others are refused against DNS rebinding)",
                                             flag="allowed-host")
    request_timeout_s: float = setting(120.0, "seconds a request may take, queue wait included; then it is "
                                       "cancelled and answered 504", flag="request-timeout", min=0.1, max=86_400.0)
    workspace: str | None = setting(None, "a project folder whose definitions and similar code are shown to the "
                                    "model as repository context on every API (indexed in the background at "
                                    "start, saved under $FIMKIT_HOME/workspaces)")
    early_reply: bool = setting(True, "for requests that ask for it (early_reply: true, as fimkit's VS Code extension "
                                "and language server send), answer a middle that may span lines as soon as its first "
                                "line is complete, and keep generating the rest so that the request after the user "
                                "accepts it is answered at once (llama.vscode's trick); every other request gets the "
                                "whole middle; --no-early-reply gives it to all")
    routes: str | None = setting(None, "a YAML routing table: which --adapter serves which repository, experiments "
                                 "splitting users between arms, rollback; read again whenever it changes "
                                 "(docs/team.md)")
    rollback: str | None = setting(None, "send every request to this arm (an --adapter name, or base), whatever "
                                   "--routes says: the way back when a change goes wrong")
    telemetry_path: str | None = setting(None, "SQLite file for /v1/events telemetry (None: telemetry off)")
    telemetry_context: bool = setting(True, "keep each completion's nearby code and text in the telemetry "
                                      "database (on this machine), so `fimkit adapt --usage` learns from the "
                                      "completions you accepted; --no-telemetry-context keeps counts only")

    def __post_init__(self):
        check(self)
        if not self.host.strip():
            raise FimkitError("--host is empty (an unset variable?): give an address, e.g. --host 127.0.0.1")
        for name in ("routes", "rollback"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise FimkitError(f"--{name} is empty (an unset variable?): give a value or leave the flag out")
        if self.workspace is not None and not self.workspace.strip():
            raise FimkitError("--workspace is empty (an unset variable?): give the project's root folder, or leave "
                              "the flag out")
