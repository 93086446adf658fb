# frozen_string_literal: true

require_relative "test_helper"
require_relative "support/hub_server"
require "tmpdir"
require "open3"
require "rbconfig"

# script/download_test_models.rb run as CI runs it: a child process, real HTTP
# to a local Hub, a private cache dir.
class DownloadTestModelsTest < Minitest::Test
  ROOT = File.expand_path("..", __dir__)
  SCRIPT = File.join(ROOT, "script/download_test_models.rb")

  def setup
    @server = CandleTest::HubServer.new.start
    @server.add_repo("acme/embedder", files: {
      "config.json" => '{"model_type":"bert"}',
      "tokenizer.json" => "{}",
      "1_Pooling/config.json" => '{"pooling_mode_mean_tokens":true}',
      "model.safetensors" => "weights" * 1000,
      "README.md" => "# not needed"
    })
    @server.add_repo("acme/llm-GGUF", files: {"llm.Q4_K_M.gguf" => "gguf" * 500, "llm.Q8_0.gguf" => "q8" * 500})
    @dir = Dir.mktmpdir("candle-prewarm")
    @cache = File.join(@dir, "hub")
  end

  def teardown
    @server.stop
    FileUtils.rm_rf(@dir)
  end

  def manifest(text)
    path = File.join(@dir, "manifest.txt")
    File.write(path, text)
    path
  end

  def run_script(manifest_path, *args, env: {})
    env = {"HF_HUB_CACHE" => @cache, "HF_ENDPOINT" => @server.url, "HF_HUB_OFFLINE" => nil,
           "CANDLE_HUB_RETRY_BASE_MS" => "10"}.merge(env)
    Open3.capture2e(env, RbConfig.ruby, SCRIPT, "--manifest", manifest_path, *args)
  end

  GOOD = <<~MANIFEST
    # comment
    acme/embedder files:*.json,1_Pooling/config.json,model.safetensors
    acme/llm-GGUF gguf:llm.Q4_K_M.gguf
  MANIFEST

  def test_check_is_false_when_cold_and_true_after_download_with_zero_requests
    path = manifest(GOOD)
    out, status = run_script(path, "--check")
    refute status.success?, out
    assert_equal 1, status.exitstatus
    assert_match(/missing/, out)
    assert_equal 0, @server.request_count, "--check must not touch the network"

    out, status = run_script(path)
    assert status.success?, out
    assert_match(%r{acme/embedder\s+4\s+.*downloaded}, out)
    assert_match(%r{acme/llm-GGUF\s+1\s+.*downloaded}, out)
    assert_includes out, @cache
    cached = Dir.glob("#{@cache}/models--acme--*/snapshots/*/**/*").select { |f| File.file?(f) }.map { |f| File.basename(f) }
    refute_includes cached, "README.md", "only the files the manifest names are downloaded"
    refute_includes cached, "llm.Q8_0.gguf"

    @server.clear_requests
    out, status = run_script(path, "--check")
    assert status.success?, out
    assert_match(/2 of 2 manifest entries complete/, out)
    assert_equal 0, @server.request_count, "a warm --check made requests: #{@server.requests.map { |r| r[:path] }}"

    # A second full run finds everything cached.
    out, status = run_script(path)
    assert status.success?, out
    refute_match(/downloaded/, out)
  end

  # rake models:prewarm passes --no-token: the local test Hub gets neither
  # HF_TOKEN nor the token file.
  def test_no_token_sends_no_authorization_header
    home = File.join(@dir, "hf_home")
    FileUtils.mkdir_p(home)
    File.write(File.join(home, "token"), "hf_FromTheTokenFile\n")
    path = manifest(GOOD)
    out, status = run_script(path, env: {"HF_TOKEN" => "hf_FromTheEnvironment", "HF_HOME" => home})
    assert status.success?, out
    assert_equal ["Bearer hf_FromTheEnvironment"], @server.requests.map { |r| r[:authorization] }.uniq

    FileUtils.rm_rf(@cache)
    @server.clear_requests
    [{"HF_TOKEN" => "hf_FromTheEnvironment", "HF_HOME" => home}, {"HF_TOKEN" => nil, "HF_HOME" => home}].each do |env|
      out, status = run_script(path, "--no-token", env: env)
      assert status.success?, out
      FileUtils.rm_rf(@cache)
    end
    refute_empty @server.requests
    assert_equal [nil], @server.requests.map { |r| r[:authorization] }.uniq
  end

  def test_exit_code_when_an_entry_is_missing_upstream
    path = manifest("#{GOOD}acme/embedder-gone files:config.json\n")
    out, status = run_script(path)
    assert_equal 1, status.exitstatus, out
    assert_match(%r{acme/embedder-gone.*failed}, out)
    assert_match(/RepositoryNotFoundError/, out)
    assert_match(/1 of 3 manifest entries incomplete/, out)

    path = manifest("acme/embedder files:missing-file.json\n")
    out, status = run_script(path)
    assert_equal 1, status.exitstatus, out
    assert_match(/EntryNotFoundError/, out)
  end

  def test_exit_code_when_the_server_answers_429_forever
    @server.fault("*", :status, status: 429, retry_after: 0, times: nil)
    path = manifest(GOOD)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    out, status = run_script(path, env: {"CANDLE_HUB_MAX_RETRIES" => "2"})
    assert_equal 1, status.exitstatus, out
    assert_match(/RateLimitedError/, out)
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 20
    assert_operator @server.request_count, :>=, 3, "retries should have been made"
  end

  def test_a_malformed_manifest_is_a_usage_error_naming_the_line
    path = manifest("acme/embedder\nacme/llm-GGUF gguf:not-a-gguf.bin\n")
    out, status = run_script(path)
    assert_equal 2, status.exitstatus
    assert_match(/manifest.txt:2: .*does not end in .gguf/, out)
    assert_equal 0, @server.request_count
  end
end
