"""A real editor's LSP client: headless Neovim (Debian's) asks `fimkit lsp` for completions."""

import json
import shutil
import subprocess
import sys

import pytest
from editor.test_lsp import CompletionServer

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("nvim") is None, reason="neovim is not installed")]

LUA = r"""
local python, url, file, out = unpack(_G.args)
local client_id = vim.lsp.start_client({
  name = "fimkit", cmd = { python, "-m", "fimkit", "lsp", "--server", url }, root_dir = vim.fn.fnamemodify(file, ":h"),
})
vim.cmd("edit " .. file)
vim.lsp.buf_attach_client(0, client_id)
vim.wait(20000, function()
  local c = vim.lsp.get_client_by_id(client_id)
  return c ~= nil and c.initialized
end, 50)
local params = { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = 1, character = 11 } }
local result = vim.lsp.buf_request_sync(0, "textDocument/completion", params, 20000)
-- The user types the suggestion's first character: the server keeps the rest, without a new request.
vim.api.nvim_buf_set_lines(0, 1, 2, false, { "    return a" })
vim.wait(200)
local typed = vim.lsp.buf_request_sync(0, "textDocument/completion",
  { textDocument = params.textDocument, position = { line = 1, character = 12 } }, 20000)
local f = io.open(out, "w")
f:write(vim.fn.json_encode({ first = result or {}, typed = typed or {} }))
f:close()
vim.cmd("qa!")
"""


def test_neovim_gets_the_completion_item(tmp_path):
    http = CompletionServer(text="a + b")
    src = tmp_path / "add.py"
    src.write_text("def add(a, b):\n    return \n")
    out = tmp_path / "result.json"
    script = tmp_path / "run.lua"
    args = [sys.executable, http.url, str(src), str(out)]
    script.write_text("_G.args = vim.fn.json_decode([==[" + json.dumps(args) + "]==])\n" + LUA)
    try:
        subprocess.run(["nvim", "--headless", "--clean", "-u", "NONE", "-c", f"luafile {script}", "-c", "qa!"], timeout=60,
                       capture_output=True, check=False)
    finally:
        http.close()
    result = json.loads(out.read_text())

    def items_of(replies):
        replies = replies.values() if isinstance(replies, dict) else [r for r in replies if r]  # keyed by client id
        return [item for reply in replies for item in reply["result"]["items"]]

    items = items_of(result["first"])
    assert items and items[0]["textEdit"]["newText"] == "a + b" and items[0]["label"] == "a + b"
    typed = items_of(result["typed"])
    assert typed and typed[0]["textEdit"]["newText"] == " + b"
    completions = [body for _, body in http.requests if body["max_tokens"] != 0]
    assert len(completions) == 1 and completions[0]["prompt"] == "def add(a, b):\n    return "
    # Opening the file sent a warm-up first: the prompt evaluated, no token asked for.
    assert any(body["max_tokens"] == 0 for _, body in http.requests)
