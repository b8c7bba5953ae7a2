# One ensemble job per (dataset, family, size, shard): all seeds x learning rates at once.
# The output path is the job's identity, so finished work anywhere in the store is reused.
import json

# Not a param: the device does not change a run's identity, so switching it reruns nothing.
DEVICE = STUDY.config["device"]


rule train:
    input:
        # ancient(): a store path is named by its content, so its timestamp means nothing
        # (a copied or touched store must not retrain anything).
        shard=lambda wc: ancient(STUDY.shard_file(STUDY.jobs[wc.key].shard_key)),
        evals=lambda wc: ancient(STUDY.eval_file(STUDY.jobs[wc.key].eval_key)),
    output:
        f"{STORE}/runs/{{key}}/metrics.json",
    params:
        spec=lambda wc: json.dumps(STUDY.jobs[wc.key].spec),
    threads: STUDY.config["threads"]
    resources:
        gpu=1 if STUDY.config["device"] != "cpu" else 0,
    log:
        f"{STORE}/runs/{{key}}/log.txt",
    conda:
        "../../envs/train.yaml"
    shell:
        "{PY} train --spec {params.spec:q} --shard {input.shard} --eval {input.evals}"
        " --out {output} --device {DEVICE} --threads {threads} > {log} 2>&1"
