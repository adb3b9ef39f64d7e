#!/usr/bin/env bash
# Build .venv-comet: unbabel-comet 2.2.7 in its own environment (it pins transformers<5 and numpy<2, so it
# cannot live beside verl 0.9.1). Only the COMET parity tests use it, as the reference implementation.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${COMET_VENV:-.venv-comet}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import comet" 2>/dev/null; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==${TORCH_VERSION:-2.13.0}"
  # setuptools<81: torchmetrics 0.10 (pulled by unbabel-comet) imports pkg_resources
  "$VENV/bin/pip" install -q --disable-pip-version-check "unbabel-comet==2.2.7" "setuptools<81"
fi
"$VENV/bin/python" -c "import comet, transformers; print('unbabel-comet', comet.__version__, 'transformers', transformers.__version__)"
