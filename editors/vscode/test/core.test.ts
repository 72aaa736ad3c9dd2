import { test } from "node:test";
import assert from "node:assert/strict";
import { jaccard, RingBuffer } from "../src/core/ring";
import { budget, looksBinary, midLine, shapeForEditor } from "../src/core/context";
import { CompletionCache } from "../src/core/cache";
import { buildRequest, parseReply, BadReply } from "../src/core/api";
import { Debouncer } from "../src/core/debounce";

test("budget keeps the nearest whole lines", () => {
  const text = Array.from({ length: 100 }, (_, i) => `line${i}\n`).join("") + "x = f(" + ")\n" + Array.from({ length: 100 }, (_, i) => `after${i}\n`).join("");
  const offset = text.indexOf("x = f(") + 6;
  const { prefix, suffix } = budget(text, offset, { prefixLines: 5, prefixChars: 8000, suffixLines: 3, suffixChars: 2500 });
  assert.equal(prefix, "line96\nline97\nline98\nline99\nx = f(");
  assert.equal(suffix, ")\nafter0\nafter1");
});

test("budget starts the prefix on a 16-line grid, so moving down keeps its beginning", () => {
  const lines = Array.from({ length: 400 }, (_, i) => `value_${i} = compute(${i})`);
  const firsts = new Set<string>();
  for (let cursor = 300; cursor < 316; cursor++) {
    const text = lines.slice(0, cursor).join("\n") + "\nnext = ";
    const { prefix } = budget(text, text.length, { prefixLines: 200, prefixChars: 8000, suffixLines: 3, suffixChars: 2500 });
    const first = prefix.split("\n", 1)[0];
    assert.equal(lines.indexOf(first) % 16, 0);
    assert.ok(prefix.length <= 8000 && prefix.endsWith("next = "));
    firsts.add(first);
  }
  assert.ok(firsts.size <= 2);
  // Over the character cap the beginning moves a whole grid step; the cursor's line always stays.
  const long = lines.join("\n") + "\nnext = ";
  const { prefix } = budget(long, long.length, { prefixLines: 1000, prefixChars: 500, suffixLines: 3, suffixChars: 2500 });
  assert.ok(prefix.length <= 500 && lines.indexOf(prefix.split("\n", 1)[0]) % 16 === 0);
  assert.equal(budget("x".repeat(900), 900, { prefixLines: 10, prefixChars: 100, suffixLines: 1, suffixChars: 10 }).prefix.length, 100);
});

test("single line when text is right of the cursor, never the suffix again", () => {
  assert.equal(midLine("x = f(", ")\n"), true);
  assert.equal(midLine("x = \n", "y\n"), false); // column 0 inserts lines
  assert.equal(shapeForEditor("a, b)\nprint(x)", "x = f(", ")\n"), "a, b");
  assert.equal(shapeForEditor("total += x\n    return total\n", "def f():\n    ", "\n    return total\n"), "total += x\n");
  assert.equal(shapeForEditor("   \n", "x = ", "\n"), "");
});

test("cache answers typed-ahead prefixes without a request", () => {
  const c = new CompletionCache(2);
  c.put("x = ", "\n", "compute(a, b)");
  assert.equal(c.get("x = comp", "\n"), "ute(a, b)");
  assert.equal(c.get("x = cam", "\n"), undefined);
  c.put("a", "", "1");
  c.put("b", "", "2");
  assert.equal(c.get("x = ", "\n"), undefined);
});

test("request bodies for each API", () => {
  const o = { maxTokens: 16, model: "m" };
  assert.deepEqual(buildRequest("openai", "p", "s", o), { path: "/v1/completions", body: { model: "m", prompt: "p", suffix: "s", max_tokens: 16, temperature: 0, stream: false, language: undefined, filename: undefined, input_extra: undefined, early_reply: true } });
  assert.deepEqual(buildRequest("infill", "p", "s", o).body, { input_prefix: "p", input_suffix: "s", input_extra: [], n_predict: 16, temperature: 0, cache_prompt: true, stream: false, early_reply: true });
  const ollama = buildRequest("ollama", "p", "", o);
  assert.equal(ollama.path, "/api/generate");
  assert.equal(ollama.body.suffix, "\n"); // Ollama ignores an empty suffix
  assert.equal(ollama.body.stream, false);
});

test("replies are parsed strictly", () => {
  assert.equal(parseReply("infill", { content: "x" }).text, "x");
  assert.equal(parseReply("ollama", { response: "y" }).text, "y");
  assert.deepEqual(parseReply("openai", { id: "c1", choices: [{ text: "z" }] }), { text: "z", id: "c1" });
  assert.throws(() => parseReply("openai", { choices: [] }), BadReply);
  assert.throws(() => parseReply("infill", "garbage"), BadReply);
});

test("binary and minified buffers", () => {
  assert.equal(looksBinary("a\u0000b"), true);
  assert.equal(looksBinary("x".repeat(20000)), true);
  assert.equal(looksBinary("def f():\n    pass\n"), false);
});

test("debounce: only the last of rapid calls goes, earlier ones are aborted", async () => {
  const d = new Debouncer(40);
  const first = d.wait();
  await new Promise((r) => setTimeout(r, 10));
  const second = d.wait();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.go, false);
  assert.equal(a.signal.aborted, true);
  assert.equal(b.go, true);
  assert.equal(b.signal.aborted, false);
  const started = Date.now();
  await d.wait();
  assert.ok(Date.now() - started >= 35);
});

test("the ring buffer keeps recent chunks of other files, newest first, without near-duplicates", () => {
  const ring = new RingBuffer(2, 4);
  const file = (n: number) => Array.from({ length: 20 }, (_, i) => `value_${n}_${i} = ${i}`).join("\n");
  ring.pick("/w/a.py", file(1), 10);
  assert.deepEqual(ring.extra("/w/b.py"), [{ filename: "/w/a.py", text: file(1).split("\n").slice(8, 12).join("\n") }]);
  ring.pick("/w/a.py", file(1), 10); // the same lines again: replaces, does not add
  assert.equal(ring.size, 1);
  ring.pick("/w/b.py", file(2), 0);
  ring.pick("/w/c.py", file(3), 19); // over the limit: the oldest goes
  assert.deepEqual(ring.extra("/w/b.py").map((c) => c.filename), ["/w/c.py"]); // the current file is never sent
  assert.equal(ring.extra("/w/z.py")[0].text.split("\n").length, 4);
  ring.pick("/w/d.py", "\n\n", 1); // blank: nothing kept
  assert.equal(ring.size, 2);
  assert.equal(jaccard(new Set(["a", "b"]), new Set(["b", "c"])), 1 / 3);
});

test("a team server is told the repository and the user, and nothing when they are empty", async () => {
  const { requestCompletion } = await import("../src/core/client");
  const seen: Record<string, string>[] = [];
  const fake = async (_url: string, init: any) => {
    seen.push(init.headers);
    return { ok: true, status: 200, json: async () => ({ choices: [{ text: "x" }] }) };
  };
  const cfg = { serverUrl: "http://s", api: "openai" as const, apiKey: "", timeoutMs: 1000 };
  const signal = new AbortController().signal;
  await requestCompletion({ ...cfg, repository: "github.com/acme/shop", user: "m".repeat(300) }, "a", "", { maxTokens: 8, model: "" }, signal, fake);
  await requestCompletion(cfg, "a", "", { maxTokens: 8, model: "" }, signal, fake);
  assert.equal(decodeURIComponent(seen[0]["X-Fimkit-Repository"]), "github.com/acme/shop");
  assert.equal(seen[0]["X-Fimkit-User"].length, 200); // the server refuses longer names
  assert.ok(!("X-Fimkit-Repository" in seen[1]) && !("X-Fimkit-User" in seen[1]));
});

test("names from the whole of Unicode travel as percent-encoded UTF-8 that fetch accepts", async () => {
  const { identityHeaders } = await import("../src/core/client");
  for (const name of ["项目", "café", "🚀 launch", "naïve/repo", "100%", "a".repeat(199) + "🚀🚀"]) {
    const headers = identityHeaders({ serverUrl: "http://s", api: "openai", apiKey: "", timeoutMs: 1, repository: name, user: name });
    const value = headers["X-Fimkit-Repository"];
    assert.match(value, /^[\x21-\x7e]+$/); // printable ASCII: a valid header value for every HTTP stack
    new Headers({ "X-Fimkit-Repository": value }); // what fetch does with it: no TypeError
    assert.equal(decodeURIComponent(value), Array.from(name).slice(0, 200).join("")); // whole characters
    assert.equal(headers["X-Fimkit-User"], value);
  }
});
