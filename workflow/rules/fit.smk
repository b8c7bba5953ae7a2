# Scaling laws with bootstrap CIs and backtests for every learning curve (fit.laws).


rule fit:
    input:
        runs=rules.aggregate.output.runs,
        # the eval splits give each dataset's best-guess error (small-data region, joint's eps0)
        evals=[ancient(STUDY.eval_file(key)) for key in STUDY.evals],
        # not ancient (see train.smk): a rebuilt eval split always reaches the fit
        meta=[store.meta_file(STUDY.eval_file(key)) for key in STUDY.evals],
    output:
        fits=report(f"{RESULTS}/fits/fits.json", caption="../report/fits.rst", category="Fits"),
        table=report(f"{RESULTS}/fits/laws.csv", caption="../report/laws_table.rst", category="Fits"),
    params:
        target=STUDY.config["fit"]["target"],
        bootstrap=STUDY.config["fit"]["bootstrap"],
        seed=STUDY.config["fit"]["seed"],
        tolerance=STUDY.config["fit"]["size_tolerance"],
        laws=",".join(STUDY.config["fit"]["laws"]),
        evals=" ".join(f"--evals {name}={STUDY.eval_file(key)}" for key, name in STUDY.evals.items()),
        fit_eps0="--fit-eps0" if STUDY.config["fit"]["fit_eps0"] else "",
        code=stage_code("fit/command.py:cmd_fit_study"),  # the command it runs, with the code it uses (identity.py)
    log:
        f"{RESULTS}/logs/fit.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "scalinglaws fit-study --runs {input.runs} --out {output.fits} --table {output.table} --target {params.target}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --size-tolerance {params.tolerance}"
        " --laws {params.laws} {params.evals} {params.fit_eps0} --config-hash $SCALINGLAWS_CONFIG_HASH > {log} 2>&1"
