import logging
import os
import sys
import warnings

import pytest

from fimkit.console import library_output_to


def test_library_output_goes_to_the_log_and_fimkit_lines_to_the_terminal(tmp_path, capfd):
    log = tmp_path / "run" / "pipeline.log"
    with library_output_to(log):
        os.write(2, b"llama_model_quantize: a C-level log line\n")
        warnings.warn("a library deprecation", FutureWarning, stacklevel=1)
        logging.getLogger("transformers.modeling_utils").warning("a library logger line")
        print("fimkit: our own line", file=sys.stderr)
    os.write(2, b"after: back on the terminal\n")
    err = capfd.readouterr().err
    text = log.read_text()
    assert "C-level log line" in text and "a library deprecation" in text and "a library logger line" in text
    assert "fimkit: our own line" in err and "after: back on the terminal" in err
    assert "C-level" not in err and "deprecation" not in err and "library logger" not in err


@pytest.mark.integration
def test_llama_cpp_logs_go_to_the_log(tmp_path, capfd, gemma_gguf):
    llama_cpp = pytest.importorskip("llama_cpp")
    log = tmp_path / "pipeline.log"
    with library_output_to(log):
        llama_cpp.Llama(model_path=str(gemma_gguf), n_ctx=64, verbose=True).close()
    err = capfd.readouterr().err
    assert "llama_model_loader" in log.read_text() and "llama_model_loader" not in err
