# Materialise shards and eval splits into the content-addressed store (one job per identity).
import json


def dataset_spec(name):
    return json.dumps({"name": name, "options": STUDY.config["datasets"][name], "seed": STUDY.config["seed"]})


rule shard:
    output:
        f"{STORE}/shards/{{key}}/data.npz",
    params:
        dataset=lambda wc: dataset_spec(STUDY.shards[wc.key].dataset),
        n=lambda wc: STUDY.shards[wc.key].n,
    log:
        f"{STORE}/shards/{{key}}/log.txt",
    conda:
        "../../envs/train.yaml"
    shell:
        "{PY} data --dataset {params.dataset:q} --n {params.n} --out {output} > {log} 2>&1"


rule eval_splits:
    output:
        f"{STORE}/eval/{{key}}/data.npz",
    params:
        dataset=lambda wc: dataset_spec(STUDY.evals[wc.key]),
    log:
        f"{STORE}/eval/{{key}}/log.txt",
    conda:
        "../../envs/train.yaml"
    shell:
        "{PY} data --dataset {params.dataset:q} --out {output} > {log} 2>&1"
