import { test } from "node:test";
import assert from "node:assert/strict";
import { FimProvider, Status } from "../src/provider";
import { at, doc, fakeFetch, settings } from "./helpers";

const completionReply = (text: string) => ({ json: { id: "cmpl-1", choices: [{ text }] } });

function provider(reply: any, over = {}, delayMs = 0) {
  const fetch = fakeFetch(reply, delayMs);
  const statuses: Status[] = [];
  const p = new FimProvider(() => settings(over), (s) => statuses.push(s), fetch.impl as any);
  return { p, fetch, statuses, completions: () => fetch.calls.filter((c) => !c.url.endsWith("/v1/events")), events: () => fetch.calls.filter((c) => c.url.endsWith("/v1/events")) };
}

test("rapid keystrokes make one request, for the last one", async () => {
  const { p, completions } = provider(() => completionReply("a + b"));
  const d = doc("def add(a, b):\n    return ");
  const results = await Promise.all([p.complete(d, at(20), () => false), p.complete(d, at(24), () => false), p.complete(d, at(27), () => false)]);
  assert.deepEqual(results, [undefined, undefined, "a + b"]);
  assert.equal(completions().length, 1);
  assert.equal(completions()[0].body.prompt, "def add(a, b):\n    return ");
});

test("the next keystroke aborts the request in flight", async () => {
  const { p, completions } = provider(() => completionReply("slow"), {}, 200);
  const d = doc("x = 1\ny = ");
  const first = p.complete(d, at(10), () => false);
  await new Promise((r) => setTimeout(r, 80)); // debounce passed, request in flight
  const second = p.complete(d, at(10), () => false);
  assert.equal(await first, undefined);
  assert.equal(completions()[0].signal.aborted, true);
  assert.equal(await second, "slow");
});

test("typing the start of a shown completion needs no request", async () => {
  const { p, completions } = provider(() => completionReply("compute(a, b)"));
  assert.equal(await p.complete(doc("x = "), at(4), () => false), "compute(a, b)");
  assert.equal(await p.complete(doc("x = comp"), at(8), () => false), "ute(a, b)");
  assert.equal(completions().length, 1);
});

test("typing through or accepting a word keeps the suggestion: no request, a partial event, then accept", async () => {
  const { p, completions, events } = provider(() => completionReply("compute(a, b)"));
  assert.equal(await p.complete(doc("x = "), at(4), () => false), "compute(a, b)");
  assert.equal(await p.complete(doc("x = c"), at(5), () => false), "ompute(a, b)"); // typed through
  assert.equal(await p.complete(doc("x = compute"), at(11), () => false), "(a, b)"); // Ctrl+Right: a word
  p.accepted(); // Tab: the rest
  assert.equal(completions().length, 1);
  assert.deepEqual(events().map((e) => [e.body.type, e.body.accepted_chars]), [["view", undefined], ["accept", 13]]);
  // Kept in part and then passed over: a partial acceptance of what was kept, not a dismissal.
  await p.complete(doc("y = "), at(4), () => false);
  await p.complete(doc("y = comp"), at(8), () => false);
  await p.complete(doc("z = "), at(4), () => false);
  assert.deepEqual(events().slice(2).map((e) => [e.body.type, e.body.accepted_chars]),
    [["view", undefined], ["partial", 4], ["view", undefined]]);
  assert.equal(completions().length, 3); // y = and z = were asked for; y = comp was not
});

test("request bodies follow the configured API", async () => {
  for (const [api, path, reply] of [["infill", "/infill", { json: { content: "1" } }], ["ollama", "/api/generate", { json: { response: "1" } }]] as const) {
    const { p, completions } = provider(() => reply, { api });
    assert.equal(await p.complete(doc("x = "), at(4), () => false), "1");
    assert.ok(completions()[0].url.endsWith(path));
  }
});

test("errors show in the status bar and no suggestion is shown", async () => {
  for (const [reply, reason] of [
    [{ throws: true }, "unreachable"], [{ status: 500, json: {} }, "server error 500"], [{ status: 401, json: {} }, "API key"],
    [{ json: undefined }, "not JSON"], [{ json: { choices: "nope" } }, "unexpected reply"],
  ] as const) {
    const { p, statuses } = provider(() => reply);
    assert.equal(await p.complete(doc("x = "), at(4), () => false), undefined);
    const last = statuses[statuses.length - 1];
    assert.equal(last.state, "error");
    assert.match((last as any).reason, new RegExp(reason));
  }
});

test("a slow server times out without blocking", async () => {
  const { p, statuses } = provider(() => completionReply("late"), { timeoutMs: 50 }, 1000);
  const started = Date.now();
  assert.equal(await p.complete(doc("x = "), at(4), () => false), undefined);
  assert.ok(Date.now() - started < 500);
  assert.match((statuses[statuses.length - 1] as any).reason, /no answer within 50 ms/);
});

test("binary files, huge lines, disabled languages and the off switch make no request", async () => {
  const { p, completions } = provider(() => completionReply("x"), { languages: ["python"] });
  assert.equal(await p.complete(doc("\u0000\u0001"), at(1), () => false), undefined);
  assert.equal(await p.complete(doc("x".repeat(20000)), at(5), () => false), undefined);
  assert.equal(await p.complete(doc("x = ", "markdown"), at(4), () => false), undefined);
  const off = provider(() => completionReply("x"), { enabled: false });
  assert.equal(await off.p.complete(doc("x = "), at(4), () => false), undefined);
  assert.equal(completions().length + off.completions().length, 0);
});

test("telemetry: view, accept, dismiss with mid-line flags; none when turned off", async () => {
  const { p, events } = provider(() => completionReply("a, b"));
  await p.complete(doc("f(\n"), at(2), () => false); // text right of the cursor: mid-line
  p.accepted();
  await p.complete(doc("y = "), at(4), () => false);
  await p.complete(doc("z = "), at(4), () => false); // the previous suggestion was passed over
  const types = events().map((e) => [e.body.type, e.body.mid_line]);
  assert.deepEqual(types, [["view", false], ["accept", false], ["view", false], ["dismiss", false], ["view", false]]);
  assert.equal(events()[0].body.completion_id, "cmpl-1");
  const quiet = provider(() => completionReply("a"), { telemetry: false });
  await quiet.p.complete(doc("y = "), at(4), () => false);
  quiet.p.accepted();
  assert.equal(quiet.events().length, 0);
});

test("mid-line completions are cut to one line without the text right of the cursor", async () => {
  const { p } = provider(() => completionReply("a, b)\nprint(x)"));
  assert.equal(await p.complete(doc("f()\n"), at(2), () => false), "a, b");
});

test("a warm-up asks for no tokens, once per place, and gives way to a completion", async () => {
  const { p, completions } = provider(() => completionReply("x + 1"), {}, 100);
  const d = doc("def f(x):\n    return ");
  p.warmUp(d, { offset: 22, line: 1 });
  p.warmUp(d, { offset: 22, line: 3 }); // the same 16-line block: nothing new to warm
  assert.equal(completions().length, 1);
  assert.equal(completions()[0].body.max_tokens, 0);
  assert.equal(completions()[0].body.prompt, "def f(x):\n    return ");
  const shown = p.complete(d, { offset: 22, line: 1 }, () => false);
  assert.equal(completions()[0].signal.aborted, true); // the warm-up stops; the completion goes first
  assert.equal(await shown, "x + 1");
  p.warmUp(d, { offset: 22, line: 40 }); // a new place
  p.warmUp(d, { offset: 22, line: 40 }, true); // a save warms again
  assert.equal(completions().filter((c) => c.body.max_tokens === 0).length, 3);
});

test("no warm-up when completions are off or the language is not enabled", () => {
  const off = provider(() => completionReply(""), { enabled: false });
  off.p.warmUp(doc("x = "), { offset: 4, line: 0 });
  const js = provider(() => completionReply(""), { languages: ["python"] });
  js.p.warmUp(doc("x = ", "javascript"), { offset: 4, line: 0 });
  assert.equal(off.completions().length + js.completions().length, 0);
});

test("code the user left in another file goes with the next request as input_extra", async () => {
  const { p, completions } = provider(() => completionReply("1"));
  p.remember(doc("def helper(a, b):\n    return a * b\n", "python", "/work/util.py"), { line: 0 });
  assert.equal(await p.complete(doc("x = "), at(4), () => false), "1");
  assert.deepEqual(completions()[0].body.input_extra, [{ filename: "/work/util.py", text: "def helper(a, b):\n    return a * b\n" }]);
  const off = provider(() => completionReply("1"), { extraChunks: 0 });
  off.p.remember(doc("def helper(): pass\n", "python", "/work/util.py"), { line: 0 });
  await off.p.complete(doc("x = "), at(4), () => false);
  assert.equal(off.completions()[0].body.input_extra, undefined);
});
