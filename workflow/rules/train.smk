# One ensemble job per (dataset, family, size, shard): all seeds x learning rates at once.
# The output path is the job's identity, so finished work anywhere in the store is reused.
import json



rule train:
    input:
        # ancient(): a store path is named by its content, so its timestamp means nothing
        # (a copied or touched store must not retrain anything).
        shard=lambda wc: ancient(STUDY.shard_file(STUDY.jobs[wc.key].shard_key)),
        evals=lambda wc: ancient(STUDY.eval_file(STUDY.jobs[wc.key].eval_key)),
        # Not ancient: Snakemake 9 never re-examines the consumers of a rerun job whose inputs
        # from it are all ancient and present (tests/test_reliability.py keeps a reproduction);
        # these small records are compared by checksum when touched.
        meta=lambda wc: [store.meta_file(STUDY.shard_file(STUDY.jobs[wc.key].shard_key)),
                         store.meta_file(STUDY.eval_file(STUDY.jobs[wc.key].eval_key))],
    output:
        # update(): not deleted before the job runs (it may be another invocation's, on a shared
        # store); the job trains under a per-key lock unless the record is already there (train/job.py)
        update(store.entry_file(STORE, "runs", "{key}")),
    params:
        spec=lambda wc: json.dumps(STUDY.jobs[wc.key].spec),
    threads: STUDY.config["threads"]
    resources:
        gpu=1 if STUDY.numerics["device"] == "cuda" else 0,
    log:
        store.entry_file(STORE, "runs", "{key}", "log.txt"),
    conda:
        "../../envs/train.yaml"
    message:
        "{JOB_NAMES:{wildcards.key}}"  # what it trains, in words (jobnames.py)
    shell:
        "scalinglaws train --spec {params.spec:q} --shard {input.shard} --eval {input.evals}"
        " --out {output} --device $SCALINGLAWS_DEVICE --threads {threads} --config-hash $SCALINGLAWS_CONFIG_HASH > {log} 2>&1"
