// Talking to the server: one request at a time per editor, aborted on the next keystroke,
// with a timeout, and errors turned into a short reason for the status bar.

import { Api, BadReply, buildRequest, parseReply, RequestOptions } from "./api";

export interface ClientConfig {
  serverUrl: string;
  api: Api;
  apiKey: string;
  timeoutMs: number;
  // Who is asking, for a team server: its --routes file picks the adapter by repository and splits
  // experiments by user (headers X-Fimkit-Repository, X-Fimkit-User; left out when empty).
  repository?: string;
  user?: string;
}

// A header carries bytes, not text: fetch refuses a value with a character above U+00FF (a workspace
// named "项目" failed every completion as "server unreachable"), and a server reads the rest as
// Latin-1. So a name travels as percent-encoded UTF-8, which fimkit serve decodes and checks; it is
// cut to 200 characters first, whole characters (code points, as the server counts), never half of
// a surrogate pair, which encodeURIComponent would refuse.
export function headerName(name: string): string {
  return encodeURIComponent(Array.from(name).slice(0, 200).join(""));
}

export function identityHeaders(cfg: ClientConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (cfg.repository) out["X-Fimkit-Repository"] = headerName(cfg.repository);
  if (cfg.user) out["X-Fimkit-User"] = headerName(cfg.user);
  return out;
}

export type Outcome =
  | { ok: true; text: string; id?: string; ms: number }
  | { ok: false; reason: string; aborted: boolean };

export type FetchLike = (url: string, init: any) => Promise<{ ok: boolean; status: number; json(): Promise<any> }>;

export async function requestCompletion(
  cfg: ClientConfig, prefix: string, suffix: string, opts: RequestOptions, signal: AbortSignal, fetchImpl: FetchLike = fetch as any,
): Promise<Outcome> {
  const { path, body } = buildRequest(cfg.api, prefix, suffix, opts);
  const headers: Record<string, string> = { "Content-Type": "application/json", ...identityHeaders(cfg) };
  if (cfg.apiKey) headers["Authorization"] = `Bearer ${cfg.apiKey}`;
  const timeout = AbortSignal.timeout(cfg.timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  const start = Date.now();
  try {
    const res = await fetchImpl(cfg.serverUrl.replace(/\/+$/, "") + path, { method: "POST", headers, body: JSON.stringify(body), signal: both });
    if (!res.ok) {
      const reason = res.status === 401 ? "server wants an API key (fimkit.apiKey)" : res.status === 503 ? "server busy" : `server error ${res.status}`;
      return { ok: false, reason, aborted: false };
    }
    let data: any;
    try {
      data = await res.json();
    } catch {
      return { ok: false, reason: "server sent something that is not JSON", aborted: false };
    }
    const { text, id } = parseReply(cfg.api, data);
    return { ok: true, text, id, ms: Date.now() - start };
  } catch (err: any) {
    if (signal.aborted) return { ok: false, reason: "cancelled", aborted: true };
    if (timeout.aborted) return { ok: false, reason: `no answer within ${cfg.timeoutMs} ms`, aborted: false };
    if (err instanceof BadReply) return { ok: false, reason: `unexpected reply: ${err.message}`, aborted: false };
    return { ok: false, reason: `server unreachable at ${cfg.serverUrl}`, aborted: false };
  }
}

// Telemetry events for fimkit's /v1/events (fire and forget; failures are ignored).
export function sendEvent(cfg: ClientConfig, event: Record<string, unknown>, fetchImpl: FetchLike = fetch as any): void {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (cfg.apiKey) headers["Authorization"] = `Bearer ${cfg.apiKey}`;
  fetchImpl(cfg.serverUrl.replace(/\/+$/, "") + "/v1/events", { method: "POST", headers, body: JSON.stringify(event), signal: AbortSignal.timeout(2000) })
    .catch(() => undefined);
}
