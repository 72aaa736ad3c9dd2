// The inline completion provider: debounce, cancel, cache, ask, shape, show. Written against a
// small slice of the VS Code API (passed in), so the tests drive it with a fake.

import { Api } from "./core/api";
import { CompletionCache } from "./core/cache";
import { budget, Budget, GRID_LINES, looksBinary, midLine, shapeForEditor } from "./core/context";
import { Debouncer } from "./core/debounce";
import { ClientConfig, FetchLike, requestCompletion, sendEvent } from "./core/client";
import { RingBuffer } from "./core/ring";

export interface Settings extends ClientConfig {
  enabled: boolean;
  model: string;
  maxTokens: number;
  debounceMs: number;
  languages: string[];
  telemetry: boolean;
  budget: Budget;
  extraChunks: number;
}

export type Status = { state: "idle" } | { state: "requesting" } | { state: "ok"; ms: number } | { state: "error"; reason: string } | { state: "off" };

export interface Doc {
  getText(): string;
  offsetAt(position: any): number;
  languageId: string;
  fileName: string;
}

export interface Shown {
  id?: string;
  text: string; // the whole suggestion as first shown
  midLine: boolean;
  shownAt: number;
  prefix: string; // where it was shown
  suffix: string;
  kept: number; // characters of it the user has typed or accepted word by word so far
}

export class FimProvider {
  readonly cache = new CompletionCache(256);
  readonly ring = new RingBuffer();
  readonly debouncer: Debouncer;
  requests = 0;
  warmUps = 0;
  last: Shown | undefined;
  private warming: AbortController | undefined;
  private warmedAt = "";

  constructor(
    private settings: () => Settings,
    private onStatus: (s: Status) => void,
    private fetchImpl: FetchLike = fetch as any,
  ) {
    this.debouncer = new Debouncer(settings().debounceMs);
  }

  private languageOn(languageId: string): boolean {
    const langs = this.settings().languages;
    return langs.includes("*") || langs.includes(languageId);
  }

  // Returns the text to show at the cursor, or undefined for no suggestion.
  async complete(doc: Doc, position: any, isCancelled: () => boolean): Promise<string | undefined> {
    const s = this.settings();
    if (!s.enabled) {
      this.onStatus({ state: "off" });
      return undefined;
    }
    if (!this.languageOn(doc.languageId)) return undefined;
    const text = doc.getText();
    if (looksBinary(text)) {
      this.onStatus({ state: "error", reason: "binary or minified file: no completions" });
      return undefined;
    }
    const { prefix, suffix } = budget(text, doc.offsetAt(position), s.budget);
    this.warmedAt = placeOf(doc, position); // a completion warms its place too
    const rest = this.keepingShown(prefix, suffix);
    if (rest !== undefined) return rest; // typed through, or a word accepted: the rest, no request
    this.noteDismissedIfAny();
    const cached = this.cache.get(prefix, suffix);
    if (cached !== undefined) return this.show(cached, prefix, suffix, undefined);
    this.debouncer.delayMs = s.debounceMs;
    this.stopWarmUp(); // the server keeps what the warm-up evaluated; the completion goes first
    const { go, signal } = await this.debouncer.wait();
    if (!go || isCancelled()) return undefined;
    this.onStatus({ state: "requesting" });
    this.requests += 1;
    const outcome = await requestCompletion(
      s, prefix, suffix, { maxTokens: s.maxTokens, model: s.model, language: doc.languageId, filename: doc.fileName, extra: this.extraFor(doc) },
      signal, this.fetchImpl,
    );
    if (!outcome.ok) {
      if (outcome.aborted) return undefined;
      this.onStatus({ state: "error", reason: outcome.reason });
      return undefined; // no suggestion rather than a wrong one
    }
    this.onStatus({ state: "ok", ms: outcome.ms });
    const shaped = shapeForEditor(outcome.text, prefix, suffix);
    if (shaped) this.cache.put(prefix, suffix, shaped);
    if (isCancelled()) return undefined;
    return this.show(shaped, prefix, suffix, outcome.id);
  }

  // A cheap request that only evaluates the prompt at `position` into the server's KV cache
  // (max_tokens 0, llama.vscode's n_predict 0): sent when a file is opened or saved or the cursor
  // moves to a new place, so the first completion there does not wait seconds. Once per place (the
  // file and the cursor's 16-line block) unless `force` (a save changed the text above the cursor).
  warmUp(doc: Doc, position: any, force = false): void {
    const s = this.settings();
    if (!s.enabled || !this.languageOn(doc.languageId)) return;
    const place = placeOf(doc, position);
    if (place === this.warmedAt && !force) return;
    const text = doc.getText();
    if (looksBinary(text)) return;
    this.warmedAt = place;
    const { prefix, suffix } = budget(text, doc.offsetAt(position), s.budget);
    this.stopWarmUp();
    const controller = new AbortController();
    this.warming = controller;
    this.warmUps += 1;
    void requestCompletion(
      s, prefix, suffix, { maxTokens: 0, model: s.model, language: doc.languageId, filename: doc.fileName, extra: this.extraFor(doc) },
      controller.signal, this.fetchImpl,
    ).finally(() => {
      if (this.warming === controller) this.warming = undefined;
    });
  }

  // Where the user was in a file they are leaving or have saved becomes repository context.
  remember(doc: Doc, position: any): void {
    if (looksBinary(doc.getText())) return;
    this.ring.maxChunks = this.settings().extraChunks;
    this.ring.pick(doc.fileName, doc.getText(), typeof position?.line === "number" ? position.line : 0);
  }

  private extraFor(doc: Doc) {
    return this.settings().extraChunks > 0 ? this.ring.extra(doc.fileName) : [];
  }

  private stopWarmUp(): void {
    this.warming?.abort();
    this.warming = undefined;
  }

  private show(text: string, prefix: string, suffix: string, id: string | undefined): string | undefined {
    if (!text) return undefined;
    this.last = { id, text, midLine: midLine(prefix, suffix), shownAt: Date.now(), prefix, suffix, kept: 0 };
    this.event("view", this.last);
    return text;
  }

  // The rest of the suggestion on screen when the user has typed its beginning or accepted part of it
  // (Ctrl+Right accepts a word): the same suggestion, kept, with no request and no new view.
  private keepingShown(prefix: string, suffix: string): string | undefined {
    const last = this.last;
    if (!last || suffix !== last.suffix || !prefix.startsWith(last.prefix)) return undefined;
    const typed = prefix.slice(last.prefix.length);
    if (typed.length === 0 || typed.length >= last.text.length || !last.text.startsWith(typed)) return undefined;
    last.kept = typed.length;
    return last.text.slice(typed.length);
  }

  // VS Code runs the item's command when the user accepts a suggestion (all of what is left of it).
  accepted(): void {
    if (this.last) this.event("accept", this.last, { accepted_chars: this.last.text.length });
    this.last = undefined;
  }

  // A new request while a shown suggestion was not accepted whole: passed over, or kept in part.
  private noteDismissedIfAny(): void {
    if (this.last) {
      if (this.last.kept > 0) this.event("partial", this.last, { accepted_chars: this.last.kept });
      else this.event("dismiss", this.last);
    }
    this.last = undefined;
  }

  private event(type: string, shown: Shown, extra: Record<string, unknown> = {}): void {
    const s = this.settings();
    if (!s.telemetry) return;
    sendEvent(s, { type, completion_id: shown.id, mid_line: shown.midLine, elapsed: Date.now() - shown.shownAt, ...extra }, this.fetchImpl);
  }
}

function placeOf(doc: Doc, position: any): string {
  const line = typeof position?.line === "number" ? position.line : 0;
  return `${doc.fileName}:${Math.floor(line / GRID_LINES)}`;
}

export function readSettings(get: (key: string, fallback: any) => any): Settings {
  return {
    enabled: get("enabled", true),
    serverUrl: get("serverUrl", "http://127.0.0.1:5000"),
    api: get("api", "openai") as Api,
    apiKey: get("apiKey", ""),
    repository: get("repository", ""),
    user: get("user", ""),
    model: get("model", ""),
    maxTokens: get("maxTokens", 64),
    debounceMs: get("debounceMs", 100),
    timeoutMs: get("timeoutMs", 5000),
    languages: get("languages", ["*"]),
    telemetry: get("telemetry", true),
    extraChunks: get("extraChunks", 0),
    budget: {
      prefixLines: get("prefixLines", 200), prefixChars: get("prefixChars", 8000),
      suffixLines: get("suffixLines", 60), suffixChars: get("suffixChars", 2500),
    },
  };
}
