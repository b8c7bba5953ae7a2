# Scaling laws with bootstrap CIs for every learning curve.


rule fit:
    input:
        rules.aggregate.output.runs,
    output:
        report(f"{RESULTS}/fits/fits.json", caption="../report/fits.rst", category="Fits"),
    params:
        target=STUDY.config["fit"]["target"],
        bootstrap=STUDY.config["fit"]["bootstrap"],
        seed=STUDY.config["fit"]["seed"],
        tolerance=STUDY.config["fit"]["size_tolerance"],
    log:
        f"{RESULTS}/logs/fit.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "{PY} fit-study --runs {input} --out {output} --target {params.target}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --size-tolerance {params.tolerance} > {log} 2>&1"
