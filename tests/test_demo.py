import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_make_demo_command_prints_a_real_completion(embedded_gguf):
    """What `make demo` runs: the CLI, end to end, in a fresh process."""
    result = subprocess.run([sys.executable, "-m", "fimkit", "demo"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    middle = out.split("--- middle (generated) ", 1)[1].split("\n", 1)[1].split("--- suffix", 1)[0]
    assert middle.strip() and "__main__" not in middle
    assert "format:  qwen2.5-coder:spm-paper" in out and "tokens/s" in out  # the FIM model, in its profile's layout
    assert "fibonacci(" in middle
