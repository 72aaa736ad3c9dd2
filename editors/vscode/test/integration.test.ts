// One real round trip: `fimkit serve` with the embedded model, the provider with Node's fetch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import * as path from "node:path";
import { FimProvider } from "../src/provider";
import { settings, doc, at } from "./helpers";

const python = process.env.FIMKIT_PYTHON ?? path.resolve(__dirname, "../../../../.venv/bin/python");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as any).port;
      s.close(() => resolve(port));
    });
  });
}

test("completes against a real fimkit serve process", { skip: !existsSync(python) && `no fimkit venv at ${python}`, timeout: 240000 }, async () => {
  const port = await freePort();
  const home = mkdtempSync(path.join(tmpdir(), "fimkit-vscode-")); // a fresh telemetry database
  const server = spawn(python, ["-m", "fimkit", "serve", "--port", String(port), "--n-ctx", "512"], {
    stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, FIMKIT_HOME: home },
  });
  let stderr = "";
  server.stderr.on("data", (d) => (stderr += d));
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(base + "/health")).ok) break;
      } catch {
        /* not up yet */
      }
      if (server.exitCode !== null || i > 1200) throw new Error(`server did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const p = new FimProvider(() => settings({ serverUrl: base, timeoutMs: 60000 }), () => undefined);
    const text = await p.complete(doc("def add(a, b):\n    return "), at(27), () => false);
    assert.equal(text?.trim(), "a + b");
    let shown = 0;
    for (let i = 0; i < 50 && shown === 0; i++) {
      shown = (await (await fetch(base + "/v1/stats")).json()).overall.shown;
      if (!shown) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(shown, 1); // the provider's "view" event reached the server's telemetry
    // A workspace and a user named outside Latin-1 reach the server (they failed as "server unreachable").
    const states: any[] = [];
    const named = new FimProvider(() => settings({ serverUrl: base, timeoutMs: 60000, repository: "项目-café 🚀",
                                                   user: "José 山田" }), (st) => states.push(st));
    await named.complete(doc("def sub(a, b):\n    return "), at(27), () => false);
    assert.deepEqual(states.at(-1)?.state, "ok", JSON.stringify(states));
  } finally {
    server.kill();
    rmSync(home, { recursive: true, force: true });
  }
});
