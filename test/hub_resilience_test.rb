# frozen_string_literal: true

require_relative "support/hub_test_case"

# Candle::Hub.download when things go wrong: auth, rate limits, server errors,
# dropped connections, corrupt bodies, slow transfers, interrupts (Timeout,
# Ctrl-C) and several processes racing for the same file.
class HubResilienceTest < CandleTest::HubTestCase
  SLOW_SIZE = 2 * 1024 * 1024

  def setup
    super
    @commit = add_model_repo
  end

  def slow_data = self.class.random_bytes(SLOW_SIZE, 21)

  def add_slow_repo(bytes_per_sec)
    @server.add_repo("org/slow", files: { "w.safetensors" => slow_data })
    @server.fault("w.safetensors", :slow, bytes_per_sec: bytes_per_sec)
    Digest::SHA256.hexdigest(slow_data)
  end

  def leftovers(repo_id) = entries(repo_dir(repo_id)).grep(/\.(incomplete|lock)\z|\.tmp-/)

  # ------------------------------------------------------------ auth & secrecy

  def test_private_repo_requires_a_token_and_the_token_never_leaks
    log = StringIO.new
    Candle.logger = Logger.new(log, level: Logger::DEBUG)
    @server.add_repo("org/private", files: { "config.json" => CONFIG_JSON, "model.safetensors" => weights },
                                    private: true, token: SECRET)
    texts = []

    e = assert_raises(Candle::AuthenticationError) { download("org/private", "config.json") }
    assert_includes e.message, "org/private"
    assert_includes e.message, "HF_TOKEN", "without a token the message should say how to give one"
    texts << e.message
    e = assert_raises(Candle::AuthenticationError) { download("org/private", "config.json", token: "hf_WrongToken999") }
    texts << e.message
    assert_equal [], snapshot_files("org/private")

    events = []
    path = download("org/private", "model.safetensors", token: SECRET, progress: ->(ev) { events << ev })
    assert_equal weights, File.binread(path)
    assert(@server.requests.any? { |r| r[:authorization] == "Bearer #{SECRET}" }, "the token must be sent")
    texts << events.inspect

    with_env("HF_TOKEN" => SECRET) do
      assert_equal CONFIG_JSON, File.read(download("org/private", "config.json"))
      texts << assert_raises(Candle::EntryNotFoundError) { download("org/private", "nope.json") }.message
      texts << assert_raises(Candle::RevisionNotFoundError) { download("org/private", "x.json", revision: "v9") }.message
      @server.fault("*", :status, status: 500, times: 2)
      texts << assert_raises(Candle::DownloadError) do
        download("org/private", "tokenizer.json", max_retries: 1, retry_base_delay: 0.001)
      end.message
      @server.fault("*", :status, status: 429, retry_after: 0, times: 2)
      texts << assert_raises(Candle::RateLimitedError) { download("org/private", "other.json", max_retries: 1) }.message
      texts << assert_raises(Candle::OfflineError) { download("org/private", "t.json", local_files_only: true) }.message
      texts << assert_raises(Candle::AuthenticationError) { download("org/private", "c.json", token: "hf_x") }.message
      config = Candle::Hub.config
      assert config.token_present
      assert config.token?
      texts << config.inspect << config.to_h.to_s << config.to_a.to_s
    end
    texts << Candle::Hub.config(token: SECRET).inspect
    texts << Candle::Hub.config(token: SECRET).to_h.inspect
    texts << log.string
    assert_includes log.string, "org/private", "debug logging must have been active"

    texts.each do |t|
      refute_includes t, SECRET
      refute_includes t, "TopSecret"
    end
  end

  def test_token_is_not_sent_to_another_origin
    @server.add_repo("org/private", files: { "model.safetensors" => weights }, private: true, token: SECRET)
    # the endpoint is "localhost", the CDN redirect goes to 127.0.0.1: a different origin
    path = download("org/private", "model.safetensors", token: SECRET, endpoint: "http://localhost:#{@server.port}")
    assert_equal weights, File.binread(path)
    resolve, cdn = @server.requests
    assert_match %r{/resolve/}, resolve[:path]
    assert_equal "Bearer #{SECRET}", resolve[:authorization]
    assert_match %r{\A/cdn/}, cdn[:path]
    assert_nil cdn[:authorization], "the token must stay on the endpoint's origin"
  end

  # ------------------------------------------------------------ retries

  def test_429_with_retry_after_is_retried_then_succeeds
    @server.fault("config.json", :status, status: 429, retry_after: 1, times: 2)
    events = []
    t0 = now
    path = download("org/model", "config.json", progress: ->(e) { events << e })
    elapsed = now - t0
    assert_equal CONFIG_JSON, File.read(path)
    retries = events.select { |e| e[:type] == :retry }
    assert_equal [1, 2], retries.map { |e| e[:attempt] }
    retries.each do |r|
      assert_in_delta 1.0, r[:wait], 0.001
      assert_match(/429/, r[:reason])
      assert_equal "org/model", r[:repo]
      assert_equal "config.json", r[:file]
    end
    assert_operator elapsed, :>=, 2.0, "Retry-After: 1 twice must wait 2 s"
    assert_operator elapsed, :<, 6.0
    assert_equal 4, @server.requests.size # 429, 429, metadata, body
  end

  def test_429_forever_raises_rate_limited_error_after_max_retries
    @server.fault("config.json", :status, status: 429, retry_after: 0)
    e = assert_requests(3) do
      assert_raises(Candle::RateLimitedError) { download("org/model", "config.json", max_retries: 2) }
    end
    assert_kind_of Candle::HubError, e
    assert_includes e.message, "org/model"
    assert_equal [], snapshot_files("org/model")
  end

  def test_retry_after_beyond_the_wait_budget_fails_at_once
    @server.fault("config.json", :status, status: 429, retry_after: 30)
    t0 = now
    assert_requests(1) do
      assert_raises(Candle::RateLimitedError) { download("org/model", "config.json", max_retry_wait: 1) }
    end
    assert_operator now - t0, :<, 1.0
  end

  def test_500_forever_raises_download_error
    @server.fault("config.json", :status, status: 500)
    events = []
    e = assert_requests(3) do
      assert_raises(Candle::DownloadError) do
        download("org/model", "config.json", max_retries: 2, retry_base_delay: 0.01, progress: ->(ev) { events << ev })
      end
    end
    assert_match(/500/, e.message)
    assert_includes e.message, "config.json"
    assert_equal 2, events.count { |ev| ev[:type] == :retry }
    assert_equal [], snapshot_files("org/model")
  end

  def test_503_on_the_body_is_retried_without_a_new_metadata_request
    @server.fault("model.safetensors", :status, status: 503, phase: :body, times: 1)
    path = download("org/model", "model.safetensors", retry_base_delay: 0.01)
    assert_equal weights, File.binread(path)
    assert_equal ["bytes=0-0", "bytes=0-", "bytes=0-"], @server.requests.map { |r| r[:range] }
  end

  def test_dropped_connection_resumes_with_a_range_request
    k = 100_000
    @server.fault("model.safetensors", :drop, after_bytes: k)
    path = download("org/model", "model.safetensors", retry_base_delay: 0.01)
    assert_equal weights, File.binread(path)
    assert_equal Digest::SHA256.hexdigest(weights), blobs("org/model").first
    body = @server.requests.select { |r| r[:path].start_with?("/cdn/") }.map { |r| r[:range] }
    assert_equal ["bytes=0-", "bytes=#{k}-"], body
    assert_equal [], leftovers("org/model")
  end

  # ------------------------------------------------------------ integrity

  def test_corrupted_byte_raises_integrity_error_and_keeps_nothing
    @server.fault("model.safetensors", :corrupt, offset: 123_456)
    e = assert_raises(Candle::IntegrityError) { download("org/model", "model.safetensors") }
    assert_kind_of Candle::HubError, e
    assert_includes e.message, "model.safetensors"
    assert_equal [], entries(File.join(repo_dir("org/model"), "blobs")), "no blob and no partial file"
    assert_equal [], entries(File.join(repo_dir("org/model"), "snapshots"))

    @server.clear_faults
    assert_equal weights, File.binread(download("org/model", "model.safetensors"))
    # the retry started from scratch (nothing partial was kept)
    assert_equal "bytes=0-", @server.requests.last[:range]
  end

  def test_wrong_length_raises_a_hub_error_and_publishes_nothing
    @server.fault("model.safetensors", :wrong_length)
    e = assert_raises(Candle::HubError) do
      download("org/model", "model.safetensors", max_retries: 1, retry_base_delay: 0.01)
    end
    refute_instance_of Candle::HubError, e, "expected a specific subclass"
    sha = Digest::SHA256.hexdigest(weights)
    refute_includes blobs("org/model"), sha
    assert_equal [], blobs("org/model").grep_v(/\.incomplete\z/)
    assert_equal [], entries(File.join(repo_dir("org/model"), "snapshots"))
    refute File.exist?(File.join(repo_dir("org/model"), "refs", "main"))
  end

  # ------------------------------------------------------------ GVL & interrupts

  def test_other_ruby_threads_run_during_a_slow_download
    [false, ->(_e) {}].each do |progress|
      FileUtils.rm_rf(@cache)
      @server.clear_faults
      add_slow_repo(5_000_000) # 2 MB at 5 MB/s: ~0.4 s
      thread, ticks = ticker
      t0 = now
      path = download("org/slow", "w.safetensors", progress: progress)
      elapsed = now - t0
      count = ticks.call
      thread.kill
      assert_equal slow_data, File.binread(path)
      assert_operator elapsed, :>=, 0.3
      assert_operator count, :>=, (elapsed / 0.005 / 6).to_i,
                      "a Ruby thread ticked #{count} times in #{elapsed.round(2)} s (progress: #{progress.inspect})"
    end
  end

  def test_timeout_stops_a_slow_download_promptly_and_the_next_one_resumes
    [false, ->(_e) {}].each do |progress|
      FileUtils.rm_rf(@cache)
      @server.clear_faults
      sha = add_slow_repo(400_000)
      t0 = now
      assert_raises(Timeout::Error) { Timeout.timeout(0.4) { download("org/slow", "w.safetensors", progress: progress) } }
      # uninterrupted, the 2 MiB at 400 KB/s take ~5 s: 2.5 s is prompt enough and survives a busy CI
      assert_operator now - t0, :<, 2.5, "Timeout took #{(now - t0).round(2)} s to stop the download"

      assert_equal [], snapshot_files("org/slow")
      assert_equal ["#{sha}.incomplete"], blobs("org/slow"), "a resumable partial file and no lock"
      have = File.size(File.join(repo_dir("org/slow"), "blobs", "#{sha}.incomplete"))
      assert_operator have, :>, 0

      @server.clear_faults
      path = download("org/slow", "w.safetensors")
      assert_equal sha, Digest::SHA256.file(path).hexdigest
      assert_equal "bytes=#{have}-", @server.requests.last[:range]
      assert_equal [sha], blobs("org/slow")
    end
  end

  def test_ctrl_c_in_a_child_process_stops_and_a_second_run_resumes
    sha = add_slow_repo(400_000)
    code = <<~RUBY
      require "candle"
      require "digest"
      path = Candle::Hub.download("org/slow", "w.safetensors", endpoint: #{@server.url.inspect},
                                  cache_dir: #{@cache.inspect}, progress: false)
      print Digest::SHA256.file(path).hexdigest
    RUBY
    incomplete = File.join(repo_dir("org/slow"), "blobs", "#{sha}.incomplete")
    err = File.join(@tmp, "child.err")
    pid = spawn_ruby(code, err: err)
    begin
      wait_until(10, "the child to start writing #{incomplete}") { File.exist?(incomplete) && File.size(incomplete).positive? }
      t0 = now
      Process.kill("INT", pid)
      status = wait_until(5, "the child to exit after SIGINT") { Process.wait2(pid, Process::WNOHANG)&.last }
      pid = nil
      elapsed = now - t0
    ensure
      if pid
        Process.kill("KILL", pid)
        Process.wait(pid)
      end
    end
    assert_operator elapsed, :<, 2.0, "the child took #{elapsed.round(2)} s to exit after SIGINT"
    # Interrupt raised out of the download and not rescued: Ruby reports it and
    # ends the process by SIGINT itself, as an interrupted program must (the
    # shell sees 130); any exit status, or another signal, is a failure.
    assert status.signaled?, "the child must die of SIGINT, got #{status.inspect}"
    assert_equal Signal.list["INT"], status.termsig, status.inspect
    assert_match(/Interrupt/, File.read(err))
    assert_equal [], snapshot_files("org/slow")
    assert_equal ["#{sha}.incomplete"], blobs("org/slow")
    have = File.size(incomplete)
    assert_operator have, :>, 0
    assert_operator have, :<, SLOW_SIZE

    @server.clear_faults
    out, err_text, status = run_ruby(code)
    assert status.success?, err_text
    assert_equal sha, out
    assert_equal "bytes=#{have}-", @server.requests.last[:range]
    assert_equal [sha], blobs("org/slow")
    assert_equal [], leftovers("org/slow")
  end

  def test_a_killed_process_leaves_a_stale_lock_that_does_not_block_the_next_download
    sha = add_slow_repo(400_000)
    code = "require 'candle'; Candle::Hub.download('org/slow', 'w.safetensors', endpoint: #{@server.url.inspect}, " \
           "cache_dir: #{@cache.inspect}, progress: false)"
    incomplete = File.join(repo_dir("org/slow"), "blobs", "#{sha}.incomplete")
    pid = spawn_ruby(code)
    wait_until(10, "the child to start writing") { File.exist?(incomplete) && File.size(incomplete).positive? }
    Process.kill("KILL", pid)
    Process.wait(pid)
    # The lock lives where Python's huggingface_hub takes it: <cache>/.locks/<repo folder>/<etag>.lock.
    assert File.file?(File.join(@cache, ".locks", "models--org--slow", "#{sha}.lock")), "SIGKILL leaves the lock file behind"
    have = File.size(incomplete)

    @server.clear_faults
    path = Timeout.timeout(10) { download("org/slow", "w.safetensors") }
    assert_equal sha, Digest::SHA256.file(path).hexdigest
    assert_equal "bytes=#{have}-", @server.requests.last[:range]
    assert_equal [sha], blobs("org/slow")
  end

  def test_threads_of_one_process_share_one_download_and_a_waiter_can_time_out
    sha = add_slow_repo(4_000_000) # ~0.5 s
    results = Queue.new
    threads = Array.new(4) { Thread.new { results << download("org/slow", "w.safetensors") } }
    wait_until(10, "the download to start") { blobs("org/slow").include?("#{sha}.incomplete") }
    # a fifth caller waits for the lock; Timeout stops it promptly
    t0 = now
    assert_raises(Timeout::Error) { Timeout.timeout(0.2) { download("org/slow", "w.safetensors") } }
    assert_operator now - t0, :<, 0.8
    threads.each(&:join)
    paths = Array.new(4) { results.pop }
    assert_equal 1, paths.uniq.size
    assert_equal slow_data, File.binread(paths.first)
    assert_equal 1, @server.request_count("/cdn/"), "one body download for all threads"
    assert_equal [sha], blobs("org/slow")
  end

  def test_eight_processes_download_the_same_big_file_once
    big = self.class.big_file(200)
    sha = CandleTest::HubServer.file_sha256(big)
    @server.add_repo("org/big", files: { "big.bin" => big })
    go = File.join(@tmp, "go")
    outs = Array.new(8) { |i| File.join(@tmp, "out#{i}") }
    # Every child loads candle, says it is ready, then waits for the start
    # signal: all eight race for the file however slowly they boot.
    pids = outs.map do |o|
      code = "require 'candle'; File.write(#{"#{o}.ready".inspect}, ''); sleep 0.005 until File.exist?(#{go.inspect}); " \
             "print Candle::Hub.download('org/big', 'big.bin', endpoint: #{@server.url.inspect}, " \
             "cache_dir: #{@cache.inspect}, progress: false)"
      spawn_ruby(code, out: [o, "w"], err: ["#{o}.err", "w"])
    end
    wait_until(60, "the children to load candle") { outs.all? { |o| File.exist?("#{o}.ready") } }
    File.write(go, "")
    statuses = pids.map { |pid| Process.wait2(pid).last }

    statuses.each_with_index { |s, i| assert s.success?, "child #{i}: #{File.read("#{outs[i]}.err")}" }
    paths = outs.map { |o| File.read(o) }
    assert_equal [File.join(repo_dir("org/big"), "snapshots", @server.commit_for("org/big"), "big.bin")], paths.uniq
    assert_equal [sha], blobs("org/big"), "exactly one blob, no partial or lock files"
    assert_equal [], leftovers("org/big")
    assert_equal File.size(big), File.size(paths.first)
    assert_equal sha, Digest::SHA256.file(paths.first).hexdigest
    assert_equal 8, @server.request_count("/resolve/"), "one metadata request per process"
    assert_equal 1, @server.request_count("/cdn/"), "the body must be downloaded once"
  end
end
