# Pruning (config `pruning`): one IMP job per chosen (dataset, family, size, shard), all seeds x
# learning rates at once, cached in the store under the digest of its spec; then one report.
import json

try:
    PRUNE_JOBS = STUDY.pruning_jobs()
except ConfigError as exc:
    fail(exc)
PRUNING = STUDY.config["pruning"]
JOB_NAMES = JobNames(STUDY, PRUNE_JOBS)


rule prune:
    input:
        shard=lambda wc: ancient(STUDY.shard_file(PRUNE_JOBS[wc.key].shard_key)),
        evals=lambda wc: ancient(STUDY.eval_file(PRUNE_JOBS[wc.key].eval_key)),
        meta=lambda wc: [store.meta_file(STUDY.shard_file(PRUNE_JOBS[wc.key].shard_key)),
                         store.meta_file(STUDY.eval_file(PRUNE_JOBS[wc.key].eval_key))],
    output:
        store.entry_file(STORE, "prune", "{key}"),
    params:
        spec=lambda wc: json.dumps(PRUNE_JOBS[wc.key].spec),
    threads: STUDY.config["threads"]
    resources:
        gpu=1 if STUDY.numerics["device"] == "cuda" else 0,
    log:
        store.entry_file(STORE, "prune", "{key}", "log.txt"),
    message:
        "{JOB_NAMES:{wildcards.key}}"  # what it prunes, in words (jobnames.py)
    shell:
        "scalinglaws prune --spec {params.spec:q} --shard {input.shard} --eval {input.evals}"
        " --out {output} --device $SCALINGLAWS_DEVICE --threads {threads} --config-hash $SCALINGLAWS_CONFIG_HASH > {log} 2>&1"


rule pruning_report:
    input:
        [STUDY.prune_file(key) for key in PRUNE_JOBS],  # not ancient: see aggregate.smk
    output:
        curves=f"{RESULTS}/pruning/pruning_curves.csv",
        fits=report(f"{RESULTS}/pruning/pruning_fits.json", caption="../report/pruning.rst", category="Pruning"),
        figures=[
            report(path, caption=f"../report/{path.rsplit('.', 2)[-2]}.rst", category="Pruning") if path.endswith(".png") else path
            for path in (
                f"{RESULTS}/pruning/figures/{d}.n{n}.pruning_{fig}.{ext}"
                for d, n in sorted({(j.dataset, j.n) for j in PRUNE_JOBS.values()})
                for fig in ("density", "collapse")
                for ext in ("png", "pdf")
            )
        ],
    params:
        target=PRUNING["target"],
        out_dir=lambda wc, output: os.path.dirname(output.curves),
        bootstrap=PRUNING["bootstrap"],
        seed=PRUNING["seed"],
        code=stage_code("report/pruning_command.py:cmd_prune_report"),  # the command it runs, with the code it uses (identity.py)
    log:
        f"{RESULTS}/logs/pruning_report.txt",
    shell:
        "scalinglaws prune-report --out-dir {params.out_dir} --target {params.target} --bootstrap {params.bootstrap}"
        " --seed {params.seed} {input} > {log} 2>&1"
