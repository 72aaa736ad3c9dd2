"""The Gemma-3 path of `fimkit export` on the real embedded model: base GGUF as template, FIM tokens added."""

import pytest

pytestmark = pytest.mark.integration


def test_embedded_gemma_round_trips_through_fimkit_export(gemma_gguf, tmp_path):
    from fimkit.export.exporter import export
    from fimkit.formats import FimFormat
    from fimkit.train.model import load_base

    fmt = FimFormat.parse_spec("fimkit:spm-paper")
    base = load_base("gemma-3-270m", fmt)  # dequantized, six FIM rows added at the mean embedding
    from fimkit.train.merge import write_model_folder

    merged = write_model_folder(base.model, base.tokenizer, fmt, tmp_path / "merged",
                                {"fim_format": fmt.spec, "base_model": "gemma-3-270m", "base_path": str(gemma_gguf)})
    report = export(merged, tmp_path / "g-f16.gguf", quant="f16", modelfile=tmp_path / "Modelfile", log=lambda m: None)
    assert report.agreement == 1.0  # llama.cpp on the GGUF == transformers on the folder, token for token
    keys = report.fim_keys
    assert keys["fimkit.fim_format"] == "fimkit:spm-paper"
    assert [keys[f"tokenizer.ggml.fim_{k}_token_id"] for k in ("pre", "suf", "mid")] == [262144, 262145, 262146]
