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
local f = io.open(out, "w")
f:write(vim.fn.json_encode(result or {}))
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
    replies = result.values() if isinstance(result, dict) else [r for r in result if r]  # keyed by client id
    items = [item for reply in replies for item in reply["result"]["items"]]
    assert items and items[0]["textEdit"]["newText"] == "a + b" and items[0]["label"] == "a + b"
    completions = [body for _, body in http.requests if body["max_tokens"] != 0]
    assert completions[0]["prompt"] == "def add(a, b):\n    return "
    # Opening the file sent a warm-up first: the prompt evaluated, no token asked for.
    assert any(body["max_tokens"] == 0 for _, body in http.requests)
