# frozen_string_literal: true

# LLM speed: prefill (128 and 512 tokens) and decode (128 tokens) tokens/s,
# warm time to first token and peak RSS of Candle::LLM (measured by `candle
# bench --json`), against llama.cpp's llama-bench on the same GGUF files, same
# thread count, in the same run.
#
#   bundle exec rake bench:llm           # or: bundle exec ruby bench/llm.rb
#
# llama.cpp is built once (cmake, Release, CPU, GGML_NATIVE=ON, AMX off: it
# dies with SIGILL on these VMs) from the llama-cpp-python 0.3.36 sdist on
# PyPI into ~/.cache/candle-bench/llama.cpp (override: LLAMA_BENCH=path to a
# llama-bench binary). cmake comes from PyPI when the system has none.
# Env: BENCH_THREADS (default: all cores), BENCH_MODELS (default: all of
# smollm,qwen,q4_0,q5_0,q8_0,q4_k,q6_k).
# smollm and qwen come from the warm test HF cache (rake models:prewarm; see
# bench/README.md). The others are made once into ~/.cache/candle-bench/quants
# with llama.cpp's llama-quantize: SmolLM2 re-quantized to Q4_0 / Q5_0 / Q8_0,
# and a random-weight 1024-wide llama (bench/wide_llama_gguf.py) as pure Q4_K
# and Q6_K -- the real models' widths (576, 896) are not multiples of 256, so
# their K-quant files hold mostly Q5_0 / Q8_0 tensors.
# Each model is also checked for agreement: 32 greedy tokens after a fixed
# prompt, from llama.cpp's llama-simple and from Candle::LLM#generate.

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require "etc"
require "fileutils"
require "json"
require "open3"
require "rbconfig"
require "tmpdir"

module LLMBench
  MODELS = {
    "smollm" => ["candle-test/SmolLM2-135M-Instruct-GGUF", "SmolLM2-135M-Instruct.Q4_1.gguf"],
    "qwen" => ["Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]
  }.freeze
  # Made with llama-quantize: name => [source, llama-quantize type, extra flags].
  MADE = {
    "q4_0" => [:smollm, "Q4_0", []],
    "q5_0" => [:smollm, "Q5_0", []],
    "q8_0" => [:smollm, "Q8_0", []],
    "q4_k" => [:wide, "Q4_K", ["--pure"]],
    "q6_k" => [:wide, "Q6_K", ["--pure"]]
  }.freeze
  AGREE_PROMPT = "The capital of France is"
  AGREE_TOKENS = 32
  LLAMA_CPP_SDIST = "llama-cpp-python==0.3.36"
  CACHE = File.join(Dir.home, ".cache", "candle-bench")

  module_function

  def sh!(*cmd, chdir: nil)
    out, status = Open3.capture2e(*cmd, **(chdir ? { chdir: chdir } : {}))
    raise "#{cmd.join(" ")} failed:\n#{out[-3000..] || out}" unless status.success?

    out
  end

  def cmake
    return "cmake" if system("cmake --version", out: File::NULL, err: File::NULL)

    venv = File.join(CACHE, "cmake-venv")
    sh!("python3", "-m", "venv", venv) unless File.exist?(File.join(venv, "bin", "pip"))
    sh!(File.join(venv, "bin", "pip"), "install", "--quiet", "cmake==4.1.2") unless File.exist?(File.join(venv, "bin", "cmake"))
    File.join(venv, "bin", "cmake")
  end

  # Path to llama-bench, building it on first use.
  def llama_bench
    return ENV["LLAMA_BENCH"] if ENV["LLAMA_BENCH"]

    bin = File.join(CACHE, "llama.cpp", "build", "bin", "llama-bench")
    return bin if File.executable?(bin)

    FileUtils.mkdir_p(CACHE)
    src = File.join(CACHE, "llama.cpp")
    unless File.exist?(File.join(src, "CMakeLists.txt"))
      Dir.mktmpdir("llama-sdist") do |tmp|
        name = LLAMA_CPP_SDIST.split("==").first
        warn "bench: downloading the #{LLAMA_CPP_SDIST} sdist for llama.cpp's sources ..."
        sh!("python3", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", name, "-d", tmp, LLAMA_CPP_SDIST)
        tarball = Dir[File.join(tmp, "*.tar.gz")].first or raise "no sdist downloaded"
        sh!("tar", "xzf", tarball, "-C", tmp)
        FileUtils.rm_rf(src)
        FileUtils.mv(Dir[File.join(tmp, "llama_cpp_python-*", "vendor", "llama.cpp")].first, src)
      end
    end
    warn "bench: building llama-bench (cmake, Release, CPU; a few minutes on 2 cores) ..."
    no_amx = "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
    sh!(cmake, "-S", src, "-B", File.join(src, "build"), "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON",
        "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF",
        "-DCMAKE_C_FLAGS=#{no_amx}", "-DCMAKE_CXX_FLAGS=#{no_amx}")
    sh!(cmake, "--build", File.join(src, "build"), "--target", "llama-bench", "-j", Etc.nprocessors.to_s)
    bin
  end

  def llama_tool(name)
    llama_bench
    bin = File.join(CACHE, "llama.cpp", "build", "bin", name)
    return bin if File.executable?(bin)

    warn "bench: building #{name} ..."
    sh!(cmake, "--build", File.join(CACHE, "llama.cpp", "build"), "--target", name, "-j", Etc.nprocessors.to_s)
    bin
  end

  # Python with numpy for wide_llama_gguf.py (gguf-py comes from llama.cpp's sources).
  def numpy_python
    py = ENV["BENCH_PYTHON"] || File.join(CACHE, "gguf-venv", "bin", "python")
    return py if system(py, "-c", "import numpy", out: File::NULL, err: File::NULL)

    venv = File.join(CACHE, "gguf-venv")
    sh!("python3", "-m", "venv", venv)
    sh!(File.join(venv, "bin", "pip"), "install", "--quiet", "numpy==2.4.6")
    File.join(venv, "bin", "python")
  end

  # Path of a made model (see MADE), making it on first use.
  def made_model(name)
    source, type, flags = MADE.fetch(name)
    dir = File.join(CACHE, "quants", "#{source}-#{type}")
    base = source == :wide ? "wide-random-llama" : "SmolLM2-135M-Instruct"
    out = File.join(dir, "#{base}.#{type}.gguf")
    return out if File.exist?(out)

    FileUtils.mkdir_p(dir)
    smollm = Candle::Hub.cached_path(*MODELS.fetch("smollm")) or raise "SmolLM2 is not cached; run rake models:prewarm"
    src = smollm
    if source == :wide
      src = File.join(CACHE, "quants", "wide-f16.gguf")
      unless File.exist?(src)
        warn "bench: making the 1024-wide random llama (F16) ..."
        env = { "PYTHONPATH" => File.join(CACHE, "llama.cpp", "gguf-py") }
        sh!(env, numpy_python, File.expand_path("wide_llama_gguf.py", __dir__), smollm, "#{src}.tmp")
        File.rename("#{src}.tmp", src)
      end
    end
    warn "bench: llama-quantize #{File.basename(src)} -> #{type} ..."
    sh!(llama_tool("llama-quantize"), *flags, "--allow-requantize", src, "#{out}.tmp", type, "2")
    File.rename("#{out}.tmp", out)
    out
  end

  # [label, path, candle's model argument]
  def model(name)
    if MODELS.key?(name)
      repo, file = MODELS[name]
      path = Candle::Hub.cached_path(repo, file) or raise "#{repo}/#{file} is not cached; run rake models:prewarm"
      [file, path, "#{repo}:#{file}"]
    else
      path = made_model(name)
      [File.basename(path), path, File.dirname(path)]
    end
  end

  # Greedy continuations of AGREE_PROMPT: llama.cpp's (llama-simple prints
  # the prompt and then the new text) and candle's; how many characters agree.
  def agreement(path, threads)
    llama, status = Open3.capture2(llama_tool("llama-simple"), "-m", path, "-n", AGREE_TOKENS.to_s, AGREE_PROMPT,
                                   err: File::NULL)
    raise "llama-simple failed on #{path}" unless status.success?

    llama = llama.strip
    llm = Candle::LLM.from_file(path, threads: threads)
    mine = (AGREE_PROMPT + llm.generate(AGREE_PROMPT, max_tokens: AGREE_TOKENS, temperature: 0)).strip
    same = mine.chars.zip(llama.chars).take_while { |x, y| x == y }.size
    [same, [mine.size, llama.size].max, mine, llama]
  end

  # {pp128:, pp512:, tg128:} tokens/s from llama-bench's JSON.
  # (plus :rss_mib, its peak RSS, via /usr/bin/time when present).
  def llama_cpp(path, threads)
    time = File.executable?("/usr/bin/time") ? ["/usr/bin/time", "-f", "maxrss_kb %M"] : []
    out = sh!(*time, llama_bench, "-m", path, "-p", "128,512", "-n", "128", "-t", threads.to_s, "-r", "3", "-o", "json")
    rows = JSON.parse(out[out.index("[")..out.rindex("]")])
    res = rows.to_h do |r|
      key = r["n_prompt"].to_i.positive? ? :"pp#{r["n_prompt"]}" : :"tg#{r["n_gen"]}"
      [key, r["avg_ts"].to_f]
    end
    kb = out[/maxrss_kb (\d+)/, 1]
    res[:rss_mib] = kb.to_i / 1024.0 if kb
    res
  end

  # Candle's prefill/decode from `candle bench --json` (its own process, so
  # the peak RSS is its own), and the warm time to first token of a chat.
  TTFT_CHILD = <<~'RUBY'
    require "candle"; require "json"
    llm = Candle::LLM.from_file(ARGV[0])
    llm.chat([{role: "user", content: "Hi"}], max_tokens: 1, temperature: 0) # warm-up
    llm.reset
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    llm.chat([{role: "user", content: "Hi"}], max_tokens: 1, temperature: 0)
    puts JSON.generate(ttft: Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0)
  RUBY

  def candle(arg, path, threads)
    env = { "CANDLE_NUM_THREADS" => threads.to_s, "RAYON_NUM_THREADS" => threads.to_s, "CANDLE_PROGRESS" => "0" }
    lib = File.expand_path("../lib", __dir__)
    exe = File.expand_path("../exe/candle", __dir__)
    out = sh!(env, RbConfig.ruby, "-I", lib, exe, "bench", arg, "-p", "128,512", "-n", "128", "-r", "3",
              "-t", threads.to_s, "--json", "-q", "--local-files-only")
    records = JSON.parse(out[out.index("[")..])
    res = records.to_h { |r| [r["test"].to_sym, r["avg_ts"]] }
    res[:rss_mib] = records.map { |r| r["peak_rss_mib"] }.compact.max
    ttft = JSON.parse(sh!(env, RbConfig.ruby, "-I", lib, "-e", TTFT_CHILD, path).lines.last)
    res.merge(ttft: ttft["ttft"])
  end

  def run
    threads = Integer(ENV.fetch("BENCH_THREADS", Etc.nprocessors.to_s))
    names = ENV.fetch("BENCH_MODELS", (MODELS.keys + MADE.keys).join(",")).split(",")
    puts "LLM speed, #{threads} threads (candle: CANDLE_NUM_THREADS; llama.cpp: -t), tokens/s, higher is better"
    names.each do |name|
      file, path, arg = model(name)
      c = candle(arg, path, threads)
      l = llama_cpp(path, threads)
      puts "#{file}:"
      %i[pp128 pp512 tg128].each do |k|
        puts format("  %-6s candle %8.1f   llama.cpp %8.1f   ratio %.2f", k, c[k], l[k], c[k] / l[k])
      end
      puts format("  peak RSS candle %.0f MiB   llama.cpp %s", c[:rss_mib],
                  l[:rss_mib] ? format("%.0f MiB   ratio %.2f", l[:rss_mib], c[:rss_mib] / l[:rss_mib]) : "n/a")
      puts format("  warm time to first token (chat 'Hi'): %.3f s", c[:ttft])
      same, total, mine, theirs = agreement(path, threads)
      puts format("  greedy %d tokens after %p: %s", AGREE_TOKENS, AGREE_PROMPT,
                  same >= total ? "same text as llama.cpp" : "first #{same} of #{total} characters agree")
      next if same >= total

      puts "    candle:    #{mine.inspect}", "    llama.cpp: #{theirs.inspect}"
    end
  end
end

LLMBench.run if $PROGRAM_NAME == __FILE__
