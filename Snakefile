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
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)

from scalinglaws.study import ConfigError, Study

if config.get("external"):  # a table of measurements instead of training

    include: "workflow/rules/external.smk"

    rule all:
        input:
            rules.fit_table.output,
        default_target: True

else:
    try:
        STUDY = Study(config, source="config")
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None

    RESULTS = str(STUDY.results)
    STORE = str(STUDY.store)
    PY = f'"{sys.executable}" -m scalinglaws'

    include: "workflow/rules/data.smk"
    include: "workflow/rules/train.smk"
    include: "workflow/rules/aggregate.smk"
    include: "workflow/rules/fit.smk"
    include: "workflow/rules/figures.smk"


    rule all:
        input:
            rules.figures.output,
            rules.fit.output,
            rules.aggregate.output,
        default_target: True
