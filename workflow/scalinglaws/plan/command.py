"""`scalinglaws plan FITS`: the plan computed and printed as text or JSON (options: options.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fit.predict import load_fits, parse_values
from ..study import Study
from .cost import Protocol, read_runs
from .curve import PlanError
from .options import FACTORS
from .overlay import Stored, curve_names, make_overlay, read_config, rerun, study_grid, write_overlay
from .propose import propose_next
from .record import RECORD, Record, read_record
from .target import Context, budget_split, data_factor_table, target_error


def results_folder(source: Path) -> Path | None:
    """results/<study> when the fits are a study's (results/<study>/fits/fits.json)."""
    folder = source.resolve().parent.parent
    return folder if source.parent.name == "fits" and (folder / "tables").is_dir() else None


def find_study(paths: list[str] | None, results: Path | None) -> tuple[Study | None, Record | None]:
    """The study's config, and the config files that name it in a `snakemake` command: the
    --configfile given; else those the results were made with (record.py); else, for results
    made before the record existed, the config.yaml of the checkout that holds them when it names
    that study."""
    if paths:
        config = read_config(paths)
        study = Study(config, source=", ".join(paths))
        return study, Record(list(paths), config, study.config_hash, Path.cwd())
    record = read_record(results)
    if record is not None:
        return Study(record.config, source=f"{results / RECORD} ({', '.join(record.files)})"), record
    if results is not None and results.parent.name == "results":
        default = results.parent.parent / "config.yaml"
        if default.is_file() and (read_config([str(default)]).get("study") == results.name):
            study = Study(read_config([str(default)]), source=str(default))
            return study, Record(["config.yaml"], study.config, study.config_hash, results.parent.parent)
    return None, None


def check_made_with(study: Study, record: Record, ctx: Context, runs, source: Path) -> None:
    """The study's config must be the one the fits were made with: its shards (and its sizes,
    where runs.csv has them) for the curve are those measured. A plan from another config
    proposed shards that exist already and counted runs the store holds."""
    dataset, family = curve_names(study, ctx.curve.group)
    result = ctx.curve.result
    pairs = [("shards", sorted({int(v) for v in result.x[:, result.axis]}), study.shard_sizes_for(dataset))]
    if runs is not None and {"dataset", "family", "size"} <= set(runs.columns):
        own = runs[(runs["dataset"] == dataset) & (runs["family"] == family)]
        pairs.append(("sizes", sorted(int(v) for v in own["size"].unique()), study.config["models"][family]["sizes"]))
    for what, measured, configured in pairs:
        if sorted(set(int(v) for v in configured)) != measured:
            raise PlanError(
                f"{source}: the {what} of {ctx.curve.group} ({', '.join(map(str, measured))}) are not those of "
                f"{', '.join(record.files)} ({', '.join(map(str, sorted(configured)))}): these results were made with other "
                "config files; give those with --configfile"
            )


def context(args, source: Path, fits: dict) -> tuple[Context, Study | None, Path | None, Record | None]:
    for name in ("epochs", "round_factor"):
        value = getattr(args, name)
        if not (np.isfinite(value) and value > 0):
            raise PlanError(f"--{name.replace('_', '-')} {value:g}: must be a positive number")
    results = results_folder(source)
    study, record = find_study(args.configfile, results)
    runs = read_runs(results)
    ctx = Context.from_fits(fits, args.group, args.law, study, runs, str(source))
    if study is None:
        ctx.protocol = Protocol(epochs=args.epochs)
    else:
        check_made_with(study, record, ctx, runs, source)
    return ctx, study, results, record


UNREACHABLE = 4  # the exit status when the target error is not reachable (documented in the help)


def run(args) -> int:
    """The plan printed; its exit status: UNREACHABLE when --target-error cannot be reached, else 0."""
    source, fits = load_fits(args.fits)
    ctx, study, results, record = context(args, source, fits)
    factors = parse_values(args.data_factor, "--data-factor")
    asked = args.target_error is not None or args.budget is not None or args.next
    out = {
        "group": ctx.curve.group,
        "law": ctx.curve.name,
        "compute": ctx.protocol.describe(),
        "throughput": [t.describe() for t in ctx.throughput],
    }
    if ctx.curve.note:
        out["combined"] = ctx.curve.note
    if ctx.curve.size_note:
        out["best_size"] = ctx.curve.size_note
    if args.target_error is not None:
        out["target"] = target_error(ctx, args.target_error)
    if factors is not None or not asked:
        table = data_factor_table(ctx, FACTORS if factors is None else factors)
        out["data_factor"] = json.loads(table.to_json(orient="records"))
    if args.budget is not None:
        out["budget"] = budget_split(ctx, args.budget)
    if args.next:
        out["next"] = next_round(args, ctx, study, results, out, record)
    if args.format == "json":
        print(json.dumps(out, indent=1))
    else:
        print("\n".join(text(out)))
    return UNREACHABLE if out.get("target", {}).get("status") == "not reachable" else 0


def next_round(
    args, ctx: Context, study: Study | None, results: Path | None, out: dict, record: Record | None = None
) -> dict:
    """Propose, write the overlay and count the rerun's jobs; the command that runs it is
    `snakemake` with the config files the results were made with, then the overlay."""
    if study is None:
        raise PlanError("--next needs the study's config (--configfile): the overlay extends its shards and sizes")
    target = out.get("target", {})
    if target.get("n", {}).get("value") is not None:
        target_n = target["n"]["value"]
    elif args.data_factor is not None:
        target_n = float(max(parse_values(args.data_factor, "--data-factor"))) * ctx.curve.n_max
    else:
        raise PlanError(
            "--next needs a target: a reachable --target-error, or --data-factor K (n = K x the largest shard)"
        )
    if target_n <= ctx.curve.n_max:  # the data already reach it: a new shard beyond them narrows nothing there
        return {
            "target_n": float(target_n),
            "inside_data": True,
            "shards": [],
            "sizes": [],
            "reason": f"the target's n = {target_n:.4g} is inside the measured shards (up to {ctx.curve.n_max:.4g}): "
            "more data beyond them would not narrow its interval; no overlay written",
        }
    record = record or Record(["config.yaml"], study.config, study.config_hash, Path.cwd())
    check_current(record)
    root = results.parent.parent if results is not None else Path.cwd()
    grid = study_grid(study, ctx.curve.group, Stored(study, ctx.curve.group, root))
    proposal = propose_next(ctx, grid, target_n, args.round_factor)
    overlay = make_overlay(study, ctx.curve.group, proposal["shards"], proposal["sizes"])
    _, jobs = rerun(study, overlay, root)
    command = record.command(_beside(record, Path(args.out)))
    note = (
        f"scalinglaws plan --next for {ctx.curve.group} ({ctx.curve.name}), target n = {target_n:.4g}\nrun: {command}"
    )
    write_overlay(args.out, overlay, note)
    return {**proposal, "overlay": str(args.out), "rerun_jobs": jobs, "command": command}


def check_current(record: Record) -> None:
    """The recorded config files must still give the config the results were made with: the
    command that runs the overlay reads them."""
    try:
        now = Study(read_config([str(record.workdir / f) for f in record.files])).config_hash
    except UserError:
        now = None
    if now != record.config_hash:
        raise PlanError(
            f"the config files these results were made with ({', '.join(record.files)}, in {record.workdir}) "
            "have changed or are gone since: run snakemake with the config you mean first, or give it with --configfile"
        )


def _beside(record: Record, overlay: Path) -> str:
    """The overlay's path as the command names it: relative to the folder snakemake runs in."""
    path = overlay.resolve()
    inside = record.workdir.resolve() in path.parents
    return str(path.relative_to(record.workdir.resolve())) if inside else str(path)


def _ci(ci, fmt: str = ".4g") -> str:
    if not ci:
        return "(no interval)"
    lo, hi = ("open" if v is None else format(v, fmt) for v in ci)
    return f"[{lo}, {hi}]"


def _quantity(name: str, q: dict | None, fmt: str = ".4g") -> str:
    if not q:
        return f"  {name}: unknown"
    value = "none" if q.get("value") is None else format(q["value"], fmt)
    return f"  {name}: {value}  95% CI {_ci(q.get('ci95'), fmt)}"


def text(out: dict) -> list[str]:
    """The plan as lines a person reads."""
    lines = [f"== {out['group']} ({out['law']})", f"compute: {out['compute']}"]
    lines += [f"throughput: {t}" for t in out["throughput"]]
    lines += [f"combined: {out['combined']}"] if "combined" in out else []
    lines += [f"best size: {out['best_size']}"] if "best_size" in out else []
    if "target" in out:
        t = out["target"]
        reason = t.get("reason")
        if reason:
            reason = f" {reason}" if t["status"] == "already reached" else f" ({reason})"
        lines.append(f"-- target error {t['target_error']:.4g}: {t['status']}{reason or ''}")
        lines.append(_quantity("irreducible error", t["irreducible"]))
        if t["status"] != "not reachable":
            lines += [_quantity("data n", t["n"], ".4g"), _quantity("model parameters", t.get("params"))]
            lines += [_quantity("size knob", t["knob"], ".4g")] if "knob" in t else []
            lines += [_quantity("training FLOPs (one run)", t.get("flops"), ".3g")] if "flops" in t else []
            if t.get("flops_job"):
                lines.append(f"  FLOPs of the study's job there (every seed x learning rate): {t['flops_job']:.3g}")
            for h in t.get("hours", []):
                lines.append(_quantity(f"{'GPU' if h['gpu'] else h['device']}-hours (one run)", h, ".3g"))
            if t.get("hours") and not any(h["gpu"] for h in t["hours"]):
                lines.append("  (no GPU timings in the study: hours at its measured CPU throughput)")
    if "data_factor" in out:
        lines.append("-- what k x the largest shard buys (error at the best size; CI: mean curve, PI: one new run)")
        for r in out["data_factor"]:
            size = f"  best size {r['best_params']:.4g} params" if r.get("best_params") is not None else ""
            size += f" (knob {r['best_knob']:.3g})" if r.get("best_knob") is not None else ""
            lines.append(
                f"  {r['factor']:g}x  n = {r['n']:.4g}: {r['prediction']:.4g}  CI {_ci([r['ci_low'], r['ci_high']])}"
                f"  PI {_ci([r['pi_low'], r['pi_high']])}{size}"
            )
    if "budget" in out and "status" in out["budget"]:
        b = out["budget"]
        lines.append(f"-- budget {b['budget']:.3g} FLOPs for one run: {b['status']} ({b['reason']})")
    elif "budget" in out:
        b = out["budget"]
        e = b["error"]
        lines += [
            f"-- budget {b['budget']:.3g} FLOPs for one run",
            _quantity("data n", b["n"]),
            _quantity("model parameters", b["params"]),
        ]
        lines += [_quantity("size knob", b["knob"])] if "knob" in b else []
        lines.append(
            f"  error: {e['prediction']:.4g}  CI {_ci([e['ci_low'], e['ci_high']])}  PI {_ci([e['pi_low'], e['pi_high']])}"
        )
    if "next" in out:
        lines += next_text(out["next"])
    return lines


def next_text(p: dict) -> list[str]:
    if "reason" in p:
        return [f"-- next round, for n = {p['target_n']:.4g}: none ({p['reason']})"]
    inside = " (inside the measured shards: their noise, not the extrapolation, sets its interval)"
    lines = [
        f"-- next round, for n = {p['target_n']:.4g} (error {p['prediction']:.4g} there)" + inside * p["inside_data"],
        f"  new shards: {', '.join(map(str, p['shards'])) or 'none'}; new sizes: {', '.join(map(str, p['sizes'])) or 'none'}",
        f"  PI at the target: now {_ci(p['now']['pi'])}, expected after {_ci(p['after']['pi'])} "
        f"(one run's noise alone: {_ci(p['pi_floor'])})",
        f"  CI of the mean curve there: now {_ci(p['now']['ci'])}, expected after {_ci(p['after']['ci'])}",
    ]
    if p.get("flops") is not None:
        over = " (the first proposal is made even when it costs more)" if p["flops"] > p["round_limit"] else ""
        lines.append(f"  cost: {p['flops']:.3g} FLOPs; round limit {p['round_limit']:.3g}{over}")
    lines += [
        f"  about {h['value']:.3g} {'GPU' if h['gpu'] else h['device']}-hours at the measured throughput"
        for h in p["hours"]
    ]
    jobs = p["rerun_jobs"]
    lines.append(f"  the rerun runs {sum(jobs.values())} jobs: " + ", ".join(f"{k} {v}" for k, v in jobs.items()))
    lines.append(f"  wrote {p['overlay']}; run: {p['command']}")
    return lines
