"""A random-weight llama GGUF whose widths are multiples of 256, for bench/llm.rb.

The real GGUF fixtures are 576 (SmolLM2) and 896 (Qwen2.5-0.5B) wide: llama.cpp
cannot store their matrices in the K-quants (rows must be whole 256-value
super-blocks), so its Q4_K_M / Q6_K files fall back to Q5_0 / Q8_0 for most
tensors. This model is 1024 wide (FFN 2816, 12 layers, 16 query / 4 KV heads of
64, ~185 M parameters) so that `llama-quantize --pure` can make every tensor
Q4_K or Q6_K. Speed does not depend on the weights' values; the tokenizer (and
its vocabulary size) is copied from the GGUF given, so both engines can run it.

    python wide_llama_gguf.py SOURCE.gguf OUT-F16.gguf

Needs numpy and gguf-py (llama.cpp's gguf-py directory on PYTHONPATH).
Deterministic: numpy seed 0.
"""

import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType, GGUFWriter

HIDDEN, FFN, LAYERS, HEADS, KV_HEADS = 1024, 2816, 12, 16, 4
HEAD_DIM = HIDDEN // HEADS


def main(src, out):
    reader = GGUFReader(src)
    w = GGUFWriter(out, "llama")
    for name, field in reader.fields.items():
        if not name.startswith("tokenizer."):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            w.add_key_value(name, field.contents(), vtype, sub_type=field.types[-1])
        else:
            w.add_key_value(name, field.contents(), vtype)
    vocab = len(reader.fields["tokenizer.ggml.tokens"].contents())
    w.add_name("wide-random-llama")
    w.add_context_length(2048)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(LAYERS)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(1)  # mostly F16

    rng = np.random.default_rng(0)

    def mat(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)

    def ones(n):
        return np.ones(n, dtype=np.float32)

    w.add_tensor("token_embd.weight", mat(vocab, HIDDEN))
    for i in range(LAYERS):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", ones(HIDDEN))
        w.add_tensor(p + "attn_q.weight", mat(HIDDEN, HIDDEN))
        w.add_tensor(p + "attn_k.weight", mat(KV_HEADS * HEAD_DIM, HIDDEN))
        w.add_tensor(p + "attn_v.weight", mat(KV_HEADS * HEAD_DIM, HIDDEN))
        w.add_tensor(p + "attn_output.weight", mat(HIDDEN, HIDDEN))
        w.add_tensor(p + "ffn_norm.weight", ones(HIDDEN))
        w.add_tensor(p + "ffn_gate.weight", mat(FFN, HIDDEN))
        w.add_tensor(p + "ffn_up.weight", mat(FFN, HIDDEN))
        w.add_tensor(p + "ffn_down.weight", mat(HIDDEN, FFN))
    w.add_tensor("output_norm.weight", ones(HIDDEN))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
