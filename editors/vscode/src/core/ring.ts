// Recently viewed and edited code, sent with each request as repository context (llama.vscode's
// "extra context"): chunks of lines around where the user was when leaving a file or saving one.
// A new chunk replaces older near-duplicates (Jaccard similarity of their words above 0.9), the
// oldest go beyond the limit, and chunks of the file being completed are not sent (the prompt shows
// it already). Chunks change only on those events, not per keystroke, so while the user types in
// one place the prompt's beginning, and the server's KV cache, stay the same.

export interface ExtraChunk {
  filename: string;
  text: string;
}

export const DUPLICATE = 0.9;

function words(text: string): Set<string> {
  return new Set(text.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let common = 0;
  for (const w of a) if (b.has(w)) common += 1;
  return common / (a.size + b.size - common);
}

export class RingBuffer {
  private chunks: { chunk: ExtraChunk; words: Set<string> }[] = [];

  constructor(public maxChunks = 16, public chunkLines = 64) {}

  // Keep the lines around `line` of a file (0-based), unless they are blank.
  pick(filename: string, text: string, line: number): void {
    if (this.maxChunks <= 0) return;
    const lines = text.split("\n");
    const start = Math.max(0, Math.min(line - Math.floor(this.chunkLines / 2), lines.length - this.chunkLines));
    const body = lines.slice(start, start + this.chunkLines).join("\n");
    if (!body.trim()) return;
    const w = words(body);
    this.chunks = this.chunks.filter((c) => jaccard(c.words, w) <= DUPLICATE);
    this.chunks.push({ chunk: { filename, text: body }, words: w });
    while (this.chunks.length > this.maxChunks) this.chunks.shift();
  }

  // What to send while completing in `current`: the newest first (the server ranks by order).
  extra(current: string): ExtraChunk[] {
    return this.chunks.filter((c) => c.chunk.filename !== current).map((c) => c.chunk).reverse();
  }

  get size(): number {
    return this.chunks.length;
  }
}
