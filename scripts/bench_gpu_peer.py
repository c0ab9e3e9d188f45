#!/usr/bin/env python3
"""The GPU peers scripts/bench_gpu.sh measures r1train against (needs torch with CUDA and transformers).

    python3 scripts/bench_gpu_peer.py generate MODEL_DIR --rows N [--new-tokens 256]
    python3 scripts/bench_gpu_peer.py update MODEL_DIR --rows N [--tokens 256]
    python3 scripts/bench_gpu_peer.py bandwidth

generate: transformers' model.generate with sampling (temperature 1, no top-k/top-p), N random
16-token prompts, exactly new-tokens tokens each (min_new_tokens = max_new_tokens), bf16.
update: an eager PyTorch GRPO update step on the same model: full logits of N x (16 + tokens)
positions, log_softmax in float32, the clipped token-level objective, backward, gradient
clipping at 1, torch.optim.AdamW (bf16 parameters, as most eager scripts do).
bandwidth: the device's measured copy bandwidth (GB/s, read + write of a 2 GiB tensor).
Each prints one JSON line.
"""
import argparse
import json
import sys
import time

import torch


def need_cuda():
    if not torch.cuda.is_available():
        sys.exit("bench_gpu_peer.py: no CUDA device is visible to PyTorch; run this on a CUDA machine")


def load(model_dir):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16).cuda()


def timed(fn, repeats):
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["generate", "update", "bandwidth"])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--rows", type=int, default=1)
    ap.add_argument("--new-tokens", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=256)
    args = ap.parse_args()
    need_cuda()
    torch.manual_seed(0)
    if args.what == "bandwidth":
        x = torch.empty(1 << 30, dtype=torch.bfloat16, device="cuda")
        y = torch.empty_like(x)
        s = timed(lambda: y.copy_(x), 10)
        print(json.dumps({"gb_per_s": 2 * x.numel() * x.element_size() / s / 1e9}))
        return
    model = load(args.model)
    V = model.config.vocab_size
    N, P = args.rows, 16
    if args.what == "generate":
        model.eval()
        ids = torch.randint(3, V, (N, P), device="cuda")
        mask = torch.ones_like(ids)
        with torch.no_grad():
            s = timed(lambda: model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=1.0,
                                             top_k=0, top_p=1.0, max_new_tokens=args.new_tokens,
                                             min_new_tokens=args.new_tokens, pad_token_id=0), 1)
        print(json.dumps({"rows": N, "new_tokens": args.new_tokens, "seconds": s,
                          "tokens_per_s": N * args.new_tokens / s}))
        return
    T = args.tokens
    model.train()
    ids = torch.randint(3, V, (N, P + T), device="cuda")
    adv = torch.randn(N, device="cuda")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)

    def update():
        opt.zero_grad()
        logits = model(input_ids=ids).logits                          # [N, P+T, V]
        logp = torch.log_softmax(logits[:, P - 1:-1].float(), -1)      # [N, T, V]
        lp = logp.gather(-1, ids[:, P:, None]).squeeze(-1)            # [N, T]
        ratio = torch.exp(lp - lp.detach())
        a = adv[:, None]
        loss = -torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).sum() / (N * T)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    s = timed(update, 3)
    print(json.dumps({"rows": N, "tokens": T, "seconds": s, "tokens_per_s": N * T / s,
                      "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30}))


if __name__ == "__main__":
    main()
