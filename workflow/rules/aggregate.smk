# All runs of the study into tidy tables: runs, learning curve, error vs size.


rule labels:
    # Which (dataset, family) each job is in this study: names are labels, not part of a job's
    # identity, so renaming a dataset reruns this and the tables, never training.
    output:
        f"{RESULTS}/tables/jobs.json",
    params:
        labels=STUDY.labels,
    log:
        f"{RESULTS}/logs/labels.txt",
    localrule: True
    run:
        store.write_labels(output[0], params.labels)
        store.atomic_write_text(log[0], f"{len(params.labels)} jobs labelled\n")


rule aggregate:
    input:
        # Not ancient(): Snakemake 9 never re-examines the consumers of a rerun job whose inputs
        # from it are all ancient and present (issue 18); touched records are compared by checksum.
        records=[STUDY.job_file(key) for key in STUDY.jobs],
        labels=rules.labels.output,
    output:
        runs=report(f"{RESULTS}/tables/runs.csv", caption="../report/runs.rst", category="Tables"),
        curve=report(f"{RESULTS}/tables/learning_curve.csv", caption="../report/learning_curve_table.rst", category="Tables"),
        sizes=f"{RESULTS}/tables/sizes.csv",
    params:
        tolerance=STUDY.config["fit"]["size_tolerance"],
        out_dir=lambda wc, output: os.path.dirname(output.runs),
        code=stage_code("aggregate/command.py:cmd_aggregate"),  # the command it runs, with the code it uses (identity.py)
    log:
        f"{RESULTS}/logs/aggregate.txt",
    conda:
        "../../envs/analysis.yaml"
    shell:
        "scalinglaws aggregate --out-dir {params.out_dir} --size-tolerance {params.tolerance} --labels {input.labels}"
        " {input.records} > {log} 2>&1"
