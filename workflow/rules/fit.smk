# Scaling laws with bootstrap CIs and backtests for every learning curve (fit.laws).


rule fit:
    input:
        rules.aggregate.output.runs,
    output:
        fits=report(f"{RESULTS}/fits/fits.json", caption="../report/fits.rst", category="Fits"),
        table=report(f"{RESULTS}/fits/laws.csv", caption="../report/laws_table.rst", category="Fits"),
    params:
        target=STUDY.config["fit"]["target"],
        bootstrap=STUDY.config["fit"]["bootstrap"],
        seed=STUDY.config["fit"]["seed"],
        tolerance=STUDY.config["fit"]["size_tolerance"],
        laws=",".join(STUDY.config["fit"]["laws"]),
        code=stage_code("fit/study.py") + code_version("report/tables.py"),  # the code that computes them (identity.py)
    log:
        f"{RESULTS}/logs/fit.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "{PY} fit-study --runs {input} --out {output.fits} --table {output.table} --target {params.target}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --size-tolerance {params.tolerance}"
        " --laws {params.laws} --config-hash {CONFIG_HASH} > {log} 2>&1"
