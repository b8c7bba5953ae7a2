"""The caching contract (docs/design.md), proven on the real workflow by counting Snakemake's jobs."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import job_counts, make_checkout, snakemake
from scalinglaws import store
from scalinglaws.study import Study

pytestmark = pytest.mark.e2e

TRAIN = {
    "seeds": 1,
    "learning_rates": [0.01],
    "batch_size": 64,
    "epochs": 20,
    "min_steps": 40,
    "max_steps": 60,
    "eval_every": 20,
    "patience": 3,
}
CONFIG = {
    "study": "cache",
    "device": "cpu",
    "datasets": {
        "teacher": {
            "input_dim": 3,
            "teacher_width": 8,
            "val_size": 128,
            "test_size": 128,
            "shards": {"sizes": [64, 128, 256]},
        },
        "grow": {
            "type": "files",
            "pool": ["data/pool-0.csv"],
            "val": "data/val.csv",
            "test": "data/test.csv",
            "shards": {"sizes": [100, 200, 300]},
        },
    },
    "models": {"mlp": {"sizes": [4, 8]}},
    "shards": {"sizes": [64]},
    "training": TRAIN,
    # 3 shards a curve: the size law only (power's 3 parameters need more points than that, issue 25)
    "fit": {"bootstrap": 10, "laws": ["size"]},
}
JOBS = 2 * 3 * 2  # datasets x shards x sizes


def write_rows(path: Path, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 3))
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.standard_normal(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "y": y}).to_csv(path, index=False)


def append_rows(path: Path, rows: int, seed: int) -> None:
    extra = path.with_suffix(".extra.csv")
    write_rows(extra, rows, seed)
    with open(path, "a") as fh:
        fh.write("".join(extra.read_text().splitlines(keepends=True)[1:]))
    extra.unlink()


def save_config(work: Path, config: dict) -> None:
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def metrics_mtimes(work: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in (work / "results/store/runs").glob("*/metrics.json")}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A finished run of the caching study, in its own checkout."""
    work = make_checkout(tmp_path_factory.mktemp("cache"), CONFIG)
    write_rows(work / "data/pool-0.csv", 400, seed=1)
    write_rows(work / "data/val.csv", 100, seed=2)
    write_rows(work / "data/test.csv", 100, seed=3)
    counts = job_counts(snakemake(work).stdout)
    assert counts["train"] == JOBS and counts["shard"] == 6 and counts["eval_splits"] == 2
    return work


def dry(work: Path, env: dict | None = None) -> dict[str, int]:
    out = snakemake(work, "-n", env=env).stdout
    return {} if "Nothing to be done" in out else job_counts(out)


def test_a_finished_run_has_nothing_to_do(work):
    assert dry(work) == {}


def test_b_adding_a_shard_runs_only_its_jobs(work):
    before = metrics_mtimes(work)
    config = copy.deepcopy(CONFIG)
    config["datasets"]["teacher"]["shards"]["sizes"].append(512)
    save_config(work, config)
    expected = {"shard": 1, "train": 2, "labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    assert dry(work) == expected
    assert job_counts(snakemake(work).stdout) == expected
    after = metrics_mtimes(work)
    assert {k: after[k] for k in before} == before  # no earlier training job reran
    assert len(after) == len(before) + 2
    assert 512 in set(pd.read_csv(work / "results/cache/tables/runs.csv")["n"])


def test_c_touching_or_rewriting_inputs_runs_nothing(work):
    files = [p for p in work.rglob("*") if p.is_file() and ".snakemake" not in p.parts]
    for p in files:
        os.utime(p)  # touch: newer than every output
    assert dry(work) == {}
    for p in files:
        if p.suffix in (".csv", ".yaml"):
            p.write_bytes(p.read_bytes())  # same content, new file write
    assert dry(work) == {}


def test_d_growing_the_data_retrains_only_changed_shards(work):
    config = yaml.safe_load((work / "config.yaml").read_text())
    before = metrics_mtimes(work)
    # append examples and a larger shard: only the new shard's jobs run
    append_rows(work / "data/pool-0.csv", 200, seed=4)
    config["datasets"]["grow"]["shards"]["sizes"].append(600)
    save_config(work, config)
    expected = {"shard": 1, "train": 2, "labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    assert job_counts(snakemake(work).stdout) == expected
    # a new chunk file appended to the pool list: the same, nothing existing changes
    write_rows(work / "data/pool-1.csv", 300, seed=5)
    config["datasets"]["grow"]["pool"].append("data/pool-1.csv")
    save_config(work, config)
    assert dry(work) == {}
    # editing one example at row 150 changes the shards that contain it (200, 300, 600), not 100
    pool = work / "data/pool-0.csv"
    original = pool.read_bytes()
    df = pd.read_csv(pool)
    df.loc[150, "y"] += 1.0
    df.to_csv(pool, index=False)
    assert dry(work) == {"shard": 3, "train": 6, "labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    pool.write_bytes(original)  # the old content is the old identity: nothing to do again
    assert dry(work) == {}
    assert set(before) <= set(metrics_mtimes(work))


def test_e_second_checkout_on_the_same_store_trains_nothing(work, tmp_path):
    shared_store = str(work / "results/store")
    other = make_checkout(tmp_path / "other", yaml.safe_load((work / "config.yaml").read_text()))
    shutil.copytree(work / "data", other / "data")
    proc = snakemake(other, env={"SCALINGLAWS_STORE": shared_store})
    counts = job_counts(proc.stdout)
    assert "train" not in counts and "shard" not in counts and counts["aggregate"] == 1
    mine = pd.read_csv(work / "results/cache/tables/runs.csv").drop(columns=["wall_time_s"])
    theirs = pd.read_csv(other / "results/cache/tables/runs.csv").drop(columns=["wall_time_s"])
    pd.testing.assert_frame_equal(mine, theirs)
    assert (work / "results/cache/tables/learning_curve.csv").read_text() == (
        other / "results/cache/tables/learning_curve.csv"
    ).read_text()


def test_f_changes_retrain_exactly_the_affected_runs(work):
    config = yaml.safe_load((work / "config.yaml").read_text())
    n_teacher = 2 * len(config["datasets"]["teacher"]["shards"]["sizes"])
    n_all = n_teacher + 2 * len(config["datasets"]["grow"]["shards"]["sizes"])
    changed = copy.deepcopy(config)
    changed["training"]["patience"] = 4  # a training hyper-parameter: every run
    save_config(work, changed)
    assert dry(work)["train"] == n_all
    changed = copy.deepcopy(config)
    changed["datasets"]["teacher"]["noise_std"] = 0.2  # one dataset's data: its shards and runs
    save_config(work, changed)
    counts = dry(work)
    assert counts["train"] == n_teacher and counts["shard"] == n_teacher // 2 and counts["eval_splits"] == 1
    changed = copy.deepcopy(config)
    changed["models"]["mlp"]["sizes"] = [4, 8, 16]  # a new width: only its runs
    save_config(work, changed)
    assert dry(work)["train"] == n_all // 2
    save_config(work, config)
    assert dry(work) == {}


def test_g_every_job_and_every_spec_field_has_its_own_identity(work, monkeypatch):
    monkeypatch.chdir(work)
    study = Study(yaml.safe_load((work / "config.yaml").read_text()))
    paths = [study.job_file(k) for k in study.jobs]
    assert len(set(paths)) == len(study.jobs)  # no two jobs share an output
    wildcards = {(j.dataset, j.family, j.size, j.n) for j in study.jobs.values()}
    assert len(wildcards) == len(study.jobs)
    spec = next(iter(study.jobs.values())).spec
    for field in spec:
        other = copy.deepcopy(spec)
        other[field] = [other[field], "changed"]
        assert store.digest(other) != store.digest(spec), field
    for key, job in study.jobs.items():
        assert store.digest(job.spec) == key
        assert "dataset" not in job.spec and "family" not in job.spec  # names are labels
        assert key in str(study.job_file(key))


def edit(path: Path, old: str, new: str) -> str:
    """Replace `old` by `new` in a file of the checkout; return the original text."""
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))
    return text


def n_jobs(work: Path, monkeypatch) -> int:
    monkeypatch.chdir(work)
    return len(Study(yaml.safe_load((work / "config.yaml").read_text())).jobs)


def test_h_code_identity_is_the_code_not_its_text(work, monkeypatch):
    pkg = work / "workflow/scalinglaws"
    n_all = n_jobs(work, monkeypatch)
    analysis = {"aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    trainer = pkg / "train/trainer.py"
    original = edit(trainer, '"""The loop, top to bottom', '"""The loop (a reworded docstring), top to bottom')
    trainer.write_text(trainer.read_text() + "\n\n# a comment\n")
    mlp = pkg / "models/mlp.py"
    original_mlp = mlp.read_text()
    mlp.write_text("# a comment at the top\n" + original_mlp.replace("\n\n", "\n\n\n", 1))
    teacher = pkg / "datasets/teacher.py"
    original_teacher = teacher.read_text()
    teacher.write_text(original_teacher + "\n# a comment\n")
    assert dry(work) == {}  # comments, docstrings, blank lines: nothing
    trainer.write_text(original + "\n_A_REAL_CHANGE = 1\n")
    counts = dry(work)
    assert counts["train"] == n_all and "shard" not in counts  # the trainer's code: every training job
    for path, text in ((trainer, original), (mlp, original_mlp), (teacher, original_teacher)):
        path.write_text(text)
    assert dry(work) == {}
    law = pkg / "fit/laws/power.py"
    original = law.read_text()
    law.write_text(original + "\n_A_REAL_CHANGE = 1\n")
    assert dry(work) == {"fit": 1, "figures": 1, "all": 1}  # a law: fit, figures, report
    law.write_text(original)
    original = edit(pkg / "report/figures.py", 'xlabel="training examples n"', 'xlabel="examples n"')
    assert dry(work) == {"figures": 1, "all": 1}  # a label: figures and report only
    (pkg / "report/figures.py").write_text(original)
    original = (pkg / "aggregate/curves.py").read_text()
    (pkg / "aggregate/curves.py").write_text(original + "\n_A_REAL_CHANGE = 1\n")
    assert dry(work) == analysis
    (pkg / "aggregate/curves.py").write_text(original)
    assert dry(work) == {}


def test_i_names_are_labels_and_the_device_is_identity(work, monkeypatch):
    config = yaml.safe_load((work / "config.yaml").read_text())
    n_all = n_jobs(work, monkeypatch)
    renamed = copy.deepcopy(config)
    renamed["datasets"] = {("synthetic" if k == "teacher" else k): v for k, v in config["datasets"].items()}
    renamed["datasets"]["synthetic"]["type"] = "teacher"
    save_config(work, renamed)
    expected = {"labels": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    assert dry(work) == expected  # a renamed dataset: no data, no training
    assert job_counts(snakemake(work).stdout) == expected
    runs = pd.read_csv(work / "results/cache/tables/runs.csv")
    assert set(runs["dataset"]) == {"synthetic", "grow"}
    assert dry(work) == {}
    save_config(work, config)
    assert job_counts(snakemake(work).stdout) == expected
    changed = copy.deepcopy(config)
    changed["training"]["precision"] = "fp32"  # no TF32 on a CPU: the same numbers
    save_config(work, changed)
    assert dry(work) == {}
    changed["device"] = "cuda"  # TF32 matmuls: other numbers, other runs
    save_config(work, changed)
    counts = dry(work)
    assert counts["train"] == n_all and "shard" not in counts
    save_config(work, config)
    assert dry(work) == {}


def tree_state(root: Path) -> dict[str, tuple]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def test_j_damage_is_repaired_once_and_only_by_real_runs(work):
    runs_dir, shards_dir = work / "results/store/runs", work / "results/store/shards"
    record = sorted(runs_dir.glob("*/metrics.json"))[0]
    record.write_bytes(record.read_bytes()[:-40])  # truncated
    shard = sorted(shards_dir.glob("*/data.npz"))[0]
    intact = np.load(shard)["x"].copy()
    shard.write_bytes(shard.read_bytes()[:200])
    before = tree_state(work / "results")
    out = snakemake(work, "-n").stdout
    snakemake(work, "--summary")
    assert tree_state(work / "results") == before  # a dry run and --summary change nothing
    shard_name = shard.relative_to(work)
    assert f"{shard_name} is damaged or missing; a real run will repair it" in out
    mtimes = metrics_mtimes(work)
    proc = snakemake(work)
    # the damaged record's job only (and the analysis); the shard rebuilt in place, no job retrained for it
    assert job_counts(proc.stdout) == {"train": 1, "aggregate": 1, "fit": 1, "figures": 1, "all": 1}
    assert f"{shard_name} is damaged; moved to data.npz.corrupt; rebuilt now" in proc.stdout
    np.testing.assert_array_equal(np.load(shard)["x"], intact)
    after = metrics_mtimes(work)
    assert [k for k in mtimes if after[k] != mtimes[k]] == [record.parent.name]
    assert dry(work) == {}  # repaired exactly once
    config = yaml.safe_load((work / "config.yaml").read_text())
    wider = copy.deepcopy(config)
    wider["models"]["mlp"]["sizes"].append(16)  # a new width later: its jobs only
    save_config(work, wider)
    assert dry(work)["train"] == len(list(shards_dir.glob("*/data.npz")))
    save_config(work, config)


def test_k_files_follow_the_umask_and_name_their_provenance(work, capsys):
    from scalinglaws.cli import main

    mask = os.umask(0)
    os.umask(mask)
    record = sorted((work / "results/store/runs").glob("*/metrics.json"))[0]
    for path in (record, work / "results/cache/tables/runs.csv", work / "results/cache/fits/fits.json"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path
    made = store.read_record(record)["provenance"]
    assert made["device"] == "cpu" and made["numpy"] == np.__version__ and made["scalinglaws"] == "0.1.0"
    assert len(made["config"]) == 12 and made["torch"]
    runs = pd.read_csv(work / "results/cache/tables/runs.csv")
    assert (runs["numpy_version"] == np.__version__).all() and runs["config_hash"].nunique() >= 1
    assert main(["store", "ls", "--store", str(work / "results/store")]) == 0
    assert f"numpy={np.__version__}" in capsys.readouterr().out


def test_l_store_verify_reports_then_repairs(work, capsys, monkeypatch):
    from scalinglaws.cli import main

    monkeypatch.chdir(work)
    assert main(["store", "verify", "--configfile", "config.yaml"]) == 0
    assert "0 damaged or missing stored files" in capsys.readouterr().out
    record = sorted((work / "results/store/runs").glob("*/metrics.json"))[-1]
    intact = record.read_bytes()
    record.write_bytes(intact.replace(b'"test_metric": ', b'"test_metric": 1', 1))  # an edited number
    assert main(["store", "verify", "--configfile", "config.yaml"]) == 2
    assert f"damaged: {record.relative_to(work)}" in capsys.readouterr().out
    assert record.read_bytes() != intact  # only reported
    assert main(["store", "verify", "--configfile", "config.yaml", "--repair"]) == 0
    assert not record.exists() and record.with_name("metrics.json.corrupt").exists()
    record.write_bytes(intact)  # put back: the other tests use this store
    record.with_name("metrics.json.corrupt").unlink()


def test_store_listing_and_garbage_collection(work, capsys, monkeypatch):
    from scalinglaws.cli import main

    monkeypatch.chdir(work)
    root = work / "results/store"
    config = work / "config.yaml"
    assert main(["store", "ls", "--store", str(root)]) == 0
    listing = capsys.readouterr().out
    assert "runs" in listing and "mlp size=8 n=512 (mse)" in listing and "teacher n=512" in listing
    study = Study.from_file(config)
    smaller = yaml.safe_load(config.read_text())
    smaller["datasets"]["teacher"]["shards"]["sizes"] = [64, 128]
    small_cfg = work / "small.yaml"
    small_cfg.write_text(yaml.safe_dump(smaller))
    assert main(["store", "gc", "--configfile", str(small_cfg), "--store", str(root)]) == 0
    assert "dry run" in capsys.readouterr().out
    n_before = len(list((root / "runs").iterdir()))
    assert main(["store", "gc", "--configfile", str(small_cfg), "--store", str(root), "--yes"]) == 0
    kept = {p.name for p in (root / "runs").iterdir()}
    small_jobs = set(Study(smaller).jobs)
    assert kept == small_jobs and len(kept) < n_before
    assert not set(study.jobs) - small_jobs & kept
