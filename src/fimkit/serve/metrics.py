"""Prometheus text exposition for /metrics, without a client library: counters, gauges, histograms."""

from __future__ import annotations

import threading
from collections import defaultdict

LATENCY_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0)


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{str(v).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in sorted(labels.items()))
    return "{" + inner + "}"


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple, int] = defaultdict(int)
        self.latency: dict[str, list[int]] = {}
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.latency_count: dict[str, int] = defaultdict(int)
        self.tokens_generated = 0
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.last_tokens_per_second = 0.0
        self.gated = 0
        self.cancelled = 0
        self.cancelled_tokens = 0  # generated for requests whose client left: work nobody saw
        self.continued = 0

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(endpoint, str(status))] += 1
            buckets = self.latency.setdefault(endpoint, [0] * len(LATENCY_BUCKETS))
            for i, bound in enumerate(LATENCY_BUCKETS):
                if seconds <= bound:
                    buckets[i] += 1
            self.latency_sum[endpoint] += seconds
            self.latency_count[endpoint] += 1

    def observe_generation(self, result) -> None:
        with self._lock:
            st = result.stats
            self.tokens_generated += st.predicted_tokens
            self.prompt_tokens += st.prompt_tokens
            self.cached_tokens += st.cached_tokens
            if st.predicted_tokens > 1 and st.predicted_ms > 0:
                self.last_tokens_per_second = (st.predicted_tokens - 1) / (st.predicted_ms / 1000)
            self.gated += bool(result.gated)
            self.cancelled += bool(result.cancelled)
            self.cancelled_tokens += st.predicted_tokens if result.cancelled else 0

    def observe_cancelled(self, result=None) -> None:
        """A request stopped before its end: its tokens count, and so does the cancellation."""
        with self._lock:
            if result is not None:
                st = result.stats
                self.tokens_generated += st.predicted_tokens
                self.prompt_tokens += st.prompt_tokens
                self.cached_tokens += st.cached_tokens
                self.cancelled_tokens += st.predicted_tokens
            self.cancelled += 1

    def observe_continued(self) -> None:
        """A request answered from a generation already under way or done (no new generation)."""
        with self._lock:
            self.continued += 1

    def render(self, queue_depth: int, telemetry_errors: int = 0, telemetry_dropped: int = 0) -> str:
        out = []
        with self._lock:
            out += ["# HELP fimkit_requests_total HTTP requests by endpoint and status.", "# TYPE fimkit_requests_total counter"]
            for (endpoint, status), n in sorted(self.requests.items()):
                out.append(f"fimkit_requests_total{_labels({'endpoint': endpoint, 'status': status})} {n}")
            out += ["# HELP fimkit_request_seconds Request latency.", "# TYPE fimkit_request_seconds histogram"]
            for endpoint, buckets in sorted(self.latency.items()):
                for bound, n in zip(LATENCY_BUCKETS, buckets):
                    out.append(f"fimkit_request_seconds_bucket{_labels({'endpoint': endpoint, 'le': str(bound)})} {n}")
                out.append(f"fimkit_request_seconds_bucket{_labels({'endpoint': endpoint, 'le': '+Inf'})} {self.latency_count[endpoint]}")
                out.append(f"fimkit_request_seconds_sum{_labels({'endpoint': endpoint})} {self.latency_sum[endpoint]:.6f}")
                out.append(f"fimkit_request_seconds_count{_labels({'endpoint': endpoint})} {self.latency_count[endpoint]}")
            for name, kind, value, text in (
                ("fimkit_generated_tokens_total", "counter", self.tokens_generated, "Tokens generated."),
                ("fimkit_prompt_tokens_total", "counter", self.prompt_tokens, "Prompt tokens."),
                ("fimkit_prompt_tokens_cached_total", "counter", self.cached_tokens, "Prompt tokens served from the KV cache."),
                ("fimkit_completions_gated_total", "counter", self.gated, "Completions hidden by the confidence gate."),
                ("fimkit_completions_cancelled_total", "counter", self.cancelled, "Generations stopped by a client disconnect."),
                ("fimkit_cancelled_tokens_total", "counter", self.cancelled_tokens,
                 "Tokens generated for completions whose client left before the end."),
                ("fimkit_completions_continued_total", "counter", self.continued,
                 "Completions answered from a generation answered early and continued in the background."),
                ("fimkit_tokens_per_second", "gauge", round(self.last_tokens_per_second, 3), "Decode speed of the last completion."),
                ("fimkit_queue_depth", "gauge", queue_depth, "Requests waiting for the model."),
                ("fimkit_telemetry_errors_total", "counter", telemetry_errors,
                 "Telemetry writes or reads that failed (completions were served regardless)."),
                ("fimkit_telemetry_dropped_total", "counter", telemetry_dropped,
                 "Telemetry rows dropped because the database was too slow or locked (never waited for)."),
            ):
                out += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {value}"]
        return "\n".join(out) + "\n"
