#!/usr/bin/env bash
# The ready-made studies on a GPU machine, each in its own copy of the workflow, side by side.
#   bash benchmarks/gpu_studies.sh OUT LIMIT_S STUDY[:JOBS]...
# (STUDY: a name in studies/, or the path of a config file in the repository, such as
# benchmarks/kan-widths.yaml: its `study` key names its results)
# Prepares a machine that lacks Snakemake and the Debian data (the lent GPU machine): wheels from
# .whl/ (benchmarks/prepare_wheels.sh) and data from .gpudata/ (Fashion-MNIST's four .gz files and
# gcide.dict.dz, copied from this machine's Debian packages), where those folders exist. A study
# gets --cores JOBS and gpu=JOBS (JOBS training jobs share the GPU at a time; default 4); each
# stops after LIMIT_S
# seconds and is resumed by the next call (its folder stays while the machine does). OUT gets, per
# study, <study>.tgz: its results (tables, fits, logs, PNG figures), the run records of its store
# (metrics.json: enough to aggregate and fit an unfinished study elsewhere), snakemake.log and
# time.txt (wall seconds and exit status of every call).
set -uo pipefail
OUT=$1; LIMIT=$2; shift 2
REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ -d "$REPO/.whl" ] && ! python3 -c "import snakemake" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$REPO"/.whl/*.whl
  export PYTHONPATH=/tmp/site
fi
if [ -d "$REPO/.gpudata" ]; then
  mkdir -p /usr/share/datasets/fashion-mnist /usr/share/dictd
  cp -n "$REPO"/.gpudata/fashion-mnist/*.gz /usr/share/datasets/fashion-mnist/ 2>/dev/null
  cp -n "$REPO"/.gpudata/gcide.dict.dz /usr/share/dictd/ 2>/dev/null
fi
for spec in "$@"; do
  study=${spec%%:*}; jobs=${spec#*:}; [ "$jobs" = "$spec" ] && jobs=4
  config=studies/$study.yaml
  case $study in *.yaml) config=$study; study=$(sed -n 's/^study: *//p' "$REPO/$config");; esac
  work=/tmp/gpu-studies/$study
  mkdir -p "$work"
  (cd "$REPO" && cp -r Snakefile config.yaml workflow profiles envs studies "$work"/ && cp --parents "$config" "$work"/)
  (
    cd "$work" || exit
    start=$(date +%s)
    python3 -m snakemake --unlock --configfile "$config" > /dev/null 2>&1  # after a timeout
    timeout "$LIMIT" python3 -m snakemake --cores "$jobs" --resources gpu="$jobs" --configfile "$config" \
      >> snakemake.log 2>&1
    rc=$?
    echo "wall_s=$(python3 -c "import time; print(round(time.time() - $start, 1))") rc=$rc" >> time.txt
    find results/store/runs -name metrics.json > records.txt 2>/dev/null
    tar czf "$OUT/$study.tgz" --exclude='*.pdf' "results/$study" snakemake.log time.txt -T records.txt 2>/dev/null
  ) &
done
wait
for spec in "$@"; do study=${spec%%:*}; case $study in *.yaml) study=$(sed -n 's/^study: *//p' "$REPO/$study");; esac; echo "$study: $(tail -1 /tmp/gpu-studies/$study/time.txt)"; tail -2 /tmp/gpu-studies/$study/snakemake.log; done
