#!/usr/bin/env bash
# The ready-made studies on a GPU machine, each in its own copy of the workflow, side by side.
#   bash benchmarks/gpu_studies.sh OUT LIMIT_S STUDY...      (STUDY: a name in studies/)
# Prepares a machine that lacks Snakemake and the Debian data (the lent GPU machine): wheels from
# .whl/ (benchmarks/prepare_wheels.sh) and data from .gpudata/ (Fashion-MNIST's four .gz files and
# gcide.dict.dz, copied from this machine's Debian packages), where those folders exist. Every
# study gets --cores 4 and gpu=4 (four jobs share the GPU at a time); each stops after LIMIT_S
# seconds and is resumed by the next call (its folder stays while the machine does). OUT gets, per
# study, <study>.tgz (tables, fits, logs, the learning-curve figures) and <study>.time (wall
# seconds, exit status).
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
for study in "$@"; do
  work=/tmp/gpu-studies/$study
  mkdir -p "$work"
  (cd "$REPO" && cp -r Snakefile config.yaml workflow profiles envs studies "$work"/)
  (
    cd "$work" || exit
    start=$(date +%s.%N)
    timeout "$LIMIT" python3 -m snakemake --cores 4 --resources gpu=4 --configfile "studies/$study.yaml" \
      > "$OUT/$study.log" 2>&1
    rc=$?
    echo "wall_s=$(echo "$(date +%s.%N) - $start" | bc) rc=$rc" > "$OUT/$study.time"
    tar czf "$OUT/$study.tgz" --exclude='*.pdf' "results/$study" 2>/dev/null
  ) &
done
wait
for study in "$@"; do echo "$study: $(cat "$OUT/$study.time")"; tail -3 "$OUT/$study.log"; done
