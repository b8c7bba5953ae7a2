"""A stage's code identity is rooted at the command its rule runs (identity.closure): every module
whose code that command uses counts, and no other stage's code does."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import job_counts, snakemake
from scalinglaws.identity import closure

# the command module each analysis rule runs (workflow/rules/*.smk: `code=stage_code(...)`)
ROOTS = {
    "aggregate": "aggregate/command.py:cmd_aggregate",
    "fit": "fit/command.py:cmd_fit_study",
    "fit_table": "fit/command.py:cmd_fit",
    "figures": "report/command.py:cmd_plot",
    "pruning_report": "report/pruning_command.py:cmd_prune_report",
}


def test_every_rule_is_rooted_at_the_command_it_runs():
    rules = "".join(path.read_text() for path in (Path(__file__).parents[1] / "workflow/rules").glob("*.smk"))
    for root in ROOTS.values():
        assert f'stage_code("{root}")' in rules, root


def test_fit_study_counts_the_code_it_uses_and_no_other_stages():
    fit = closure(ROOTS["fit"])
    assert {"fit/best_guess.py", "fit/study.py", "report/tables.py", "fit/laws/power.py"} <= set(fit)
    assert not [m for m in fit if m.startswith(("train/", "models/", "datasets/", "plan/"))]
    assert "report/figures.py" not in fit  # imported by report/tables.py for `fit`'s figures only
    for root in ROOTS.values():  # the study's config (train/spec.py) at most; never the trainer
        assert not [m for m in closure(root) if m.startswith("train/") and m != "train/spec.py"], root
    # a module reached for one name (a shared option) brings what that name uses, not its commands
    assert "fit/study.py" not in closure(ROOTS["pruning_report"])


@pytest.mark.e2e
def test_a_change_in_what_fit_study_imports_reruns_the_fit_and_nothing_upstream(tiny_run):
    work, _ = tiny_run
    pkg = work / "workflow/scalinglaws"
    for module in ("fit/best_guess.py", "fit/command.py", "report/tables.py"):
        original = (pkg / module).read_text()
        try:
            (pkg / module).write_text(original + "\n_A_REAL_CHANGE = 1\n")
            counts = job_counts(snakemake(work, "-n").stdout)
        finally:
            (pkg / module).write_text(original)
        assert counts == {"fit": 1, "figures": 1, "all": 1}, module
    assert "Nothing to be done" in snakemake(work, "-n").stdout
