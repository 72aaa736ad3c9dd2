"""Every YAML file the project ships parses into its settings."""

from pathlib import Path

import yaml

from fimkit.data.tokenize import TokenizeConfig
from fimkit.train.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_yaml_parses():
    files = sorted(ROOT.glob("configs/*.yaml"))
    assert {f.name for f in files} >= {"train.yaml", "tokens.yaml"}
    for f in files:
        data = yaml.safe_load(f.read_text())
        if "documents" in data:
            cfg = TokenizeConfig.from_mapping(data, str(f))
            assert cfg.tokenizer.name_or_path
        else:
            cfg = load_config(f)
            assert cfg.lora.rank == 16 and cfg.optim.lr == 2e-4 and cfg.optim.warmup_steps == 100
