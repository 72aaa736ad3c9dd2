import "./setup";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fake from "./fake-vscode";

test("activate registers the provider, commands and a status bar item; ghost text goes at the cursor", async () => {
  const ext = require("../src/extension");
  const context = { subscriptions: [] as any[] };
  const provider = ext.activate(context);
  assert.equal(fake.recorded.providers.length, 1);
  for (const name of ["fimkit.toggle", "fimkit.accepted", "fimkit.showStatus"]) assert.ok(fake.recorded.commands.has(name));
  const status = fake.recorded.statusItems[0];
  assert.match(status.text, /fimkit/);

  // Point the provider at a fake server through the fetch it was built with.
  (provider as any).fetchImpl = async (_url: string, init: any) => ({ ok: true, status: 200, json: async () => ({ choices: [{ text: "a + b" }] }), init });
  fake.settings.debounceMs = 1;
  fake.settings.telemetry = false;
  const document = { getText: () => "def add(a, b):\n    return ", offsetAt: () => 27, languageId: "python", fileName: "a.py" };
  const position = new fake.Position(1, 11);
  const items = await fake.recorded.providers[0].provider.provideInlineCompletionItems(document, position, {}, { isCancellationRequested: false });
  assert.equal(items.length, 1);
  assert.equal(items[0].insertText, "a + b");
  assert.deepEqual([items[0].range.start, items[0].range.end], [position, position]);
  assert.equal(items[0].command.command, "fimkit.accepted");
  assert.match(status.text, /ms/);

  // Toggle turns completions off: no items, status says so.
  await fake.recorded.commands.get("fimkit.toggle")();
  assert.equal(fake.settings.enabled, false);
  const none = await fake.recorded.providers[0].provider.provideInlineCompletionItems(document, position, {}, { isCancellationRequested: false });
  assert.deepEqual(none, []);
  assert.match(status.tooltip, /off/);
});

test("moving the cursor, switching editors and saving warm the server's cache", async () => {
  const ext = require("../src/extension");
  fake.settings.enabled = true;
  const provider = ext.activate({ subscriptions: [] as any[] });
  const bodies: any[] = [];
  (provider as any).fetchImpl = async (_url: string, init: any) => {
    bodies.push(JSON.parse(init.body));
    return { ok: true, status: 200, json: async () => ({ choices: [{ text: "" }] }) };
  };
  const document = { getText: () => "import os\n\nx = ", offsetAt: () => 15, languageId: "python", fileName: "b.py" };
  const editor = { document, selection: { active: new fake.Position(2, 4) } };
  fake.recorded.listeners.get("selection")({ textEditor: editor });
  fake.recorded.listeners.get("selection")({ textEditor: editor }); // debounced: one warm-up
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(bodies.length, 1);
  assert.equal(bodies[0].max_tokens, 0);
  assert.equal(bodies[0].prompt, "import os\n\nx = ");
  fake.window.activeTextEditor = editor;
  fake.recorded.listeners.get("save")(document);
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(bodies.length, 2);
  fake.window.activeTextEditor = undefined;
});
