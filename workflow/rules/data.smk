# Materialise shards and eval splits into the content-addressed store (one job per identity).
# The params are exactly what rebuilds the data (Study.data_spec), so Snakemake's params
# trigger cannot rerun a job whose content, and hence key, is unchanged.


rule shard:
    output:
        f"{STORE}/shards/{{key}}/data.npz",
    params:
        dataset=lambda wc: STUDY.data_spec(wc.key),
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
        dataset=lambda wc: STUDY.data_spec(wc.key),
    log:
        f"{STORE}/eval/{{key}}/log.txt",
    conda:
        "../../envs/train.yaml"
    shell:
        "{PY} data --dataset {params.dataset:q} --out {output} > {log} 2>&1"
