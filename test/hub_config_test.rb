# frozen_string_literal: true

require_relative "support/hub_test_case"

# Where Candle::Hub's settings come from: per-call options, then HF_HUB_CACHE /
# HUGGINGFACE_HUB_CACHE / HF_HOME / XDG_CACHE_HOME / HOME, HF_ENDPOINT,
# HF_TOKEN / token file, HF_HUB_OFFLINE. Each case is checked with a real
# download where it matters (where did the file land, which server was asked,
# which Authorization header was sent).
class HubConfigTest < CandleTest::HubTestCase
  def setup
    super
    @commit = add_model_repo
    @server.add_repo("org/private", files: { "config.json" => CONFIG_JSON }, private: true, token: SECRET)
  end

  def dir(name) = File.join(@tmp, name)

  # ------------------------------------------------------------ cache dir

  def test_cache_dir_precedence
    all = {
      "HF_HUB_CACHE" => dir("a"),
      "HUGGINGFACE_HUB_CACHE" => dir("b"),
      "HF_HOME" => dir("c"),
      "XDG_CACHE_HOME" => dir("d")
    }
    expected = [dir("a"), dir("b"), File.join(dir("c"), "hub"), File.join(dir("d"), "huggingface", "hub")]
    all.keys.each_with_index do |_, i|
      env = all.to_a.each_with_index.to_h { |(k, v), j| [k, j >= i ? v : nil] }
      with_env(env) do
        assert_equal expected[i], Candle::Hub.config.cache_dir, env.inspect
        path = Candle::Hub.download("org/model", "config.json", endpoint: @server.url, progress: false)
        assert path.start_with?("#{expected[i]}/models--org--model/snapshots/#{@commit}/"), "#{env.inspect} => #{path}"
        # a per-call cache_dir: wins over all of them
        assert_equal dir("o"), Candle::Hub.config(cache_dir: dir("o")).cache_dir
        path = Candle::Hub.download("org/model", "config.json", endpoint: @server.url, cache_dir: dir("o"), progress: false)
        assert path.start_with?("#{dir("o")}/models--org--model/"), path
      end
    end
    # empty values are ignored
    with_env("HF_HUB_CACHE" => "", "HUGGINGFACE_HUB_CACHE" => "", "HF_HOME" => dir("c")) do
      assert_equal File.join(dir("c"), "hub"), Candle::Hub.config.cache_dir
    end
    # cache_dir: is expanded
    assert_equal File.expand_path("rel/x"), Candle::Hub.config(cache_dir: "rel/x").cache_dir
  end

  def test_home_fallback_and_home_token_file_in_a_child_process
    home = dir("home")
    FileUtils.mkdir_p(File.join(home, ".cache", "huggingface"))
    File.write(File.join(home, ".cache", "huggingface", "token"), "#{SECRET}\n")
    code = <<~RUBY
      require "candle"
      c = Candle::Hub.config
      puts c.cache_dir, c.token_present, c.offline
      puts Candle::Hub.download("org/private", "config.json", endpoint: #{@server.url.inspect}, progress: false)
    RUBY
    out, err, status = run_ruby(code, env: { "HOME" => home, "HF_HOME" => nil, "XDG_CACHE_HOME" => nil })
    assert status.success?, err
    cache_dir, token_present, offline, path = out.lines.map(&:chomp)
    expected = File.join(home, ".cache", "huggingface", "hub")
    assert_equal expected, cache_dir
    assert_equal "true", token_present
    assert_equal "false", offline
    assert path.start_with?("#{expected}/models--org--private/snapshots/"), path
    assert_equal "Bearer #{SECRET}", @server.requests.first[:authorization]
  end

  def test_environment_of_a_child_process_is_read
    code = <<~RUBY
      require "candle"
      c = Candle::Hub.config
      puts c.cache_dir, c.endpoint, c.offline
      begin
        Candle::Hub.download("org/model", "config.json", progress: false)
      rescue Candle::OfflineError => e
        puts e.class
      end
    RUBY
    env = { "HF_HUB_CACHE" => dir("child"), "HF_ENDPOINT" => "#{@server.url}/", "HF_HUB_OFFLINE" => "1" }
    out, err, status = run_ruby(code, env: env)
    assert status.success?, err
    assert_equal [dir("child"), @server.url, "true", "Candle::OfflineError"], out.lines.map(&:chomp)
    assert_equal 0, @server.requests.size

    out, err, status = run_ruby(code, env: env.merge("HF_HUB_OFFLINE" => nil))
    assert status.success?, err
    assert_equal [dir("child"), @server.url, "false"], out.lines.map(&:chomp)
    assert_equal 2, @server.requests.size
    assert File.file?(File.join(dir("child"), "models--org--model", "snapshots", @commit, "config.json"))
  end

  # ------------------------------------------------------------ endpoint

  def test_hf_endpoint_is_used_and_endpoint_option_wins
    with_env("HF_ENDPOINT" => @server.url) do
      assert_equal @server.url, Candle::Hub.config.endpoint
      path = assert_requests(2) { Candle::Hub.download("org/model", "config.json", cache_dir: @cache, progress: false) }
      assert_equal CONFIG_JSON, File.read(path)
    end
    # a dead HF_ENDPOINT is ignored when endpoint: is given
    with_env("HF_ENDPOINT" => "http://127.0.0.1:1") do
      assert_equal @server.url, Candle::Hub.config(endpoint: @server.url).endpoint
      path = assert_requests(2) { download("org/model", "tokenizer.json") }
      assert_equal TOKENIZER_JSON, File.read(path)
    end
    # trailing slashes are dropped
    assert_equal @server.url, Candle::Hub.config(endpoint: "#{@server.url}//").endpoint
    assert_requests(2) { download("org/model", "1_Pooling/config.json", endpoint: "#{@server.url}/") }
    assert(@server.requests.none? { |r| r[:path].start_with?("//") })
    # default
    assert_equal "https://huggingface.co", Candle::Hub.config.endpoint
    # not an http(s) URL: refused by whatever would make a request
    assert_no_requests do
      assert_raises(ArgumentError) { download("org/never-fetched", "config.json", endpoint: "ftp://example.com") }
      with_env("HF_ENDPOINT" => "not a url") do
        assert_equal "not a url", Candle::Hub.config.endpoint
        err = assert_raises(ArgumentError) { download("org/model", "vocab.txt", endpoint: nil, refresh: true) }
        assert_match(/invalid Hub endpoint "not a url"/, err.message)
      end
    end
  end

  # Cache-only work never looks at the endpoint: a bad HF_ENDPOINT breaks
  # neither cached_path, nor a warm download, nor the cache commands.
  def test_cache_only_operations_ignore_hf_endpoint
    warm = download("org/model", "config.json")
    with_env("HF_ENDPOINT" => "ftp://not-a-hub", "HF_HUB_CACHE" => @cache) do
      assert_no_requests do
        assert_equal warm, Candle::Hub.cached_path("org/model", "config.json")
        assert_equal warm, Candle::Hub.download("org/model", "config.json", progress: false)
        assert_equal warm, Candle::Hub.download("org/model", "config.json", local_files_only: true, progress: false)
        assert_includes Candle::Hub::Cache.scan.map(&:repo_id), "org/model"
        assert Candle::Hub::Cache.verify("org/model").all?(&:ok?)
        out, = Open3.capture2e({"HF_ENDPOINT" => "ftp://not-a-hub", "HF_HUB_CACHE" => @cache},
                               RbConfig.ruby, "-I", File.expand_path("../lib", __dir__),
                               File.expand_path("../exe/candle", __dir__), "cache", "ls")
        assert_match(%r{org/model}, out)
      end
    end
  end

  # ------------------------------------------------------------ token

  def test_token_precedence_option_then_hf_token_then_token_file
    File.write(File.join(@hf_home, "token"), "hf_FileToken\n")
    auth = lambda do |**kw|
      before = @server.requests.size
      FileUtils.rm_rf(@cache)
      download("org/model", "config.json", **kw)
      @server.requests.drop(before).map { |r| r[:authorization] }.uniq
    end
    with_env("HF_TOKEN" => "hf_EnvToken") do
      assert_equal ["Bearer hf_ArgToken"], auth.call(token: "hf_ArgToken")
      assert_equal ["Bearer hf_EnvToken"], auth.call
    end
    assert_equal ["Bearer hf_FileToken"], auth.call
    File.write(File.join(@hf_home, "token"), "  \n")
    assert_equal [nil], auth.call, "a blank token file means no token"
    File.delete(File.join(@hf_home, "token"))
    assert_equal [nil], auth.call
    refute Candle::Hub.config.token_present

    # and against a private repo
    assert_raises(Candle::AuthenticationError) { download("org/private", "config.json") }
    File.write(File.join(@hf_home, "token"), SECRET)
    assert Candle::Hub.config.token_present
    assert_equal CONFIG_JSON, File.read(download("org/private", "config.json"))
  end

  def test_config_reports_token_presence_but_never_the_token
    refute Candle::Hub.config.token_present
    with_env("HF_TOKEN" => SECRET) do
      config = Candle::Hub.config
      assert config.token_present
      refute config.to_h.key?(:token)
      [config.inspect, config.to_s, config.to_h.inspect, config.to_a.inspect].each { |s| refute_includes s, SECRET }
    end
    config = Candle::Hub.config(token: SECRET)
    assert config.token?
    refute_includes config.inspect, SECRET
  end

  # ------------------------------------------------------------ offline

  def test_hf_hub_offline_truthy_values
    %w[1 true yes on TRUE On].each do |value|
      with_env("HF_HUB_OFFLINE" => value) do
        assert Candle::Hub.config.offline?, value
        e = assert_no_requests { assert_raises(Candle::OfflineError, value) { download("org/model", "config.json") } }
        assert_includes e.message, "HF_HUB_OFFLINE"
        assert_no_requests { assert_raises(Candle::OfflineError, value) { Candle::Hub.files("org/model", **hub_opts.except(:progress)) } }
        assert_no_requests { assert_raises(Candle::OfflineError, value) { Candle::Hub.snapshot("org/model", **hub_opts) } }
      end
    end
  end

  def test_hf_hub_offline_falsy_values_stay_online
    ["0", "false", "no", "off", ""].each do |value|
      FileUtils.rm_rf(@cache)
      with_env("HF_HUB_OFFLINE" => value) do
        refute Candle::Hub.config.offline?, value.inspect
        assert_requests(2) { download("org/model", "config.json") }
      end
    end
  end

  def test_hf_hub_offline_wins_over_local_files_only_false
    with_env("HF_HUB_OFFLINE" => "1") do
      assert Candle::Hub.config(local_files_only: false).offline
      e = assert_no_requests do
        assert_raises(Candle::OfflineError) { download("org/model", "config.json", local_files_only: false) }
      end
      assert_includes e.message, "HF_HUB_OFFLINE=1"
      refute_includes e.message, "pass local_files_only: false", "that advice would not help here"
    end
    e = assert_raises(Candle::OfflineError) { download("org/model", "config.json", local_files_only: true) }
    assert_includes e.message, "local_files_only: true"
  end

  # ------------------------------------------------------------ retries

  def test_retry_settings_from_env_and_options
    with_env("CANDLE_HUB_MAX_RETRIES" => "2", "CANDLE_HUB_RETRY_BASE_MS" => "7", "CANDLE_HUB_RETRY_MAX_WAIT_S" => "3") do
      c = Candle::Hub.config
      assert_equal [2, 0.007, 3.0], [c.max_retries, c.retry_base_delay, c.max_retry_wait]
      c = Candle::Hub.config(max_retries: 9, retry_base_delay: 0.25, max_retry_wait: 4)
      assert_equal [9, 0.25, 4.0], [c.max_retries, c.retry_base_delay, c.max_retry_wait]
      # the env limit is what a download uses
      @server.fault("config.json", :status, status: 500)
      assert_requests(3) { assert_raises(Candle::DownloadError) { download("org/model", "config.json") } }
    end
    with_env("CANDLE_HUB_MAX_RETRIES" => "lots") { assert_raises(ArgumentError) { Candle::Hub.config } }
    assert_raises(ArgumentError) { Candle::Hub.config(max_retries: "x") }
    assert_raises(ArgumentError) { Candle::Hub.config(nonsense: 1) }
  end
end
