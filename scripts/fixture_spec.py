"""The tiny model fixtures shared by make_fixtures.py (transformers) and reference_model.py (hand-written).

Each fixture is a Hugging Face model directory under tests/fixtures/models/NAME with
config.json, model.safetensors (bfloat16 weights, so float32 computation is exact to load)
and expected.safetensors: input_ids/attention_mask [3, 7] (row 0 left-padded, row 1
right-padded, row 2 full), logits [3, 7, V] float32 computed in float32 with position ids
cumsum(mask) - 1, and greedy_prompt [5] / greedy_tokens [8] (greedy decoding by full
recomputation).
"""

VOCAB = 320

BASE = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": VOCAB,
    "max_position_embeddings": 128,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "hidden_act": "silu",
    "bos_token_id": 1,
    "eos_token_id": 2,
    "torch_dtype": "bfloat16",
}

FIXTURES = {
    "llama_tied": dict(BASE, architectures=["LlamaForCausalLM"], model_type="llama",
                       tie_word_embeddings=True, attention_bias=False, num_hidden_layers=3),
    "qwen2_bias": dict(BASE, architectures=["Qwen2ForCausalLM"], model_type="qwen2",
                       tie_word_embeddings=False, rope_theta=1000000.0, eos_token_id=[2, 3]),
    "qwen3_qknorm": dict(BASE, architectures=["Qwen3ForCausalLM"], model_type="qwen3",
                         tie_word_embeddings=False, head_dim=16, attention_bias=False),
    "llama3_rope": dict(BASE, architectures=["LlamaForCausalLM"], model_type="llama",
                        tie_word_embeddings=False, attention_bias=False, rope_theta=500000.0,
                        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16}),
}

SEED = 1234
INIT_STD = 0.15  # larger than training init so that attention and greedy choices are non-trivial

INPUT_IDS = [
    [0, 0, 17, 250, 3, 99, 5],
    [41, 42, 43, 44, 45, 46, 0],
    [7, 300, 8, 12, 190, 64, 31],
]
ATTENTION_MASK = [
    [0, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 1, 1],
]
GREEDY_PROMPT = [1, 55, 123, 9, 280]
GREEDY_NEW_TOKENS = 8
