"""Fault fuzzing (issue 18): kill the workflow anywhere, damage stored files, run it 4 times at once.

    python benchmarks/bench_faults.py kill --trials 20 [--seed 0]     # SIGKILL/SIGTERM at random moments
    python benchmarks/bench_faults.py kill --stages aggregate,fit-study,plot   # each way, while a stage runs
    python benchmarks/bench_faults.py corrupt --files 20 [--seed 0]   # flip bytes in stored files
    python benchmarks/bench_faults.py concurrent                      # 4 invocations on one store
    add --reduced for a smaller study (shards 256-1024, 10 bootstrap replicates) on a loaded machine

Every trial starts from a fresh copy of the workflow and compares with one uninterrupted run:
runs.csv (less wall time), learning_curve.csv and fits.json must be identical, and a following
`snakemake -n` must have nothing to do. Kill trials pick a moment uniformly within the length
of an uninterrupted run and one of: SIGKILL of Snakemake's whole process group (then
`snakemake --unlock`), SIGTERM of the head process (what a scheduler sends), or SIGTERM of one
running job (SLURM preemption of a job); the phase is whichever stage's processes were running.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "workflow"))

from conftest import TINY_CONFIG, job_counts, make_checkout  # noqa: E402

SMALL = copy.deepcopy(TINY_CONFIG)
SMALL["study"] = "faults"
SMALL["shards"] = {"sizes": [256, 512, 1024, 2048]}
SMALL["models"]["mlp"]["sizes"] = [8, 32]
SMALL["fit"]["bootstrap"] = 20
REDUCED = copy.deepcopy(SMALL)
REDUCED["shards"] = {"sizes": [256, 512, 1024]}
REDUCED["fit"]["bootstrap"] = 10
STAGES = ("data", "train", "aggregate", "fit-study", "plot")


def snakemake(work: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env={**os.environ, **(env or {})})
    proc.stdout += proc.stderr
    return proc


def results(work: Path, study: str = "faults") -> dict[str, str]:
    """What must not change: the tables (less timing) and fits (less provenance). A run's
    config_hash names the study that trained it: on a shared store, whichever came first."""
    import pandas as pd

    base = work / "results" / study
    runs = pd.read_csv(base / "tables/runs.csv").drop(columns=["wall_time_s", "config_hash"])
    fits = json.loads((base / "fits/fits.json").read_text())
    for entry in fits.values():
        entry.pop("provenance", None)
    return {
        "runs": runs.to_csv(index=False),
        "curve": (base / "tables/learning_curve.csv").read_text(),
        "fits": json.dumps(fits, sort_keys=True),
    }


def phase(group: int) -> str:
    """The stages whose processes run in the process group now."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.getpgid(int(proc.name)) == group:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
                if b"scalinglaws" in cmd:
                    found |= {s for s in STAGES if s.encode() in cmd}
        except (OSError, ProcessLookupError):
            continue
    return "+".join(sorted(found)) or "snakemake"


def job_pids(group: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.getpgid(int(proc.name)) == group:
                cmd = (proc / "cmdline").read_bytes()
                if b"-m\0scalinglaws\0" in cmd and not cmd.startswith(b"/bin/"):
                    pids.append(int(proc.name))
        except (OSError, ProcessLookupError):
            continue
    return pids


def kill_trial(template: Path, root: Path, delay: float, how: str, stage: str | None = None) -> dict:
    """One kill `delay` seconds after the start, or, with `stage`, as soon as that stage runs."""
    work = root / f"trial-{time.monotonic_ns()}"
    make_checkout(work, SMALL)
    head = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2"],
        cwd=work,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    start = time.perf_counter()
    if stage:
        while stage not in phase(head.pid).split("+") and head.poll() is None:
            time.sleep(0.01)
    else:
        time.sleep(delay)
    delay = time.perf_counter() - start
    where = phase(head.pid)
    if how == "sigkill-all":
        os.killpg(head.pid, signal.SIGKILL)
    elif how == "sigterm-head":
        head.send_signal(signal.SIGTERM)
    else:  # sigterm-job
        pids = job_pids(head.pid)
        if pids:
            os.kill(random.choice(pids), signal.SIGTERM)
        else:
            how = "sigterm-job (no job running: none sent)"
    head.wait()
    steps = []
    if how == "sigkill-all":
        steps.append(snakemake(work, "--unlock"))
    resumed = snakemake(work)
    steps.append(resumed)
    same = resumed.returncode == 0 and results(work) == results(template)
    noop = "Nothing to be done" in snakemake(work, "-n").stdout
    return {
        "delay_s": round(delay, 2),
        "how": how,
        "phase": where,
        "exit": head.returncode,
        "resume_rc": resumed.returncode,
        "identical": same,
        "noop_after": noop,
        "resumed_jobs": sum(job_counts(resumed.stdout).values()),
    }


def flip_bytes(path: Path, rng: random.Random) -> None:
    """Flip 1-3 random bytes, keeping the mtime (as bit rot would)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def corrupt(template: Path, root: Path, files: int, rng: random.Random) -> list[dict]:
    """One damaged stored file per trial, in a copy of the finished study."""
    import shutil

    from scalinglaws import store

    rows = []
    stored = sorted(
        p.relative_to(template)
        for p in (template / "results").rglob("*")
        if p.name in ("data.npz", "meta.json", "metrics.json")
        or p.suffix == ".csv"
        or p.name in ("fits.json", "jobs.json")
    )
    for target in rng.sample(stored, min(files, len(stored))):
        work = root / f"corrupt-{time.monotonic_ns()}"
        shutil.copytree(template, work, symlinks=True)
        flip_bytes(work / target, rng)
        try:
            store.verify(work / target, full=True)
            harmless = True  # the flip left the content valid (e.g. a zip timestamp): nothing to repair
        except store.CorruptRecord:
            harmless = False
        run = snakemake(work)
        reported = [line for line in run.stdout.splitlines() if "is damaged" in line]
        counts = job_counts(run.stdout)
        retrained = counts.get("train", 0) + counts.get("shard", 0) + counts.get("eval_splits", 0)
        expected = 1 if target.name == "metrics.json" and not harmless else 0
        table = target.parts[1] != "store"  # a table or fit: rebuilt before the DAG, no job at all
        same = all(
            (work / f).read_bytes() == (template / f).read_bytes() for f in stored if (work / f).suffix == ".csv"
        )
        rows.append(
            {
                "file": str(target),
                "harmless": harmless,
                "reported": len(reported),
                "retrained": retrained,
                "jobs": sum(counts.values()),
                "ok": run.returncode == 0
                and results(work) == results(template)
                and retrained == expected
                and len(reported) == (0 if harmless else 1)
                and (not table or (counts == {} and same))
                and "Nothing to be done" in snakemake(work, "-n").stdout,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def concurrent(root: Path) -> dict:
    """Two studies sharing shards and runs, and the same study twice, at once on one store."""
    import shutil

    store_dir = root / "shared-store"
    wider = copy.deepcopy(SMALL)
    wider["study"] = "faults-wide"
    wider["models"]["mlp"]["sizes"] = [8, 32, 64]
    configs = [SMALL, SMALL, wider, wider]
    works = [make_checkout(root / f"c{i}", c) for i, c in enumerate(configs)]
    env = {**os.environ, "SCALINGLAWS_STORE": str(store_dir)}
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--cores", "2"],
            cwd=w,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for w in works
    ]
    outs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - start
    for i, (p, out) in enumerate(zip(procs, outs)):
        if p.returncode:
            errors = [line for line in out.splitlines() if "rror" in line or "missing" in line.lower()]
            print(f"invocation {i} failed:\n" + "\n".join(errors[-12:]))
    scheduled = sum(job_counts(o).get("train", 0) for o in outs)
    from scalinglaws.store import journal

    events = {p.parent.name: journal(p) for p in store_dir.glob("runs/*/.lock")}  # store.job_lock's journal
    data = [journal(p) for p in store_dir.glob("*/*/.lock") if p.parent.parent.name != "runs"]
    unique = len(list(store_dir.glob("runs/*/metrics.json")))
    serial = {}
    for config in (SMALL, wider):
        work = make_checkout(root / f"serial-{config['study']}", config)
        snakemake(work)
        serial[config["study"]] = results(work, config["study"])
    done = [(w, c) for w, c, p in zip(works, configs, procs) if p.returncode == 0]
    differ = sorted({k for w, c in done for k, v in results(w, c["study"]).items() if v != serial[c["study"]][k]})
    same = not differ and len(done) == len(works)
    shutil.rmtree(store_dir, ignore_errors=True)
    return {
        "exit_codes": [p.returncode for p in procs],
        "identical_to_serial": same,
        "differ": differ,
        "unique_jobs": unique,
        "train_jobs_scheduled": scheduled,
        "trained": sum(e.count("computed") for e in events.values()),
        "found_done": sum(e.count("found") for e in events.values()),
        "trained_twice": sum(e.count("computed") > 1 for e in events.values()),
        "data_built": sum(e.count("computed") for e in data),
        "data_found": sum(e.count("found") for e in data),
        "wall_s": round(wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["kill", "corrupt", "concurrent"])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stages", help=f"kill while these stages run, not at random moments (of {','.join(STAGES)})")
    ap.add_argument("--reduced", action="store_true", help="shards 256-1024 and 10 bootstrap replicates")
    args = ap.parse_args()
    if args.reduced:
        SMALL.update(copy.deepcopy(REDUCED))
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    rng = random.Random(args.seed)
    random.seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = make_checkout(root / "reference", SMALL)
        start = time.perf_counter()
        ref = snakemake(template)
        length = time.perf_counter() - start
        assert ref.returncode == 0, ref.stdout[-3000:]
        print(f"uninterrupted run: {length:.1f} s, {sum(job_counts(ref.stdout).values())} jobs", flush=True)
        if args.mode == "kill" and args.stages:  # each named stage, killed each way while it runs
            rows = []
            for stage in args.stages.split(","):
                for how in ("sigkill-all", "sigterm-head", "sigterm-job"):
                    rows.append(kill_trial(template, root, 0, how, stage))
                    print(json.dumps({**rows[-1], "load": round(os.getloadavg()[0], 1)}), flush=True)
        elif args.mode == "kill":
            hows = ["sigkill-all", "sigkill-all", "sigterm-head", "sigterm-job"]
            rows = []
            for _ in range(args.trials):  # printed as they finish: a long benchmark may be cut short
                rows.append(kill_trial(template, root, rng.uniform(0.5, length), rng.choice(hows)))
                print(json.dumps({**rows[-1], "load": round(os.getloadavg()[0], 1)}), flush=True)
        elif args.mode == "corrupt":
            rows = corrupt(template, root, args.files, rng)
        else:
            rows = [concurrent(root)]
        for row in rows if args.mode == "concurrent" else []:
            print(json.dumps(row))
        if args.mode != "concurrent":
            good = sum(r.get("ok", r.get("identical") and r.get("noop_after")) for r in rows)
            print(f"{good} of {len(rows)} trials recovered completely")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[2]:.1f} (15 min)")


if __name__ == "__main__":
    main()
