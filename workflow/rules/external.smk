# A table of measurements instead of training (config key `external`): fit its laws with
# bootstrap CIs and backtests, write the fitted-law table and one figure per law.
import shlex
import sys

from scalinglaws.study import ConfigError, validate_config
from scalinglaws.fit.external import AUTO

try:
    CONFIG = validate_config(config, source=SOURCE)
except ConfigError as exc:
    fail(exc)

EXTERNAL = CONFIG["external"]
RESULTS = f"results/{CONFIG['study']}"
LAWS = list(AUTO.get(len(EXTERNAL["x"]), ())) if EXTERNAL["laws"] == ["auto"] else EXTERNAL["laws"]


def external_options():
    """The optional `scalinglaws fit` arguments, from the config."""
    flags = {"group": "--group", "holdout_col": "--holdout-col", "replicate_col": "--replicate-col", "eps0": "--eps0", "starts": "--starts", "where": "--where"}
    args = [f"{flag} {shlex.quote(str(EXTERNAL[key]))}" for key, flag in flags.items() if key in EXTERNAL]
    args += [f"--derive {shlex.quote(f'{name}={expr}')}" for name, expr in EXTERNAL.get("derive", {}).items()]
    return " ".join(args)


rule fit_table:
    input:
        EXTERNAL["table"],
    output:
        fits=report(f"{RESULTS}/fits.json", caption="../report/fits.rst", category="Fits"),
        table=report(f"{RESULTS}/laws.csv", caption="../report/laws_table.rst", category="Fits"),
        png=[report(f"{RESULTS}/figures/{law}.png", caption="../report/law.rst", category="Laws") for law in LAWS],
        pdf=[f"{RESULTS}/figures/{law}.pdf" for law in LAWS],
    params:
        laws=",".join(LAWS),
        x=",".join(EXTERNAL["x"]),
        y=EXTERNAL["y"],
        options=external_options(),
        bootstrap=CONFIG["fit"]["bootstrap"],
        seed=CONFIG["fit"]["seed"],
        code=stage_code("fit/external.py", "report/tables.py"),  # the code that computes them (identity.py)
    log:
        f"{RESULTS}/logs/fit_table.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "scalinglaws fit {input:q} --law {params.laws} --x {params.x:q} --y {params.y:q} {params.options}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --out {RESULTS} > {log} 2>&1"
