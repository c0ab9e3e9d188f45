#!/usr/bin/python3
"""Hand-written reference for the Llama/Mistral/Qwen2/Qwen3 decoders, following transformers'
modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py and modeling_rope_utils.py (eager
attention path) step by step, in plain PyTorch (Debian's python3-torch, no transformers).

    /usr/bin/python3 scripts/reference_model.py [--out tests/fixtures/models]

writes the fixtures described in scripts/fixture_spec.py. When transformers is available,
scripts/make_fixtures.py writes the same files from transformers itself; prefer that.
Also importable: Reference(config, weights) runs the model; write_safetensors/read_safetensors
handle the file format by hand (8-byte little-endian header length, JSON header, raw bytes).
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_spec as spec  # noqa: E402

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}
RAW = {torch.bfloat16: torch.int16, torch.float16: torch.int16}


def write_safetensors(path, tensors):
    """tensors: list of (name, tensor). Header padded with spaces to 8 bytes."""
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        raw = t.view(RAW.get(t.dtype, t.dtype)).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        buf = bytearray(data[8 + n + b:8 + n + end])
        t = torch.frombuffer(buf, dtype=RAW.get(dtype, dtype)) if end > b else torch.empty(0, dtype=RAW.get(dtype, dtype))
        out[name] = t.view(dtype).reshape(e["shape"])
    return out


def head_dim_of(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def rope_inv_freq(c):
    """_compute_default_rope_parameters, then _compute_llama3_parameters when rope_type is llama3."""
    dim = head_dim_of(c)
    base = c.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    s = c.get("rope_scaling")
    if not s or s.get("rope_type", s.get("type")) != "llama3":
        return inv_freq
    factor, low, high = s["factor"], s["low_freq_factor"], s["high_freq_factor"]
    old_len = s["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_len / low, old_len / high
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rms_norm(h, w, eps):
    dtype = h.dtype
    h = h.to(torch.float32)
    var = h.pow(2).mean(-1, keepdim=True)
    h = h * torch.rsqrt(var + eps)
    return w * h.to(dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def linear(x, w, b=None):
    return torch.nn.functional.linear(x, w, b)


class Reference:
    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.arch = config["architectures"][0]
        self.H = config["num_attention_heads"]
        self.Hkv = config.get("num_key_value_heads", self.H)
        self.D = head_dim_of(config)
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.inv_freq = rope_inv_freq(config)
        self.tied = config.get("tie_word_embeddings", False)

    def rotary(self, position_ids, dtype):
        """LlamaRotaryEmbedding.forward: cos/sin [N, T, D]."""
        inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        pos = position_ids[:, None, :].float()
        freqs = (inv @ pos).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def attention(self, i, x, cos, sin, mask, cache=None):
        """LlamaAttention.forward (eager), with Qwen2's q/k/v bias and Qwen3's q_norm/k_norm."""
        p = f"model.layers.{i}.self_attn."
        w = self.w
        N, T, _ = x.shape
        shape = (N, T, -1, self.D)
        q = linear(x, w[p + "q_proj.weight"], w.get(p + "q_proj.bias")).view(shape)
        k = linear(x, w[p + "k_proj.weight"], w.get(p + "k_proj.bias")).view(shape)
        v = linear(x, w[p + "v_proj.weight"], w.get(p + "v_proj.bias")).view(shape).transpose(1, 2)
        if self.arch == "Qwen3ForCausalLM":
            q = rms_norm(q, w[p + "q_norm.weight"], self.eps)
            k = rms_norm(k, w[p + "k_norm.weight"], self.eps)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        c, s = cos.unsqueeze(1), sin.unsqueeze(1)
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        if cache is not None:
            if i in cache:
                k = torch.cat([cache[i][0], k], dim=2)
                v = torch.cat([cache[i][1], v], dim=2)
            cache[i] = (k, v)
        rep = self.H // self.Hkv
        S = k.shape[2]
        k = k[:, :, None].expand(N, self.Hkv, rep, S, self.D).reshape(N, self.H, S, self.D)
        v = v[:, :, None].expand(N, self.Hkv, rep, S, self.D).reshape(N, self.H, S, self.D)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.D ** -0.5 + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(N, T, -1)
        return linear(out, w[p + "o_proj.weight"])

    def mlp(self, i, x):
        p = f"model.layers.{i}.mlp."
        w = self.w
        return linear(torch.nn.functional.silu(linear(x, w[p + "gate_proj.weight"])) * linear(x, w[p + "up_proj.weight"]),
                      w[p + "down_proj.weight"])

    def forward(self, input_ids, attention_mask, position_ids, cache=None, past=0):
        """Logits [N, T, V]. attention_mask covers past + T slots; the 4D mask adds the
        dtype's minimum where a key is padding or in the future (as _prepare_4d_causal_attention_mask)."""
        w = self.w
        x = w["model.embed_tokens.weight"][input_ids]
        N, T, _ = x.shape
        cos, sin = self.rotary(position_ids, x.dtype)
        S = attention_mask.shape[1]
        q_slots = torch.arange(past, past + T)[:, None]
        allowed = (torch.arange(S)[None, :] <= q_slots)[None] & attention_mask.bool()[:, None, :]
        mask = torch.zeros(N, 1, T, S, dtype=x.dtype).masked_fill(~allowed[:, None], torch.finfo(x.dtype).min)
        for i in range(self.c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            x = x + self.attention(i, rms_norm(x, w[p + "input_layernorm.weight"], self.eps), cos, sin, mask, cache)
            x = x + self.mlp(i, rms_norm(x, w[p + "post_attention_layernorm.weight"], self.eps))
        x = rms_norm(x, w["model.norm.weight"], self.eps)
        head = w["model.embed_tokens.weight"] if self.tied else w["lm_head.weight"]
        return linear(x, head)


def parameter_shapes(c):
    """The checkpoint's tensor names and shapes, as transformers' state_dict lists them."""
    hd, D, H, Hkv, I, V = c["hidden_size"], head_dim_of(c), c["num_attention_heads"], c["num_key_value_heads"], \
        c["intermediate_size"], c["vocab_size"]
    arch = c["architectures"][0]
    bias = arch == "Qwen2ForCausalLM" or c.get("attention_bias", False)
    shapes = {"model.embed_tokens.weight": (V, hd)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (H * D, hd)
        shapes[p + "self_attn.k_proj.weight"] = (Hkv * D, hd)
        shapes[p + "self_attn.v_proj.weight"] = (Hkv * D, hd)
        if bias:
            shapes[p + "self_attn.q_proj.bias"] = (H * D,)
            shapes[p + "self_attn.k_proj.bias"] = (Hkv * D,)
            shapes[p + "self_attn.v_proj.bias"] = (Hkv * D,)
        shapes[p + "self_attn.o_proj.weight"] = (hd, H * D)
        if arch == "Qwen3ForCausalLM":
            shapes[p + "self_attn.q_norm.weight"] = (D,)
            shapes[p + "self_attn.k_norm.weight"] = (D,)
        shapes[p + "mlp.gate_proj.weight"] = (I, hd)
        shapes[p + "mlp.up_proj.weight"] = (I, hd)
        shapes[p + "mlp.down_proj.weight"] = (hd, I)
        shapes[p + "input_layernorm.weight"] = (hd,)
        shapes[p + "post_attention_layernorm.weight"] = (hd,)
    shapes["model.norm.weight"] = (hd,)
    if not c.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = (V, hd)
    return shapes


def random_weights(c, seed, std, dtype=torch.bfloat16):
    """Norm weights near 1, biases and matrices ~ N(0, std); rounded to `dtype`."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in parameter_shapes(c).items():
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = std * torch.randn(shape, generator=g)
        out[name] = t.to(dtype)
    return out


def greedy(ref, prompt, new_tokens):
    ids = list(prompt)
    for _ in range(new_tokens):
        t = torch.tensor([ids])
        logits = ref.forward(t, torch.ones_like(t), torch.arange(len(ids))[None])
        ids.append(int(logits[0, -1].argmax()))
    return ids[len(prompt):]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "models"))
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    for k, (name, config) in enumerate(spec.FIXTURES.items()):
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        weights = random_weights(config, spec.SEED + k, spec.INIT_STD)
        write_safetensors(os.path.join(d, "model.safetensors"), list(weights.items()))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        ref = Reference(config, {n: t.float() for n, t in weights.items()})
        ids = torch.tensor(spec.INPUT_IDS)
        mask = torch.tensor(spec.ATTENTION_MASK)
        pos = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 1)
        logits = ref.forward(ids, mask, pos)
        tokens = greedy(ref, spec.GREEDY_PROMPT, spec.GREEDY_NEW_TOKENS)
        write_safetensors(os.path.join(d, "expected.safetensors"), [
            ("input_ids", ids), ("attention_mask", mask), ("logits", logits.float()),
            ("greedy_prompt", torch.tensor(spec.GREEDY_PROMPT)), ("greedy_tokens", torch.tensor(tokens))])
        print(f"{name}: greedy {tokens}")


if __name__ == "__main__":
    main()
