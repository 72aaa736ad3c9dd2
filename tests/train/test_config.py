import dataclasses

import pytest

from fimkit.cli import build_parser
from fimkit.errors import FimkitError
from fimkit.train.config import TrainConfig, changed_settings, load_config, to_yaml


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


def test_saved_settings_load_back_equal(tmp_path):
    cfg = load_config(None, {"optim.lr": 3e-4, "lora.targets": ("q_proj", "v_proj"), "max_minutes": 1.5})
    (tmp_path / "h.yaml").write_text(to_yaml(cfg))
    assert load_config(tmp_path / "h.yaml") == cfg
    assert changed_settings(tmp_path / "h.yaml", cfg) == {}


def test_a_train_section_is_read(tmp_path):
    f = tmp_path / "all.yaml"
    f.write_text("train:\n  optim:\n    lr: 2e-4\n  seq_len: 128\n")  # YAML 1.1 reads 2e-4 as a string
    cfg = load_config(f)
    assert cfg.optim.lr == 0.0002 and isinstance(cfg.optim.lr, float) and cfg.seq_len == 128


@pytest.mark.parametrize("text,needle", [
    ("lora_rank: 4\n", "lora_rank: unknown setting; did you mean lora.rank"),
    ("lora:\n  rnak: 4\n", r"lora\.rnak: unknown setting; did you mean lora\.rank"),
    ("loss: some\n", "loss: expected one of middle, all, got 'some'"),
    ("seq_len: abc\n", "bad.yaml: seq_len: expected an integer from 32 to 131,072, got 'abc'"),
    ("optim:\n  lr: fast\n", "bad.yaml: optim.lr: expected a number from 1e-12 to 1, got 'fast'"),
    ("seq_len: 8\n", "seq_len: expected an integer from 32 to 131,072, got 8"),
    ("seq_len: 100000000000000000000000\n", "seq_len: expected an integer from 32 to 131,072"),
    ("optim:\n  warmup_steps: '5'\n", "optim.warmup_steps: expected an integer from 0 to 10,000,000, got '5'"),
    ("optim:\n  grad_accum: 0\n", "optim.grad_accum: expected an integer from 1 to 65,536, got 0"),
    ("lora:\n  targets: []\n", "lora.targets must name"),
    (": [\n", "not valid YAML"),
])
def test_bad_settings_name_the_key(tmp_path, text, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(FimkitError, match=needle):
        load_config(f)


def _leaves(cls, prefix=""):
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            yield from _leaves(f.default_factory, f"{prefix}{f.name}.")
        else:
            yield prefix + f.name, f


def _train_parser():
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    return sub.choices["train"]


def test_every_setting_has_help_and_a_flag():
    dests = {a.dest: a for a in _train_parser()._actions}
    leaves = dict(_leaves(TrainConfig))
    assert {"optim.weight_decay", "optim.max_grad_norm", "eval_fraction", "eval_holes", "new_token_init",
            "lora.targets", "gradient_checkpointing"} <= set(leaves)
    for key, field in leaves.items():
        assert field.metadata["help"], key
        assert key in dests, f"no flag for {key}"
        assert dests[key].default is None and "(default:" in dests[key].help


def test_flags_keep_their_names_and_override_the_file(tmp_path):
    from fimkit.settings import overrides_from_args

    f = tmp_path / "t.yaml"
    f.write_text("seq_len: 256\noptim:\n  lr: 1e-3\n  grad_accum: 4\nlora:\n  rank: 4\n")
    args = _train_parser().parse_args(["-c", str(f), "--lr", "3e-4", "--lora-rank", "8", "--batch-size", "2",
                                       "--warmup-steps", "2", "--lora-targets", "q_proj,v_proj",
                                       "--gradient-checkpointing", "--allow-config-change"])
    cfg = load_config(args.config, overrides_from_args(args, TrainConfig))
    assert (cfg.optim.lr, cfg.lora.rank, cfg.optim.batch_size, cfg.optim.warmup_steps) == (3e-4, 8, 2, 2)
    assert (cfg.seq_len, cfg.optim.grad_accum, cfg.gradient_checkpointing) == (256, 4, True)  # from the file
    assert cfg.lora.targets == ("q_proj", "v_proj") and args.allow_config_change


def test_bad_flag_values_are_refused(capsys):
    with pytest.raises(SystemExit):
        _train_parser().parse_args(["--seq-len", "1.5"])
    assert "expected an integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _train_parser().parse_args(["--loss", "some"])


def test_the_shipped_yaml_spells_out_every_setting_at_its_default():
    from pathlib import Path

    from fimkit.settings import flatten, read_yaml_mapping, to_mapping

    shipped = Path(__file__).resolve().parents[2] / "configs" / "train.yaml"
    assert load_config(shipped) == TrainConfig()
    assert set(flatten(read_yaml_mapping(shipped))) == set(flatten(to_mapping(TrainConfig())))
