"""Reference outputs made by Hugging Face transformers itself, for test/fixtures/transformers/.

For each case: a toy-size random model of a family (the architecture fields of a public
checkpoint, shrunk: hidden 32, 2–4 layers, vocab 128), built by transformers' own model class
(eager attention, float32 on the CPU), with weights drawn at a scale where every part of the
forward pass shows in the logits (norm weights far from 1, soft-caps that bite, sliding windows
shorter than the sequence, rope scalings whose factors move the angles). Written as a model
folder as `save_pretrained` lays it out (config.json in the layout this transformers writes,
model.safetensors or shards + index, tied heads without lm_head.weight), plus:
  config-4x.json   the same config in the 4.x layout (top-level rope_theta / rope_scaling, ...),
                   as transformers 4.x writes it, checked to give both transformers the same losses;
  reference.safetensors   `tokens` (I32), `logits` of the first window (F32 [seqlen, vocab]) and
                   per-window losses; metadata: seqlen, perplexity, versions.
Perplexity is the authors' protocol (dsnot's default): non-overlapping windows of seqlen ids,
tail dropped, each window scoring its seqlen−1 next-token predictions, ppl = exp(mean nll).

  python3 make_fixtures.py make OUT_DIR     under transformers 5.x (torch, CPU; no network)
  python3 make_fixtures.py legacy OUT_DIR   then under transformers 4.x: checks and rewrites config-4x.json
  python3 make_fixtures.py stories MODEL_DIR IDS.json OUT.safetensors   the trained stories260K
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

VOCAB = 128
SEED = 0


def rope(theta, **scaling):
    """A rope_parameters dict (5.x layout)."""
    return {"rope_theta": float(theta), "rope_type": scaling.pop("rope_type", "default"), **scaling}


# name → (model_type, config fields, storage dtype, shards, eval seqlens, note)
# The comment on each says which public checkpoint's architecture fields it carries.
CASES = {
    # Llama-3.2-1B: llama3 rope (factor / low / high / original max scaled down with the toy's
    # positions so that the low-frequency scaling moves angles within 64 tokens), theta 5e5,
    # GQA, explicit head_dim, tied head.
    "llama-3.2": ("llama", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=8, max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=True,
        attention_bias=False, mlp_bias=False,
        rope_parameters=rope(500000.0, rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                             original_max_position_embeddings=16),
    ), "BF16", 1, [64]),
    # SmolLM2-135M: llama, theta 1e5, heads 9/3 (here 6/2 of 8), tied.
    "smollm2": ("llama", dict(
        hidden_size=48, intermediate_size=64, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
        max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=True, rope_parameters=rope(100000.0),
    ), "F32", 1, [64]),
    # TinyLlama-1.1B: llama, default rope 1e4, GQA 32/4 (here 4/1), untied; stored as sharded BF16
    # with an index, as the 7B-class checkpoints are.
    "tinyllama": ("llama", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=1,
        max_position_embeddings=128, rms_norm_eps=1e-5, tie_word_embeddings=False, rope_parameters=rope(10000.0),
    ), "BF16", 3, [64]),
    # Llama with linear rope scaling (factor 4), dynamic NTK, and yarn (factor 4, original max 32,
    # the attention factor from the default formula).
    "llama-linear": ("llama", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters=rope(10000.0, rope_type="linear", factor=4.0),
    ), "F32", 1, [64]),
    # Dynamic NTK: within max_position_embeddings transformers keeps the default angles.
    "llama-dynamic": ("llama", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters=rope(10000.0, rope_type="dynamic", factor=2.0),
    ), "F32", 1, [64]),
    "llama-yarn": ("llama", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=False,
        rope_parameters=rope(10000.0, rope_type="yarn", factor=4.0, original_max_position_embeddings=32),
    ), "F32", 1, [64]),
    # Mistral-7B-v0.3: theta 1e6, no sliding window; and the v0.1 shape with a window (here 8).
    "mistral-7b-v0.3": ("mistral", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=None,
        rope_parameters=rope(1000000.0),
    ), "F16", 1, [64]),
    "mistral-window": ("mistral", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=False, sliding_window=8,
        rope_parameters=rope(10000.0),
    ), "F32", 1, [64]),
    # Qwen2.5-0.5B: q/k/v biases, tied, theta 1e6, use_sliding_window false.
    "qwen2.5": ("qwen2", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False,
        sliding_window=None, max_window_layers=2, rope_parameters=rope(1000000.0),
    ), "BF16", 1, [64]),
    # Qwen3-0.6B: q/k RMSNorm per head, head_dim 128 ≠ hidden/heads (here 16 ≠ 8), tied, theta 1e6.
    "qwen3": ("qwen3", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=True,
        use_sliding_window=False, sliding_window=None, attention_bias=False, rope_parameters=rope(1000000.0),
    ), "BF16", 1, [64]),
    # Phi-3-mini-4k: fused qkv_proj / gate_up_proj, sliding window 2047 (here 8), untied.
    "phi-3-mini": ("phi3", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=128, original_max_position_embeddings=128, rms_norm_eps=1e-5,
        tie_word_embeddings=False, sliding_window=8, rope_parameters=rope(10000.0),
    ), "F32", 1, [64]),
    # Phi-3.5-mini: longrope (short factors ≈ 1…3, long ≈ 1…60 in the real one), original max 4096
    # of 131072 (here 32 of 1024: seqlen 16 takes the short factors, 64 the long ones), GQA here.
    "phi-3.5-mini": ("phi3", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=1024, original_max_position_embeddings=32, rms_norm_eps=1e-5,
        tie_word_embeddings=False, sliding_window=None,
        rope_parameters=rope(10000.0, rope_type="longrope",
                             short_factor=[1.0 + 2.0 * i / 3 for i in range(4)],
                             long_factor=[1.0 + 59.0 * i * i / 9 for i in range(4)]),
    ), "F32", 1, [16, 64]),
    # Phi-4-mini's partial rotary (0.75 of the head).
    "phi-partial-rotary": ("phi3", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        max_position_embeddings=128, original_max_position_embeddings=128, rms_norm_eps=1e-5,
        tie_word_embeddings=True, sliding_window=None, rope_parameters=rope(10000.0, partial_rotary_factor=0.75),
    ), "F32", 1, [64]),
    # Gemma-2-2B: (1 + w) norms, four norms a block, √hidden embeddings, GELU-tanh, attention and
    # final soft-caps (50 and 30 there; 4 and 3 here so that they bite), query_pre_attn_scalar
    # ≠ head_dim, sliding window on the even layers (4096 there; 8 here), tied.
    "gemma-2": ("gemma2", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=True,
        hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=24, sliding_window=8,
        attn_logit_softcapping=4.0, final_logit_softcapping=3.0, rope_parameters=rope(10000.0),
    ), "F32", 1, [64]),
    # Gemma-3-1B / 4B text: q/k norms, local (sliding, base 1e4) and global (base 1e6, linear ×8
    # as in 4B) layers, window 512 (here 8), pattern 6 (here 2: layers 1 and 3 global).
    "gemma-3": ("gemma3_text", dict(
        hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=1,
        head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6, tie_word_embeddings=True,
        hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=16, sliding_window=8,
        layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
        final_logit_softcapping=None, attn_logit_softcapping=None,
        rope_parameters={
            "full_attention": rope(1000000.0, rope_type="linear", factor=8.0),
            "sliding_attention": rope(10000.0),
        },
    ), "BF16", 1, [64]),
    # OPT-125m: LayerNorm before each block, learned positions (offset 2), biases, ReLU, tied.
    "opt-125m": ("opt", dict(
        hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=256,
        do_layer_norm_before=True, word_embed_proj_dim=32, activation_function="relu", enable_bias=True,
        tie_word_embeddings=True,
    ), "F16", 1, [64]),
}


def randomize(model, model_type, gen):
    """Weights at a scale where each part of the model moves the logits (see the module note)."""
    gemma = model_type.startswith("gemma")
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            if "norm" in name and name.endswith("weight"):
                # (1 + w) in Gemma: w near 0; a plain RMSNorm/LayerNorm: near 1.
                v = 0.3 * r if gemma else 1.0 + 0.3 * r
            elif name.endswith("bias"):
                v = 0.2 * r
            elif "embed" in name:
                # Small enough that a tied head (logits = h·Eᵀ over a normalized h) gives logits of
                # a few units, not a near one-hot softmax.
                v = 0.4 * r
            elif p.dim() == 2:
                v = r * (1.5 / math.sqrt(p.shape[1]))
            else:
                v = 0.3 * r
            p.copy_(v.to(p.dtype))


def round_to(model, dtype):
    """The weights as the stored dtype holds them (the reference runs on exactly those values)."""
    if dtype == "F32":
        return
    tdtype = {"BF16": torch.bfloat16, "F16": torch.float16}[dtype]
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(tdtype).to(torch.float32))


ST_DTYPES = {"F32": (np.float32, None), "F16": (np.float16, None), "BF16": (None, None), "I32": (np.int32, None)}


def tensor_bytes(t, dtype):
    if dtype == "BF16":
        return (t.contiguous().to(torch.bfloat16).view(torch.int16).numpy().astype("<i2")).tobytes()
    if dtype == "F16":
        return t.contiguous().to(torch.float16).numpy().astype("<f2").tobytes()
    if dtype == "I32":
        return t.contiguous().to(torch.int32).numpy().astype("<i4").tobytes()
    return t.contiguous().to(torch.float32).numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor, dtype). The safetensors format: u64 header size, JSON, data."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t, dtype in tensors:
        b = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save_weights(model, out, dtype, shards):
    """As save_pretrained writes them: one file, or shards + model.safetensors.index.json."""
    state = model.state_dict()
    if model.config.tie_word_embeddings:
        state = {k: v for k, v in state.items() if k != "lm_head.weight"}
    names = list(state)
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), [(n, state[n], dtype) for n in names], {"format": "pt"})
        return
    per = math.ceil(len(names) / shards)
    weight_map, total = {}, 0
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = names[s * per:(s + 1) * per]
        write_safetensors(os.path.join(out, file), [(n, state[n], dtype) for n in part], {"format": "pt"})
        for n in part:
            weight_map[n] = file
            total += state[n].numel() * (4 if dtype == "F32" else 2)
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def legacy_layout(cfg):
    """The 4.x layout of a 5.x config dict: rope settings at the top level, as 4.x wrote them."""
    c = dict(cfg)
    rp = c.pop("rope_parameters", None)
    if rp is None:
        return c
    c.pop("layer_types", None) if c.get("model_type") in ("qwen2", "qwen3", "mistral", "llama") else None

    def split(p):
        p = dict(p)
        theta = p.pop("rope_theta")
        partial = p.pop("partial_rotary_factor", None)
        scaling = None if p.get("rope_type", "default") == "default" else p
        return theta, scaling, partial

    if "full_attention" in rp:  # Gemma 3: the global base, the local base, and the global scaling
        theta, scaling, _ = split(rp["full_attention"])
        local, _, _ = split(rp["sliding_attention"])
        c.update(rope_theta=theta, rope_local_base_freq=local, rope_scaling=scaling)
        return c
    theta, scaling, partial = split(rp)
    if scaling and c["model_type"] == "phi3":  # 4.x Phi3Config takes exactly type, short_factor, long_factor
        scaling = {"type": scaling["rope_type"], "short_factor": scaling["short_factor"], "long_factor": scaling["long_factor"]}
    c.update(rope_theta=theta, rope_scaling=scaling)
    if partial is not None and partial != 1.0:
        c["partial_rotary_factor"] = partial
    return c


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].to(torch.float64)


def window_losses(model, tokens, seqlen):
    losses = []
    for w in range(len(tokens) // seqlen):
        ids = tokens[w * seqlen:(w + 1) * seqlen]
        lg = logits_of(model, ids)
        losses.append(torch.nn.functional.cross_entropy(lg[:-1], torch.tensor(ids[1:])).item())
    return losses


def load_from(cfg_dict, state):
    """A model built by transformers from a config dict (e.g. the 4.x layout) with given weights."""
    cfg = AutoConfig.for_model(**cfg_dict)
    cfg._attn_implementation = "eager"
    m = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    m.load_state_dict(state, strict=False)
    if cfg.tie_word_embeddings:
        m.tie_weights()
    return m


def make(name, out_root):
    """Under transformers 5.x: the model folder, config.json (5.x layout), config-4x.draft.json."""
    model_type, fields, dtype, shards, seqlens = CASES[name]
    gen = torch.Generator().manual_seed(SEED + sum(map(ord, name)))
    cfg = AutoConfig.for_model(model_type, vocab_size=VOCAB, bos_token_id=1, eos_token_id=2, pad_token_id=0, **fields)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", dtype=torch.float32).eval()
    cfg.architectures = [type(model).__name__]
    randomize(model, model_type, gen)
    round_to(model, dtype)
    if cfg.tie_word_embeddings:
        model.tie_weights()

    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    cfg.save_pretrained(out)
    save_weights(model, out, dtype, shards)
    with open(os.path.join(out, "config.json")) as f:
        saved = json.load(f)
    legacy = legacy_layout(saved)
    with open(os.path.join(out, "config-4x.draft.json"), "w") as f:
        json.dump(legacy, f, indent=2, sort_keys=True)

    tokens = torch.randint(0, VOCAB, (3 * max(seqlens) + 5,), generator=gen).tolist()
    ref = [("tokens", torch.tensor(tokens), "I32")]
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "seed": str(SEED), "dtype": dtype}
    # The saved config, and the 4.x layout as this transformers reads it, give the same model.
    others = ((load_from(saved, model.state_dict()), "saved config"), (load_from(legacy, model.state_dict()), "4.x layout"))
    for s in seqlens:
        losses = window_losses(model, tokens, s)
        for other, what in others:
            check_same(name, what, window_losses(other, tokens, s), losses)
        ref.append((f"logits_{s}", logits_of(model, tokens[:s]), "F32"))
        ref.append((f"losses_{s}", torch.tensor(losses, dtype=torch.float64), "F32"))
        meta[f"perplexity_{s}"] = repr(math.exp(sum(losses) / len(losses)))
    write_safetensors(os.path.join(out, "reference.safetensors"), ref, meta)
    print(f"{name}: {model_type} {dtype} ×{shards}, " + ", ".join(f"ppl@{s} {meta[f'perplexity_{s}']}" for s in seqlens))


def check_same(name, what, got, want):
    if max(abs(a - b) for a, b in zip(got, want)) > 1e-6:
        sys.exit(f"{name}: {what} gives transformers other losses: {got} vs {want}")


def legacy(name, out_root):
    """Under transformers 4.x: the draft 4.x config must give this transformers the reference's
    losses; then it is saved as this transformers writes it (config-4x.json)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    out = os.path.join(out_root, name)
    draft_path = os.path.join(out, "config-4x.draft.json")
    with open(draft_path) as f:
        draft = json.load(f)
    state = {}
    for file in sorted(os.listdir(out)):
        if file.startswith("model") and file.endswith(".safetensors"):
            state.update({k: v.to(torch.float32) for k, v in load_file(os.path.join(out, file)).items()})
    model = load_from(draft, state)
    with safe_open(os.path.join(out, "reference.safetensors"), "pt") as ref:
        tokens = ref.get_tensor("tokens").tolist()
        for s in CASES[name][4]:
            check_same(name, f"the 4.x layout under transformers {transformers.__version__}",
                       window_losses(model, tokens, s), ref.get_tensor(f"losses_{s}").tolist())
    model.config.save_pretrained(os.path.join(out, "legacy"))
    os.replace(os.path.join(out, "legacy", "config.json"), os.path.join(out, "config-4x.json"))
    os.rmdir(os.path.join(out, "legacy"))
    os.remove(draft_path)
    print(f"{name}: 4.x layout checked under transformers {transformers.__version__}")


def stories(model_dir, ids_json, out_file, seqlen=512, logit_rows=16):
    """The real trained stories260K (test/fixtures/stories260K-hf, 4.x config) loaded by
    from_pretrained: per-window losses over the given ids (the tokenized validation text) and
    the logits of the first window's first rows."""
    model = AutoModelForCausalLM.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32).eval()
    with open(ids_json) as f:
        tokens = json.load(f)
    losses = window_losses(model, tokens, seqlen)
    meta = {"transformers": transformers.__version__, "torch": torch.__version__, "seqlen": str(seqlen),
            f"perplexity_{seqlen}": repr(math.exp(sum(losses) / len(losses)))}
    write_safetensors(out_file, [
        ("tokens", torch.tensor(tokens), "I32"),
        (f"logits_{seqlen}", logits_of(model, tokens[:seqlen])[:logit_rows], "F32"),
        (f"losses_{seqlen}", torch.tensor(losses, dtype=torch.float64), "F32"),
    ], meta)
    print(f"stories260K: {len(losses)} windows of {seqlen}, ppl {meta[f'perplexity_{seqlen}']}")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    step = sys.argv[1]
    if step == "stories":
        stories(*sys.argv[2:5])
    else:
        for n in (sys.argv[3:] or CASES):
            {"make": make, "legacy": legacy}[step](n, sys.argv[2])
