#!/usr/bin/env bash
# Sets up a fresh machine: Debian's Fashion-MNIST package where apt is usable, then the Python
# package with its dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo -n"
  if [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; then
    ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
      || echo "setup: could not install dataset-fashion-mnist (only the Fashion-MNIST study needs it)"
  fi
fi

PIP="python3 -m pip install -q --disable-pip-version-check"
# A pinned torch first: with it installed, the project's `torch>=2.1` pulls nothing more.
python3 -c "import torch" 2>/dev/null || $PIP "torch==2.13.0"
$PIP -e ".[test]"
