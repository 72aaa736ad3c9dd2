import json
import subprocess
import sys

import pytest

from fimkit.cli import build_parser, main

VERBS = ["fim", "tokenize", "samples", "train", "merge", "export", "pipeline", "serve", "complete", "eval", "lsp", "models",
         "index", "adapt"]
HEAVY = ("torch", "transformers", "llama_cpp", "numpy", "peft")


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "fimkit", *args], capture_output=True, text=True, env=env, timeout=120)


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for verb in VERBS + ["demo"]:
        assert f"\n    {verb}" in out


@pytest.mark.parametrize("verb", VERBS + ["demo", "corpus"])
def test_every_verb_has_a_teaching_help(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([verb, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out  # every verb shows how it is called


def test_help_imports_nothing_heavy():
    code = (
        "import sys; from fimkit.cli import main\n"
        "try: main(['--help'])\nexcept SystemExit: pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_bad_input_is_one_line_exit_2_and_debug_shows_the_traceback(tmp_path, fimkit_home):
    result = run_cli("models", str(tmp_path / "nope.gguf"))
    assert result.returncode == 2 and "unknown model" in result.stdout
    from models.test_gguf_meta import write_tiny_gguf

    whole = write_tiny_gguf(tmp_path / "whole.gguf").read_bytes()
    (tmp_path / "bad.gguf").write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    result = run_cli("demo", "--model", str(tmp_path / "bad.gguf"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "truncated GGUF" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("--debug", "demo", "--model", str(tmp_path / "bad.gguf"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_unknown_model_name(fimkit_home, capsys):
    assert main(["demo", "--model", "gpt-7"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'gpt-7'" in err and "gemma-3-270m" in err


def test_models_formats_json(capsys):
    assert main(["models", "--formats", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["starcoder"]["prefix"] == "<fim_prefix>"


def test_models_lists_the_embedded_models_without_assembling_or_measuring(fimkit_home, capsys, monkeypatch):
    monkeypatch.delenv("FIMKIT_AUTO_MODEL")  # as on a user's machine: auto is measured, not pinned
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    qwen, gemma = rows["qwen2.5-coder-0.5b"], rows["gemma-3-270m"]
    assert qwen["source"] == "embedded" and qwen["license"] == "Apache-2.0" and qwen["fim"] == "qwen2.5-coder"
    assert qwen["size_bytes"] == 491_400_064 and gemma["fim"] == "prefix-only" and "qwen2.5-coder-1.5b" in rows
    assert not (fimkit_home / "models").exists() and not (fimkit_home / "auto-model.json").exists()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "LICENSE" in out and "auto: not measured on this machine yet" in out and "NOTICE.md" in out


def test_parser_builds_without_side_effects():
    assert build_parser().prog == "fimkit"


def test_unknown_fim_family_is_one_line(capsys):
    assert main(["demo", "--fim-format", "santa:psm"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown FIM family 'santa'" in err and "starcoder" in err and "\n" not in err


def test_missing_package_names_the_extra_to_install(tmp_path, fimkit_home):
    """A machine without llama-cpp-python: the demo says what to install instead of crashing."""
    import os

    from models.test_gguf_meta import write_tiny_gguf

    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "llama_cpp.py").write_text("raise ImportError('blocked for the test')\n")
    env = dict(os.environ, PYTHONPATH=str(blocker))
    result = run_cli("demo", "--model", str(write_tiny_gguf(tmp_path / "t.gguf")), env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "pip install 'fimkit[llama]'" in result.stderr


@pytest.mark.parametrize("args, field", [
    (["serve", "--prompt-tokens", "10"], "prompt_tokens"),
    (["serve", "--prompt-tokens", "99999"], "prompt_tokens"),
    (["serve", "--prompt-caches", "-1"], "prompt_caches"),
    (["serve", "--threads", "0"], "threads"),
    (["complete", "{file}", "--line", "1", "--col", "1", "--prompt-tokens", "-5"], "prompt_tokens"),
    (["eval", "--benchmark", "humaneval-single", "--prompt-tokens", "0"], "prompt_tokens"),
    (["serve", "--candidates", "0"], "candidates"),
    (["serve", "--workspace", "{file}"], "workspace"),
    (["index", "{file}/nowhere"], "workspace"),
    (["complete", "{file}", "--line", "1", "--col", "1", "--workspace", "{file}"], "workspace"),
])
def test_engine_settings_out_of_range_are_one_line_errors(args, field, capsys, tmp_path):
    code = tmp_path / "x.py"
    code.write_text("x = 1\n")
    assert main([a.format(file=code) for a in args]) == 2
    err = capsys.readouterr().err
    assert (field in err or field.replace("_", "-") in err) and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- issue 27: the server's own flags, checked where they enter ---------------------------------------
@pytest.mark.parametrize("args, flag", [
    (["serve", "--max-queue", "0"], "--max-queue"),
    (["serve", "--max-queue", "-3"], "--max-queue"),
    (["serve", "--request-timeout", "-1"], "--request-timeout"),
    (["serve", "--request-timeout", "nan"], "--request-timeout"),
    (["serve", "--max-request-bytes", "-1"], "--max-request-bytes"),
    (["serve", "--max-tokens-cap", "-1"], "--max-tokens-cap"),
    (["serve", "--max-tokens", "-5"], "--max-tokens"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--port", "1" + "0" * 400], "--port"),
    (["serve", "--workspace", ""], "--workspace"),
    (["serve", "--host", ""], "--host"),
    (["serve", "--lora", ""], "--lora"),
    (["serve", "--lora", "{tmp}/missing.gguf"], "--lora"),
    (["complete", "-", "--max-tokens", "0"], "--max-tokens"),
    (["complete", "-", "--temperature", "inf"], "--temperature"),
    (["complete", "x.py", "--line", "0", "--col", "1"], "--line"),
    (["complete", "-", "--workspace", ""], "--workspace"),
    (["lsp", "--port", "-1"], "--port"),
    (["index", "{tmp}/loop"], "loop"),
    (["eval", "--benchmark", "humaneval-single", "--limit", "0"], "--limit"),
    (["samples", "--count", "-2"], "--count"),
])
def test_bad_flag_values_are_one_line_before_anything_starts(args, flag, tmp_path, capsys):
    import os

    os.symlink("loop", tmp_path / "loop")
    code = main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and flag in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1 and "serving" not in err


def test_port_0_serves_on_a_free_port_and_says_which(tmp_path):
    """`--port 0` once printed port 0; the real port is now in the 'serving' line."""
    import os
    import re
    import time
    import urllib.request

    env = dict(os.environ, FIMKIT_HOME=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--port", "0", "--no-telemetry", "--backend",
                             "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "remote"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
        assert port != 0
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    assert json.loads(r.read())["status"] == "ok"
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer on the port it printed")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_library_progress_bars_stay_out_of_a_log_file(tiny_fim_gguf, tmp_path):
    """Issue 30: `make demo` into a file showed transformers' own bars ("Converting and de-quantizing
    GGUF tensors...", "Loading weights") as carriage-return noise among fimkit's lines."""
    import subprocess
    import sys

    log = tmp_path / "out.log"
    with open(log, "w") as err:
        r = subprocess.run([sys.executable, "-m", "fimkit", "complete", "-", "--backend", "transformers", "--model",
                            str(tiny_fim_gguf), "--max-tokens", "2"], input='{"prefix": "x = ", "suffix": "\\n"}',
                           stdout=subprocess.PIPE, stderr=err, text=True, timeout=300)
    said = log.read_text()
    assert r.returncode == 0, said
    assert "\r" not in said and "Converting" not in said and "Loading weights" not in said, said


def test_lsp_with_a_server_address_that_is_not_a_url_is_one_line(capsys):
    assert main(["lsp", "--server", "127.0.0.1:5000"]) == 2
    err = capsys.readouterr().err
    assert "--server '127.0.0.1:5000': expected a server's address" in err and len(err.strip().splitlines()) == 1
