"""Running an evaluation: models x modes x tasks x samples, through the same pipeline the server uses.

Each sample is generated with ``run_completion`` (budget, rendering, post-processing, checks:
what an editor would get), timed (time to first token, total, tokens/s), executed in the
sandbox when the task has tests (in parallel with the next generations), scored, and appended
to ``results.jsonl`` at once, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fimkit.errors import FimkitError
from fimkit.eval.config import EvalConfig
from fimkit.eval.metrics import edit_similarity, exact_match
from fimkit.eval.sandbox import Sandbox, SandboxLimits
from fimkit.eval.task import Task
from fimkit.infer import CompletionRequest, CompletionResult, SamplingParams, run_completion
from fimkit.infer.engines.choice import EngineConfig, load_engine
from fimkit.models import inspect_model, resolve_model
from fimkit.syntax import error_count

MODES = ("auto", "psm", "spm", "spm-dolma", "prefix-only")
# Repository context: none, workspace (definitions and similar code), or one of the two alone.
CONTEXTS = ("none", "workspace", "definitions", "similar")


@dataclass(frozen=True)
class Contender:
    """One column of the comparison: a model served in one mode through one backend."""

    model: str
    mode: str = "auto"
    backend: str = "llama-cpp"
    candidates: int = 1  # middles ranked per completion (fimkit.infer.candidates)
    context: str = "none"  # repository context (CONTEXTS), from an index of the tasks' repository
    lora: str | None = None  # a LoRA adapter GGUF on top of the model (llama-cpp backend)
    healing: str | None = None  # token-healing policy (None: the engine's default)

    @property
    def label(self) -> str:
        ranked = f":c{self.candidates}" if self.candidates > 1 else ""
        context = f":{self.context}" if self.context != "none" else ""
        adapter = f"+{Path(self.lora).stem}" if self.lora else ""
        healing = f":heal-{self.healing}" if self.healing is not None else ""
        return f"{Path(self.model).name}{adapter}:{self.mode}{ranked}{context}{healing}"


def fim_spec_for(model: str, mode: str) -> str | None:
    """The FIM format override for a mode (None: the model's own format)."""
    if mode not in MODES:
        raise FimkitError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    if mode in ("auto",):
        return None
    if mode == "prefix-only":
        return "prefix-only"

    detection = inspect_model(resolve_model(model)).detection
    if not detection.is_fim:
        raise FimkitError(f"{model} has no FIM tokens, so it cannot be evaluated in {mode}; use --mode prefix-only or auto")
    layout = {"psm": "psm", "spm": "spm-paper", "spm-dolma": "spm-dolma"}[mode]
    return f"{detection.family.name}:{layout}"


@dataclass
class Row:
    contender: str
    task_id: str
    sample: int
    completion: str
    stop_type: str
    ttft_ms: float
    total_ms: float
    tokens: int
    exact: bool
    edit_sim: float
    passed: bool | None
    exec_status: str | None
    parses: bool | None
    lines: str
    cursor: str
    kind: str
    position: str = ""  # typed holes: what precedes the cursor

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.contender, self.task_id, self.sample)


@dataclass
class ResultLog:
    """results.jsonl: one row per sample, appended as soon as it is scored."""

    path: Path | None
    rows: dict[tuple[str, str, int], Row] = field(default_factory=dict)

    def __post_init__(self):
        self._lock = threading.Lock()
        if self.path is not None and self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = Row(**json.loads(line))
                except (ValueError, TypeError):
                    continue  # a line cut off by an interruption
                self.rows[row.key] = row

    def add(self, row: Row) -> None:
        with self._lock:
            self.rows[row.key] = row
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(row.__dict__) + "\n")


def _score(task: Task, contender: str, sample: int, result, exec_result) -> Row:
    st = result.stats
    parses = None
    if task.test is None and task.language:
        count = error_count(task.prefix + result.text + task.suffix, task.language)
        parses = None if count is None else count == 0
    return Row(
        contender, task.id, sample, result.text, result.stop_type, round(st.prompt_ms, 2),
        round(st.prompt_ms + st.predicted_ms, 2), st.predicted_tokens, exact_match(result.text, task.middle),
        round(edit_similarity(result.text, task.middle), 4), None if exec_result is None else exec_result.passed,
        None if exec_result is None else exec_result.status, parses, task.lines, task.cursor, task.kind,
        task.position,
    )


def complete_task(engine, task: Task, config: EvalConfig = EvalConfig(), sample: int = 0, *,
                  context=None) -> CompletionResult:
    """One sample of one task through the completion path an editor gets (``run_completion``), with
    repository ``context`` (a ``RepoContext``) when given. Training's held-out check calls this too,
    so both measure the same thing."""
    request = CompletionRequest(
        task.prefix, task.suffix, language=task.language, min_mean_logprob=config.min_confidence,
        single_line=config.single_line, filename=task.path,
        sampling=SamplingParams(max_tokens=config.max_tokens or (64 if config.single_line else 256),
                                temperature=config.temperature, seed=config.seed + sample))
    return run_completion(engine, request, context=context)


def run_eval(contenders: list[Contender], tasks: list[Task], config: EvalConfig = EvalConfig(), *,
             output: Path | None = None, progress: bool = False, log=None,
             workspace: str | None = None) -> tuple[ResultLog, Sandbox]:
    """Generate, execute and score every (contender, task, sample) not already in ``output``.
    ``workspace``: the repository the tasks come from, indexed for contenders with workspace context
    (each task's own file is never looked up in it: its context comes from the task's text, with
    the hole absent, as an editor's buffer would be)."""
    from tqdm import tqdm


    results = ResultLog(output / "results.jsonl" if output else None)
    sandbox = Sandbox(SandboxLimits(timeout_s=config.timeout_s, cpu_s=max(1, int(config.timeout_s))), config.workers)
    if log and any(t.executable for t in tasks) and sandbox.problem:
        log(f"execution isolation: {sandbox.isolation}")
    todo = [(c, t, s) for c in contenders for t in tasks for s in range(config.samples)
            if (c.label, t.id, s) not in results.rows]
    bar = tqdm(total=len(contenders) * len(tasks) * config.samples, initial=len(results.rows), desc="eval",
               unit=" samples", disable=not progress)
    lock = threading.Lock()
    tally = {"passed": 0, "run": 0, "exact": 0, "n": 0}

    def finish(task: Task, label: str, sample: int, result, exec_result):
        row = _score(task, label, sample, result, exec_result)
        results.add(row)
        with lock:
            tally["n"] += 1
            tally["exact"] += row.exact
            if row.passed is not None:
                tally["run"] += 1
                tally["passed"] += row.passed
            post = {"EM": f"{tally['exact'] / tally['n']:.1%}"}
            if tally["run"]:
                post["pass"] = f"{tally['passed'] / tally['run']:.1%}"
            bar.set_postfix(post)
            bar.update(1)

    with ThreadPoolExecutor(config.workers) as pool:
        pending: list[Future] = []
        for contender in contenders:
            mine = [(t, s) for c, t, s in todo if c is contender]
            if not mine:
                continue
            engine = load_engine(EngineConfig(model=contender.model, backend=contender.backend, n_ctx=config.n_ctx,
                                              fim_format=fim_spec_for(contender.model, contender.mode),
                                              prompt_tokens=config.prompt_tokens, threads=config.threads,
                                              candidates=contender.candidates, lora=contender.lora,
                                              **({"healing": contender.healing} if contender.healing else {})))
            context = None
            if contender.context != "none":
                from fimkit.infer.context.repository import RepoContext
                from fimkit.infer.context.workspace import WorkspaceIndex

                if not workspace:
                    raise FimkitError("--context workspace needs the tasks' repository: a holes:PATH benchmark "
                                      "or --workspace PATH")
                context = RepoContext(WorkspaceIndex.open(workspace, progress=progress),
                                      **{"definitions": {"max_similar": 0}, "similar": {"max_definitions": 0}}.get(
                                          contender.context, {}))
            try:
                for task, sample in mine:
                    result = complete_task(engine, task, config, sample, context=context)
                    if not task.executable:
                        finish(task, contender.label, sample, result, None)
                        continue
                    # Execution overlaps the next generations; scoring happens when it is done.
                    future = pool.submit(sandbox.run, task.program(result.text))
                    future.add_done_callback(
                        lambda f, t=task, s=sample, r=result, lab=contender.label: finish(t, lab, s, r, f.result()))
                    pending.append(future)
                for f in pending:
                    f.result()
                pending.clear()
            finally:
                engine.close()
    bar.close()
    return results, sandbox
