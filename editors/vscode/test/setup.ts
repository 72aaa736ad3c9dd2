// Route `require("vscode")` to the fake, for tests that load the real extension module.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const Module = require("module");
const original = Module._resolveFilename;
Module._resolveFilename = function (request: string, ...rest: any[]) {
  if (request === "vscode") return require.resolve("./fake-vscode");
  return original.call(this, request, ...rest);
};
export {};
