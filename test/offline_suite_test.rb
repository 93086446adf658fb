# frozen_string_literal: true

require_relative "test_helper"
require "open3"
require "rbconfig"
require "socket"
require "tmpdir"
require "timeout"

# The suite runs offline against a cache pre-warmed from test/model_manifest.txt.
class OfflineSuiteTest < Minitest::Test
  # test_helper.rb makes the suite offline; what must follow is that a call
  # needing the network never connects, even to an endpoint set in the
  # environment or passed explicitly. A local listener counts (and drops)
  # connections; the same call with offline mode lifted proves it sees one.
  def test_network_calls_in_the_suite_raise_offline_error_and_never_connect
    listener = TCPServer.new("127.0.0.1", 0)
    url = "http://127.0.0.1:#{listener.addr[1]}"
    connections = Queue.new
    acceptor = Thread.new do
      loop do
        listener.accept.close
        connections << :connected
      end
    rescue IOError, SystemCallError
      nil
    end
    Dir.mktmpdir("candle-offline") do |cache|
      opts = { cache_dir: cache, progress: false, max_retries: 0 }
      with_env("HF_ENDPOINT" => url) do
        config = Candle::Hub.config
        assert_equal url, config.endpoint, "HF_ENDPOINT is read, so offline mode is what keeps it unused"
        assert config.offline?
        calls = {
          download: -> { Candle::Hub.download("org/never-cached", "config.json", **opts) },
          explicit_endpoint: -> { Candle::Hub.download("org/never-cached", "config.json", **opts, endpoint: url) },
          snapshot: -> { Candle::Hub.snapshot("org/never-cached", **opts) },
          files: -> { Candle::Hub.files("org/never-cached", cache_dir: cache, max_retries: 0) }
        }
        calls.each do |what, call|
          error = assert_raises(Candle::OfflineError, what.to_s) { call.call }
          assert_includes error.message, "org/never-cached", what.to_s
        end
      end
      assert_equal 0, connections.size, "an offline call connected to #{url}"
      refute Dir.exist?(File.join(cache, "models--org--never-cached")), "an offline miss must write nothing"

      # Control: with offline mode lifted, the very same call does connect.
      with_env("HF_HUB_OFFLINE" => nil) do
        refute Candle::Hub.config.offline?
        assert_raises(Candle::HubError) { Candle::Hub.download("org/never-cached", "config.json", **opts, endpoint: url) }
      end
      assert_equal :connected, Timeout.timeout(10) { connections.pop }
    end
  ensure
    listener&.close
    acceptor&.join(2)
  end

  def test_every_manifest_entry_is_in_the_cache
    script = File.expand_path("../script/download_test_models.rb", __dir__)
    out, status = Open3.capture2e(RbConfig.ruby, script, "--check")
    assert status.success?, "models missing from the cache (run `bundle exec rake models:prewarm`):\n#{out}"
    manifest = Candle::Manifest.load
    assert_match(/#{manifest.size} of #{manifest.size} manifest entries complete/, out)
  end

  def test_a_real_model_file_loads_from_the_cache_with_no_network
    path = Candle::Hub.download("sentence-transformers/all-MiniLM-L6-v2", "config.json")
    assert_equal "bert", JSON.parse(File.read(path))["model_type"]
    gguf = Candle::Hub.download("candle-test/SmolLM2-135M-Instruct-GGUF", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert_equal "GGUF", File.binread(gguf, 4)
    assert_raises(Candle::OfflineError) { Candle::Hub.download("sentence-transformers/all-MiniLM-L6-v2", "not-there.bin") }
  end
end
