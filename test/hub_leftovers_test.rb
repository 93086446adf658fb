# frozen_string_literal: true

require_relative "support/hub_test_case"
require "socket"

# A download that fails for good leaves nothing in the cache: no empty
# .incomplete, no blob. (Bytes of a body that broke off are kept, to resume:
# see hub_resilience_test.rb.)
class HubLeftoversTest < CandleTest::HubTestCase
  SHA = "a" * 64
  COMMIT = "c" * 40

  # Answers every request with what the block returns for its path.
  class RawHub
    def initialize(&answer)
      @answer = answer
      @server = TCPServer.new("127.0.0.1", 0)
      @thread = Thread.new do
        loop do
          sock = @server.accept
          head = +""
          head << sock.readpartial(4096) until head.include?("\r\n\r\n")
          sock.write(@answer.call(head[%r{\AGET (\S+)}, 1], url))
          sock.close
        rescue IOError, SystemCallError
          nil
        end
      end
    end

    def url = "http://127.0.0.1:#{@server.addr[1]}"

    def stop
      @server.close
      @thread.kill
    end
  end

  def lfs_redirect(location, size: 1000)
    "HTTP/1.1 302 Found\r\nLocation: #{location}\r\nX-Linked-Etag: \"#{SHA}\"\r\nX-Repo-Commit: #{COMMIT}\r\n" \
      "X-Linked-Size: #{size}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
  end

  def serve(&answer)
    @raw = RawHub.new(&answer)
  end

  def teardown
    @raw&.stop
    super
  end

  def fetch(**opts)
    Candle::Hub.download("org/x", "w.bin", endpoint: @raw.url, cache_dir: @cache, progress: false,
                                           max_retries: 1, retry_base_delay: 0.01, **opts)
  end

  def leftovers
    Dir.glob("**/*", File::FNM_DOTMATCH, base: @cache).reject { |p| File.directory?(File.join(@cache, p)) }
       .reject { |p| p.start_with?(".locks/") }
  end

  def test_a_redirect_loop_on_the_cdn_leaves_nothing
    serve { |path, url| path.start_with?("/cdn") ? "HTTP/1.1 302 Found\r\nLocation: #{url}/cdn/x\r\nContent-Length: 0\r\n\r\n" : lfs_redirect("#{url}/cdn/x") }
    assert_raises(Candle::DownloadError) { fetch }
    assert_equal [], leftovers
  end

  def test_a_dead_cdn_host_leaves_nothing
    serve { lfs_redirect("http://127.0.0.1:1/dead") }
    err = assert_raises(Candle::DownloadError) { fetch }
    assert_match(/connection/i, err.message)
    assert_equal [], leftovers
  end

  def test_an_impossible_size_fails_before_writing
    serve { |_, url| lfs_redirect("#{url}/cdn/x", size: 10**18) }
    err = assert_raises(Candle::DownloadError) { fetch }
    assert_match(/needs 1000000000000000000 bytes but .* has only \d+ bytes free/, err.message)
    assert_equal [], leftovers
  end
end
