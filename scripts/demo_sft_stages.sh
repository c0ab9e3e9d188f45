# Sourced by scripts/make_demo_base.sh and scripts/make_demo_tools_base.sh: the three `r1train sft`
# stages both demo bases are made with, from $WORK/stage{1,2,3}.jsonl (stage 1 from random weights
# with the config's sft: section, stage 2 from stage 1 with a short warmup, stage 3 from stage 2 at
# lr 1e-3), then the last checkpoint's model files copied into DEST.
# Usage: sft_stages CONFIG WORK DEST   (BIN: the r1train binary)
sft_stages() {
  local config=$1 work=$2 dest=$3
  local sft=("$BIN" --threads 1 sft --config "$config")  # one thread: the committed model, bit for bit
  latest() { echo "$1/checkpoints/$(cat "$1/checkpoints/latest")"; }
  "${sft[@]}" --set "model.path=$work/spec" --set "sft.data=$work/stage1.jsonl" --set "sft.output_dir=$work/stage1"
  "${sft[@]}" --set "model.path=$(latest "$work/stage1")" --set sft.init=pretrained \
    --set "sft.data=$work/stage2.jsonl" --set sft.warmup_steps=20 --set "sft.output_dir=$work/stage2"
  "${sft[@]}" --set "model.path=$(latest "$work/stage2")" --set sft.init=pretrained \
    --set "sft.data=$work/stage3.jsonl" --set sft.lr=1e-3 --set sft.warmup_steps=20 --set "sft.output_dir=$work/stage3"
  checkpoint=$(latest "$work/stage3")
  mkdir -p "$dest"
  for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
    cp "$checkpoint/$f" "$dest/"
  done
}
