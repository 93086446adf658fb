#!/usr/bin/env python3
"""Dequantize a llama-architecture GGUF into an HF LlamaForCausalLM checkpoint.

    python gguf_to_llama_safetensors.py MODEL.gguf OUT_DIR [--prompt TEXT --expect TEXT]

Writes to OUT_DIR:
  model.safetensors       float32 (lossless: every Q4_1/Q8_0 value is exact in f32),
                          HF names, keys sorted
  config.json             from the GGUF metadata (llama.* keys)
  generation_config.json  bos/eos ids
  tokenizer.json          rebuilt from tokenizer.ggml.* (byte-level BPE only)
  tokenizer_config.json   chat_template + bos/eos/pad/unk tokens from the metadata
  special_tokens_map.json

llama.cpp's convert_hf_to_gguf.py permutes the rows of attn_q / attn_k so that
rotary pairs are adjacent (GPT-J style, ggml rope mode 0); HF llama uses
rotate_half (NeoX style). The inverse permutation is applied per head (n_head
for q, n_head_kv for k).

Verification (exit code 1 on failure):
  * a float32 numpy forward pass on the *GGUF* tensors with ggml's adjacent-pair
    rope and one on the written *safetensors* with HF rotate_half must agree
    (max |diff| of the last-position logits < 1e-3): this checks the
    un-permutation and the name mapping;
  * with --expect, the greedy next token after --prompt (tokenized with the
    rebuilt tokenizer.json) must decode to the expected text.
"""
import argparse
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import load_file, save_file


def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def unpermute(w, n_head):
    """Inverse of llama.cpp's permute().

    permute() maps HF row (half * hd/2 + j) of each head to GGUF row (2 * j + half);
    so view the GGUF rows of a head as [hd/2, 2] and swap back to [2, hd/2].
    """
    rows = w.shape[0]
    return np.ascontiguousarray(
        w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def load_gguf_tensors(reader):
    out = {}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))  # ggml ne is innermost-first
        arr = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        out[t.name] = np.ascontiguousarray(arr.reshape(shape))
    return out


GGUF_TO_HF = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def to_hf(g, cfg):
    hf = {}
    n_head, n_kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    for name, arr in g.items():
        if name == "token_embd.weight":
            hf["model.embed_tokens.weight"] = arr
        elif name == "output_norm.weight":
            hf["model.norm.weight"] = arr
        elif name == "output.weight":
            hf["lm_head.weight"] = arr
        elif name == "rope_freqs.weight":
            raise SystemExit("gguf_to_llama: rope_freqs (llama3 rope scaling) not supported")
        elif name.startswith("blk."):
            _, i, kind, suffix = name.split(".")
            if kind not in GGUF_TO_HF:
                raise SystemExit(f"gguf_to_llama: unknown tensor {name}")
            if kind == "attn_q":
                arr = unpermute(arr, n_head)
            elif kind == "attn_k":
                arr = unpermute(arr, n_kv)
            hf[f"model.layers.{i}.{GGUF_TO_HF[kind]}.{suffix}"] = arr
        else:
            raise SystemExit(f"gguf_to_llama: unknown tensor {name}")
    if "lm_head.weight" not in hf:
        hf["lm_head.weight"] = hf["model.embed_tokens.weight"].copy()
    return hf


def build_config(r):
    arch = field(r, "general.architecture")
    if arch != "llama":
        raise SystemExit(f"gguf_to_llama: architecture {arch!r} is not llama")
    k = lambda s, d=None: field(r, f"llama.{s}", d)
    tokens = field(r, "tokenizer.ggml.tokens")
    n_head = int(k("attention.head_count"))
    hidden = int(k("embedding_length"))
    has_output = any(t.name == "output.weight" for t in r.tensors)
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": int(field(r, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(field(r, "tokenizer.ggml.eos_token_id")),
        "head_dim": int(k("rope.dimension_count", hidden // n_head)),
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": int(k("feed_forward_length")),
        "max_position_embeddings": int(k("context_length")),
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": n_head,
        "num_hidden_layers": int(k("block_count")),
        "num_key_value_heads": int(k("attention.head_count_kv", n_head)),
        "pretraining_tp": 1,
        "rms_norm_eps": float(np.float32(k("attention.layer_norm_rms_epsilon"))),
        "rope_scaling": None,
        "rope_theta": float(k("rope.freq_base", 10000.0)),
        "tie_word_embeddings": not has_output,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": int(k("vocab_size", len(tokens))),
    }
    pad = field(r, "tokenizer.ggml.padding_token_id")
    if pad is not None:
        cfg["pad_token_id"] = int(pad)
    if cfg["head_dim"] * n_head != hidden:
        raise SystemExit("gguf_to_llama: head_dim * n_head != hidden_size")
    # round the epsilon stored as f32 (9.9999997e-06) back to the decimal HF uses
    cfg["rms_norm_eps"] = float(f"{cfg['rms_norm_eps']:.6g}")
    return cfg


def build_tokenizer(r):
    """HF tokenizers JSON for a gpt2-style byte-level BPE vocabulary."""
    model = field(r, "tokenizer.ggml.model")
    if model != "gpt2":
        raise SystemExit(f"gguf_to_llama: tokenizer.ggml.model {model!r} not supported (only gpt2 byte-level BPE)")
    pre = field(r, "tokenizer.ggml.pre", "default")
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = field(r, "tokenizer.ggml.merges")
    for m in merges:
        if m.count(" ") != 1:
            raise SystemExit(f"gguf_to_llama: merge {m!r} does not split into a pair")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    if pre == "smollm":
        # llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM = \p{N} split, then the gpt2 regex
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    elif pre in ("gpt2", "default"):
        pre_tok = byte_level
    else:
        raise SystemExit(f"gguf_to_llama: tokenizer.ggml.pre {pre!r} not supported")
    added = [{"id": i, "content": tokens[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, ty in enumerate(types) if ty == 3]  # 3 = CONTROL
    vocab = {tok: i for i, tok in enumerate(tokens)}
    if len(vocab) != len(tokens):
        raise SystemExit("gguf_to_llama: duplicate tokens in vocabulary")
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pre_tok,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": list(merges)},
    }, added


def build_tokenizer_config(r, added, cfg):
    tokens = field(r, "tokenizer.ggml.tokens")
    tok = lambda key: tokens[int(field(r, key))] if field(r, key) is not None else None
    tc = {
        "add_bos_token": bool(field(r, "tokenizer.ggml.add_bos_token", False)),
        "add_prefix_space": False,
        "added_tokens_decoder": {str(a["id"]): {k: a[k] for k in
                                                ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                 for a in added},
        "bos_token": tok("tokenizer.ggml.bos_token_id"),
        "clean_up_tokenization_spaces": False,
        "eos_token": tok("tokenizer.ggml.eos_token_id"),
        "model_max_length": cfg["max_position_embeddings"],
        "pad_token": tok("tokenizer.ggml.padding_token_id"),
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": tok("tokenizer.ggml.unknown_token_id"),
        "vocab_size": len(tokens),
    }
    tpl = field(r, "tokenizer.chat_template")
    if tpl:
        tc["chat_template"] = tpl
    stm = {k: tc[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if tc[k] is not None}
    return tc, stm


# ---------------- numpy reference forward passes ----------------
def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope_tables(T, hd, theta):
    inv = theta ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = np.arange(T)[:, None] * inv[None, :]  # [T, hd/2]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


def rope_neox(x, cos, sin):  # HF rotate_half on [H, T, hd]
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def rope_pairs(x, cos, sin):  # ggml rope mode 0: adjacent pairs (2i, 2i+1)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x2 * cos + x1 * sin
    return out


def forward(w, cfg, ids, names, rope):
    """w: tensor dict; names(layer, kind) -> key; returns logits of the last position."""
    H, nh, nkv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    cos, sin = rope_tables(T, hd, cfg["rope_theta"])
    x = w[names(None, "embed")][ids]
    mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1)
    for i in range(cfg["num_hidden_layers"]):
        W = lambda kind: w[names(i, kind)]
        h = rms_norm(x, W("attn_norm"), eps)
        q = (h @ W("q").T).reshape(T, nh, hd).transpose(1, 0, 2)
        k = (h @ W("k").T).reshape(T, nkv, hd).transpose(1, 0, 2)
        v = (h @ W("v").T).reshape(T, nkv, hd).transpose(1, 0, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = nh // nkv
        k, v = np.repeat(k, rep, axis=0), np.repeat(v, rep, axis=0)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(T, nh * hd)
        x = x + o @ W("o").T
        h = rms_norm(x, W("ffn_norm"), eps)
        g = h @ W("gate").T
        x = x + ((g / (1.0 + np.exp(-g))) * (h @ W("up").T)) @ W("down").T
    x = rms_norm(x[-1:], w[names(None, "norm")], eps)
    return (x @ w[names(None, "lm_head")].T)[0]


GGUF_NAMES = {"attn_norm": "attn_norm", "ffn_norm": "ffn_norm", "q": "attn_q", "k": "attn_k", "v": "attn_v",
              "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
HF_NAMES = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "q": "self_attn.q_proj",
            "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj", "gate": "mlp.gate_proj",
            "up": "mlp.up_proj", "down": "mlp.down_proj"}


def gguf_name(g):
    def f(i, kind):
        if i is None:
            return {"embed": "token_embd.weight", "norm": "output_norm.weight",
                    "lm_head": "output.weight" if "output.weight" in g else "token_embd.weight"}[kind]
        return f"blk.{i}.{GGUF_NAMES[kind]}.weight"
    return f


def hf_name(i, kind):
    if i is None:
        return {"embed": "model.embed_tokens.weight", "norm": "model.norm.weight", "lm_head": "lm_head.weight"}[kind]
    return f"model.layers.{i}.{HF_NAMES[kind]}.weight"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("out")
    ap.add_argument("--prompt", default="The capital of France is")
    ap.add_argument("--expect", default=None, help="expected greedy next token (decoded), e.g. ' Paris'")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    r = GGUFReader(a.gguf)
    cfg = build_config(r)
    g = load_gguf_tensors(r)
    hf = to_hf(g, cfg)
    save_file({k: hf[k] for k in sorted(hf)}, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    del hf

    def dump(name, obj):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, ensure_ascii=False, sort_keys=False)
            f.write("\n")

    dump("config.json", cfg)
    gen = {"bos_token_id": cfg["bos_token_id"], "eos_token_id": cfg["eos_token_id"]}
    if "pad_token_id" in cfg:
        gen["pad_token_id"] = cfg["pad_token_id"]
    dump("generation_config.json", gen)
    tok_json, added = build_tokenizer(r)
    dump("tokenizer.json", tok_json)
    tc, stm = build_tokenizer_config(r, added, cfg)
    dump("tokenizer_config.json", tc)
    dump("special_tokens_map.json", stm)

    # ---- verification ----
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(a.out, "tokenizer.json"))
    for text in (a.prompt, "Hello, world! 12345 naïve café\n  indented"):
        enc = tok.encode(text, add_special_tokens=False)
        if tok.decode(enc.ids) != text:
            raise SystemExit(f"gguf_to_llama: tokenizer round trip failed for {text!r}")
    chat = tok.encode("<|im_start|>user\nHi<|im_end|>", add_special_tokens=False).ids
    for a_ in added:
        if a_["content"] in ("<|im_start|>", "<|im_end|>") and a_["id"] not in chat:
            raise SystemExit("gguf_to_llama: special tokens not recognised by the rebuilt tokenizer")
    ids = np.array(tok.encode(a.prompt, add_special_tokens=False).ids)
    st = load_file(os.path.join(a.out, "model.safetensors"))
    lg = forward(g, cfg, ids, gguf_name(g), rope_pairs)
    lh = forward(st, cfg, ids, hf_name, rope_neox)
    diff = float(np.abs(lg - lh).max())
    nxt = int(lh.argmax())
    word = tok.decode([nxt])
    print(f"gguf_to_llama: prompt ids {ids.tolist()}; max |logits(gguf, pair rope) - logits(safetensors, "
          f"rotate_half)| = {diff:.2e}; greedy next token {nxt} {word!r}")
    if diff > 1e-3 or int(lg.argmax()) != nxt:
        raise SystemExit(f"gguf_to_llama: GGUF and safetensors forward passes disagree ({diff})")
    if a.expect is not None and word != a.expect:
        raise SystemExit(f"gguf_to_llama: expected next token {a.expect!r} after {a.prompt!r}, got {word!r}")
    print(f"gguf_to_llama: wrote {a.out}")


if __name__ == "__main__":
    main()
