#!/usr/bin/env bash
# Wheels that the GPU machine lacks: it has PyTorch, numpy, pandas, scipy, matplotlib, pyyaml,
# jinja2, requests... but no Snakemake, no jsonschema and no package registry. Downloads Snakemake
# and jsonschema with every dependency, resolved for that machine (CPython 3.12, x86-64
# manylinux), then drops what its image already has (its builds of compiled ones stay in use).
#   bash benchmarks/prepare_wheels.sh [DEST]          (DEST defaults to .whl; about 28 MB)
# There:  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site DEST/*.whl
#         export PYTHONPATH=/tmp/site
set -euo pipefail
DEST=${1:-.whl}
mkdir -p "$DEST"
# connection_pool (a Snakemake dependency) is published as source only: build its pure-Python wheel.
python3 -m pip wheel -q --no-deps -w "$DEST" "connection_pool==0.0.3"
python3 -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  --find-links "$DEST" -d "$DEST" "snakemake==9.27.1" "jsonschema>=4.18"
for name in attrs certifi charset_normalizer idna jinja2 markupsafe packaging psutil pyyaml requests \
            tabulate urllib3 wrapt; do
  find "$DEST" -maxdepth 1 -iname "${name}-*.whl" -delete
done
echo "$(ls "$DEST"/*.whl | wc -l) wheels, $(du -sh "$DEST" | cut -f1) in $DEST"
