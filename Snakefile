# Scaling-law study: shard -> train -> aggregate -> fit -> figures (see README.md).
import os
import sys

from snakemake.utils import min_version

min_version("9.0")

# Rules call the package of this checkout (workflow/scalinglaws), installed or not.
PACKAGE_ROOT = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, PACKAGE_ROOT)

from scalinglaws import store
from scalinglaws.store import integrity
from scalinglaws.configfile import load_config_file
from scalinglaws.jobnames import JobNames, not_fitted, summary_line
from scalinglaws.plan.record import as_given, write_record
from scalinglaws.identity import stage_code
from scalinglaws.study import ConfigError, Study

# In a rule's shell command, `scalinglaws` runs this checkout's package with this Python (a shell
# function, its folder first on PYTHONPATH), whatever else is installed.
RUN_PACKAGE = 'scalinglaws() { PYTHONPATH="%s${PYTHONPATH:+:$PYTHONPATH}" "%s" -m scalinglaws "$@"; }; ' % (
    PACKAGE_ROOT, sys.executable)

include: "workflow/rules/common.smk"


# The default study, unless --configfile names another one (which then replaces it whole,
# rather than being merged into it key by key). Read here first, so that a YAML error is one line
# with its line number (Snakemake reads a --configfile itself, before this file: see README).
if not workflow.overwrite_configfiles:
    try:
        load_config_file("config.yaml")
    except ConfigError as exc:
        fail(exc)

    configfile: "config.yaml"


SOURCE = ", ".join(map(str, workflow.configfiles)) or "config"

# The report's landing page: the study and, per learning curve, its summary page.
report: "workflow/report/workflow.rst"


shell_prefix("")


if config.get("external"):  # a table of measurements instead of training

    include: "workflow/rules/external.smk"

    rule all:
        input:
            rules.fit_table.output,
            rules.check_fits.output,
        default_target: True

else:
    try:
        STUDY = Study(config, source=SOURCE)
    except ConfigError as exc:
        fail(exc)

    # Damaged stored files are repaired once, before the DAG is built, and only when this
    # invocation runs jobs: a dry run, --summary or a job's own parse only reports them.
    if workflow.is_main_process:
        check_store(STUDY)
    CONFIG_HASH = STUDY.config_hash
    # Environment, not params, so that they rerun nothing: the device is already in every job's
    # identity (and a job refuses another device), the config hash is provenance only.
    shell_prefix(f"export SCALINGLAWS_DEVICE={STUDY.config['device']} SCALINGLAWS_CONFIG_HASH={CONFIG_HASH}; ")

    RESULTS = str(STUDY.results)
    JOB_NAMES = JobNames(STUDY)  # a job's message: what it runs, not its content key
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


onsuccess:
    # Exit 0 only with every result of the study present (guards against a DAG that left work out).
    if not config.get("external"):
        missing = [f for f in rules.all.input if not os.path.exists(f)]
        if missing:
            print(f"scalinglaws: the run ended with {len(missing)} results missing, e.g. {missing[0]}; "
                  "run snakemake again", file=sys.stderr)
            sys.exit(1)
        # the config files these results were made with, for `scalinglaws plan` (plan/record.py)
        write_record(RESULTS, workflow.configfiles, config, CONFIG_HASH)
        failed = not_fitted(rules.fit.output.fits)
        print(summary_line(RESULTS, rules.all.input, pruning=bool(config.get("pruning")), failures=failed))
        if failed:  # the last line says what could not be fitted and why; the status says it failed
            print(f"scalinglaws: not fitted: {'; '.join(failed)}", file=sys.stderr)
            sys.exit(1)
