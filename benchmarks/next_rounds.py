"""Rounds in a row: does each round the study's own plan proposes land inside the prediction
interval that `predict` gave before it (issue 27)?

    python3 benchmarks/next_rounds.py CHECKOUT [--rounds 2] [--target-error 0.012] [--cores 2]
                                      [--configfile EXTRA.yaml ...]

CHECKOUT is a copy of the workflow (Snakefile, config.yaml, workflow/); its study runs first if
it has not (EXTRA configfiles are merged after config.yaml, e.g. a device: cpu overlay). Then,
each round: `scalinglaws plan <results> --target-error E --next` writes overlay_<k>.yaml,
`scalinglaws predict` gives the PI at every shard the overlay adds, and Snakemake runs the
study with every overlay so far. It prints, per round: the new shards' points against their PI
and CI, the power law's gamma CI and the joint law's c_inf CI (each against the label-noise
floor 0.0100 of the default teacher), and the limited fitted points. Exit status 0 when every
new point lies inside its PI, 1 otherwise. The package run is CHECKOUT's own
(PYTHONPATH=CHECKOUT/workflow).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

FLOOR = 0.0100  # the default teacher's label noise, noise_std 0.1 squared


def sh(args: list[str], cwd: Path) -> str:
    """Run a command in the checkout with its own package; its stdout (stderr on failure)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(cwd / "workflow"), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def snakemake(cwd: Path, configs: list[str], cores: int) -> float:
    """Run the study with these configfiles; its wall seconds."""
    start = time.time()
    sh([sys.executable, "-m", "snakemake", "--cores", str(cores), "--configfile", *configs], cwd)
    return time.time() - start


def study_name(cwd: Path, configs: list[str]) -> str:
    name = None
    for c in configs:
        name = (yaml.safe_load((cwd / c).read_text()) or {}).get("study", name)
    return name


def law_cis(results: Path) -> dict:
    """gamma's CI (power law) and c_inf's (joint law), and the limited fitted points."""
    fits = json.loads((results / "fits/fits.json").read_text())
    (key,) = fits
    power, joint = fits[key].get("power", {}), fits[key].get("joint", {})
    curve = pd.read_csv(results / "tables/learning_curve.csv")
    left_out = set(power.get("regions", {}).get("small_data_n", []))
    fitted = curve[~curve["n"].isin(left_out)]
    limited = fitted[fitted["limited_by"] != "none"]
    return {
        "gamma": power["params"]["gamma"]["value"],
        "gamma_ci": power["params"]["gamma"]["ci95"],
        "c_inf": joint.get("params", {}).get("c_inf", {}).get("value"),
        "c_inf_ci": joint.get("params", {}).get("c_inf", {}).get("ci95"),
        "limited": {int(r.n): r.limited_by for r in limited.itertuples()},
        "curve": curve,
    }


def report(label: str, cis: dict) -> None:
    def ci(v):
        return f"[{v[0]:.5f}, {v[1]:.5f}] ({'contains' if v[0] <= FLOOR <= v[1] else 'EXCLUDES'} 0.0100)" if v else "-"

    print(f"{label}: gamma = {cis['gamma']:.5f} CI {ci(cis['gamma_ci'])}; c_inf CI {ci(cis['c_inf_ci'])}")
    print(f"  limited fitted points: {cis['limited'] or 'none'}")


def new_shards(overlay: Path, curve: pd.DataFrame) -> list[int]:
    """The shards an overlay adds to the curve."""
    plan = yaml.safe_load(overlay.read_text())
    sizes = [s for d in plan.get("datasets", {}).values() for s in d.get("shards", {}).get("sizes", [])]
    return sorted(set(sizes) - set(curve["n"]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkout", type=Path)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--target-error", default="0.012")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--configfile", nargs="*", default=[])
    a = p.parse_args()
    cwd, configs = a.checkout.resolve(), ["config.yaml", *a.configfile]
    results = cwd / "results" / study_name(cwd, configs)
    print(f"study: {time.strftime('%Y-%m-%d %H:%M')}, {snakemake(cwd, configs, a.cores):.0f} s wall")
    cis, inside = law_cis(results), True
    report("before any round", cis)
    for k in range(1, a.rounds + 1):
        overlay = f"overlay_{k}.yaml"
        plan = ["plan", str(results), "--target-error", a.target_error, "--next", "--out", overlay]
        said = sh([sys.executable, "-m", "scalinglaws", *plan, *[f"--configfile={c}" for c in configs]], cwd)
        if not (cwd / overlay).exists():  # the target is reached inside the data: no round to run
            print(f"round {k}: none proposed ({said.strip().splitlines()[-1].strip()})")
            break
        ns = new_shards(cwd / overlay, cis["curve"])
        at = ",".join(map(str, ns))
        pred = pd.read_csv(
            io.StringIO(sh([sys.executable, "-m", "scalinglaws", "predict", str(results), "--at", at], cwd))
        )
        configs.append(overlay)
        wall = snakemake(cwd, configs, a.cores)
        cis = law_cis(results)
        print(f"round {k}: shards {ns} (overlay {overlay}), {wall:.0f} s wall, law {pred['law'].iloc[0]}")
        for row in pred.itertuples():
            got = float(cis["curve"].set_index("n").loc[int(row.x), "test_mean"])
            ok = row.pi_low <= got <= row.pi_high
            inside &= ok
            print(
                f"  n={int(row.x)}: point {got:.5f}, predicted {row.prediction:.5f}, CI [{row.ci_low:.5f}, "
                f"{row.ci_high:.5f}], PI [{row.pi_low:.5f}, {row.pi_high:.5f}]: {'inside' if ok else 'OUTSIDE'} the PI"
            )
        report(f"after round {k}", cis)
    print("every round landed inside its PI" if inside else "a round landed OUTSIDE its PI")
    return 0 if inside else 1


if __name__ == "__main__":
    sys.exit(main())
