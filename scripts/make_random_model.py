#!/usr/bin/python3
"""Writes a randomly initialised Hugging Face model directory of a given shape, for benchmarks.

    /usr/bin/python3 scripts/make_random_model.py OUT_DIR [--preset NAME] [--dtype bf16|f32]

Tensors are generated and written one at a time, so memory stays at one tensor. Presets:
qwen2.5-0.5b (hidden 896, 24 layers, 14 heads, 2 kv heads, intermediate 4864, vocab 151936,
tied), qwen2.5-0.5b-4l (the same cut to 4 layers: full width and vocabulary), qwen2.5-1.5b
(hidden 1536, 28 layers, 12 heads, 2 kv heads, intermediate 8960, vocab 151936, tied), small
(Qwen2-shaped: hidden 256, 4 layers, 8 heads, 2 kv heads, intermediate 704, vocab 4096) and
small-qwen-vocab (small with Qwen2.5's vocabulary of 151936: the LM head dominates).
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import parameter_shapes  # noqa: E402

QWEN2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
         "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings": 32768,
         "bos_token_id": 1, "eos_token_id": 2}
PRESETS = {
    "qwen2.5-0.5b": dict(QWEN2, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "qwen2.5-0.5b-4l": dict(QWEN2, hidden_size=896, intermediate_size=4864, num_hidden_layers=4,
                            num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                            tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(QWEN2, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    "small-qwen-vocab": dict(QWEN2, hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                             num_attention_heads=8, num_key_value_heads=2, vocab_size=151936,
                             tie_word_embeddings=True),
    "small": dict(QWEN2, hidden_size=256, intermediate_size=704, num_hidden_layers=4, num_attention_heads=8,
                  num_key_value_heads=2, vocab_size=4096, tie_word_embeddings=True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--preset", default="qwen2.5-0.5b", choices=sorted(PRESETS))
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "f32"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = dict(PRESETS[args.preset], torch_dtype="bfloat16" if args.dtype == "bf16" else "float32")
    dtype, name, raw = (torch.bfloat16, "BF16", torch.int16) if args.dtype == "bf16" else \
        (torch.float32, "F32", torch.float32)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    shapes = parameter_shapes(config)
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    size = 2 if args.dtype == "bf16" else 4
    for n, shape in shapes.items():
        nbytes = size
        for d in shape:
            nbytes *= d
        header[n] = {"dtype": name, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    g = torch.Generator().manual_seed(args.seed)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for n, shape in shapes.items():
            if n.endswith("norm.weight"):
                t = torch.ones(shape)
            else:
                t = torch.randn(shape, generator=g) * 0.02
            f.write(t.to(dtype).view(raw).numpy().tobytes())
    print(f"{args.out}: {sum(v['data_offsets'][1] - v['data_offsets'][0] for k, v in header.items() if k != '__metadata__') / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
