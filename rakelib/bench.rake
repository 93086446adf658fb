# frozen_string_literal: true

require "rbconfig"
require_relative "../test/support/test_hf_cache"

# Benchmarks: one script per file in bench/ (see bench/README.md). Each runs
# after :compile, in its own Ruby process, and fails the task if it exits non-zero.
# They read the models from the test HF cache that `rake models:prewarm` fills
# (CANDLE_TEST_HF_CACHE, see test/support/test_hf_cache.rb).
def bench_ruby(script)
  sh(CandleTest::TestHFCache.env, RbConfig.ruby, script)
end

namespace :bench do
  desc "Hub download benchmark against the local test Hub (BENCH_MB=50 for a quick run)"
  task hub: :compile do
    bench_ruby "bench/hub.rb"
  end

  desc "LLM prefill/decode tokens/s, TTFT and RSS against llama.cpp's llama-bench (builds it once)"
  task llm: :compile do
    bench_ruby "bench/llm.rb"
  end

  desc "Tokenizer encode_batch throughput against Python tokenizers"
  task tokenizer: :compile do
    bench_ruby "bench/tokenizer.rb"
  end

  desc "Sentence embeddings/s, accuracy, RSS and warm start against sentence-transformers (PyTorch)"
  task embeddings: :compile do
    bench_ruby "bench/embeddings.rb"
  end
end

desc "Run every benchmark in bench/*.rb"
task bench: :compile do
  FileList["bench/*.rb"].sort.each { |script| bench_ruby script }
end
