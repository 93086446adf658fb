# frozen_string_literal: true

require_relative "support/hub_test_case"
require "socket"

# A server that goes silent: Timeout, Thread#kill and Ctrl-C must end a
# download in any phase within 1 s, and a stall longer than
# download_timeout / etag_timeout (HF_HUB_DOWNLOAD_TIMEOUT /
# HF_HUB_ETAG_TIMEOUT) becomes a retry, then a Candle::DownloadError.
class HubStallTest < CandleTest::HubTestCase
  BODY = Random.new(3).bytes(200_000).freeze
  SHA = Digest::SHA256.hexdigest(BODY)
  COMMIT = "c" * 40

  # Answers the metadata request like the Hub (unless silent_metadata), then
  # sends the headers and `body_bytes` bytes of every body and goes silent
  # until the client hangs up.
  class SilentHub
    attr_reader :connections

    def initialize(body_bytes: 10, silent_metadata: false)
      @body_bytes = body_bytes
      @silent_metadata = silent_metadata
      @server = TCPServer.new("127.0.0.1", 0)
      @connections = 0
      @threads = []
      @acceptor = Thread.new { loop { serve(@server.accept) } rescue nil }
    end

    def url = "http://127.0.0.1:#{@server.addr[1]}"

    def stop
      @server.close
      @acceptor.kill
      @threads.each(&:kill)
    end

    private

    def serve(sock)
      @connections += 1
      @threads << Thread.new do
        head = +""
        head << sock.readpartial(4096) until head.include?("\r\n\r\n")
        metadata = head.match?(/^range: bytes=0-0\r$/i)
        if metadata && !@silent_metadata
          sock.write("HTTP/1.1 206 Partial Content\r\nETag: \"#{SHA}\"\r\nX-Repo-Commit: #{COMMIT}\r\n" \
                     "Content-Range: bytes 0-0/#{BODY.bytesize}\r\nContent-Length: 1\r\nConnection: close\r\n\r\n#{BODY[0]}")
          sock.close
        elsif !metadata
          sock.write("HTTP/1.1 200 OK\r\nContent-Length: #{BODY.bytesize}\r\nConnection: close\r\n\r\n")
          sock.write(BODY.byteslice(0, @body_bytes))
          sleep
        else
          sleep
        end
      rescue IOError, SystemCallError
        nil
      end
    end
  end

  def setup
    super
    @silent = SilentHub.new
  end

  def teardown
    @silent&.stop
    super
  end

  def stalled_download(**opts)
    Candle::Hub.download("org/stall", "w.bin", endpoint: @silent.url, cache_dir: @cache, progress: false, **opts)
  end

  def elapsed
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
  end

  def test_timeout_ends_a_silent_body_within_a_second
    took = elapsed do
      assert_raises(Timeout::Error) { Timeout.timeout(0.5) { stalled_download(download_timeout: 60) } }
    end
    assert_operator took, :<, 1.5, "Timeout took #{took.round(2)} s to stop a stalled body"
    # the bytes that came are kept for a resume, under huggingface_hub's names
    partial = File.join(repo_dir("org/stall"), "blobs", "#{SHA}.incomplete")
    assert_equal 10, File.size(partial)
    assert File.directory?(File.join(@cache, ".locks", "models--org--stall"))
  end

  def test_timeout_ends_a_silent_metadata_request_within_a_second
    @silent.stop
    @silent = SilentHub.new(silent_metadata: true)
    took = elapsed do
      assert_raises(Timeout::Error) { Timeout.timeout(0.5) { stalled_download(etag_timeout: 60) } }
    end
    assert_operator took, :<, 1.5, "Timeout took #{took.round(2)} s to stop a stalled metadata request"
    refute File.exist?(repo_dir("org/stall")), "nothing is written before the metadata answer"
  end

  def test_thread_kill_ends_a_silent_body_within_a_second
    t = Thread.new { stalled_download(download_timeout: 60) }
    sleep 0.05 until @silent.connections >= 2 # metadata, then the body
    sleep 0.2
    took = elapsed do
      t.kill
      assert t.join(5), "the thread did not end"
    end
    assert_operator took, :<, 1.0, "Thread#kill took #{took.round(2)} s"
  end

  # The child has no other Ruby thread (one that had ended would leave
  # nobody to take the signal: a Ruby limitation for every extension), so
  # the parent watches the server to know the body has started.
  def test_sigint_ends_a_silent_body_within_a_second
    script = <<~RUBY
      require "candle"
      $stdout.sync = true
      begin
        Candle::Hub.download("org/stall", "w.bin", endpoint: #{@silent.url.inspect}, cache_dir: #{@cache.inspect},
                             progress: false, download_timeout: 60)
      rescue Interrupt
        puts "interrupted"
      end
    RUBY
    IO.popen([RbConfig.ruby, "-I", LIB, "-e", script], err: File::NULL) do |io|
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
      sleep 0.05 until @silent.connections >= 2 || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      assert_operator @silent.connections, :>=, 2, "the child never asked for the body"
      sleep 0.2
      took = elapsed do
        Process.kill("INT", io.pid)
        assert_equal "interrupted\n", io.gets
      end
      assert_operator took, :<, 1.0, "SIGINT took #{took.round(2)} s to stop a stalled body"
    end
    assert $?.success?
  end

  def test_a_stall_is_retried_then_a_download_error
    retries = []
    progress = ->(e) { retries << e[:reason] if e[:type] == :retry }
    err = nil
    took = elapsed do
      err = assert_raises(Candle::DownloadError) do
        stalled_download(download_timeout: 0.3, max_retries: 2, retry_base_delay: 0.01, progress: progress)
      end
    end
    assert_match(/failed after 2 retries/, err.message)
    assert_equal 2, retries.size
    assert retries.all? { |r| r.include?("no data for 0.3s") }, retries.inspect
    assert_operator took, :>=, 0.9 # three stalls of 0.3 s
    assert_operator took, :<, 5.0
    assert_equal 3, @silent.connections - 1 # one metadata request, three body attempts
  end

  def test_download_timeout_comes_from_hf_hub_download_timeout
    with_env("HF_HUB_DOWNLOAD_TIMEOUT" => "0.25") do
      assert_in_delta 0.25, Candle::Hub.config.download_timeout
      err = assert_raises(Candle::DownloadError) { stalled_download(max_retries: 0) }
      assert_match(/no data for 0.2s/, err.message)
    end
    with_env("HF_HUB_ETAG_TIMEOUT" => "3") { assert_in_delta 3.0, Candle::Hub.config.etag_timeout }
    assert_in_delta 10.0, Candle::Hub.config.download_timeout
    assert_raises(ArgumentError) { Candle::Hub.config(download_timeout: 0) }
    assert_raises(ArgumentError) { Candle::Hub.config(etag_timeout: -1) }
  end

  def test_a_silent_metadata_request_is_retried_after_etag_timeout
    @silent.stop
    @silent = SilentHub.new(silent_metadata: true)
    took = elapsed do
      assert_raises(Candle::DownloadError) { stalled_download(etag_timeout: 0.3, max_retries: 1, retry_base_delay: 0.01) }
    end
    assert_operator took, :>=, 0.6
    assert_operator took, :<, 4.0
    assert_equal 2, @silent.connections
  end

  # Connect phase: a listener whose accept queue is full drops new SYNs, so
  # connecting hangs (until the connect timeout, here etag_timeout: 60).
  def test_timeout_ends_a_stalled_connect_within_a_second
    full = Socket.new(:INET, :STREAM)
    full.bind(Addrinfo.tcp("127.0.0.1", 0))
    full.listen(0)
    port = full.local_address.ip_port
    # fill the accept queue (never accepted)
    fillers = Array.new(4) do
      s = Socket.new(:INET, :STREAM)
      begin
        s.connect_nonblock(Addrinfo.tcp("127.0.0.1", port))
      rescue IO::WaitWritable, Errno::EINPROGRESS
        nil
      end
      s
    end
    sleep 0.1
    took = elapsed do
      assert_raises(Timeout::Error) do
        Timeout.timeout(0.5) do
          Candle::Hub.download("org/stall", "w.bin", endpoint: "http://127.0.0.1:#{port}", cache_dir: @cache,
                                                     progress: false, etag_timeout: 60)
        end
      end
    end
    assert_operator took, :<, 1.5, "Timeout took #{took.round(2)} s to stop a stalled connect"
  ensure
    fillers&.each(&:close)
    full&.close
  end

  # Retry sleep: the server asks for 30 s; Timeout ends the wait at once.
  def test_timeout_ends_a_retry_wait_within_a_second
    add_model_repo
    @server.fault("config.json", :status, status: 503, times: 5, retry_after: 30)
    took = elapsed do
      assert_raises(Timeout::Error) do
        Timeout.timeout(0.5) { download("org/model", "config.json", max_retry_wait: 120) }
      end
    end
    assert_operator took, :<, 1.5, "Timeout took #{took.round(2)} s to stop a retry wait"
    assert_equal 1, @server.request_count, "one request, then the wait"
  end
end
