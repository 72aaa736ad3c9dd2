import pytest

from fimkit.errors import FimkitError
from fimkit.train.config import load_config, to_yaml


def test_defaults_are_the_seeds():
    cfg = load_config()
    assert (cfg.lora.rank, cfg.lora.alpha, cfg.lora.dropout) == (16, 32, 0.05)
    assert (cfg.optim.epochs, cfg.optim.batch_size, cfg.optim.grad_accum, cfg.optim.lr, cfg.optim.warmup_steps) == (3, 4, 2, 2e-4, 100)
    assert set(cfg.lora.targets) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


def test_yaml_then_flags(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("seq_len: 256\nlora:\n  rank: 4\noptim:\n  lr: 0.001\n")
    cfg = load_config(f, {"lora.rank": 8, "max_steps": 5, "seed": None})
    assert (cfg.seq_len, cfg.lora.rank, cfg.optim.lr, cfg.max_steps) == (256, 8, 0.001, 5)
    assert "rank: 8" in to_yaml(cfg)
    assert load_config(None, {"output": "x"}).output == "x"


@pytest.mark.parametrize("text,needle", [
    ("lora_rank: 4\n", "unknown setting"), ("lora:\n  rnak: 4\n", "lora: unknown"), ("loss: some\n", "loss must be"),
    ("seq_len: 8\n", "seq_len"), (": [\n", "not valid YAML"),
])
def test_bad_settings_name_the_key(tmp_path, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(FimkitError, match=needle):
        load_config(f)
