#!/usr/bin/env python3
"""r1train against transformers (and PEFT) on a CUDA machine: the GPU run kit's correctness checks.

    python3 scripts/device_checks.py logprobs --r1train BIN --out DIR [--device cuda]
    python3 scripts/device_checks.py peft --r1train BIN --base DIR --adapter DIR [--device cuda]
    python3 scripts/device_checks.py metrics RUN_DIR

logprobs: for each fixture architecture (tests/fixtures/models/*/config.json, with the vocabulary of
data/demo-base's byte-level tokenizer so that r1train can encode prompts), a random model made by
transformers (matrices ~ N(0, 0.2), so that the logits are far from uniform), saved in float32;
r1train samples completions (`generate`, temperature 1) in float32 and bfloat16 on the device, and
transformers recomputes the log-probs of the same tokens by one teacher-forced forward in the
same dtype. Tolerances on |log p_r1train - log p_transformers| over every completion token: float32
max 1e-3; bfloat16 mean 0.05 and max 0.5 (different kernels round differently; first-run bounds).

peft: r1train's log-probs with a LoRA adapter (`generate --adapter`, float32) against transformers'
base model wrapped by peft.PeftModel.from_pretrained on the same adapter directory; also how far
the adapter moves the base (it must move it far more than the two disagree).

metrics: one line summarising a run's metrics.jsonl (step time split, peak memory, mismatch).
Prints one JSON line per check and exits 1 when a check is outside its tolerance.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = ["Q: 345+537=?\n", "Q: 12+9=?\n"]


def run_r1train(binary, args):
    r = subprocess.run([binary] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"r1train {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def sample(binary, model_dir, dtype, device, out, adapter=None, prompts=PROMPTS):
    args = ["generate", "--model", model_dir, "--num-samples", "4", "--max-new-tokens", "24", "--temperature",
            "1", "--seed", "1", "--device", device, "--dtype", dtype, "--output", out]
    for p in prompts:
        args += ["--prompt", p]
    if adapter:
        args += ["--adapter", adapter]
    run_r1train(binary, args)
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


def gaps(model, rows, device):
    """|r1train log-prob - teacher-forced log-prob| for every completion token of `rows`."""
    import torch
    out = []
    with torch.no_grad():
        for row in rows:
            p, c = row["prompt_ids"], row["completion_ids"]
            if not c:
                continue
            ids = torch.tensor([p + c], device=device)
            logits = model(input_ids=ids).logits[0].float()                     # [P+T, V]
            logp = torch.log_softmax(logits[len(p) - 1:len(p) + len(c) - 1], -1)  # [T, V]
            ours = logp.gather(1, torch.tensor(c, device=device).unsqueeze(1)).squeeze(1)
            out += (ours.cpu() - torch.tensor(row["logprobs"])).abs().tolist()
    return out


def summary(values):
    return {"tokens": len(values), "max_abs": max(values) if values else None,
            "mean_abs": sum(values) / len(values) if values else None}


def cmd_logprobs(a):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    tok_dir = os.path.join(ROOT, "data", "demo-base")
    vocab = json.load(open(os.path.join(tok_dir, "config.json")))["vocab_size"]
    fixtures = os.path.join(ROOT, "tests", "fixtures", "models")
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    limits = {"float32": {"max_abs": 1e-3}, "bfloat16": {"mean_abs": 0.05, "max_abs": 0.5}}
    ok = True
    for k, name in enumerate(sorted(os.listdir(fixtures))):
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        cfg = json.load(open(os.path.join(fixtures, name, "config.json")))
        cfg.update(vocab_size=vocab, bos_token_id=256, eos_token_id=257)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        config = AutoConfig.from_pretrained(d)
        torch.manual_seed(k)
        model = AutoModelForCausalLM.from_config(config)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() >= 2:
                    p.normal_(0, 0.2)
        model.float().save_pretrained(d, safe_serialization=True)
        for f in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(tok_dir, f), d)
        for dtype, limit in limits.items():
            rows = sample(a.r1train, d, dtype, a.device, os.path.join(d, f"samples-{dtype}.jsonl"))
            hf = AutoModelForCausalLM.from_pretrained(d, **{dtype_kwarg(): dtypes[dtype]}).to(a.device).eval()
            s = summary(gaps(hf, rows, a.device))
            s.update(check="logprobs", architecture=name, dtype=dtype, device=a.device, limits=limit)
            s["passed"] = all(s[key] is not None and s[key] <= bound for key, bound in limit.items())
            ok &= s["passed"]
            print(json.dumps(s), flush=True)
    return 0 if ok else 1


def dtype_kwarg():
    import transformers
    return "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"


def cmd_peft(a):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    with tempfile.TemporaryDirectory() as tmp:
        prompts = ["Natalia sold clips to 48 of her friends in April. How many clips did she sell?"]
        rows = sample(a.r1train, a.base, "float32", a.device, os.path.join(tmp, "lora.jsonl"), a.adapter, prompts)
        base = AutoModelForCausalLM.from_pretrained(a.base, **{dtype_kwarg(): torch.float32}).to(a.device).eval()
        moved = summary(gaps(base, rows, a.device))  # the base alone: how much the adapter changes
        peft = PeftModel.from_pretrained(base, a.adapter).to(a.device).eval()
        s = summary(gaps(peft, rows, a.device))
    s.update(check="peft", adapter=a.adapter, base_without_adapter=moved, limits={"max_abs": 1e-3})
    s["passed"] = s["max_abs"] is not None and s["max_abs"] <= 1e-3 and moved["max_abs"] > 10 * s["max_abs"]
    print(json.dumps(s), flush=True)
    return 0 if s["passed"] else 1


def cmd_metrics(a):
    rows = [json.loads(line) for line in open(os.path.join(a.run, "metrics.jsonl")) if line.strip()]
    keys = ["timing/rollout_s", "timing/reward_s", "timing/logprob_s", "timing/update_s", "timing/step_s",
            "throughput/rollout_tokens_per_s", "mismatch/kl", "mismatch/max_abs_logprob", "mismatch/ratio_mean"]
    later = rows[1:] or rows  # the first step pays for warm-up
    s = {k: sum(r[k] for r in later) / len(later) for k in keys if all(k in r for r in later)}
    s.update(run=a.run, steps=len(rows), steps_averaged=len(later),
             peak_gib=max(r.get("memory/peak_gib", 0) for r in rows), reward_last=rows[-1]["reward"])
    print(json.dumps(s), flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("logprobs")
    lp.add_argument("--r1train", required=True)
    lp.add_argument("--out", required=True)
    lp.add_argument("--device", default="cuda")
    pf = sub.add_parser("peft")
    pf.add_argument("--r1train", required=True)
    pf.add_argument("--base", required=True)
    pf.add_argument("--adapter", required=True)
    pf.add_argument("--device", default="cuda")
    mt = sub.add_parser("metrics")
    mt.add_argument("run")
    a = ap.parse_args()
    return {"logprobs": cmd_logprobs, "peft": cmd_peft, "metrics": cmd_metrics}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
