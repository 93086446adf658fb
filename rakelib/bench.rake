# frozen_string_literal: true

# Benchmarks: one script per file in bench/ (see bench/README.md). Each runs
# after :compile, in its own Ruby process, and fails the task if it exits non-zero.
namespace :bench do
  desc "Hub download benchmark against the local test Hub (BENCH_MB=50 for a quick run)"
  task hub: :compile do
    ruby "bench/hub.rb"
  end

  desc "LLM prefill/decode tokens/s, TTFT and RSS against llama.cpp's llama-bench (builds it once)"
  task llm: :compile do
    ruby "bench/llm.rb"
  end

  desc "Tokenizer encode_batch throughput against Python tokenizers"
  task tokenizer: :compile do
    ruby "bench/tokenizer.rb"
  end

  desc "Sentence embeddings/s, accuracy, RSS and warm start against sentence-transformers (PyTorch)"
  task embeddings: :compile do
    ruby "bench/embeddings.rb"
  end
end

desc "Run every benchmark in bench/*.rb"
task bench: :compile do
  FileList["bench/*.rb"].sort.each { |script| ruby script }
end
