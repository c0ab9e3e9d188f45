#!/usr/bin/env bash
# Compiles every translation unit of r1train and its tests with the CUDA code paths on
# (R1_WITH_CUDA=1, include/r1/model/torch_features.h) against Debian trixie's libtorch 2.6 CUDA
# headers and CUDA 12.4's (g++ -fsyntax-only: nothing is linked, no GPU or driver is needed). It is
# the check that the CUDA build a user makes with PyTorch's libtorch will compile; it stops at the
# first error, which names the file and line. Runs in the trixie root of scripts/debian_root.sh
# (cached in .cache/trixie); the CUDA packages are unpacked into /opt/r1-cuda there, not installed
# (libtorch-cuda-dev conflicts with libtorch-dev, and CUDA needs a driver to install). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${R1_TRIXIE_ROOT:-$PWD/.cache/trixie}
packages=(g++ cmake ninja-build libtorch-dev libopenblas-dev libgloo-dev libcli11-dev nlohmann-json3-dev
          libspdlog-dev libfmt-dev libyaml-cpp-dev libsentencepiece-dev sentencepiece libpcre2-dev libicu-dev
          libgtest-dev python3)
cuda_packages="libtorch-cuda-dev nvidia-cuda-dev libnccl-dev libcub-dev libthrust-dev libcu++-dev"
start=$SECONDS
scripts/debian_root.sh ensure "$root" "${packages[@]}"
scripts/debian_root.sh run "$root" "$PWD" "
  set -e
  if [ ! -f /opt/r1-cuda/.ready ]; then
    echo 'check_cuda_build: downloading and unpacking $cuda_packages (about 1 GB)'
    rm -rf /opt/r1-cuda /var/cache/r1-cuda && mkdir -p /opt/r1-cuda /var/cache/r1-cuda
    (cd /var/cache/r1-cuda && apt-get download -q $cuda_packages >/dev/null)
    for deb in /var/cache/r1-cuda/*.deb; do dpkg -x \"\$deb\" /opt/r1-cuda; done
    rm -rf /var/cache/r1-cuda
    touch /opt/r1-cuda/.ready
  fi
  cmake -S . -B build-cuda-check -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
  python3 scripts/syntax_check.py build-cuda-check/compile_commands.json /opt/r1-cuda \$(nproc)"
echo "check_cuda_build: passed in $((SECONDS - start)) s"
