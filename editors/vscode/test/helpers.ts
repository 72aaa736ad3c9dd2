import { Settings } from "../src/provider";
import { DEFAULT_BUDGET } from "../src/core/context";

export function settings(over: Partial<Settings> = {}): Settings {
  return {
    enabled: true, serverUrl: "http://server.test", api: "openai", apiKey: "", model: "", maxTokens: 32,
    debounceMs: 30, timeoutMs: 2000, languages: ["*"], telemetry: true, budget: DEFAULT_BUDGET, extraChunks: 16, ...over,
  };
}

export interface Call { url: string; body: any; headers: any; signal: AbortSignal }

// A fetch that records calls and answers with `reply(call)` after `delayMs`, honouring aborts.
export function fakeFetch(reply: (c: Call) => { status?: number; json?: any; throws?: boolean }, delayMs = 0) {
  const calls: Call[] = [];
  const impl = (url: string, init: any) => {
    const call = { url, body: JSON.parse(init.body), headers: init.headers, signal: init.signal as AbortSignal };
    calls.push(call);
    return new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => {
        const r = reply(call);
        if (r.throws) return reject(new TypeError("fetch failed"));
        resolve({ ok: (r.status ?? 200) < 400, status: r.status ?? 200, json: async () => {
          if (r.json === undefined) throw new SyntaxError("not json");
          return r.json;
        } });
      }, delayMs);
      call.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  };
  return { calls, impl };
}

export function doc(text: string, languageId = "python", fileName = "/work/a.py") {
  return { getText: () => text, offsetAt: (p: any) => p.offset, languageId, fileName };
}

export const at = (offset: number) => ({ offset });
