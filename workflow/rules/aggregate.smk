# All runs of the study into tidy tables: runs, learning curve, error vs size.


rule aggregate:
    input:
        # ancient(): new or recomputed records still rerun this (as outputs of jobs in this DAG)
        [ancient(STUDY.job_file(key)) for key in STUDY.jobs],
    output:
        runs=report(f"{RESULTS}/tables/runs.csv", caption="../report/runs.rst", category="Tables"),
        curve=report(f"{RESULTS}/tables/learning_curve.csv", caption="../report/learning_curve_table.rst", category="Tables"),
        sizes=f"{RESULTS}/tables/sizes.csv",
    params:
        tolerance=STUDY.config["fit"]["size_tolerance"],
        out_dir=lambda wc, output: os.path.dirname(output.runs),
    log:
        f"{RESULTS}/logs/aggregate.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "{PY} aggregate --out-dir {params.out_dir} --size-tolerance {params.tolerance} {input} > {log} 2>&1"
