#!/usr/bin/python3
"""An eager PyTorch GRPO update step: the peer scripts/bench_update.sh compares r1train's with.

    /usr/bin/python3 scripts/bench_update.py MODEL_DIR --rows N [--tokens 128] [--threads K]

Same work as `r1train inspect --model DIR --benchmark-update-rows N --tokens T --dtype float32`:
N random 16-token prompts with T-token completions, the full logits [N, 16 + T, V] of the
model (scripts/reference_model.py's code, float32, weights as leaf tensors), log_softmax,
the completion tokens' log-probs, the token-level (dapo) clipped objective with beta 0,
backward, gradient clipping at norm 1 and torch.optim.AdamW. One warm-up update, then the mean
of 3. Prints {"rows", "tokens", "seconds", "tokens_per_s", "peak_rss_mib"}.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_model import Reference, read_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    weights = {n: t.float().requires_grad_(True)
               for n, t in read_safetensors(os.path.join(args.model, "model.safetensors")).items()}
    ref = Reference(config, weights)
    opt = torch.optim.AdamW(list(weights.values()), lr=1e-6)
    N, P, T = args.rows, 16, args.tokens
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, config["vocab_size"], (N, P + T), generator=g)
    adv = torch.randn(N, generator=g)
    mask = torch.ones(N, P + T, dtype=torch.long)
    pos = torch.arange(P + T)[None].expand(N, P + T)

    def update():
        opt.zero_grad()
        logits = ref.forward(ids, mask, pos)                          # [N, P+T, V]
        logp = torch.log_softmax(logits[:, P - 1:-1].float(), -1)      # [N, T, V]
        lp = logp.gather(-1, ids[:, P:, None]).squeeze(-1)            # [N, T]
        ratio = torch.exp(lp - lp.detach())
        a = adv[:, None]
        loss = -torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).sum() / (N * T)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(weights.values()), 1.0)
        opt.step()

    update()
    start = time.perf_counter()
    for _ in range(3):
        update()
    seconds = (time.perf_counter() - start) / 3
    print(json.dumps({"rows": N, "tokens": T, "seconds": seconds, "tokens_per_s": N * T / seconds,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
