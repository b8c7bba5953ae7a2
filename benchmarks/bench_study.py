"""End to end on GPUs: a study's wall time against its pure training time, and where the rest goes.

Runs the real workflow (`snakemake`) on a study in a fresh copy of this checkout, with
`--resources gpu=N` training jobs at once (gpus.py spreads them over the visible GPUs), samples
`nvidia-smi` meanwhile, then reads every job's `timing` from its metrics.json:

  pure training   the jobs' step loops (CUDA-event time of the training steps)
  overhead        wall time minus the summed pure training time: Snakemake start-up and
                  scheduling, process start, imports, data loading, CUDA set-up and graph capture,
                  evaluation, writing, and aggregate/fit/figures at the end

The jobs' own step-loop times are inflated when several share a GPU, so the summed pure
training time comes from a run with --gpu-jobs 1 (one training job on the GPU at a time), given
as --reference, or from --measure-pure: afterwards every job is retrained alone on a GPU (one
worker process per GPU); that also checks that the retrained metrics equal the workflow's.

    python benchmarks/bench_study.py --gpu-jobs 1 --out /tmp/serial            # overhead before
    python benchmarks/bench_study.py --gpu-jobs 8 --measure-pure --out /tmp/c8  # one GPU, 8 jobs at once
    python benchmarks/bench_study.py --gpu-jobs 8 --visible 0 ...               # one GPU of several
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPY = ["Snakefile", "config.yaml", "workflow", "profiles", "envs", "studies"]


def fresh_checkout(dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for item in COPY:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / item)
    return dest


def gpu_sampler(path: Path):
    """nvidia-smi every 0.5 s: utilisation and memory per GPU (None without nvidia-smi)."""
    if not shutil.which("nvidia-smi"):
        return None
    query = "--query-gpu=timestamp,index,utilization.gpu,memory.used"
    return subprocess.Popen(
        ["nvidia-smi", query, "--format=csv,noheader,nounits", "-lms", "500"],
        stdout=path.open("w"),
        stderr=subprocess.DEVNULL,
    )


def gpu_busy(path: Path, t0: float, t1: float) -> dict:
    """Mean utilisation per GPU over the samples taken between t0 and t1."""
    from datetime import datetime

    util: dict[str, list[float]] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = [p.strip() for p in line.split(",")]
        try:
            ts = datetime.strptime(parts[0], "%Y/%m/%d %H:%M:%S.%f").timestamp()
            if t0 <= ts <= t1:
                util.setdefault(parts[1], []).append(float(parts[2]))
        except (ValueError, IndexError):
            continue
    return {gpu: {"mean_util_pct": sum(u) / len(u), "samples": len(u)} for gpu, u in util.items()}


def job_table(store: Path) -> list[dict]:
    jobs = []
    for path in sorted(store.glob("runs/*/metrics.json")):
        job = json.loads(path.read_text())
        t, te = job["timing"], job["timing"]["train_ensemble"]
        life = t["end"] - t["process_start"]
        jobs.append(
            {
                "size": job["spec"]["size"],
                "n": job["spec"]["n"],
                "gpu": t["gpu"],
                "start": t["process_start"],
                "end": t["end"],
                "life_s": life,
                "python_start_s": t["python_start_s"],
                "import_s": t["import_s"],
                "cuda_init_s": t["cuda_init_s"],
                "load_s": t["load_s"],
                "setup_s": te["setup_s"],
                "train_s": te["train_s"],
                "eval_s": te["eval_s"],
                "final_eval_s": te["final_eval_s"],
                "steps": te["steps"],
                "members": te["members"],
            }
        )
    return jobs


def retrain(store: Path, metrics_files: list[str]) -> dict:
    """Retrain the given jobs in this process, one after another, on one device; sum their
    step-loop times, and compare their validation metrics with the workflow's own."""
    import numpy as np
    import torch

    torch.set_num_threads(1)  # as the workflow's jobs (threads: 1)
    sys.path.insert(0, str(REPO / "workflow"))
    from scalinglaws import store as st
    from scalinglaws.datasets import Split
    from scalinglaws.train.trainer import EnsembleJob, TrainOptions, train_ensemble

    total, worst = 0.0, 0.0
    for path in metrics_files:
        job = json.loads(Path(path).read_text())
        spec = job["spec"]
        with np.load(st.entry_file(store, "shards", spec["shard_key"])) as f:
            train = Split(f["x"], f["y"])
        with np.load(st.entry_file(store, "eval", spec["eval_key"])) as f:
            val, test = Split(f["val_x"], f["val_y"]), Split(f["test_x"], f["test_y"])
        timing = {}
        runs = train_ensemble(EnsembleJob.from_spec(spec), (train, val, test), options=TrainOptions(timing=timing))
        total += timing["train_s"]
        for a, b in zip(runs, job["runs"]):
            if a["val_metric"] is not None and b["val_metric"] is not None:
                worst = max(worst, abs(a["val_metric"] - b["val_metric"]) / abs(b["val_metric"]))
    return {"train_s": total, "max_rel_diff": worst}


def gpu_count() -> int:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(line.startswith("GPU ") for line in out.splitlines())


def pure_training(store: Path, scratch: Path) -> tuple[float, float]:
    """The summed pure training time: every job retrained with nothing else on its GPU, by one
    worker process per GPU (the jobs dealt out largest first), so it takes ~1/N_GPU of the sum."""
    jobs = {f: json.loads(f.read_text()) for f in store.glob("runs/*/metrics.json")}
    files = sorted(
        jobs, key=lambda f: jobs[f]["timing"]["train_ensemble"]["steps"] * jobs[f]["spec"]["size"], reverse=True
    )
    gpus = gpu_count()
    workers = max(1, gpus)
    procs = []
    for w in range(workers):
        part = scratch / f"pure{w}.json"
        part.write_text(json.dumps([str(f) for f in files[w::workers]]))
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": str(w)} if gpus else dict(os.environ)
        cmd = [sys.executable, __file__, "--retrain", str(store), str(part)]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"retraining worker failed ({proc.returncode})")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return sum(r["train_s"] for r in results), max(r["max_rel_diff"] for r in results)


def main():
    if sys.argv[1:2] == ["--retrain"]:  # a worker of pure_training()
        print(json.dumps(retrain(Path(sys.argv[2]), json.loads(Path(sys.argv[3]).read_text()))))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configfile", default="studies/gpu-reference.yaml")
    p.add_argument("--gpu-jobs", type=int, required=True, help="training jobs at once (snakemake --resources gpu=N)")
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--workdir", help="where the fresh checkout goes (default: a temporary folder)")
    p.add_argument("--reference", help="summary.json of a --gpu-jobs 1 or --measure-pure run: its pure training time")
    p.add_argument(
        "--measure-pure",
        action="store_true",
        help="afterwards, retrain every job with nothing else on its GPU, for the pure training time",
    )
    p.add_argument("--visible", help="CUDA_VISIBLE_DEVICES for the workflow run only (e.g. 0: one GPU of several)")
    p.add_argument("--out", required=True, help="folder for summary.json, the snakemake log, the GPU samples")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = fresh_checkout(Path(args.workdir or f"/tmp/bench-study-{os.getpid()}"))
    env = {k: v for k, v in os.environ.items() if k != "SCALINGLAWS_STORE"}
    if args.visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = args.visible

    sampler = gpu_sampler(out / "gpu_samples.csv")
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(args.cores),
        "--resources",
        f"gpu={args.gpu_jobs}",
        "--configfile",
        args.configfile,
    ]
    t0 = time.time()
    with (out / "snakemake.log").open("w") as log:
        proc = subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    t1 = time.time()
    if sampler:
        sampler.terminate()
        sampler.wait()
    if proc.returncode != 0:
        sys.exit(f"snakemake failed ({proc.returncode}); see {out / 'snakemake.log'}")

    jobs = job_table(work / "results/store")
    wall = t1 - t0
    own_train = sum(j["train_s"] for j in jobs)
    pure, source, rerun_diff = own_train, "this run's own step loops", None
    if args.reference:
        pure, source = json.loads(Path(args.reference).read_text())["pure_train_sum_s"], "the --reference run"
    if args.measure_pure:
        t = time.time()
        pure, rerun_diff = pure_training(work / "results/store", out)
        source = f"every job retrained alone on a GPU, {max(1, gpu_count())} at once, in {time.time() - t:.0f} s"
    total = {
        k: sum(j[k] for j in jobs)
        for k in (
            "life_s",
            "python_start_s",
            "import_s",
            "cuda_init_s",
            "load_s",
            "setup_s",
            "train_s",
            "eval_s",
            "final_eval_s",
        )
    }
    summary = {
        "configfile": args.configfile,
        "gpu_jobs": args.gpu_jobs,
        "cores": args.cores,
        "visible_devices": env.get("CUDA_VISIBLE_DEVICES", "all"),
        "jobs": len(jobs),
        "model_steps": sum(j["steps"] * j["members"] for j in jobs),
        "wall_s": wall,
        "pure_train_sum_s": pure,
        "own_train_sum_s": own_train,
        "overhead_s": wall - pure,
        "overhead_fraction": (wall - pure) / wall,
        "training_phase_s": max(j["end"] for j in jobs) - min(j["start"] for j in jobs),
        "first_job_start_s": min(j["start"] for j in jobs) - t0,
        "last_job_end_s": max(j["end"] for j in jobs) - t0,
        "job_seconds": total,
        "jobs_per_gpu": {},
        "pure_train_source": source,
        "rerun_max_rel_diff_val_metric": rerun_diff,
        "gpu_util": gpu_busy(out / "gpu_samples.csv", t0, t1),
    }
    for j in jobs:
        summary["jobs_per_gpu"][str(j["gpu"])] = summary["jobs_per_gpu"].get(str(j["gpu"]), 0) + 1
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    (out / "jobs.json").write_text(json.dumps(jobs, indent=1))

    print(
        f"study {args.configfile}: {len(jobs)} training jobs, {summary['model_steps']:,} model-steps,"
        f" {args.gpu_jobs} at once on GPUs {summary['visible_devices']} ({args.cores} cores)"
    )
    print(f"wall time                    {wall:8.1f} s")
    print(f"summed pure training time    {pure:8.1f} s  ({source})")
    if rerun_diff is not None:
        print(
            f"  the retrained jobs' validation metrics differ from the workflow's by at most {rerun_diff:.1e} (relative)"
        )
    print(f"non-training overhead        {wall - pure:8.1f} s = {(wall - pure) / wall:.0%} of the wall time")
    phase = summary["last_job_end_s"] - summary["first_job_start_s"]
    print(
        f"  training phase {phase:.1f} s: the first training job started {summary['first_job_start_s']:.1f} s after"
        f" snakemake did, the last ended {wall - summary['last_job_end_s']:.1f} s before it finished (aggregate, fit, figures)"
    )
    print("  summed over jobs (s): " + ", ".join(f"{k[:-2]} {v:.1f}" for k, v in total.items()))
    print(
        f"  jobs per GPU {summary['jobs_per_gpu']}; mean GPU utilisation (nvidia-smi) "
        + ", ".join(f"GPU {g}: {u['mean_util_pct']:.0f}%" for g, u in sorted(summary["gpu_util"].items()))
    )


if __name__ == "__main__":
    main()
