#!/usr/bin/env bash
# Installs r1train's dependencies from the OS packages (Debian/Ubuntu) and builds
# a Release build/r1train. Idempotent: a second run only rebuilds.
#
# libtorch: if a PyTorch Python package with CUDA is installed, the build uses
# the libtorch inside it (torch.utils.cmake_prefix_path); otherwise the OS's
# libtorch (Debian bookworm: 1.13, CPU only). Set R1_TORCH_PREFIX to force one.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
PACKAGES=(
  build-essential cmake ninja-build ccache
  libtorch-dev libopenblas-dev libgloo-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libsentencepiece-dev sentencepiece libpcre2-dev libicu-dev libgtest-dev
  python3 python3-torch python3-sentencepiece python3-numpy python3-jinja2
)
# Node.js and npm run the reference tokenizer in the tests; a machine may already have
# them from elsewhere (e.g. nodesource's nodejs, which bundles npm and conflicts with Debian's).
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

need_install=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_install+=("$p")
done
if ((${#need_install[@]})); then
  echo "setup: installing ${need_install[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_install[@]}"
else
  echo "setup: all OS packages present"
fi

# Pick libtorch.
torch_prefix=${R1_TORCH_PREFIX:-}
if [ -z "$torch_prefix" ]; then
  for py in python3 /usr/bin/python3; do
    if out=$("$py" -c 'import torch,sys; sys.stdout.write(torch.utils.cmake_prefix_path if torch.version.cuda else "")' 2>/dev/null) && [ -n "$out" ]; then
      torch_prefix=$out
      echo "setup: using CUDA libtorch from the PyTorch package of $py ($torch_prefix)"
      break
    fi
  done
fi
cmake_args=(-S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release)
if [ -n "$torch_prefix" ]; then
  cmake_args+=("-DCMAKE_PREFIX_PATH=$torch_prefix")
else
  echo "setup: using the OS libtorch ($(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || echo unknown))"
fi
command -v ninja >/dev/null && [ ! -f "$BUILD_DIR/Makefile" ] && cmake_args+=(-G Ninja)

cmake "${cmake_args[@]}" >/dev/null
# The main job needs r1train and its SentencePiece shim only; scripts/test.sh builds the tests.
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target r1train r1_sentencepiece
echo "setup: built $BUILD_DIR/r1train"
"$BUILD_DIR/r1train" --version
