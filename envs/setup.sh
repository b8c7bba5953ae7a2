#!/usr/bin/env bash
# Sets up a fresh machine: Debian's data packages (Fashion-MNIST, the GCIDE dictionary as English
# text) and chromium (the report's browser test) where apt is usable, then the Python package with
# its dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_PACKAGES=""
[ -d /usr/share/datasets/fashion-mnist ] || DATA_PACKAGES="dataset-fashion-mnist"
[ -f /usr/share/dictd/gcide.dict.dz ] || DATA_PACKAGES="$DATA_PACKAGES dict-gcide"
# the headless browser in which a test opens report.html (tests/test_report.py)
command -v chromium >/dev/null || DATA_PACKAGES="$DATA_PACKAGES chromium"
if [ -n "$DATA_PACKAGES" ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo -n"
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    ($SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $DATA_PACKAGES) >/dev/null 2>&1 \
      || echo "setup: could not install$DATA_PACKAGES (only the Fashion-MNIST and text studies, and the report's browser test, need them)"
  fi
fi

PIP="python3 -m pip install -q --disable-pip-version-check"
# A pinned torch first: with it installed, the project's `torch>=2.1` pulls nothing more.
python3 -c "import torch" 2>/dev/null || $PIP "torch==2.13.0"
$PIP -e ".[test]"
