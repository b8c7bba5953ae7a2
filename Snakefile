# Scaling-law study: shard -> train -> aggregate -> fit -> figures (see README.md).
import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# The default study, unless --configfile names another one (which then replaces it whole,
# rather than being merged into it key by key).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# Rules call the package of this checkout (workflow/scalinglaws), installed or not.
PACKAGE_ROOT = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, PACKAGE_ROOT)

from scalinglaws.store import quarantine_corrupt
from scalinglaws.study import ConfigError, Study

SOURCE = ", ".join(map(str, workflow.configfiles)) or "config"


# Every job runs this checkout's package: its folder goes first on the job's PYTHONPATH.
PY = f'PYTHONPATH="{PACKAGE_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" "{sys.executable}" -m scalinglaws'

include: "workflow/rules/common.smk"


if config.get("external"):  # a table of measurements instead of training

    include: "workflow/rules/external.smk"

    rule all:
        input:
            rules.fit_table.output,
        default_target: True

else:
    try:
        STUDY = Study(config, source=SOURCE)
    except ConfigError as exc:
        fail(exc)

    # A damaged stored file (checksum or zip check) is moved aside here, so its job runs again
    # when needed. For a run record the study's tables go too: Snakemake does not rebuild a
    # missing input of outputs that are up to date.
    stored = [STUDY.job_file(k) for k in STUDY.jobs] + [STUDY.shard_file(k) for k in STUDY.shards]
    checked = f".snakemake/scalinglaws/{STUDY.name}.verified.json"  # unchanged files are not re-read
    for damaged in quarantine_corrupt(stored + [STUDY.eval_file(k) for k in STUDY.evals], checked):
        print(f"scalinglaws: {damaged} is damaged; moved to {damaged.name}.corrupt, recomputing", file=sys.stderr)
        if damaged.name == "metrics.json":
            (STUDY.results / "tables" / "runs.csv").unlink(missing_ok=True)

    RESULTS = str(STUDY.results)
    STORE = str(STUDY.store)

    include: "workflow/rules/data.smk"
    include: "workflow/rules/train.smk"
    include: "workflow/rules/aggregate.smk"
    include: "workflow/rules/fit.smk"
    include: "workflow/rules/figures.smk"

    if config.get("pruning"):

        include: "workflow/rules/prune.smk"

    rule all:
        input:
            rules.figures.output,
            rules.fit.output,
            rules.aggregate.output,
            rules.pruning_report.output if config.get("pruning") else [],
        default_target: True
