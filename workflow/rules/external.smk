# A table of measurements instead of training (config key `external`): fit its laws with
# bootstrap CIs and backtests, write the fitted-law table and one figure per law. A group (or a
# law) that cannot be fitted fails alone: fit_table keeps every output and records it in
# not_fitted.txt, and check_fits then fails the run with one line per failure (rerun by every
# invocation until the table is fixed, so the exit status keeps saying so).
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


rule fit_table:
    input:
        EXTERNAL["table"],
    output:
        fits=report(f"{RESULTS}/fits.json", caption="../report/fits.rst", category="Fits"),
        table=report(f"{RESULTS}/laws.csv", caption="../report/laws_table.rst", category="Fits"),
        png=[report(f"{RESULTS}/figures/{law}.png", caption="../report/law.rst", category="Laws") for law in LAWS],
        pdf=[f"{RESULTS}/figures/{law}.pdf" for law in LAWS],
        failed=f"{RESULTS}/not_fitted.txt",
    params:
        laws=",".join(LAWS),
        x=",".join(EXTERNAL["x"]),
        y=EXTERNAL["y"],
        options=external_options(EXTERNAL),
        bootstrap=CONFIG["fit"]["bootstrap"],
        seed=CONFIG["fit"]["seed"],
        code=stage_code("fit/command.py:cmd_fit"),  # the command it runs, with the code it uses (identity.py)
    log:
        f"{RESULTS}/logs/fit_table.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "scalinglaws fit {input:q} --law {params.laws} --x {params.x:q} --y {params.y:q} {params.options}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --out \"$(dirname {output.fits:q})\" --failures {output.failed:q}"
        " --every-figure > {log} 2>&1"


rule check_fits:
    input:
        rules.fit_table.output.failed,
    output:
        f"{RESULTS}/logs/every_group_fitted",
    log:
        f"{RESULTS}/logs/check_fits.txt",
    localrule: True
    conda:
        "../../envs/analysis.yaml"
    shell:
        "if [ -s {input:q} ]; then sed 's/^/scalinglaws: not fitted: /' {input:q} | tee {log:q} >&2; exit 1; fi;"
        " touch {output:q} {log:q}"
