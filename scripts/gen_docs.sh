#!/usr/bin/env bash
# Regenerates the generated parts of docs/configuration.md and docs/commands.md from the binary
# (r1train validate --reference configuration|commands): the lines between each page's
#   <!-- BEGIN generated: r1train validate --reference TOPIC -->  and  <!-- END generated -->
# markers. Docs.GeneratedReferencesMatchTheBinary fails until this has been run after a config key
# or a flag changed. Usage: scripts/gen_docs.sh [BINARY] (default build/r1train).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/r1train}
[[ -x $bin ]] || { echo "gen_docs: no $bin: build it first (scripts/setup.sh)" >&2; exit 2; }
for topic in configuration commands; do
  page=docs/$topic.md
  begin="<!-- BEGIN generated: r1train validate --reference $topic -->"
  grep -qxF -- "$begin" "$page" || { echo "gen_docs: $page lacks the line '$begin'" >&2; exit 2; }
  generated=$(mktemp)
  "$bin" validate --reference "$topic" > "$generated"
  awk -v begin="$begin" -v file="$generated" '
    $0 == begin { print; while ((getline line < file) > 0) print line; skipping = 1; next }
    skipping && $0 == "<!-- END generated -->" { skipping = 0 }
    !skipping { print }
  ' "$page" > "$page.new"
  mv "$page.new" "$page"
  rm -f "$generated"
  echo "gen_docs: $page"
done
