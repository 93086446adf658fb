# frozen_string_literal: true

require_relative "../test_helper"
require_relative "hub_server"
require "tmpdir"
require "fileutils"
require "digest"
require "open3"
require "rbconfig"
require "logger"
require "stringio"
require "timeout"

module CandleTest
  # Base class for the Candle::Hub integration tests.
  #
  # Every test gets:
  # - @server: a fresh local HubServer (its own request log and faults),
  # - @tmp / @cache: a fresh temp dir and a cache dir inside it (not created),
  # - a controlled environment: every HF_* / HUGGINGFACE_* / XDG_CACHE_HOME /
  #   CANDLE_HUB_* variable of the developer (and a global HF_HUB_OFFLINE=1 of
  #   the suite) is removed for the test and restored afterwards; HF_HOME points
  #   to an empty dir so no token file of the developer is read.
  #
  # Network calls go through #hub_opts, which always passes endpoint: and
  # cache_dir: explicitly.
  class HubTestCase < Minitest::Test
    SCRUBBED_ENV = %w[
      HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HOME XDG_CACHE_HOME HF_ENDPOINT HF_TOKEN HUGGING_FACE_HUB_TOKEN
      HF_HUB_OFFLINE TRANSFORMERS_OFFLINE CANDLE_HUB_MAX_RETRIES CANDLE_HUB_RETRY_BASE_MS
      CANDLE_HUB_RETRY_MAX_WAIT_S CANDLE_PROGRESS CANDLE_LOG HF_HUB_ETAG_TIMEOUT HF_HUB_DOWNLOAD_TIMEOUT
    ].freeze
    LIB = File.expand_path("../../lib", __dir__)
    SECRET = "hf_TopSecret123456"

    CONFIG_JSON = %({"hidden_size": 8, "model_type": "bert"})
    TOKENIZER_JSON = %({"version": "1.0", "model": {"type": "WordPiece"}})
    POOLING_JSON = %({"pooling_mode_mean_tokens": true})

    # Random bytes, generated once per process per (size, seed).
    def self.random_bytes(size, seed)
      @random_bytes ||= {}
      @random_bytes[[size, seed]] ||= Random.new(seed).bytes(size).freeze
    end

    # A big random file on disk (streamed in chunks), once per process.
    def self.big_file(mb, seed: 42)
      @big_files ||= {}
      @big_files[[mb, seed]] ||= begin
        dir = Dir.mktmpdir("candle-hub-big")
        Minitest.after_run { FileUtils.rm_rf(dir) }
        path = File.join(dir, "big-#{mb}.bin")
        rng = Random.new(seed)
        File.open(path, "wb") { |f| mb.times { f.write(rng.bytes(1 << 20)) } }
        Pathname(path)
      end
    end

    def setup
      super
      @saved_env = (SCRUBBED_ENV + %w[HOME]).to_h { |k| [k, ENV[k]] }
      @saved_logger = Candle.instance_variable_get(:@logger)
      SCRUBBED_ENV.each { |k| ENV.delete(k) }
      @tmp = Dir.mktmpdir("candle-hub-test")
      @hf_home = File.join(@tmp, "hf_home")
      FileUtils.mkdir_p(@hf_home)
      ENV["HF_HOME"] = @hf_home
      @cache = File.join(@tmp, "cache")
      @server = HubServer.new.start
    end

    def teardown
      @server&.stop
      @saved_env&.each { |k, v| v.nil? ? ENV.delete(k) : ENV[k] = v }
      Candle.logger = @saved_logger
      FileUtils.rm_rf(@tmp) if @tmp
      super
    end

    # ------------------------------------------------------------ fixtures

    def weights = self.class.random_bytes(300_000, 7)

    # org/model: small (git sha1 etag) + LFS (sha256 etag, 302 to the CDN) + nested files.
    def add_model_repo(repo_id = "org/model", **opts)
      @server.add_repo(repo_id, files: {
                         "config.json" => CONFIG_JSON,
                         "tokenizer.json" => TOKENIZER_JSON,
                         "model.safetensors" => weights,
                         "1_Pooling/config.json" => POOLING_JSON
                       }, **opts)
    end

    # ------------------------------------------------------------ calling the Hub

    def hub_opts(**extra)
      { endpoint: @server.url, cache_dir: @cache, progress: false }.merge(extra)
    end

    def download(repo_id, filename, **kw)
      Candle::Hub.download(repo_id, filename, **hub_opts(**kw))
    end

    # Number of requests the server saw while the block ran; returns [count, block value].
    def counting_requests
      before = @server.requests.size
      value = yield
      [@server.requests.size - before, value]
    end

    def assert_requests(expected, msg = nil, &block)
      before = @server.requests.size
      value = block.call
      got = @server.requests.drop(before)
      assert_equal expected, got.size,
                   msg || "expected #{expected} request(s), got:\n#{got.map { |r| "  #{r[:path]} #{r[:range]}" }.join("\n")}"
      value
    end

    def assert_no_requests(&block) = assert_requests(0, &block)

    # ------------------------------------------------------------ cache inspection

    def repo_dir(repo_id, type: "models") = File.join(@cache, "#{type}--#{repo_id.gsub("/", "--")}")

    def blobs(repo_id) = entries(File.join(repo_dir(repo_id), "blobs"))

    def snapshot_files(repo_id) = entries(File.join(repo_dir(repo_id), "snapshots"))

    # Every entry (files, symlinks, dot files; not directories) under dir, relative, sorted.
    def entries(dir)
      return [] unless File.directory?(dir)

      Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).reject do |rel|
        File.basename(rel) == "." || File.basename(rel) == ".." ||
          (File.directory?(File.join(dir, rel)) && !File.symlink?(File.join(dir, rel)))
      end.sort
    end

    def git_sha1(content) = Digest::SHA1.hexdigest("blob #{content.bytesize}\0#{content}")

    # ------------------------------------------------------------ processes & time

    def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

    # Waits (polling, with a deadline) until the block is truthy.
    def wait_until(timeout = 10, what = "condition")
      deadline = now + timeout
      loop do
        value = yield
        return value if value
        flunk "timed out after #{timeout} s waiting for #{what}" if now > deadline

        sleep 0.01
      end
    end

    def ruby_args(code) = [RbConfig.ruby, "-I", LIB, "-e", code]

    # Runs a child `ruby -Ilib -e code` with the current (scrubbed) env plus `env`.
    def run_ruby(code, env: {})
      out, err, status = Open3.capture3(env, *ruby_args(code))
      [out, err, status]
    end

    def spawn_ruby(code, env: {}, out: File::NULL, err: File::NULL)
      Process.spawn(env, *ruby_args(code), out: out, err: err)
    end

    # Event type of every progress event, with consecutive duplicates squeezed.
    def event_types(events) = events.map { |e| e[:type] }.chunk_while { |a, b| a == b }.map(&:first)
  end
end
