# frozen_string_literal: true

# Sentence embeddings: Candle::EmbeddingModel#embed against Python
# sentence-transformers' SentenceTransformer#encode (PyTorch, CPU) on
# sentence-transformers/all-MiniLM-L6-v2 from the warm HF cache, the same
# sentences and the same thread count, in the same run.
#
#   bundle exec rake bench:embeddings    # or: bundle exec ruby bench/embeddings.rb
#
# Measures sentences/s at batch size 1 and 32 (target: ratio candle/PyTorch
# >= 1.3 at both), the max abs difference between the two sides' embeddings
# (must be < 1e-4: a correctness check, exit 1 when it fails), candle's peak
# RSS after load (VmHWM of a fresh process that loads the model and embeds one
# sentence; target <= 1.3x the size of model.safetensors) and the warm
# `require "candle"` -> first embedding time of a fresh process (target <= 0.3 s).
#
# Python: BENCH_PYTHON, else ~/.cache/candle-torch-venv/bin/python when it
# exists (sentence-transformers is pip-installed into it when missing), else a
# venv made once in ~/.cache/candle-bench/embeddings-venv (torch,
# transformers and sentence-transformers from PyPI, pinned below).
# Env: BENCH_THREADS (default: all cores; candle: CANDLE_NUM_THREADS, PyTorch:
# torch.set_num_threads), BENCH_SENTENCES (default 2000), BENCH_BATCH1_SENTENCES
# (default 500: batch size 1 runs on every (2000/500)th sentence, the same
# length mix, to keep the run short), BENCH_RUNS (turns, default 3, the best
# pass per side counts), BENCH_PYTHON, BENCH_STRICT=1
# (exit 1 when a target is missed). No network: HF_HUB_OFFLINE=1 for both sides.

require "etc"
THREADS = Integer(ENV.fetch("BENCH_THREADS", Etc.nprocessors.to_s))
# candle reads these when its first matmul / the rayon pool starts: set them
# before anything loads.
ENV["CANDLE_NUM_THREADS"] = THREADS.to_s
ENV["RAYON_NUM_THREADS"] = THREADS.to_s
ENV["HF_HUB_OFFLINE"] = "1"
ENV["CANDLE_PROGRESS"] = "0"

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require "fileutils"
require "json"
require "open3"
require "rbconfig"
require "tmpdir"

module EmbeddingsBench
  REPO = "sentence-transformers/all-MiniLM-L6-v2"
  SPEED_TARGET = 1.3     # candle sentences/s / PyTorch sentences/s, at batch 1 and 32
  RSS_TARGET = 1.3       # candle peak RSS / size of model.safetensors
  WARM_TARGET = 0.3      # seconds, require "candle" -> first embedding
  MAX_DIFF = 1e-4        # max abs difference of the embeddings (correctness)
  BATCH_SIZES = [1, 32].freeze
  CACHE = File.join(Dir.home, ".cache", "candle-bench")
  TORCH_VENV = File.join(Dir.home, ".cache", "candle-torch-venv")
  PIP_PINS = %w[torch==2.15.0 transformers==5.24.0 sentence-transformers==6.2.0].freeze

  WORDS = %w[
    the a an this that every some many few our their its new old small large early late quick slow
    model data system city river market team report study result value network engine library user
    server program teacher student doctor patient farmer village company budget policy question answer
    language sentence energy water weather storm mountain forest garden kitchen window train bridge
    museum concert festival history science music project research council committee country border
    measures describes improves reduces explains follows supports changes opens closes builds
    carries finds shows keeps brings leaves meets moves reads writes compares predicts
    quickly carefully rarely often slowly clearly nearly almost recently finally
    and but because while although after before during under over across between without through
    green bright quiet heavy simple modern local public private strong weak careful famous ancient
  ].freeze
  OPENERS = [
    "In %d,", "According to the report,", "Last week,", "For most people,", "After the meeting,",
    "In the north of the country,", "By the end of the year,", "Surprisingly,", "As expected,", "Yesterday,"
  ].freeze

  module_function

  # Deterministic English-like sentences from a fixed seed: lengths mostly
  # 20-220 characters, one in twenty 250-700 (up to ~120 tokens, under the
  # 256-token limit), ~140 characters on average.
  def sentences(count)
    rng = Random.new(20_240_601)
    Array.new(count) do
      target = rng.rand < 0.05 ? rng.rand(250..700) : rng.rand(20..220)
      words = []
      words << format(OPENERS[rng.rand(OPENERS.size)], rng.rand(1900..2030)) if rng.rand < 0.3
      len = words.sum { |w| w.size + 1 }
      while len < target
        w = WORDS[rng.rand(WORDS.size)]
        w = "#{w}," if rng.rand < 0.06
        w = rng.rand(1..9999).to_s if rng.rand < 0.03
        words << w
        len += w.size + 1
      end
      words[0] = words[0].capitalize
      "#{words.join(" ").chomp(",")}."
    end
  end

  def sh!(*cmd)
    out, status = Open3.capture2e(*cmd)
    raise "#{cmd.join(" ")} failed:\n#{out[-3000..] || out}" unless status.success?

    out
  end

  def python_has_st?(python)
    system(python, "-c", "import sentence_transformers", out: File::NULL, err: File::NULL)
  end

  # A python with sentence-transformers (and torch), installing it on first use.
  def python
    return ENV["BENCH_PYTHON"] if ENV["BENCH_PYTHON"]

    py = File.join(TORCH_VENV, "bin", "python")
    if File.executable?(py)
      unless python_has_st?(py)
        warn "bench: pip install sentence-transformers into #{TORCH_VENV} ..."
        sh!(py, "-m", "pip", "install", "--quiet", PIP_PINS.last)
      end
      return py
    end
    venv = File.join(CACHE, "embeddings-venv")
    py = File.join(venv, "bin", "python")
    unless File.executable?(py) && python_has_st?(py)
      FileUtils.mkdir_p(CACHE)
      warn "bench: creating #{venv} (#{PIP_PINS.join(" ")} from PyPI; large download) ..."
      sh!("python3", "-m", "venv", venv) unless File.executable?(py)
      sh!(py, "-m", "pip", "install", "--quiet", *PIP_PINS)
    end
    py
  end

  # The PyTorch side: a long-lived child (importing torch takes seconds) that
  # loads the model once, then runs one timed encode per command so turns
  # alternate with candle's. One JSON line per reply on stdout.
  PY = <<~'PY'
    import json, sys, time, os
    import numpy as np
    import torch, transformers, sentence_transformers
    from sentence_transformers import SentenceTransformer
    snapshot, texts_path, out_path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(threads)
    texts = json.load(open(texts_path, encoding="utf-8"))
    model = SentenceTransformer(snapshot, device="cpu")
    def hwm_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    def encode(batch, size):
        # normalize_embeddings=False: the model's own Normalize module already
        # makes unit vectors (checked on the Ruby side).
        return model.encode(batch, batch_size=size, normalize_embeddings=False, show_progress_bar=False,
                            convert_to_numpy=True)
    encode(["hello"], 1)
    rss = hwm_kib()
    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
    reply({"torch": torch.__version__, "transformers": transformers.__version__,
           "sentence_transformers": sentence_transformers.__version__, "threads": torch.get_num_threads(),
           "max_seq_length": model.max_seq_length, "modules": [type(m).__name__ for m in model],
           "hwm_kib_after_load": rss})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "save":          # warm-up pass at batch 32 that also writes the embeddings
            emb = encode(texts, 32)
            np.ascontiguousarray(emb, dtype="<f4").tofile(out_path)
            reply({"rows": int(emb.shape[0]), "dims": int(emb.shape[1])})
        elif cmd[0] == "encode":      # encode BATCH_SIZE STEP: one timed pass over texts[::STEP]
            size, step = int(cmd[1]), int(cmd[2])
            batch = texts[::step]
            t0 = time.perf_counter()
            encode(batch, size)
            reply({"seconds": time.perf_counter() - t0})
  PY

  # A fresh process: require -> from_pretrained -> embed("hello"), timed
  # inside it, plus its VmHWM (peak RSS) at the end.
  CHILD = <<~'RUBY'
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    require "candle"
    t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    base = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1].to_i
    model = Candle::EmbeddingModel.from_pretrained(ARGV[0])
    t2 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    model.embed("hello")
    t3 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    hwm = File.read("/proc/self/status")[/^VmHWM:\s+(\d+)/, 1].to_i
    puts [t3 - t0, t1 - t0, t2 - t1, t3 - t2, hwm, base].join(" ")
  RUBY

  def fresh_process
    out = sh!(ENV.to_h, RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", CHILD, REPO)
    total, req, load, embed, hwm, base = out.lines.last.split.map(&:to_f)
    { total: total, require: req, load: load, embed: embed, hwm_kib: hwm.to_i, base_kib: base.to_i }
  end

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # texts[0], texts[step], texts[2 * step], ... (Python: texts[::step]).
  def every(texts, step) = texts.each_slice(step).map(&:first)

  def mark(ok) = ok ? "OK" : "MISS"

  def run
    count = Integer(ENV.fetch("BENCH_SENTENCES", "2000"))
    runs = Integer(ENV.fetch("BENCH_RUNS", "3"))
    batch1 = Integer(ENV.fetch("BENCH_BATCH1_SENTENCES", "500"))
    texts = sentences(count)
    # Batch 1 is the slow case: it runs on every step-th sentence (same length mix).
    steps = { 1 => [(count / batch1.to_f).ceil, 1].max, 32 => 1 }
    sub = every(texts, steps[1])
    weights = Candle::Hub.cached_path(REPO, "model.safetensors") or
      raise "#{REPO} is not in the HF cache; run rake models:prewarm"
    snapshot = File.dirname(weights)
    tok = Candle::Tokenizer.from_pretrained(REPO)
    tok.no_padding
    tok.no_truncation
    tokens = tok.encode_batch(texts).map(&:length)
    over = tokens.count { |n| n > 256 }

    puts format("Sentence embeddings, %s, %d thread(s) (candle: CANDLE_NUM_THREADS; PyTorch: torch.set_num_threads)",
                REPO, THREADS)
    puts format("  %d sentences, mean %.1f characters (min %d, max %d), mean %.1f tokens incl. [CLS]/[SEP] " \
                "(%d over the 256-token limit); best of %d turns",
                texts.size, texts.sum(&:size).fdiv(texts.size), texts.map(&:size).min, texts.map(&:size).max,
                tokens.sum.fdiv(tokens.size), over, runs)
    puts format("  batch 1 runs on every %d%s sentence: %d sentences, mean %.1f characters",
                steps[1], steps[1] == 1 ? "" : "th", sub.size, sub.sum(&:size).fdiv(sub.size))
    # Both sides need the cores: a busy machine skews the ratios (see bench/README.md).
    load = File.readable?("/proc/loadavg") ? File.read("/proc/loadavg").split.first(3).join(" ") : "n/a"
    puts format("  %d CPUs, load average at start %s", Etc.nprocessors, load)

    failed = false
    missed = false
    Dir.mktmpdir("candle-emb-bench") do |dir|
      texts_path = File.join(dir, "texts.json")
      py_out = File.join(dir, "torch.f32")
      File.write(texts_path, JSON.generate(texts))
      py_env = { "HF_HUB_OFFLINE" => "1", "TRANSFORMERS_OFFLINE" => "1", "OMP_NUM_THREADS" => THREADS.to_s,
                 "MKL_NUM_THREADS" => THREADS.to_s, "RAYON_NUM_THREADS" => THREADS.to_s,
                 "TOKENIZERS_PARALLELISM" => "true",
                 "HF_HUB_DISABLE_PROGRESS_BARS" => "1", "TRANSFORMERS_VERBOSITY" => "error" }
      py_err = File.join(dir, "python.err")
      stdin, stdout, wait = Open3.popen2(py_env, python, "-c", PY, snapshot, texts_path, py_out, THREADS.to_s,
                                         err: py_err)
      ask = lambda do |cmd|
        stdin.puts(cmd)
        line = stdout.gets or raise "python side died:\n#{File.read(py_err)[-3000..]}"
        JSON.parse(line)
      end
      info = JSON.parse(stdout.gets || raise("python side failed to start:\n#{File.read(py_err)[-3000..]}"))
      begin
        model = Candle::EmbeddingModel.from_pretrained(REPO)
        unless info["max_seq_length"] == model.max_length
          raise "max length differs: candle #{model.max_length}, sentence-transformers #{info["max_seq_length"]}"
        end

        # Warm-up: a full pass at batch 32 on both sides (these give the
        # embeddings compared below) and a short one at batch 1.
        shape = ask.call("save")
        candle_emb = model.embed(texts, batch_size: 32)
        warm = [count / 50, 1].max
        ask.call("encode 1 #{warm}")
        model.embed(every(texts, warm), batch_size: 1)

        # Turns alternate (PyTorch, candle, PyTorch, ...) so machine noise hits both.
        best = BATCH_SIZES.to_h { |b| [b, { torch: Float::INFINITY, candle: Float::INFINITY }] }
        runs.times do
          BATCH_SIZES.each do |b|
            best[b][:torch] = [best[b][:torch], ask.call("encode #{b} #{steps[b]}")["seconds"]].min
            list = every(texts, steps[b])
            t0 = now
            model.embed(list, batch_size: b)
            best[b][:candle] = [best[b][:candle], now - t0].min
          end
        end

        puts format("  candle %s (f32, %s) vs sentence-transformers %s, torch %s, transformers %s (%s)",
                    Candle::VERSION, model.pooling, info["sentence_transformers"], info["torch"],
                    info["transformers"], info["modules"].join(" -> "))
        puts "  sentences/s, higher is better:"
        BATCH_SIZES.each do |b|
          n = every(texts, steps[b]).size
          c = n / best[b][:candle]
          t = n / best[b][:torch]
          ok = c / t >= SPEED_TARGET
          missed ||= !ok
          puts format("    batch %-3d candle %8.1f   PyTorch %8.1f   ratio %.2f (target >= %.1f) %s",
                      b, c, t, c / t, SPEED_TARGET, mark(ok))
        end

        # Correctness: both sides unit vectors, same values.
        torch_emb = File.binread(py_out).unpack("e*").each_slice(shape["dims"]).to_a
        raise "python wrote #{torch_emb.size} rows, expected #{count}" unless torch_emb.size == count

        norm_err = lambda { |rows| rows.map { |r| (Math.sqrt(r.sum { |x| x * x }) - 1).abs }.max }
        diff = 0.0
        candle_emb.each_with_index do |row, i|
          other = torch_emb[i]
          row.each_with_index do |x, j|
            d = (x - other[j]).abs
            diff = d if d > diff
          end
        end
        norms_ok = norm_err.call(candle_emb) < 1e-4 && norm_err.call(torch_emb) < 1e-4
        diff_ok = diff < MAX_DIFF && candle_emb.first.size == torch_emb.first.size
        failed ||= !(norms_ok && diff_ok)
        puts format("  max abs difference over %d x %d: %.2e (must be < %.0e) %s   max |norm - 1|: candle %.1e, " \
                    "PyTorch %.1e %s",
                    count, candle_emb.first.size, diff, MAX_DIFF, diff_ok ? "OK" : "FAIL",
                    norm_err.call(candle_emb), norm_err.call(torch_emb), norms_ok ? "OK" : "FAIL")
      ensure
        begin
          stdin.puts("quit")
          stdin.close
        rescue IOError, Errno::EPIPE
          nil
        end
        stdout.close
        wait.value
      end

      # Fresh processes: one warm-up, then the best of 3 for the time; the
      # peak RSS of the first (it does not depend on the run).
      fresh_process
      fresh = Array.new(3) { fresh_process }
      start = fresh.min_by { |f| f[:total] }
      size = File.size(weights)
      rss = fresh.first[:hwm_kib] * 1024.0
      rss_ok = rss / size <= RSS_TARGET
      warm_ok = start[:total] <= WARM_TARGET
      missed ||= !(rss_ok && warm_ok)
      puts format("  peak RSS after load + 1 sentence (fresh process, VmHWM): %.1f MiB, model.safetensors %.1f MiB, " \
                  "ratio %.2f (target <= %.1f) %s",
                  rss / 2**20, size / 2.0**20, rss / size, RSS_TARGET, mark(rss_ok))
      puts format("    of which Ruby + require \"candle\" (VmHWM before from_pretrained): %.1f MiB; reference: " \
                  "sentence-transformers process after load + 1 sentence %.1f MiB",
                  fresh.first[:base_kib] / 1024.0, info["hwm_kib_after_load"] / 1024.0)
      puts format("  warm require \"candle\" -> first embedding (fresh process, best of 3): %.3f s " \
                  "(require %.3f + from_pretrained %.3f + embed %.3f) (target <= %.1f) %s",
                  start[:total], start[:require], start[:load], start[:embed], WARM_TARGET, mark(warm_ok))
    end
    exit 1 if failed
    exit 1 if missed && ENV["BENCH_STRICT"] == "1"
  end
end

EmbeddingsBench.run if $PROGRAM_NAME == __FILE__
