#!/usr/bin/env python3
"""Build a tokenizer-only stand-in for `bert-base-uncased` from the files of
sentence-transformers/all-MiniLM-L6-v2 (same 30,522-token uncased WordPiece vocab).

    python bert_tokenizer_only.py MINILM_DIR OUT_DIR

Writes vocab.txt and tokenizer_config.json (copied), tokenizer.json (MiniLM's with
`truncation` and `padding` set to null, as bert-base-uncased's has neither) and a
config.json with bert-base-uncased's architecture values (no weights are staged).
Plain json module only; output is byte-for-byte deterministic.
"""
import json
import os
import shutil
import sys

CONFIG = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 30522,
}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for f in ("vocab.txt", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(src, f), os.path.join(out, f))
    with open(os.path.join(src, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    tok["truncation"] = None
    tok["padding"] = None
    if len(tok["model"]["vocab"]) != CONFIG["vocab_size"]:
        raise SystemExit("bert_tokenizer_only: unexpected vocabulary size")
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    print(f"bert_tokenizer_only: wrote {out}")


if __name__ == "__main__":
    main()
