"""Everyday use: the command's help, version and defaults, config errors in one line, job names
and the summary line a study ends with."""

import argparse
import copy
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import tomllib
from snakemake.utils import format as snakemake_format

from conftest import REPO, TINY_CONFIG, make_checkout, snakemake
from scalinglaws import __version__
from scalinglaws.cli import build_parser, main
from scalinglaws.configfile import load_config_file
from scalinglaws.fit.command import default_out
from scalinglaws.jobnames import JobNames, describe, not_fitted, summary_line
from scalinglaws.study import ConfigError, Study
from test_tables import runs_table

BROKEN_YAML = "study: broken\ntraining:\n  seeds: 2\n  learning_rates: [0.01, 0.03\n  epochs: 5\n"


def walk(parser: argparse.ArgumentParser, prog: str = "scalinglaws"):
    """(command, action) for every argument of the parser and of all its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, f"{prog} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prog, action


def test_every_option_of_every_subcommand_has_help():
    seen = list(walk(build_parser()))
    commands = {prog for prog, _ in seen}
    assert {"scalinglaws fit", "scalinglaws store verify", "scalinglaws train", "scalinglaws plot"} <= commands
    assert len(seen) > 60  # the walk reached every subcommand's options
    missing = [f"{prog} {'/'.join(a.option_strings) or a.dest}" for prog, a in seen if not (a.help or "").strip()]
    assert missing == []


def test_help_of_the_command_and_of_every_subcommand_prints(capsys):
    """`--help` formats every help string with %-formatting: a bare `%` (as in "95% CI")
    crashed `scalinglaws --help` (issue 25 item 1)."""
    parser = build_parser()
    progs = sorted({" ".join(prog.split()[:k]) for prog, _ in walk(parser) for k in range(1, len(prog.split()) + 1)})
    assert "scalinglaws" in progs and "scalinglaws store" in progs
    for prog in progs:
        for flag in ("--help", "-h"):
            with pytest.raises(SystemExit) as exit_:
                main(prog.split()[1:] + [flag])
            assert exit_.value.code == 0, prog
            assert "usage:" in capsys.readouterr().out


def test_fit_help_lists_every_law_and_the_exit_statuses(capsys):
    """Issue 25 item 11: `fit --help` named neither the laws it fits nor its exit codes."""
    from scalinglaws.fit.laws import LAWS

    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.split("laws (--law", 1)[1].splitlines()[1:] if line.startswith("  ")]
    assert listed[: len(LAWS)] == list(LAWS)
    assert "exit status:" in out and "  3  some group or law could not be fitted" in out


def test_the_command_starts_without_the_scientific_stack():
    """Every training job starts `scalinglaws`: its start must not import what only fitting and
    planning need (about 1 s of CPU per job when it did)."""
    code = (
        "import sys, scalinglaws.cli; "
        "print(sorted(m for m in ('scipy', 'pandas', 'matplotlib', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
    )
    assert out.stdout.strip() == "[]"


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert capsys.readouterr().out.strip() == f"scalinglaws {__version__}" == f"scalinglaws {project['version']}"


def test_fit_defaults_to_auto_laws_and_a_folder_next_to_the_table(tmp_path, capsys):
    table = runs_table(tmp_path / "measurements.csv", groups=("a",))
    args = build_parser().parse_args(["fit", str(table), "--x", "n", "--y", "error"])
    assert args.law == "auto" and args.out is None
    assert default_out("data/measurements.csv") == "data/measurements_fits"
    assert (
        main(
            [
                "fit",
                str(table),
                "--x",
                "n",
                "--y",
                "error",
                "--replicate-col",
                "seed",
                "--bootstrap",
                "20",
                "--no-figures",
            ]
        )
        == 0
    )
    fits = json.loads((tmp_path / "measurements_fits" / "fits.json").read_text())
    assert fits["all"]["laws"] == ["power", "power-pure", "envelope", "m4", "bnsl"]  # auto: every one-column law
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'measurements_fits'}/fits.json" in out
    skipped = [name for name in fits["all"]["laws"] if "skipped" in fits["all"][name]]
    assert "combined (laws fitted to this table): " in out  # the default prediction's weights, printed
    for name in skipped:  # too few points for a law: the selection says so, once per law
        assert [line.strip().split(":")[1] for line in out.splitlines() if line.strip().startswith(f"{name}:")] == [
            " not a candidate"
        ]


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "{path}: no such config file"),
        (
            BROKEN_YAML,
            "{path}: line 5, column 9: YAML error: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence started on line 4)",
        ),
        (
            "study: x\n\tseed: 1\n",
            "{path}: line 2, column 1: YAML error: found character '\\t' that cannot start any token "
            "(while scanning for the next token)",
        ),
        ("- 1\n- 2\n", "{path}: a config is a mapping of keys (study:, datasets:, ...), not a list"),
    ],
)
def test_a_missing_or_broken_config_is_one_line_naming_file_and_line(tmp_path, capsys, text, message):
    path = tmp_path / "study.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config_file(path)
    assert str(exc.value) == message.format(path=path)
    assert main(["store", "verify", "--configfile", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"scalinglaws store: error: {message.format(path=path)}\n"


def test_an_empty_config_file_is_an_empty_config(tmp_path):
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    assert load_config_file(tmp_path / "empty.yaml") == {}


@pytest.mark.e2e
def test_snakemake_names_a_broken_default_config_and_its_line(tmp_path):
    work = make_checkout(tmp_path)
    (work / "config.yaml").write_text(BROKEN_YAML)
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "scalinglaws: config.yaml: line 5, column 9: YAML error: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence started on line 4)"
    )
    assert "Traceback" not in proc.stdout


def test_snakemake_reads_a_configfile_argument_itself_before_the_workflow(tmp_path):
    """A known limit, kept as a reproduction so that an upgrade that changes it is noticed: with
    `snakemake --configfile`, Snakemake 9 opens the file itself (snakemake/common/configfile.py
    calls open() outside its try), before any workflow code runs, so a missing file is its
    traceback and a YAML error has no line number (README, Configuration)."""
    work = make_checkout(tmp_path)
    proc = snakemake(work, "-n", "--configfile", "missing.yaml", check=False)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "FileNotFoundError" in out and "missing.yaml" in out
    (work / "broken.yaml").write_text(BROKEN_YAML)
    proc = snakemake(work, "-n", "--configfile", "broken.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "not valid JSON or YAML" in out and "line 5" not in out


def tiny_study(**changes):
    config = copy.deepcopy(TINY_CONFIG)
    config.update(changes)
    return Study(config)


def test_every_job_is_named_by_what_it_runs():
    study = tiny_study(
        models={"mlp": {"sizes": [4, 16], "depth": 2}, "wide": {"type": "mlp", "sizes": [16], "depth": 2}}
    )
    shard = next(k for k, s in study.shards.items() if s.n == 256)
    assert describe(study, shard) == "data: teacher shard n=256 (its first 256 examples)"
    assert describe(study, next(iter(study.evals))) == "data: teacher validation and test splits"
    job = next(k for k, j in study.jobs.items() if (j.size, j.n) == (4, 1024))
    assert describe(study, job) == f"train teacher/mlp size 4 on n=1024 (2 seeds x 2 lr, key {job[:8]})"
    # one identity, two names: a job that two families share trains once, under both names
    shared = next(k for k, labels in study.labels.items() if len(labels) == 2 and study.jobs[k].n == 64)
    assert describe(study, shared).startswith("train teacher/mlp, teacher/wide size 16 on n=64 ")
    assert describe(study, "0" * 20) == "0" * 20  # not a job of this study: only its key


def test_the_message_directive_reaches_the_names_through_snakemakes_formatter():
    study = tiny_study()
    key = next(iter(study.jobs))
    wildcards = argparse.Namespace(key=key)  # what {wildcards.key} reads
    text = snakemake_format("{JOB_NAMES:{wildcards.key}}", JOB_NAMES=JobNames(study), wildcards=wildcards)
    assert text == describe(study, key) and text.startswith("train teacher/mlp size ")
    for rule in ("train", "data", "prune"):
        assert '"{JOB_NAMES:{wildcards.key}}"' in (REPO / f"workflow/rules/{rule}.smk").read_text()


def test_the_summary_line_says_where_the_results_are():
    line = summary_line("results/tiny", ["results/tiny/fits/fits.json"])
    assert line == (
        "scalinglaws: study done: figures results/tiny/figures/, fits results/tiny/fits/fits.json, "
        "tables results/tiny/tables/; report: snakemake --report results/tiny/report.html"
    )
    built = summary_line("results/tiny", ["results/tiny/report.html"], pruning=True)
    assert built.endswith(", pruning results/tiny/pruning/; report results/tiny/report.html")


def test_a_study_too_small_to_fit_is_not_done_and_says_what_was_not_fitted(tmp_path):
    """Issue 25 item 7: one shard left power and size unfitted and the joint law interpolated 5
    points with 5 parameters, yet the study said "study done" and exited 0."""
    from scalinglaws.fit.study import StudyFit, fit_study
    from test_figures import bent_runs

    runs = bent_runs()
    runs = runs[(runs["n"] == runs["n"].min()) & (runs["size"] < 5)]  # one shard, 5 sizes
    fits = fit_study(runs, StudyFit(replicates=5, laws=("power", "size", "joint"), best_guess={"d": 1.0}))
    path = tmp_path / "fits.json"
    path.write_text(json.dumps(fits))
    failed = not_fitted(path)
    assert failed == [
        f"d/f: {law}: {points} point(s) for {k} parameters: a law needs more points than parameters (add shards or sizes)"
        for law, points, k in (("power", 1, 3), ("size", 1, 2), ("joint", 5, 5))
    ]
    line = summary_line("results/s", [], failures=failed)
    assert line.startswith("scalinglaws: study incomplete (3 fit(s) missing, below): figures results/s/figures/")
    ok = fit_study(bent_runs(), StudyFit(replicates=5, laws=("power", "size"), best_guess={"d": 1.0}))
    path.write_text(json.dumps(ok))
    assert not_fitted(path) == []


@pytest.mark.e2e
def test_a_dry_run_shows_every_job_by_name(tmp_path):
    work = make_checkout(tmp_path, TINY_CONFIG)
    out = snakemake(work, "-n").stdout
    trained = re.findall(r"Job \d+: train teacher/mlp size (\d+) on n=(\d+) \(2 seeds x 2 lr, key [0-9a-f]{8}\)", out)
    assert sorted((int(s), int(n)) for s, n in trained) == sorted(
        (s, n) for s in (4, 16) for n in (64, 128, 256, 512, 1024)
    )
    assert len(re.findall(r"Job \d+: data: teacher shard n=\d+ ", out)) == 5
    assert "scalinglaws: study done" not in out  # a dry run is not a finished study


def test_ctrl_c_ends_a_command_with_one_line_and_status_130(tmp_path):
    """Issue 25 item 11: Ctrl-C printed a 65-line KeyboardInterrupt traceback from a child job.
    Here the command blocks reading a table from a FIFO when SIGINT arrives."""
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow")}
    proc = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "scalinglaws", "fit", str(fifo), "--x", "n", "--y", "error"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # as from a terminal: SIGINT at its default. A child inherits an ignored SIGINT, and in 4
        # of 5 full local runs something before this test had left the test process ignoring it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Wait until it reads the table (a FIFO opens for writing only once its reader has it open),
    # then a second, so that SIGINT finds it blocked in the read
    deadline, writer = time.monotonic() + 120, None
    while writer is None and time.monotonic() < deadline and proc.poll() is None:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    # Then end the table, so that a command that missed the signal fails the assertion, not a timeout
    time.sleep(0.5)
    if writer is not None:
        os.close(writer)
        writer = None
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # it did not end: its threads' stacks say where it hangs
        proc.send_signal(signal.SIGABRT)  # faulthandler prints them
        _, err = proc.communicate(timeout=30)
        pytest.fail(f"no exit within 60 s of SIGINT; the command's stacks:\n{err}")
    finally:
        if writer is not None:
            os.close(writer)
    assert proc.returncode == 130 and err.strip() == "scalinglaws fit: interrupted"
