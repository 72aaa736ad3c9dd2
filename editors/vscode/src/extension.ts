// VS Code entry point: wires the provider to the editor, the status bar and the settings.

import * as vscode from "vscode";
import { FimProvider, readSettings, Status } from "./provider";

export function activate(context: vscode.ExtensionContext): FimProvider {
  const config = () => vscode.workspace.getConfiguration("fimkit");
  // A team server routes by repository and user: unless set, the workspace's name and this
  // machine's anonymous id (stable, so an experiment shows one person one arm).
  const settings = () => {
    const s = readSettings((key, fallback) => config().get(key, fallback));
    return { ...s, repository: s.repository || vscode.workspace?.workspaceFolders?.[0]?.name || "",
             user: s.user || vscode.env?.machineId || "" };
  };

  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  status.command = "fimkit.toggle";
  const show = (s: Status) => {
    switch (s.state) {
      case "off": status.text = "$(circle-slash) fimkit"; status.tooltip = "fimkit completions are off (click to turn on)"; break;
      case "idle": status.text = "$(sparkle) fimkit"; status.tooltip = "fimkit: ready"; break;
      case "requesting": status.text = "$(sync~spin) fimkit"; status.tooltip = "fimkit: asking the server"; break;
      case "ok": status.text = `$(sparkle) fimkit ${s.ms} ms`; status.tooltip = `fimkit: last completion took ${s.ms} ms`; break;
      case "error": status.text = "$(warning) fimkit"; status.tooltip = `fimkit: ${s.reason}`; break;
    }
  };
  show(settings().enabled ? { state: "idle" } : { state: "off" });
  status.show();

  const provider = new FimProvider(settings, show);
  const inline: vscode.InlineCompletionItemProvider = {
    async provideInlineCompletionItems(document, position, _context, token) {
      const text = await provider.complete(document, position, () => token.isCancellationRequested);
      if (!text) return [];
      const item = new vscode.InlineCompletionItem(text, new vscode.Range(position, position));
      item.command = { command: "fimkit.accepted", title: "fimkit: accepted" };
      return [item];
    },
  };
  // Warm the server's cache where the user is about to type (see FimProvider.warmUp).
  let warmTimer: ReturnType<typeof setTimeout> | undefined;
  const warmSoon = (editor: vscode.TextEditor | undefined, force = false) => {
    if (!editor) return;
    if (warmTimer !== undefined) clearTimeout(warmTimer);
    warmTimer = setTimeout(() => provider.warmUp(editor.document, editor.selection.active, force), 300);
  };
  // Repository context: where the user was in the file they leave, and around the cursor on save.
  let current = vscode.window.activeTextEditor;
  const leave = (next: vscode.TextEditor | undefined) => {
    if (current && current.document !== next?.document) provider.remember(current.document, current.selection.active);
    current = next;
  };
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      leave(editor);
      warmSoon(editor);
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => warmSoon(e.textEditor)),
    vscode.workspace.onDidSaveTextDocument((document) => {
      const editor = vscode.window.activeTextEditor;
      if (editor && editor.document === document) {
        provider.remember(document, editor.selection.active);
        warmSoon(editor, true);
      }
    }),
    { dispose: () => warmTimer !== undefined && clearTimeout(warmTimer) },
  );
  warmSoon(vscode.window.activeTextEditor);
  context.subscriptions.push(
    status,
    vscode.languages.registerInlineCompletionItemProvider({ pattern: "**" }, inline),
    vscode.commands.registerCommand("fimkit.accepted", () => provider.accepted()),
    vscode.commands.registerCommand("fimkit.toggle", async () => {
      const enabled = !settings().enabled;
      await config().update("enabled", enabled, vscode.ConfigurationTarget.Global);
      show(enabled ? { state: "idle" } : { state: "off" });
    }),
    vscode.commands.registerCommand("fimkit.showStatus", () => {
      vscode.window.showInformationMessage(`fimkit: ${status.tooltip ?? ""} (server ${settings().serverUrl}, api ${settings().api})`);
    }),
  );
  return provider;
}

export function deactivate(): void {}
