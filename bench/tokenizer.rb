# frozen_string_literal: true

# Tokenizer throughput: Candle::Tokenizer#encode_batch against Python
# `tokenizers` Tokenizer.encode_batch on the same tokenizer.json and the same
# ~1 MB of text, in the same run.
#
#   bundle exec rake bench:tokenizer     # or: bundle exec ruby bench/tokenizer.rb
#
# Env: BENCH_BYTES (text size, default 1_000_000), BENCH_RUNS (turns, default
# 5; each turn runs 3 encode_batch calls per side, the best call counts), BENCH_PYTHON (a python with `tokenizers`; default: the staging
# venv, ~/.cache/candle-test-hub/venv/bin/python), BENCH_STRICT=1 (exit 1 when
# the target ratio >= 1.0 is missed). Tokenizers come from the warm HF cache.

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require "json"
require "open3"
require "tmpdir"
require "etc"

module TokenizerBench
  TARGET = 1.0
  TOKENIZERS = {
    "MiniLM (WordPiece)" => "sentence-transformers/all-MiniLM-L6-v2",
    "Qwen3 (byte-level BPE)" => "candle-test/qwen3-tokenizer"
  }.freeze

  # Lines of mixed prose, code and non-Latin scripts; shuffled with a fixed
  # seed into ~BENCH_BYTES of text.
  SEED_LINES = [
    "The quick brown fox jumps over the lazy dog while the committee debates the annual budget.",
    "In 2023, researchers measured 4.7% growth across 1,284 samples (p < 0.05).",
    "def encode_batch(texts): return [tokenizer.encode(t) for t in texts if t.strip()]",
    "東京の天気は晴れです。明日は雨が降るかもしれません。",
    "Москва — столица России, крупнейший по численности населения город страны.",
    "مرحبا بكم في عالم معالجة اللغات الطبيعية والنماذج اللغوية الكبيرة.",
    "Les élèves ont étudié la théorie de la relativité générale à l'université.",
    "Emoji test: 🤗 👩‍💻 🇫🇷 👍🏽 and a ZWJ family 👨‍👩‍👧‍👦 in one sentence.",
    "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY name;",
    "한국어 문장도 토큰화 속도를 측정하기 위해 포함되어 있습니다."
  ].freeze

  module_function

  def corpus(bytes)
    rng = Random.new(1234)
    out = []
    size = 0
    while size < bytes
      line = Array.new(rng.rand(1..4)) { SEED_LINES[rng.rand(SEED_LINES.size)] }.join(" ")
      out << line
      size += line.bytesize
    end
    out
  end

  def python
    ENV.fetch("BENCH_PYTHON") { File.join(Dir.home, ".cache", "candle-test-hub", "venv", "bin", "python") }
  end

  PY = <<~PY
    import json, sys, time
    import tokenizers
    from tokenizers import Tokenizer
    path, texts_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    texts = json.load(open(texts_path, encoding="utf-8"))
    best, count = None, 0
    for _ in range(runs):
        t0 = time.perf_counter()
        encs = tok.encode_batch(texts)
        dt = time.perf_counter() - t0
        count = sum(len(e.ids) for e in encs)
        best = dt if best is None else min(best, dt)
    print(json.dumps({"seconds": best, "tokens": count, "version": tokenizers.__version__}))
  PY

  def run
    bytes = Integer(ENV.fetch("BENCH_BYTES", "1000000"))
    runs = Integer(ENV.fetch("BENCH_RUNS", "5"))
    texts = corpus(bytes)
    mb = texts.sum(&:bytesize) / 1e6
    puts format("Tokenizer encode_batch: %d texts, %.2f MB, best of %d turns x 3, %d threads available", texts.size, mb, runs,
                Etc.nprocessors)
    failed = false
    Dir.mktmpdir("candle-tok-bench") do |dir|
      texts_path = File.join(dir, "texts.json")
      File.write(texts_path, JSON.generate(texts))
      TOKENIZERS.each do |label, repo|
        tok = Candle::Tokenizer.from_pretrained(repo)
        tok.no_padding
        tok.no_truncation
        json = Candle::Hub.cached_path(repo, "tokenizer.json")
        # Turns alternate (python, candle, python, ...) so machine noise hits both.
        py_runs = []
        candle_runs = []
        runs.times do
          out, err, status = Open3.capture3(python, "-c", PY, json, texts_path, "3")
          raise "python tokenizers failed (#{python}): #{err}" unless status.success?

          py_runs << JSON.parse(out)
          3.times do
            t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
            encs = tok.encode_batch(texts)
            candle_runs << (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0)
            @count = encs.sum(&:length)
          end
        end
        py = py_runs.min_by { |r| r["seconds"] }
        candle_best = candle_runs.min
        raise "#{label}: token counts differ (candle #{@count}, python #{py["tokens"]})" unless @count == py["tokens"]

        ratio = py["seconds"] / candle_best
        ok = ratio >= TARGET
        failed ||= !ok
        puts format("  %-24s candle %.3f s (%.2f MB/s)  python tokenizers %s %.3f s (%.2f MB/s)  ratio %.2f  %s",
                    label, candle_best, mb / candle_best, py["version"], py["seconds"], mb / py["seconds"], ratio,
                    ok ? "OK" : "MISS (target >= #{TARGET})")
        puts format("  %-24s tokens: candle %d, python %d", "", @count, py["tokens"])
      end
    end
    exit 1 if failed && ENV["BENCH_STRICT"] == "1"
  end
end

TokenizerBench.run if $PROGRAM_NAME == __FILE__
