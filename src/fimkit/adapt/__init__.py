"""fimkit adapt: a model adapted to your repositories, judged on held-out code (see run.py)."""
