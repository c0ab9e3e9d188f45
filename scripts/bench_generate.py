#!/usr/bin/python3
"""Python/PyTorch KV-cache decoding of a model directory: the peer scripts/bench_generate.sh compares r1train with.

    /usr/bin/python3 scripts/bench_generate.py MODEL_DIR --rows N [--new-tokens 256] [--threads K]

Same work as `r1train generate --benchmark-rows N`: N random 16-token prompts, prefill, then
new-tokens sampled steps (temperature 1) with a per-layer key/value cache (concatenated each
step, as transformers' DynamicCache does), float32 on CPU, using scripts/reference_model.py's
model code. Prints {"rows", "new_tokens", "seconds", "tokens_per_s"}.

With --lm-head-only it times just the [rows x width] by [width x vocab] product, new-tokens times:
the bound the LM head alone puts on decode speed (tokens_per_s = rows * new_tokens / seconds).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Reference, read_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lm-head-only", action="store_true")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    weights = {n: t.float() for n, t in read_safetensors(os.path.join(args.model, "model.safetensors")).items()}
    ref = Reference(config, weights)
    head = weights["model.embed_tokens.weight"] if ref.tied else weights["lm_head.weight"]
    g = torch.Generator().manual_seed(args.seed)
    N, P = args.rows, 16
    if args.lm_head_only:
        h = torch.randn(N, head.shape[1], generator=g)
        torch.nn.functional.linear(h, head)  # warm-up
        start = time.perf_counter()
        for _ in range(args.new_tokens):
            torch.nn.functional.linear(h, head)
        seconds = time.perf_counter() - start
        print(json.dumps({"rows": N, "new_tokens": args.new_tokens, "seconds": seconds,
                          "tokens_per_s": N * args.new_tokens / seconds}))
        return
    ids = torch.randint(3, config["vocab_size"], (N, P), generator=g)
    start = time.perf_counter()
    cache = {}
    mask = torch.ones(N, P, dtype=torch.long)
    pos = torch.arange(P)[None].expand(N, P)
    logits = ref.forward(ids, mask, pos, cache=cache, past=0)[:, -1]
    length = P
    for _ in range(args.new_tokens):
        probs = torch.softmax(logits.float(), -1)
        nxt = torch.multinomial(probs, 1, generator=g)  # [N, 1]
        mask = torch.ones(N, length + 1, dtype=torch.long)
        logits = ref.forward(nxt, mask, torch.full((N, 1), length), cache=cache, past=length)[:, -1]
        length += 1
    seconds = time.perf_counter() - start
    del head
    print(json.dumps({"rows": N, "new_tokens": args.new_tokens, "seconds": seconds,
                      "tokens_per_s": N * args.new_tokens / seconds}))


if __name__ == "__main__":
    main()
