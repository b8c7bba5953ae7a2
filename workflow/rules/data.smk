# Materialise shards and eval splits into the content-addressed store (one job per identity).
# The params are exactly what rebuilds the data (Study.data_spec: no dataset name), so Snakemake's
# params trigger cannot rerun a job whose content, and hence key, is unchanged. meta.json beside
# the data is its small record (what it is, a hash of the arrays); training reads it without
# ancient() so that a rebuilt shard always reaches its jobs (see train.smk). update(): Snakemake
# deletes a job's outputs before running it, and these are shared by every invocation on the
# store; the job publishes them itself, atomically, under a per-key lock, and leaves an intact
# copy alone (store/data.py write_data), so another invocation's readers never find them missing.


rule shard:
    output:
        data=update(store.entry_file(STORE, "shards", "{key}")),
        meta=update(store.meta_file(store.entry_file(STORE, "shards", "{key}"))),
    params:
        dataset=lambda wc: STUDY.data_spec(wc.key),
    log:
        store.entry_file(STORE, "shards", "{key}", "log.txt"),
    conda:
        "../../envs/train.yaml"
    message:
        "{JOB_NAMES:{wildcards.key}}"  # which dataset and shard, in words (jobnames.py)
    shell:
        "scalinglaws data --dataset {params.dataset:q} --out {output.data} > {log} 2>&1"


use rule shard as eval_splits with:
    output:
        data=update(store.entry_file(STORE, "eval", "{key}")),
        meta=update(store.meta_file(store.entry_file(STORE, "eval", "{key}"))),
    log:
        store.entry_file(STORE, "eval", "{key}", "log.txt"),
