"""External tables: `scalinglaws fit TABLE.csv ...` and the workflow's `external` mode."""

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import job_counts, make_checkout, snakemake
from scalinglaws.cli import main
from scalinglaws.fit import progress
from scalinglaws.report.tables import law_table

GOLDEN_FITS = Path(__file__).parent / "data" / "golden" / "tiny_fits.json"
ALPHA, BETA, GAMMA = 3.0, -0.5, 0.02


def runs_table(path, seeds=4, groups=("a", "b"), seed=0):
    """A CSV of runs: 8 shards x `seeds` seeds per group, error = alpha n^beta + gamma, 3% noise;
    group b's exponent is steeper; the largest shard is flagged as held out."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, beta in zip(groups, (BETA, BETA - 0.2)):
        for n in 100 * 2 ** np.arange(8):
            for s in range(seeds):
                err = (ALPHA * n**beta + GAMMA) * np.exp(0.03 * rng.standard_normal())
                rows.append({"task": g, "n": n, "seed": s, "error": err, "heldout": "yes" if n == 12800 else "no"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def fit_cli(*args, capsys=None):
    code = main(["fit", *map(str, args)])
    out = capsys.readouterr() if capsys else None
    return code, out


@pytest.mark.parametrize(
    "edit, args, message",
    [
        (None, ["--x", "shards"], r"runs.csv: no column 'shards' \(the columns are: task, n, seed, error, heldout\)"),
        (("error", 2, "n/a"), [], r"runs.csv: column 'error', row 3 \(line 4\): 'n/a' is not a number"),
        (("error", 5, ""), [], r"runs.csv: column 'error', row 6 \(line 7\): is empty"),
        (
            ("n", 0, "0"),
            [],
            r"runs.csv: column 'n', row 1 \(line 2\): 0 is not positive, but the laws take its logarithm",
        ),
        (("error", 9, "-0.5"), [], r"runs.csv: column 'error', row 10 \(line 11\): -0.5 is not positive"),
        (
            ("heldout", 4, "maybe"),
            ["--holdout-col", "heldout"],
            r"column 'heldout', row 5 \(line 6\): 'maybe' is not a hold-out flag",
        ),
        (None, ["--law", "joint"], r"law 'joint' takes 2 x column\(s\) \(m, n\), got 1: n"),
        (None, ["--law", "hestness"], r"unknown law 'hestness'"),
    ],
)
def test_bad_tables_name_the_file_column_and_row(tmp_path, capsys, edit, args, message):
    path = runs_table(tmp_path / "runs.csv")
    if edit:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        col, row, value = edit
        df.loc[row, col] = value
        df.to_csv(path, index=False)
    base = {"--law": "power", "--x": "n", "--y": "error", "--out": tmp_path / "out"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    code, out = fit_cli(path, *[v for kv in base.items() for v in kv], capsys=capsys)
    assert code == 2
    assert out.err.startswith("scalinglaws fit: error: ") and len(out.err.strip().splitlines()) == 1
    assert re.search(message, out.err), out.err
    assert not (tmp_path / "out" / "fits.json").exists()


@pytest.mark.parametrize("row", [1, 4])
def test_a_row_with_an_extra_field_is_named_as_that_row(tmp_path, capsys, row):
    """Issue 25 item 11: an extra field in row 1 was blamed on row 2 as 'empty' (pandas took the
    row's first field as an index and shifted the columns)."""
    path = runs_table(tmp_path / "runs.csv")
    lines = path.read_text().splitlines()
    lines[row] += ",7"
    path.write_text("\n".join(lines) + "\n")
    code, out = fit_cli(path, "--x", "n", "--y", "error", "--out", tmp_path / "out", capsys=capsys)
    assert code == 2 and len(out.err.strip().splitlines()) == 1
    assert (
        f"runs.csv: row {row} (line {row + 1}): 6 fields, but the header has 5 (task, n, seed, error, heldout)"
        in out.err
    )


def test_rows_with_the_same_x_are_averaged_and_it_is_said(tmp_path, capsys):
    """Issue 25 item 11: duplicated x values were averaged silently."""
    path = runs_table(tmp_path / "runs.csv", seeds=3, groups=("a",))
    pd.read_csv(path)[["n", "error"]].to_csv(path, index=False)  # no column tells the 3 runs of an n apart
    code, out = fit_cli(
        path, "--x", "n", "--y", "error", "--law", "power", "--bootstrap", "5", "--no-figures", capsys=capsys
    )
    assert code == 0
    note = "24 rows at 8 distinct x values: rows with the same x were averaged into one point"
    assert f"note: {note}" in out.out and "--replicate-col" in out.out
    assert json.loads((tmp_path / "runs_fits" / "fits.json").read_text())["all"]["averaged"].startswith(note)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_fit_shows_its_progress_on_a_terminal_and_nothing_in_a_log(tmp_path, capsys, monkeypatch):
    """Issue 25 item 11: a long fit printed nothing until the end."""
    path = runs_table(tmp_path / "runs.csv")
    args = ["--x", "n", "--y", "error", "--law", "power", "--group", "task", "--replicate-col", "seed"]
    args += ["--bootstrap", "5", "--no-figures"]
    assert fit_cli(path, *args, capsys=capsys)[1].err == ""  # stderr is no terminal here: nothing
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "MIN_INTERVAL", 0.0)
    assert main(["fit", str(path), *args]) == 0
    lines = terminal.getvalue().split("\r")
    for line in ("group 1/2 (a): power: fit", "group 2/2 (b): power: bootstrap 5/5", "group 2/2 (b): power: backtest"):
        assert f"scalinglaws fit: {line}\x1b[K" in lines
    assert lines[-1] == "\x1b[K"  # cleared at the end


def test_fit_writes_no_figure_for_a_law_it_did_not_fit(tmp_path, capsys):
    """Issue 25 item 8: `fit` wrote empty figures (m4.png, bnsl.png) for laws it did not fit."""
    path = runs_table(tmp_path / "runs.csv", groups=("a",))
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "bnsl.png").write_bytes(b"stale")  # from an earlier fit
    args = ["--x", "n", "--y", "error", "--replicate-col", "seed", "--bootstrap", "5", "--out", out]
    args += ["--where", "n <= 1600"]  # 5 points: auto leaves out m4 and bnsl (no degree of freedom left)
    code, _ = fit_cli(path, *args, capsys=capsys)
    fits = json.loads((out / "fits.json").read_text())["all"]
    fitted = {law for law in fits["laws"] if "params" in fits[law]}
    assert code == 0 and fitted and fitted != set(fits["laws"])
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == sorted(fitted)
    fit_cli(path, *args, "--every-figure", capsys=capsys)  # the workflow's: one per law, a note for the rest
    assert sorted(p.stem for p in (out / "figures").glob("*.png")) == sorted(fits["laws"])


def test_plot_redraws_a_fit_outputs_figures_without_a_study(tmp_path, capsys):
    """Issue 25 item 11: there was no way to redraw a `fit` result's figures (`plot` needed a study)."""
    path = runs_table(tmp_path / "runs.csv", groups=("a",))
    out = tmp_path / "out"
    args = ["--law", "power", "--replicate-col", "seed", "--bootstrap", "5", "--no-figures", "--out", out]
    assert fit_cli(path, "--x", "n", "--y", "error", *args, capsys=capsys)[0] == 0
    assert not (out / "figures").exists()
    assert main(["plot", "--fits", str(out), "--extrapolate", "3"]) == 0
    assert f"wrote 2 figure files in {out / 'figures'}/" in capsys.readouterr().out
    assert (out / "figures" / "power.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures" / "power.pdf").read_bytes()[:5] == b"%PDF-"
    study = tmp_path / "study.json"
    study.write_text(json.dumps({"d/f": {"dataset": "d", "family": "f", "laws": []}}))
    assert main(["plot", "--fits", str(study)]) == 2  # a study's fits need its tables
    assert "a study's figures need --tables" in capsys.readouterr().err


def test_derived_columns_and_row_filter_reproduce_the_chinchilla_setup(tmp_path, capsys):
    """The replication's D = FLOP / (6 N) and its 240 points (the 5 highest losses dropped)."""
    table = Path(__file__).parent / "data" / "chinchilla_svg_extracted_data.csv"
    code, out = fit_cli(
        table,
        "--law",
        "chinchilla",
        "--x",
        "Model Size,D",
        "--y",
        "loss",
        "--derive",
        "D=`Training FLOP` / (6 * `Model Size`)",
        "--where",
        "loss < 3.44",
        "--starts",
        30,
        "--bootstrap",
        10,
        "--out",
        tmp_path,
        capsys=capsys,
    )
    assert code == 0, out.err
    fit = json.loads((tmp_path / "fits.json").read_text())["all"]["chinchilla"]
    assert fit["goodness"]["points"] == 240
    assert fit["params"]["E"]["value"] == pytest.approx(1.8172, abs=0.01)
    code, out = fit_cli(
        table,
        "--law",
        "chinchilla",
        "--x",
        "Model Size,D",
        "--y",
        "loss",
        "--derive",
        "D=`Training FLOPs` / 6",
        "--out",
        tmp_path,
        capsys=capsys,
    )
    assert code == 2 and "cannot compute column D = '`Training FLOPs` / 6'" in out.err


def test_missing_file_is_named(tmp_path, capsys):
    code, out = fit_cli(
        tmp_path / "nope.csv", "--law", "power", "--x", "n", "--y", "e", "--out", tmp_path, capsys=capsys
    )
    assert code == 2 and "nope.csv: no such file" in out.err


def test_fit_cli_fits_groups_holds_out_and_selects(tmp_path, capsys):
    path = runs_table(tmp_path / "runs.csv")
    out_dir = tmp_path / "out"
    code, out = fit_cli(
        path,
        "--law",
        "power,bnsl",
        "--x",
        "n",
        "--y",
        "error",
        "--group",
        "task",
        "--replicate-col",
        "seed",
        "--holdout-col",
        "heldout",
        "--bootstrap",
        40,
        "--out",
        out_dir,
        capsys=capsys,
    )
    assert code == 0, out.err
    assert "power: eps(n) = alpha * n^beta + gamma" in out.out
    # 7 points fitted: bnsl (6 parameters) is fitted too, and weighed by its backtests, not by a rule
    assert "selected " in out.out and "bnsl: not a candidate: 6 parameters" not in out.out
    assert "combined (laws fitted to this table): " in out.out
    fits = json.loads((out_dir / "fits.json").read_text())
    assert set(fits) == {"a", "b"}
    for group, beta in (("a", BETA), ("b", BETA - 0.2)):
        fit = fits[group]
        assert fit["rows"] == 32 and fit["points"] == 8 and fit["held_out_points"] == 1
        power = fit["power"]
        assert power["params"]["beta"]["value"] == pytest.approx(beta, abs=0.1)
        lo, hi = power["params"]["beta"]["ci95"]
        assert lo < power["params"]["beta"]["value"] < hi
        assert power["bootstrap"]["replicates"] == 40 and power["bootstrap"]["resample"].startswith("runs within")
        assert power["goodness"]["points"] == 7  # the held-out shard is not fitted ...
        assert power["holdout"]["n"] == [12800.0] and power["holdout"]["mean_rel_error"] < 0.1  # ... but predicted
        assert all(12800.0 not in split["n"] for split in power["backtest"]["splits"])  # and never backtested
        assert fit["selection"][0]["law"] == "power"
    table = pd.read_csv(out_dir / "laws.csv")
    assert set(table["curve"]) == {"a", "b"} and set(table["law"]) == {"power", "bnsl"}
    for group in ("a", "b"):
        rows = table[table["curve"] == group]
        assert set(rows[rows["selected"]]["law"]) == {fits[group]["selection"][0]["law"]}
    for law in ("power", "bnsl"):
        assert (out_dir / "figures" / f"{law}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out_dir / "figures" / f"{law}.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.e2e
def test_workflow_fits_an_external_table_instead_of_training(tmp_path):
    work = make_checkout(tmp_path / "checkout")
    runs_table(work / "measurements.csv", groups=("a",))
    config = {
        "study": "ext",
        "external": {
            "table": "measurements.csv",
            "x": ["n"],
            "y": "error",
            "laws": ["power"],
            "holdout_col": "heldout",
            "replicate_col": "seed",
        },
        "fit": {"bootstrap": 30, "seed": 3},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(work)
    assert job_counts(proc.stdout) == {"all": 1, "fit_table": 1, "check_fits": 1}  # no training at all
    fits = json.loads((work / "results/ext/fits.json").read_text())
    power = fits["all"]["power"]
    assert power["params"]["beta"]["value"] == pytest.approx(BETA, abs=0.1)
    assert power["bootstrap"]["replicates"] == 30 and power["bootstrap"]["seed"] == 3
    assert power["holdout"]["n"] == [12800.0]
    assert pd.read_csv(work / "results/ext/laws.csv")["law"].tolist().count("power") == 4  # 3 params + n_end
    assert (work / "results/ext/figures/power.png").stat().st_size > 10_000
    assert "Nothing to be done" in snakemake(work, "-n").stdout
    snakemake(work, "--report", "results/ext/report.html")
    assert "power.png" in (work / "results/ext/report.html").read_text(errors="replace")
    # a bad table stops the workflow with the table error in the job's log
    df = pd.read_csv(work / "measurements.csv")
    df.loc[3, "error"] = -1
    df.to_csv(work / "measurements.csv", index=False)
    proc = snakemake(work, check=False)
    assert proc.returncode != 0
    log = (work / "results/ext/logs/fit_table.txt").read_text()
    assert "measurements.csv: column 'error', row 4 (line 5): -1 is not positive" in log


@pytest.mark.e2e
def test_workflow_keeps_the_fitted_groups_when_one_group_fails(tmp_path):
    """One bad curve (constant y) among good ones: the job keeps every output, the run exits
    non-zero with one line for the bad group, and so does the next run until the table is fixed."""
    work = make_checkout(tmp_path / "checkout")
    df = pd.read_csv(runs_table(work / "measurements.csv"))
    bad = df[df["task"] == "a"].assign(task="flat", error=0.3)
    pd.concat([df, bad]).to_csv(work / "measurements.csv", index=False)
    config = {
        "study": "ext",
        "external": {
            "table": "measurements.csv",
            "x": ["n"],
            "y": "error",
            "group": "task",
            "laws": ["power"],
            "replicate_col": "seed",
        },
        "fit": {"bootstrap": 10},
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    for attempt in range(2):
        proc = snakemake(work, check=False)
        assert proc.returncode != 0, proc.stdout[-3000:]
        lines = [line for line in proc.stdout.splitlines() if line.startswith("scalinglaws: not fitted:")]
        assert lines == ["scalinglaws: not fitted: flat: y is constant (0.3): there is no curve to fit"]
        fits = json.loads((work / "results/ext/fits.json").read_text())
        for group, beta in (("a", BETA), ("b", BETA - 0.2)):
            assert fits[group]["power"]["params"]["beta"]["value"] == pytest.approx(beta, abs=0.1)
        assert "params" not in fits["flat"]["power"] and "constant" in fits["flat"]["power"]["error"]
        assert set(pd.read_csv(work / "results/ext/laws.csv")["curve"]) == {"a", "b", "flat"}
        assert (work / "results/ext/figures/power.png").stat().st_size > 10_000
        assert job_counts(proc.stdout) == (
            {"all": 1, "fit_table": 1, "check_fits": 1} if attempt == 0 else {"all": 1, "check_fits": 1}
        )  # the fits are not redone
    df[df["task"] != "flat"].to_csv(work / "measurements.csv", index=False)  # fixed: the run succeeds
    snakemake(work)
    assert (work / "results/ext/not_fitted.txt").read_text() == ""


def test_external_config_needs_no_study_keys_but_names_its_own():
    from scalinglaws.study import ConfigError, validate_config

    config = validate_config({"study": "t", "external": {"table": "m.csv", "x": ["n"], "y": "error"}})
    assert config["external"]["laws"] == ["auto"] and config["fit"]["bootstrap"] == 200
    with pytest.raises(ConfigError, match=r"'external'.*'y' is a required property"):
        validate_config({"study": "t", "external": {"table": "m.csv", "x": ["n"]}})
    with pytest.raises(ConfigError, match=r"'external.laws.0'.*'hestness'"):
        validate_config({"study": "t", "external": {"table": "m.csv", "x": ["n"], "y": "e", "laws": ["hestness"]}})
    with pytest.raises(ConfigError, match="'datasets' is a required property"):
        validate_config({"study": "t"})


def test_laws_csv_flags_the_law_the_selection_picked_in_a_study():
    """Issue 25 item 11: with one law per kind of data (power on the curve, joint on the grid) the
    selection had nothing to choose among, and `selected` was false in every row of laws.csv."""
    fits = json.loads(GOLDEN_FITS.read_text())
    assert fits["teacher/mlp"]["selection"] == []
    table = law_table(fits)
    assert set(table[table["selected"].astype(bool)]["law"]) == {"power", "joint"}  # never the best-size law
    chose = json.loads(GOLDEN_FITS.read_text())
    chose["teacher/mlp"]["selection"] = [{"law": None, "candidates": [], "not_candidates": {"power": "too few"}}]
    table = law_table(chose)
    assert set(table[table["selected"].astype(bool)]["law"]) == {"joint"}  # a selection that picked none: none
