"""What biases the default study's largest shards upward (issue 27 item 1): the same jobs at
16,384, 32,768 and 65,536 examples under one lever at a time, each variant a copy of the
workflow run side by side, then a table of every point with its seed spread.

    python3 benchmarks/optimizer_floor.py WORK [--cores 2] [--variants base,cooldown,...]
    python3 benchmarks/optimizer_floor.py WORK --report     (the table of finished variants)
    python3 benchmarks/optimizer_floor.py WORK --paired results/default/tables/runs.csv
        (one study run with a cooldown: per shard, the winner's validation metric before and
        after its cooldown, the same members: the cooldown lever at every shard from one run)

Variants (overlays on config.yaml; each runs on the CPU, `threads: 1`, as the default does):
  base        today's protocol: constant rate, early stopping, budget extension, lr search
  cooldown    training.cooldown 0.2: decay to 0 over 20% of each member's best step
  cooldown01  training.cooldown 0.1: does half of it do as well (it costs half)?
  cooldown05  training.cooldown 0.5: is 0.2 long enough?
  lower_lr    learning_rates 0.0003, 0.001, 0.003 (the search still extends them)
  patience    patience 32 (4x): early stopping on a plateau is not what stops too soon
  wider       widths 32 to 192 (the default's largest is 96)
The table gives per variant and shard: the point's test MSE (mean over 3 seeds) and its seed
spread (std), its excess over the label-noise floor 0.0100, the change from `base` in units of
the base point's standard error, the winning width and rate, the probe's gain (the `optimizer`
flag's numbers) and the flags.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
FLOOR = 0.0100
SHARDS = [16384, 32768, 65536]
VARIANTS = {
    "base": {},
    "cooldown": {"training": {"cooldown": 0.2}},
    "cooldown01": {"training": {"cooldown": 0.1}},
    "cooldown05": {"training": {"cooldown": 0.5}},
    "lower_lr": {"training": {"learning_rates": [0.0003, 0.001, 0.003]}},
    "patience": {"training": {"patience": 32}},
    "wider": {"models": {"mlp": {"sizes": [32, 64, 96, 128, 192]}}},
}


def overlay(name: str) -> dict:
    """The variant's overlay: its lever, on the CPU, at the three largest shards only."""
    shards = {"datasets": {"teacher": {"shards": {"sizes": SHARDS}}}}  # as plan's overlays give them
    return {"study": f"floor-{name}", "device": "cpu", **shards, **VARIANTS[name]}


def run_variant(work: Path, name: str, cores: int) -> str:
    """A fresh copy of the workflow with the variant's overlay; Snakemake in it; a status line."""
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    for part in ("Snakefile", "config.yaml", "workflow", "envs"):
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, d / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, d / part)
    (d / "variant.yaml").write_text(yaml.safe_dump(overlay(name)))
    start = time.time()
    with open(d / "snakemake.log", "w") as log:
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", "config.yaml", "variant.yaml"]
        rc = subprocess.run(cmd, cwd=d, stdout=log, stderr=subprocess.STDOUT).returncode
    return f"{name}: rc={rc}, {time.time() - start:.0f} s wall on {cores} cores"


def table(work: Path) -> pd.DataFrame:
    """Every finished variant's points at the three shards."""
    rows = []
    for name in VARIANTS:
        curve = work / name / f"results/floor-{name}/tables/learning_curve.csv"
        if curve.exists():
            rows.append(pd.read_csv(curve).assign(variant=name))
    df = pd.concat(rows, ignore_index=True)
    base = df[df["variant"] == "base"].set_index("n")
    se = base["test_std"] / np.sqrt(base["seeds"])
    df["excess"] = df["test_mean"] - FLOOR
    df["vs_base"] = df["test_mean"] - df["n"].map(base["test_mean"])
    df["in_base_se"] = df["vs_base"] / df["n"].map(se)
    return df


def paired(runs_csv: Path) -> pd.DataFrame:
    """From one study run with a cooldown: per shard, the winning (size, lr)'s validation metric
    at the best constant-rate state (`val_constant`) and after the cooldown, over seeds. Paired
    (the same members before and after), so the gain is measured far below the seed spread."""
    runs = pd.read_csv(runs_csv)
    runs = runs[~runs["diverged"].astype(bool)]
    cfg = runs.groupby(["n", "size", "lr"])["val_metric"].mean().groupby("n").idxmin()
    out = []
    for n, (_, size, lr) in cfg.items():
        won = runs[(runs["n"] == n) & (runs["size"] == size) & (runs["lr"] == lr)]
        gain = won["val_constant"] - won["val_metric"]
        out.append(
            {
                "n": n,
                "size": size,
                "lr": lr,
                "val_constant": won["val_constant"].mean(),
                "val_cooled": won["val_metric"].mean(),
                "gain": gain.mean(),
                "gain_std": gain.std(),
                "seed_std": won["val_metric"].std(),
                "gain_share_of_excess": gain.mean() / (won["val_constant"].mean() - FLOOR),
                "cooldown_steps": int(won["cooldown_steps"].max()),
            }
        )
    return pd.DataFrame(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("work", type=Path)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--report", action="store_true", help="print the table of the finished variants only")
    p.add_argument("--paired", type=Path, help="a runs.csv of a study with a cooldown: its per-shard gains only")
    a = p.parse_args()
    if a.paired:
        with pd.option_context("display.width", 200, "display.float_format", "{:.5f}".format):
            print(paired(a.paired).to_string(index=False))
        return 0
    if not a.report:
        names = a.variants.split(",")
        with ThreadPoolExecutor(len(names)) as pool:
            for line in pool.map(lambda n: run_variant(a.work, n, a.cores), names):
                print(line)
    df = table(a.work)
    cols = ["variant", "n", "test_mean", "test_std", "excess", "vs_base", "in_base_se", "size", "lr"]
    cols += ["probe_gain", "seed_noise", "limited_by"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.5f}".format):
        print(df.sort_values(["n", "variant"])[[c for c in cols if c in df]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
