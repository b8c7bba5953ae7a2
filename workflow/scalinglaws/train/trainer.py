"""Ensemble trainer: every (seed, learning rate) member of one job trained together.

Plain and device-agnostic: the data sits on the device as tensors, each step gathers one
minibatch per member, one backward pass gives every member its own gradient, and a batched Adam
applies each member's own learning rate. Early stopping keeps each member's best-validation
weights; a member that diverges is frozen and flagged, never a crash of the job.

Two step loops share everything else: ReferenceSteps (ensemble.py; the CPU default) and the
fast path of fast.py (the CUDA default: flat parameters, CUDA graphs). A CPU test holds them to
the same learning curve. Minibatch rows come from per-member CPU generators in chunks of
`eval_every` steps, so both loops see the same batches.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import time

import torch

from ..datasets.base import Split
from ..datasets.splits import Splits
from ..models import build_ensemble
from ..models.base import member_generator
from .checkpoint import Checkpointer
from .ensemble import EarlyStopping, Members, ReferenceSteps, draw_indices
from .fast import FastSteps, Stopwatch
from .metrics import evaluate, member_loss
from .schedule import Anneal
from .spec import EnsembleJob, TrainOptions, TrainSpec

__all__ = ["EnsembleJob", "TrainOptions", "TrainSpec", "pick_device", "train_ensemble"]


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


@contextlib.contextmanager
def matmul_precision(device: torch.device, precision: str):
    """TF32 tensor-core matmuls on CUDA unless `precision` is fp32 (bf16 also uses autocast)."""
    if device.type != "cuda":
        yield
        return
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest" if precision == "fp32" else "high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def train_ensemble(
    job: EnsembleJob, data: Splits, device: str = "auto", options: TrainOptions | None = None
) -> list[dict]:
    """Train every (seed, lr) member of `job` on `data` (train, val, test); one metrics dict per
    member. `options` (TrainOptions) picks the step loop and adds hooks, timing and checkpoints."""
    start = time.perf_counter()
    options = options or TrainOptions()
    dev = pick_device(device)
    fast = dev.type == "cuda" if options.fast is None else options.fast
    with matmul_precision(dev, job.train.precision):
        with Checkpointer(options.checkpoint, options.checkpoint_every_s) as ckpt:
            runs = _train(job, Splits(*data), dev, fast, options, ckpt)
            ckpt.discard()
    wall = time.perf_counter() - start
    for r in runs:
        r["wall_time_s"] = wall
    if options.timing is not None:
        options.timing["total_s"] = wall
    return runs


def _train(job: EnsembleJob, data: Splits, dev: torch.device, fast: bool, options: TrainOptions, ckpt) -> list[dict]:
    """The loop, top to bottom: build, train in chunks of `eval_every` steps, evaluate."""
    t0 = time.perf_counter()
    spec, task, metric, train = job.train, job.task, job.metric, data.train
    history, timing, on_eval = options.history, options.timing, options.on_eval
    members = Members(spec.seeds, spec.learning_rates)
    E, n = len(members), len(train)
    model = build_ensemble(
        job.family, members.seed_of, job.size, train.x.shape[1:], job.num_outputs, job.model_options, task
    ).to(dev)
    if options.setup is not None:
        options.setup(model)
    params = model.param_count()

    def to_dev(split: Split):
        return torch.as_tensor(split.x, device=dev), torch.as_tensor(split.y, device=dev)

    (xtr, ytr), (xva, yva), (xte, yte) = map(to_dev, data)
    lrs = torch.tensor(members.lr_of, dtype=torch.float32, device=dev)
    batch, budget, ceiling = min(spec.batch_size, n), spec.steps_for(n), spec.ceiling_for(n)
    batch_gens = [member_generator(s, 1) for s in members.seed_of]

    def loss_fn(out, y):
        return member_loss(out, y, task)

    if fast:
        trainer = FastSteps(model, xtr, ytr, loss_fn, lrs, spec, batch)
    else:
        trainer = ReferenceSteps(model, xtr, ytr, loss_fn, lrs, spec)
    stop = EarlyStopping(trainer.state, evaluate(model, xva, yva, task, spec.eval_batch)[0], spec.patience_for(n))
    stop.budget.fill_(budget)
    step_now = torch.zeros((), dtype=torch.long, device=dev)

    def end_of_chunk():  # validation, early stopping, divergence: device work only
        stop.update(evaluate(model, xva, yva, task, spec.eval_batch)[0], trainer.loss, step_now)

    end_of_chunk = trainer.graphed(end_of_chunk)
    train_clock, eval_clock = Stopwatch(dev), Stopwatch(dev)
    setup_s = time.perf_counter() - t0

    step = resumed = ckpt.restore(trainer, stop, batch_gens)  # 0 unless resuming a preempted job
    steps = int(stop.budget.max())  # the budget, or where an extended budget had got to
    print(f"scalinglaws: training {E} members from step {step} of {steps}", file=sys.stderr, flush=True)
    progress = Progress(step)
    if on_eval is not None and step == 0:
        on_eval(step, model)
    while step < steps:
        k = min(spec.eval_every, steps - step)
        idx = draw_indices(batch_gens, n, k, batch)  # host work while the device finishes the chunk
        if step and not bool(stop.active.any()):  # the one host sync per chunk
            break
        with train_clock:
            trainer.train(idx, stop.active)
        step += k
        step_now.fill_(step)
        with eval_clock:
            end_of_chunk()
        if history is not None:
            history.append((step, stop.last_val.cpu().numpy().copy()))
        if on_eval is not None:
            on_eval(step, model)
        if step == steps:  # the end of the budget: members still improving continue, up to the ceiling
            steps = stop.end_of_budget(step, ceiling)
        progress.maybe_log(step, steps, stop)
        ckpt.maybe_save(trainer, stop, step, batch_gens)  # on SIGTERM: save, then raise Preempted

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)  # the last chunk's steps still run: let them count as training
    t1 = time.perf_counter()
    stop.restore_best()
    validate = functools.partial(evaluate, model, xva, yva, task, spec.eval_batch, metric)
    anneal = Annealing(trainer, stop, members, validate, n, batch)
    val_constant, cooled = anneal.cooldown(spec.cooldown, spec.eval_every)
    m = min(n, spec.train_eval_size)
    tr_loss, tr_metric = evaluate(model, xtr[:m], ytr[:m], task, spec.eval_batch, metric)
    va_loss, va_metric = evaluate(model, xva, yva, task, spec.eval_batch, metric)
    te_loss, te_metric = evaluate(model, xte, yte, task, spec.eval_batch, metric)
    val_probe = anneal.probe(spec.eval_every)

    cols = {
        "train_loss": tr_loss,
        "train_metric": tr_metric,
        "val_loss": va_loss,
        "val_metric": va_metric,
        "test_loss": te_loss,
        "test_metric": te_metric,
        "best_step": stop.best_step,
        "diverged": stop.diverged,
        "budget": stop.budget,
        "ran_out": stop.ran_out,
        "val_constant": va_metric if val_constant is None else val_constant,
        "val_probe": val_probe,
        "cooldown_steps": cooled,
    }
    cols = {k: v.cpu().numpy() for k, v in cols.items()}
    if timing is not None:
        timing.update(
            resumed_from_step=resumed,
            setup_s=setup_s,
            train_s=train_clock.total(),
            eval_s=eval_clock.total(),
            final_eval_s=time.perf_counter() - t1,  # with the cooldown and the probe
            steps=step,
            anneal_steps=anneal.steps,
            members=E,
        )
    runs = []
    for e in range(E):
        metrics = {
            k: _num(cols[k][e])
            for k in ("train_loss", "train_metric", "val_loss", "val_metric", "test_loss", "test_metric")
        }
        best, member_budget, diverged = int(cols["best_step"][e]), int(cols["budget"][e]), bool(cols["diverged"][e])
        runs.append(
            {
                "seed": members.seed_of[e],
                "lr": members.lr_of[e],
                "params": params,
                "steps": step,
                "step_budget": budget,
                "batch_size": batch,
                "flops": model.flops_per_example() * batch * (step + int(cols["cooldown_steps"].max(initial=0))),
                "wall_time_s": 0.0,  # set by train_ensemble
                "members": E,
                "device": dev.type,
                **metrics,
                "best_step": best,
                "diverged": diverged,
                "budget": member_budget,
                "stopped_by": "diverged" if diverged else "budget" if cols["ran_out"][e] else "early_stopping",
                "limited_by": step_limit(best, member_budget, spec, diverged),
                "cooldown_steps": int(cols["cooldown_steps"][e]),
                "val_constant": _num(cols["val_constant"][e]),
                "val_probe": _num(cols["val_probe"][e]),
            }
        )
    return runs


class Annealing:
    """What follows the constant-rate loop, from each member's best state: the cooldown and the
    probe, both anneals (schedule.Anneal) whose batches come from fresh per-member streams, so
    that a member's numbers depend on its own training only, not on how long its mates ran.

    - cooldown (`training.cooldown`, a fraction f): member e decays its rate from its best
      step's rate to 0 over round(f x best_step[e]) steps, as warmup-stable-decay reads a
      converged loss from a constant-rate run (Hägele et al. 2024). After every chunk of
      `eval_every` steps, and so at its end, a member keeps its state if its validation loss is
      the best so far, its constant-rate best included: the point is judged on validation as
      early stopping and the learning curve judge it, and a cooldown that overfits a small shard
      cannot make it worse. Early stopping and budget extension are over by then: the cooldown
      is not counted in `best_step` or `budget`, and the step flags read them as before.
    - probe: from the reported state, `eval_every` steps decaying from PROBE_RATE x the rate to
      0; its validation metric (`val_probe`) says whether a lower rate still improves the point
      (the `optimizer` flag, aggregate/diagnostics.py). It never changes the reported numbers:
      the reported state is restored after it (imp.py reads the model's weights).
    """

    PROBE_RATE = 0.1  # a tenth of the rate: the floor of the decaying schedules (schedule.FLOOR)
    COOLDOWN_STREAM, PROBE_STREAM = 2, 3  # member_generator's streams (0: init, 1: batch order)

    def __init__(self, trainer, stop: EarlyStopping, members: Members, evaluate_val, n: int, batch: int):
        self.trainer, self.stop, self.members, self.evaluate_val = trainer, stop, members, evaluate_val
        self.n, self.batch, self.steps = n, batch, 0
        self.best_step = stop.best_step.clone()
        schedule = trainer.opt.schedule
        ones = torch.ones(len(members), dtype=torch.float64, device=stop.best_step.device)
        self.rate = schedule.factor(self.best_step) if schedule is not None else ones  # at the best state
        self.live = ~stop.diverged

    def cooldown(self, fraction: float | None, chunk: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Cool every member down from its best state; (the validation metric before it, each
        member's cooldown steps). Off (None or 0): (None, zeros), and nothing runs."""
        lengths = torch.where(self.live, torch.round(self.best_step.double() * (fraction or 0)).long(), 0)
        if not fraction or not bool(lengths.any()):
            return None, torch.zeros_like(lengths)
        before = self.evaluate_val()[1].clone()
        self._run(Anneal(lengths, self.rate), self.COOLDOWN_STREAM, chunk, keep_best=True)
        self.stop.restore_best()
        return before, lengths

    def probe(self, chunk: int) -> torch.Tensor:
        """The validation metric after the probe; the reported state is restored after it."""
        lengths = torch.where(self.live, chunk, 0)
        self._run(Anneal(lengths, self.rate * self.PROBE_RATE), self.PROBE_STREAM, chunk, keep_best=False)
        after = self.evaluate_val()[1].clone()
        self.stop.restore_best()
        return torch.where(self.live, after, torch.nan)

    def _run(self, anneal: Anneal, stream: int, chunk: int, keep_best: bool) -> None:
        """Every member trains under `anneal` (diverged ones stay frozen), in chunks of `chunk`."""
        gens = [member_generator(s, stream) for s in self.members.seed_of]
        self.stop.active.copy_(self.live.float())  # in place: a captured step reads this tensor
        self.trainer.begin_anneal(anneal, self.best_step)
        done = 0
        while done < anneal.steps:
            k = min(chunk, anneal.steps - done)
            self.trainer.train(draw_indices(gens, self.n, k, self.batch), self.stop.active)
            done += k
            if keep_best:
                self.stop.keep_better(self.evaluate_val()[0])
        self.steps += done


class Progress:
    """A progress line on stderr (the job's log) every LOG_EVERY_S seconds: steps, the best
    validation loss so far, elapsed and estimated time left. Reading the best loss syncs with
    the device, so it happens only when a line is due."""

    LOG_EVERY_S = 30.0

    def __init__(self, first_step: int):
        self.start = self.last = time.monotonic()
        self.first_step = first_step

    def maybe_log(self, step: int, steps: int, stop: EarlyStopping) -> None:
        now = time.monotonic()
        if now - self.last < self.LOG_EVERY_S:
            return
        self.last, elapsed = now, now - self.start
        rate = (step - self.first_step) / elapsed if elapsed > 0 else 0.0
        left = f"~{(steps - step) / rate:.0f} s left" if rate > 0 else "time left unknown"
        live = int(stop.active.sum())
        print(
            f"scalinglaws: step {step} of {steps}, {live} members training, best validation loss "
            f"{float(stop.best_val.min()):.4g}, {elapsed:.0f} s elapsed, {left}",
            file=sys.stderr,
            flush=True,
        )


def step_limit(best_step: int, budget: int, spec: TrainSpec, diverged: bool) -> str:
    """Why a member's result may be short of what its model can do, as far as steps go: its best
    step is in the last 10% of its (final) budget, so it was still improving when training
    ended. `min_steps` when that budget was the floor `min_steps`, else `step_budget`."""
    if diverged or best_step * 10 < 9 * budget:
        return "none"
    return "min_steps" if budget == spec.min_steps else "step_budget"


def _num(v) -> float | None:
    """A float for JSON; None where the value is not finite."""
    v = float(v)
    return v if math.isfinite(v) else None
