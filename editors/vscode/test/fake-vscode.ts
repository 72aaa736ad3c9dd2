// A stand-in for the `vscode` module: just the API surface the extension touches, recording calls.

export class Position {
  constructor(public line: number, public character: number) {}
}
export class Range {
  constructor(public start: Position, public end: Position) {}
}
export class InlineCompletionItem {
  command: any;
  constructor(public insertText: string, public range?: Range) {}
}
export enum StatusBarAlignment { Left = 1, Right = 2 }
export enum ConfigurationTarget { Global = 1 }

export const recorded: any = { providers: [], commands: new Map<string, Function>(), messages: [], statusItems: [], listeners: new Map<string, Function>() };
const listen = (name: string) => (fn: Function) => {
  recorded.listeners.set(name, fn);
  return { dispose() {} };
};
export const settings: Record<string, any> = {};

export const window = {
  activeTextEditor: undefined as any,
  onDidChangeActiveTextEditor: listen("activeEditor"),
  onDidChangeTextEditorSelection: listen("selection"),
  createStatusBarItem() {
    const item = { text: "", tooltip: "", command: "", show() {}, dispose() {} };
    recorded.statusItems.push(item);
    return item;
  },
  showInformationMessage(msg: string) {
    recorded.messages.push(msg);
  },
};
export const workspace = {
  onDidSaveTextDocument: listen("save"),
  getConfiguration() {
    return {
      get: (key: string, fallback: any) => (key in settings ? settings[key] : fallback),
      update: async (key: string, value: any) => {
        settings[key] = value;
      },
    };
  },
};
export const languages = {
  registerInlineCompletionItemProvider(selector: any, provider: any) {
    recorded.providers.push({ selector, provider });
    return { dispose() {} };
  },
};
export const commands = {
  registerCommand(name: string, fn: Function) {
    recorded.commands.set(name, fn);
    return { dispose() {} };
  },
};
