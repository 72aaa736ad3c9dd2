// Prefix and suffix around the cursor, budgeted by lines and characters (the same rules as
// fimkit's language server: fimkit/editor/context.py).

export interface Budget {
  prefixLines: number;
  prefixChars: number;
  suffixLines: number;
  suffixChars: number;
}

export const DEFAULT_BUDGET: Budget = { prefixLines: 200, prefixChars: 8000, suffixLines: 60, suffixChars: 2500 };

function joinedLength(lines: string[]): number {
  return lines.reduce((n, l) => n + l.length + 1, 0) - 1;
}

// The prefix starts on a file line that is a multiple of this, so that its beginning (and the
// server's KV cache of it) stays put while the cursor moves down; the server cuts on the same grid.
export const GRID_LINES = 16;

export function budget(text: string, offset: number, b: Budget = DEFAULT_BUDGET): { prefix: string; suffix: string } {
  const head = text.slice(0, offset).split("\n");
  const last = head.length - 1; // the cursor's line, always kept
  let start = Math.max(0, head.length - b.prefixLines);
  if (start > 0) start = Math.min(last, Math.ceil(start / GRID_LINES) * GRID_LINES);
  let size = joinedLength(head.slice(start));
  while (start < last && size > b.prefixChars) {
    let next = (Math.floor(start / GRID_LINES) + 1) * GRID_LINES;
    if (next >= last) next = start + 1; // under one grid step of room: line by line
    for (let i = start; i < next; i++) size -= head[i].length + 1;
    start = next;
  }
  let tail = text.slice(offset).split("\n");
  if (tail.length > b.suffixLines) tail = tail.slice(0, b.suffixLines);
  while (tail.length > 1 && joinedLength(tail) > b.suffixChars) tail = tail.slice(0, -1);
  const prefix = head.slice(start).join("\n");
  const suffix = tail.join("\n");
  return { prefix: prefix.slice(Math.max(0, prefix.length - b.prefixChars)), suffix: suffix.slice(0, b.suffixChars) };
}

// Buffers never worth sending: binary content or minified/huge lines.
export function looksBinary(text: string, maxLine = 10000): boolean {
  if (text.slice(0, 65536).includes("\u0000")) return true;
  return text.slice(0, 200000).split("\n").some((l) => l.length > maxLine);
}

// Text right of the cursor on its line (and the cursor not at column 0): only one line may be suggested.
export function midLine(prefix: string, suffix: string): boolean {
  const rest = suffix.split("\n", 1)[0];
  const atColumnZero = prefix === "" || prefix.endsWith("\n");
  return rest.trim() !== "" && !atColumnZero;
}

// What the editor shows: one line when mid-line, never a copy of the text after the cursor.
export function shapeForEditor(completion: string, prefix: string, suffix: string): string {
  let text = completion;
  const rest = suffix.split("\n", 1)[0];
  if (midLine(prefix, suffix)) {
    text = text.split("\n", 1)[0];
    if (rest && text.endsWith(rest)) text = text.slice(0, text.length - rest.length);
  }
  // A completion that re-inserts the suffix verbatim is cut where the suffix starts.
  const suffixHead = suffix.trimStart().slice(0, 40);
  if (suffixHead.length >= 8) {
    const at = text.indexOf(suffixHead);
    if (at >= 0) text = text.slice(0, at);
  }
  return text.trim() === "" ? "" : text.replace(/[ \t]+$/gm, "");
}
