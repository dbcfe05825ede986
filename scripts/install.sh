#!/usr/bin/env bash
# Creates .venv with everything mtcheck needs, offline-model packages included.
# CPU torch is pinned first: an unpinned torch would pull gigabytes of CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[dev,ray]'
