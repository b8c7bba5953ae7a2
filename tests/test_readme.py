"""README's claims are part of the product (issue 25): every example command it prints runs as
printed on a fresh clone. Every command in README (its bash blocks, and the complete commands in
its sentences) is either run here, in the order below, or listed with why it is not (it installs
packages, trains a study for minutes, needs a GPU or a cluster); a new example must be added to
one of the two. Every `scalinglaws` example, run or not, is checked against the command's options.

The commands run in a copy of this checkout whose config.yaml is the tiny test study under the
default study's name, so that `results/default` exists after seconds rather than the default
study's minutes; `scalinglaws` and `snakemake` are this checkout's package and this Python's
Snakemake, as `envs/setup.sh` installs them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO, snakemake
from scalinglaws.cli import build_parser

README = REPO / "README.md"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# run as printed, in this order (a later one may use what an earlier one wrote)
RUN = [
    "snakemake --cores all",
    "snakemake --report results/default/report.html",
    "snakemake -n",
    "scalinglaws --version",
    "scalinglaws predict results/default --at 32768,1e5",
    "scalinglaws predict results/default --at 1e5 --law joint --size 5000,20000 --format json",
    "scalinglaws predict results/default --at 65536",
    "scalinglaws plan results/default --target-error 0.015",
    "scalinglaws plan results/default --data-factor 2,4,10,100",
    "scalinglaws plan results/default --budget 1e12",
    "scalinglaws plan results/default --target-error 0.015 --next --out overlay.yaml",
    "snakemake --profile profiles/slurm -n",
    "scalinglaws store ls",
    "scalinglaws store verify --configfile config.yaml",
    "scalinglaws store verify --configfile config.yaml --repair",
    "scalinglaws store gc --configfile config.yaml",
    "scalinglaws store gc --configfile config.yaml --configfile studies/fashion-mnist.yaml --yes",
    "snakemake --unlock",
]
TRAINS = "trains a study for minutes"
NOT_RUN = {
    "bash envs/setup.sh": "installs system packages and the package (what a fresh machine starts with)",
    "python3 -m pytest -q": "the test suite itself",
    'python3 -m pytest -q -m "not slurm"': "the test suite itself",
    'python3 -m pytest -q -m "not slow"': "the test suite itself",
    'scalinglaws fit tests/data/chinchilla_svg_extracted_data.csv --law chinchilla --x "Model Size,D" --y loss '
    "--derive 'D=`Training FLOP` / (6 * `Model Size`)' --where 'loss < 3.44' --out results/chinchilla": (
        "about a minute of L-BFGS from 4,500 starts; tests/test_chinchilla.py fits the same table"
    ),
    "scalinglaws predict results/chinchilla/fits.json --at 7e10 --size 1.4e12": "needs the Chinchilla fit above",
    "scalinglaws plan results/default --target-error 0.012 --next": (
        "plans a round of the real default study, then trains it for minutes; benchmarks/next_rounds.py runs "
        "such rounds and tests/test_rounds.py the tiny study's"
    ),
    "snakemake --cores all --configfile config.yaml overlay.yaml": (
        "trains the overlay's jobs; tests/test_plan.py runs the command plan prints, as printed"
    ),
    "snakemake --cores all --configfile config.yaml overlay.yaml overlay2.yaml": (
        "trains a second round (tests/test_plan.py checks the command plan prints for it)"
    ),
    "snakemake --cores all --configfile studies/fashion-mnist.yaml": TRAINS,
    "snakemake --cores all --configfile studies/pruning.yaml": TRAINS,
    "snakemake --cores all --resources gpu=8 --configfile studies/gpu-reference.yaml": "needs a GPU",
    "snakemake --cores all --resources gpu=16 --configfile studies/gpu-reference.yaml": "needs two GPUs",
    'pip install -e ".[slurm]"': "installs packages",
    "snakemake --profile profiles/slurm": "submits to a SLURM cluster (tests/test_slurm.py runs it on a real one)",
    "sbatch --gpus=1 --cpus-per-task=8 --mem=64G --time=2:00:00 --wrap "
    '"snakemake --cores 8 --resources gpu=8 --configfile studies/gpu-reference.yaml"': "needs a SLURM cluster with GPUs",
}
# commands named in a sentence, with a placeholder or without their arguments: not examples
PROSE = {
    "scalinglaws",
    "snakemake",
    "scalinglaws COMMAND --help",
    "scalinglaws fit",
    "scalinglaws plan",
    "scalinglaws plan FITS",
    "scalinglaws plot --fits OUT",
    "scalinglaws predict",
    "scalinglaws store gc",
    "scalinglaws store verify --configfile FILE",
    "scalinglaws store verify|gc --configfile",
    "snakemake --cores all --configfile",
    "snakemake --configfile",
    "snakemake --report",
}


def readme_commands() -> list[str]:
    """Every command README prints: each line of its bash blocks (continuations joined, comments
    dropped, `&&` chains split into their commands) and each command in its sentences, in order,
    once."""
    text = README.read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(shlex.split(line, comments=True, posix=False))
            found += line.split(" && ") if line else []
    for span in re.findall(r"`((?:scalinglaws|snakemake|python3 -m pytest)(?:\s[^`]*)?)`", text):
        found += " ".join(span.split()).split(" && ")
    return list(dict.fromkeys(found))


def test_every_readme_command_is_run_here_or_says_why_not():
    commands = readme_commands()
    assert len(commands) > 30  # the blocks and the sentences were read
    unknown = [c for c in commands if c not in RUN and c not in NOT_RUN and c not in PROSE]
    assert unknown == [], "a new README example: run it in RUN or say why not in NOT_RUN"
    stale = [c for c in [*RUN, *NOT_RUN, *PROSE] if c not in commands]
    assert stale == [], "no longer in README"


@pytest.mark.parametrize("command", [c for c in [*RUN, *NOT_RUN] if c.startswith("scalinglaws ")])
def test_every_scalinglaws_example_has_valid_options(command):
    """Even those that take minutes: every option they name exists and takes the value given."""
    try:
        build_parser().parse_args(shlex.split(command)[1:])
    except SystemExit as exit_:  # --version exits 0; a bad option exits 2
        assert exit_.code == 0, command


@pytest.fixture(scope="module")
def fresh_clone(tiny_run, tmp_path_factory):
    """A copy of the tiny study's checkout under the default study's name, its results made by
    snakemake there (nothing trains: the copied store has every run), and a PATH on which
    `scalinglaws` and `snakemake` are this checkout's package and this Python's Snakemake."""
    work = tmp_path_factory.mktemp("clone") / "scalinglaws"
    shutil.copytree(tiny_run[0], work, symlinks=True, ignore=shutil.ignore_patterns("results"))
    shutil.copytree(tiny_run[0] / "results/store", work / "results/store")
    shutil.copytree(REPO / "studies", work / "studies")  # a clone has them (tiny_run's checkout has not)
    config = yaml.safe_load((work / "config.yaml").read_text())
    (work / "config.yaml").write_text(yaml.safe_dump({**config, "study": "default"}, sort_keys=False))
    snakemake(work)
    bin_dir = work.parent / "bin"
    bin_dir.mkdir()
    for name, module in (("scalinglaws", "scalinglaws"), ("snakemake", "snakemake")):
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        path.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(work / "workflow")}
    return work, env


@pytest.mark.e2e
def test_readme_commands_run_as_printed(fresh_clone):
    work, env = fresh_clone
    for command in RUN:
        if "fashion-mnist" in command and not FASHION_MNIST.is_dir():
            continue  # the store command builds that study, which needs Debian's dataset-fashion-mnist
        if "profiles/slurm" in command and shutil.which("sbatch") is None:
            try:
                import snakemake_executor_plugin_slurm  # noqa: F401
            except ImportError:
                continue  # the profile needs the plugin (pip install -e ".[slurm]")
        proc = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{command}\n{out[-3000:]}"
        assert "Traceback" not in out, command
    assert (work / "overlay.yaml").is_file() and (work / "results/default/report.html").is_file()
