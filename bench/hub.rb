# frozen_string_literal: true

# Hub download benchmark against the local test Hub server (no network).
#
#   bundle exec rake bench:hub               # or: bundle exec ruby bench/hub.rb
#   BENCH_MB=50 bundle exec rake bench:hub   # quick run with a 50 MB file
#
# Env: BENCH_MB (single file size, default 500), BENCH_FILES / BENCH_FILE_MB
# (snapshot: default 20 files x 5 MB), BENCH_RUNS (best of N, default 3),
# BENCH_CALLS (warm calls, default 1000), BENCH_STRICT=1 (exit 1 when a
# performance target is missed; a failed correctness check always exits 1),
# CURL (default /usr/bin/curl). MB = 1,000,000 bytes. See bench/README.md.

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require_relative "../test/support/hub_server"
require "etc"
require "fileutils"
require "openssl"
require "pathname"
require "tmpdir"

module HubBench
  MB = 1_000_000
  CURL = ENV.fetch("CURL", "/usr/bin/curl")

  # A HubServer serving from a forked child process, so that candle (in this
  # process) and curl (its own process) are measured against the same,
  # separate server. Repos are added before the fork.
  class ForkedServer
    attr_reader :url

    def initialize(server)
      reader, writer = IO.pipe
      @pid = fork do
        reader.close
        %w[TERM INT].each { |sig| Signal.trap(sig) { exit!(0) } }
        server.start
        writer.puts server.port
        writer.close
        sleep
      end
      writer.close
      port = reader.gets or raise "bench server did not start"
      reader.close
      @url = "http://#{server.host}:#{Integer(port)}"
    end

    def stop
      return unless @pid

      Process.kill("TERM", @pid)
      Process.wait(@pid)
      @pid = nil
    rescue Errno::ESRCH, Errno::ECHILD
      @pid = nil
    end
  end

  module_function

  def int_env(name, default)
    value = Integer(ENV.fetch(name, default.to_s))
    raise ArgumentError unless value.positive?

    value
  rescue ArgumentError
    abort "#{name} must be a positive integer"
  end

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  def timed
    t = now
    yield
    now - t
  end

  # `mb` * 10^6 random (incompressible) bytes.
  def random_file(path, mb, seed)
    rng = Random.new(seed)
    File.open(path, "wb") { |f| mb.times { f.write(rng.bytes(MB)) } }
    Pathname(path)
  end

  def sha256_file(path)
    d = OpenSSL::Digest.new("SHA256")
    File.open(path, "rb") do |f|
      buf = String.new(capacity: 1 << 20)
      d << buf while f.read(1 << 20, buf)
    end
    d.hexdigest
  end

  def status(ok) = ok ? "OK" : "MISS"

  def row(label, seconds, mb = nil)
    line = format("     %-48s %7.2f s", label, seconds)
    line += format("  %7.1f MB/s", mb / seconds) if mb
    puts line
  end

  def run
    size_mb = int_env("BENCH_MB", 500)
    files_n = int_env("BENCH_FILES", 20)
    file_mb = int_env("BENCH_FILE_MB", 5)
    runs = int_env("BENCH_RUNS", 3)
    calls = int_env("BENCH_CALLS", 1000)
    abort "#{CURL} not found (set CURL=...)" unless File.executable?(CURL)

    # The benchmark talks to its own servers: no offline mode, no token.
    %w[HF_HUB_OFFLINE HF_TOKEN HF_ENDPOINT].each { |k| ENV.delete(k) }
    failures = []
    misses = []
    tmp = Dir.mktmpdir("candle-bench-")
    remote = nil
    local = nil
    begin
      src = File.join(tmp, "src")
      FileUtils.mkdir_p(src)
      fresh = ->(name) { File.join(tmp, "#{name}-#{rand(1 << 30)}") }

      info = Candle.build_info
      load = File.read("/proc/loadavg").split.first(3).join(" ") if File.readable?("/proc/loadavg")
      puts "candle #{Candle::VERSION} Hub benchmark: #{Etc.nprocessors} CPU(s), ruby #{RUBY_VERSION}, " \
           "native #{info[:debug_assertions] ? "debug" : "release"} build#{", load average #{load}" if load}"
      puts "(MB = 10^6 bytes; best of #{runs} runs, alternating, fresh cache each run; local HubServer in a child process)"
      puts

      # ---------------------------------------------------------------- data + server
      print "preparing #{size_mb} MB + #{files_n} x #{file_mb} MB of random files ... "
      names = (1..files_n).map { |i| format("model-%05d-of-%05d.safetensors", i, files_n) }
      t = timed do
        hub = CandleTest::HubServer.new
        big = random_file(File.join(src, "model.safetensors"), size_mb, 1)
        hub.add_repo("bench/big", files: { "model.safetensors" => big }) # the server hashes files here
        shards = names.each_with_index.to_h { |n, i| [n, random_file(File.join(src, n), file_mb, 100 + i)] }
        hub.add_repo("bench/sharded", files: shards)
        remote = ForkedServer.new(hub)
      end
      puts format("%.1f s", t)
      puts
      opts = ->(cache) { { cache_dir: cache, endpoint: remote.url, progress: false } }

      # ---------------------------------------------------------------- 1. one big file
      url = "#{remote.url}/bench/big/resolve/main/model.safetensors"
      candle_t = []
      curl_t = []
      hash_t = []
      sync_t = []
      runs.times do
        cache = fresh.call("cache")
        candle_t << timed { Candle::Hub.download("bench/big", "model.safetensors", **opts.call(cache)) }
        FileUtils.rm_rf(cache)

        out = fresh.call("curl.bin")
        ok = nil
        curl_t << timed { ok = system(CURL, "-s", "-f", "-L", "-o", out, url) }
        failures << "curl failed (#{$?.inspect})" unless ok && File.size?(out) == size_mb * MB
        # reference only (not in curl's number): what candle does on top of curl
        hash_t << timed { sha256_file(out) }
        sync_t << timed { File.open(out, "r+b", &:fsync) }
        FileUtils.rm_f(out)
      end
      ratio = curl_t.min / candle_t.min
      puts "1. One #{size_mb} MB file (resolve -> 302 -> CDN URL, 2 requests each):"
      row("candle Hub.download (incl. sha256 check)", candle_t.min, size_mb)
      row("curl -s -L -o FILE", curl_t.min, size_mb)
      puts format("     %-48s %7.2f s  (curl %.2f + sha256 %.2f + fsync %.2f)", "reference: curl, then sha256, then fsync",
                  curl_t.min + hash_t.min + sync_t.min, curl_t.min, hash_t.min, sync_t.min)
      puts format("     ratio candle/curl %.2f (target >= 0.9) %s", ratio, status(ratio >= 0.9))
      puts "     all runs (s): candle #{candle_t.map { |x| x.round(2) }.join(" ")}; curl #{curl_t.map { |x| x.round(2) }.join(" ")}"
      misses << format("single-file ratio %.2f < 0.9", ratio) if ratio < 0.9
      puts

      # ---------------------------------------------------------------- 2. snapshot vs sequential
      snap_t = []
      seq_t = []
      runs.times do
        cache = fresh.call("cache")
        snap_t << timed { Candle::Hub.snapshot("bench/sharded", max_workers: 8, **opts.call(cache)) }
        FileUtils.rm_rf(cache)

        cache = fresh.call("cache")
        seq_t << timed { names.each { |n| Candle::Hub.download("bench/sharded", n, **opts.call(cache)) } }
        FileUtils.rm_rf(cache)
      end
      total_mb = files_n * file_mb
      puts "2. Snapshot of #{files_n} files x #{file_mb} MB (#{total_mb} MB):"
      row("Hub.snapshot max_workers: 8", snap_t.min, total_mb)
      row("Hub.download x #{files_n}, one after the other", seq_t.min, total_mb)
      puts format("     speedup %.2fx (snapshot vs sequential)", seq_t.min / snap_t.min)
      puts
      remote.stop
      remote = nil

      # ---------------------------------------------------------------- 3. warm cache latency
      local = CandleTest::HubServer.new.start # in this process: its request log is read below
      sha = local.add_repo("bench/small", files: { "config.json" => %({"hidden_size": 384}) })
      o = { cache_dir: fresh.call("cache"), endpoint: local.url, progress: false }
      expected = Candle::Hub.download("bench/small", "config.json", **o)
      puts "3. Warm Hub.download (file in the cache), #{calls} calls:"
      [[sha, "commit sha"], %w[main main]].each do |rev, label|
        10.times { Candle::Hub.download("bench/small", "config.json", revision: rev, **o) }
        local.clear_requests
        path = nil
        t = timed { calls.times { path = Candle::Hub.download("bench/small", "config.json", revision: rev, **o) } }
        reqs = local.request_count
        us = t / calls * 1e6
        failures << "warm #{label}: returned #{path.inspect}, expected #{expected.inspect}" unless path == expected
        line = format("     revision %-10s %8.1f us/call (target < 1000 us) %-4s  requests: %d", label, us, status(us < 1000), reqs)
        if rev == sha
          line += reqs.zero? ? " (must be 0) OK" : " (must be 0) FAIL"
          failures << "warm commit-sha calls made #{reqs} request(s)" unless reqs.zero?
        end
        puts line
        misses << format("warm %s %.1f us >= 1000 us", label, us) unless us < 1000
      end
      puts
    ensure
      remote&.stop
      local&.stop
      FileUtils.rm_rf(tmp)
    end

    puts "Targets missed: #{misses.join("; ")}" if misses.any?
    if failures.any?
      puts "FAILED: #{failures.join("; ")}"
      return 1
    end
    return 1 if misses.any? && ENV["BENCH_STRICT"] == "1"

    0
  end
end

begin
  exit HubBench.run
rescue Interrupt
  warn "\nbench/hub.rb: interrupted (temporary files removed)"
  exit 130
end
