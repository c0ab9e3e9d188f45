#!/usr/bin/env python3
"""Writes the tiny model fixtures (tests/fixtures/models/NAME) from transformers itself.

    python scripts/make_fixtures.py [--out tests/fixtures/models]

Needs torch, transformers and safetensors (e.g. a GPU box's Python). Same weights, inputs and
file layout as scripts/reference_model.py (see scripts/fixture_spec.py): the weights come from
reference_model.random_weights, so only the expected logits and greedy tokens change source.
Run it, then the C++ tests (r1_tests --gtest_filter='Model*') check r1train against transformers.
"""
import argparse
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_spec as spec  # noqa: E402
from reference_model import random_weights  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "models"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    for k, (name, config_dict) in enumerate(spec.FIXTURES.items()):
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config_dict, f, indent=2)
        config = AutoConfig.from_pretrained(d)
        # transformers 5 renamed torch_dtype to dtype.
        dtype_kwarg = "dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype"
        model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", **{dtype_kwarg: torch.float32})
        weights = random_weights(config_dict, spec.SEED + k, spec.INIT_STD)
        missing, unexpected = model.load_state_dict({n: t.float() for n, t in weights.items()}, strict=False)
        assert not unexpected, unexpected
        assert all(m == "lm_head.weight" for m in missing), missing  # tied lm_head
        model.eval()
        model.to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
        model.to(torch.float32)
        ids = torch.tensor(spec.INPUT_IDS)
        mask = torch.tensor(spec.ATTENTION_MASK)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float()
        prompt = torch.tensor([spec.GREEDY_PROMPT])
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                             max_new_tokens=spec.GREEDY_NEW_TOKENS, min_new_tokens=spec.GREEDY_NEW_TOKENS,
                             eos_token_id=None, pad_token_id=0)
        tokens = out[0, len(spec.GREEDY_PROMPT):].contiguous()
        save_file({"input_ids": ids, "attention_mask": mask, "logits": logits.contiguous(),
                   "greedy_prompt": torch.tensor(spec.GREEDY_PROMPT), "greedy_tokens": tokens},
                  os.path.join(d, "expected.safetensors"), metadata={"format": "pt"})
        print(f"{name}: greedy {tokens.tolist()}")


if __name__ == "__main__":
    main()
