// Test only (tests/editor/test_vscode_e2e.py): `fimkit lsp` in a real VS Code through
// vscode-languageclient, the LSP client VS Code's own language extensions use. The client asks for
// inline completions (ghost text) only if the server's initialize reply advertises
// inlineCompletionProvider, so ghost text here proves the capability is advertised and honoured.
// The status bar item says what the server advertised, for the test to read.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

exports.activate = async function activate(context) {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  item.text = "lsp: starting";
  item.show();
  context.subscriptions.push(item);
  const [command, ...args] = vscode.workspace.getConfiguration("lspClientCheck").get("command");
  client = new LanguageClient("fimkitLsp", "fimkit lsp", { command, args },
    { documentSelector: [{ scheme: "file", language: "python" }] });
  try {
    await client.start();
  } catch (err) {
    item.text = `lsp: failed ${err}`;
    return;
  }
  const caps = client.initializeResult.capabilities;
  item.text = caps.inlineCompletionProvider ? "lsp: inline completion" : "lsp: no inline completion";
};

exports.deactivate = function deactivate() {
  return client ? client.stop() : undefined;
};
