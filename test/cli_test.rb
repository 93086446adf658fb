# frozen_string_literal: true

require_relative "test_helper"
require_relative "support/hub_server"
require "candle/cli"
require "minitest/mock"
require "open3"
require "rbconfig"
require "stringio"
require "tmpdir"
require "fileutils"

# The `candle` command line, run in-process against a local Hub server and a
# temporary cache. The suite may run with HF_HUB_OFFLINE=1; `candle` below
# removes it (and HF_TOKEN / HF_ENDPOINT) around each call unless a test sets it.
class CLITest < Minitest::Test
  SECRET = "hf_CliSecret999"
  ENV_KEYS = %w[HF_HUB_OFFLINE HF_TOKEN HF_ENDPOINT HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HOME XDG_CACHE_HOME
                CANDLE_PROGRESS].freeze

  Result = Struct.new(:code, :out, :err)

  def setup
    @server = CandleTest::HubServer.new.start
    @tmp = Dir.mktmpdir("cli-test")
    @cache = File.join(@tmp, "hub")
    @weights = Random.new(11).bytes(200_000)
    @sha = @server.add_repo("org/model", files: {
                              "config.json" => %({"hidden_size": 8}),
                              "tokenizer.json" => %({"model": {}}),
                              "model.safetensors" => @weights
                            })
  end

  def teardown
    @server.stop
    FileUtils.rm_rf(@tmp)
  end

  # Runs the CLI with `env` applied to ENV for the call (nil removes a key);
  # by default online, without a token, against the tmp cache.
  def candle(*argv, env: {}, stdin: StringIO.new)
    saved = (ENV_KEYS | env.keys).to_h { |k| [k, ENV[k]] }
    ENV_KEYS.each { |k| ENV.delete(k) }
    env.each { |k, v| v.nil? ? ENV.delete(k) : ENV[k] = v }
    out = StringIO.new
    err = StringIO.new
    code = Candle::CLI.new(stdout: out, stderr: err, stdin: stdin).run(argv)
    Result.new(code, out.string, err.string)
  ensure
    saved&.each { |k, v| v.nil? ? ENV.delete(k) : ENV[k] = v }
  end

  def hub_args = ["--endpoint", @server.url, "--cache-dir", @cache]

  def download_all
    r = candle("download", "org/model", "--quiet", *hub_args)
    assert_equal 0, r.code, r.err
    r.out.strip
  end

  def assert_no_backtrace(text)
    refute_match(/\.rb:\d+/, text)
    refute_match(/\.rs:\d+/, text)
  end

  # ------------------------------------------------------------ download

  def test_download_files_prints_existing_paths
    r = candle("download", "org/model", "config.json", "model.safetensors", *hub_args)
    assert_equal 0, r.code, r.err
    paths = r.out.lines.map(&:chomp)
    assert_equal 2, paths.size
    assert_equal %({"hidden_size": 8}), File.read(paths[0])
    assert_equal @weights, File.binread(paths[1])
    assert paths.all? { |p| p.start_with?(File.join(@cache, "models--org--model", "snapshots", @sha)) }
    assert_includes r.err, "model.safetensors", "progress bar on stderr"

    again = candle("download", "org/model:config.json@#{@sha}", "--quiet", *hub_args)
    assert_equal 0, again.code, again.err
    assert_equal paths[0], again.out.chomp
    assert_equal "", again.err, "--quiet prints no progress"
  end

  def test_download_include_prints_snapshot_dir_with_only_matching_files
    r = candle("download", "org/model", "--include", "*.json", "--exclude", "tokenizer*", "-q", *hub_args)
    assert_equal 0, r.code, r.err
    dir = r.out.chomp
    assert_equal 1, r.out.lines.size
    assert File.directory?(dir)
    assert_equal ["config.json"], Dir.children(dir).sort
    assert_equal 0, @server.request_count("model.safetensors")
  end

  def test_download_errors
    r = candle("download", "org/missing", "config.json", *hub_args, env: { "HF_TOKEN" => SECRET })
    assert_equal 1, r.code
    assert_match(/\Acandle: RepositoryNotFoundError: /, r.err)
    refute_includes r.err, SECRET
    assert_no_backtrace r.err

    r = candle("download", "org/model", "nope.bin", "-q", *hub_args)
    assert_equal 1, r.code
    assert_match(/candle: EntryNotFoundError: .*nope\.bin/, r.err)

    r = candle("download", "bad id!!", "config.json", *hub_args)
    assert_equal 2, r.code
    assert_match(/invalid repo id/, r.err)
    assert_no_backtrace r.err
  end

  def test_offline_cold_cache_fails_with_offline_error
    r = candle("download", "org/model", "config.json", *hub_args, env: { "HF_HUB_OFFLINE" => "1" })
    assert_equal 1, r.code
    assert_match(/\Acandle: OfflineError: /, r.err)
    r = candle("download", "org/model", "--local-files-only", *hub_args)
    assert_equal 1, r.code
    assert_match(/OfflineError/, r.err)
    assert_equal 0, @server.request_count

    download_all
    @server.clear_requests
    r = candle("download", "org/model", "config.json", "-q", *hub_args, env: { "HF_HUB_OFFLINE" => "1" })
    assert_equal 0, r.code, r.err
    assert File.file?(r.out.chomp)
    assert_equal 0, @server.request_count
  end

  # ------------------------------------------------------------ cache

  def test_cache_ls_lists_repo_with_size
    empty = candle("cache", "ls", "--cache-dir", @cache)
    assert_equal 0, empty.code
    assert_match(/Scanned 0 repo\(s\)/, empty.out)

    download_all
    r = candle("cache", "ls", "--cache-dir", @cache)
    assert_equal 0, r.code, r.err
    header, rule, row = r.out.lines
    %w[REPO\ ID TYPE SIZE\ ON\ DISK NB\ FILES LAST\ MODIFIED REFS].each { |h| assert_includes header, h }
    assert_match(/\A-+ +-+/, rule)
    assert_match(/\Aorg\/model +model +200\.\dK +3 +.+ago +main\s*\z/, row)
    assert_match(/Scanned 1 repo\(s\) in #{Regexp.escape(@cache)} for a total of 200\.\dK\./, r.out)
  end

  def test_cache_verify_detects_a_corrupt_blob
    download_all
    r = candle("cache", "verify", "--cache-dir", @cache)
    assert_equal 0, r.code, r.out + r.err
    assert_match(/Verified 3 blob\(s\) in 1 repo\(s\): 3 ok, 0 corrupt/, r.out)

    blob = File.realpath(File.join(@cache, "models--org--model", "snapshots", @sha, "model.safetensors"))
    File.chmod(0o644, blob)
    File.open(blob, "r+b") do |f|
      f.seek(1000)
      byte = f.read(1).ord
      f.seek(1000)
      f.write((byte ^ 0xFF).chr)
    end
    r = candle("cache", "verify", "org/model", "--cache-dir", @cache)
    assert_equal 1, r.code
    assert_includes r.out, "CORRUPT org/model #{blob}"
    assert_match(/1 corrupt/, r.out)

    r = candle("cache", "verify", "org/other", "--cache-dir", @cache)
    assert_equal 1, r.code
    assert_match(/RepositoryNotFoundError/, r.err)
  end

  def test_cache_link
    download_all
    into = File.join(@tmp, "vendor", "models", "model")
    r = candle("cache", "link", "org/model", into, "--cache-dir", @cache)
    assert_equal 0, r.code, r.err
    assert_equal into, r.out.chomp
    assert File.symlink?(File.join(into, "config.json"))
    assert_equal @weights, File.binread(File.join(into, "model.safetensors"))

    r = candle("cache", "link", "org/other", File.join(@tmp, "x"), "--cache-dir", @cache)
    assert_equal 1, r.code
    assert_match(/OfflineError/, r.err)
  end

  def test_cache_rm
    download_all
    refused = candle("cache", "rm", "org/model", "--cache-dir", @cache)
    assert_equal 2, refused.code
    assert_match(/without --yes/, refused.err)
    assert File.directory?(File.join(@cache, "models--org--model"))

    r = candle("cache", "rm", "org/model", "--yes", "--cache-dir", @cache)
    assert_equal 0, r.code, r.err
    assert_match(/Deleted model org\/model \(1 revision\(s\)\); freed 200\.\dK\./, r.out)
    refute File.exist?(File.join(@cache, "models--org--model"))
    refute_includes candle("cache", "ls", "--cache-dir", @cache).out, "org/model"

    r = candle("cache", "rm", "org/model", "--yes", "--cache-dir", @cache)
    assert_equal 1, r.code
    assert_match(/RepositoryNotFoundError/, r.err)
  end

  def test_cache_rm_asks_on_a_terminal
    download_all
    tty = StringIO.new("n\n")
    def tty.tty? = true
    r = candle("cache", "rm", "org/model", "--cache-dir", @cache, stdin: tty)
    assert_equal 0, r.code
    assert_match(/Delete model org\/model \(200\.\dK\).*\[y\/N\]/, r.err)
    assert File.directory?(File.join(@cache, "models--org--model"))

    tty = StringIO.new("y\n")
    def tty.tty? = true
    r = candle("cache", "rm", "org/model", "--cache-dir", @cache, stdin: tty)
    assert_equal 0, r.code, r.err
    refute File.exist?(File.join(@cache, "models--org--model"))
  end

  # ------------------------------------------------------------ env, usage, exit codes

  def test_env_shows_settings_but_never_the_token
    r = candle("env", "--cache-dir", @cache, env: { "HF_TOKEN" => SECRET, "HF_ENDPOINT" => @server.url })
    assert_equal 0, r.code, r.err
    assert_match(/^cache dir: +#{Regexp.escape(@cache)}$/, r.out)
    assert_match(/^endpoint: +#{Regexp.escape(@server.url)}$/, r.out)
    assert_match(/^token: +yes$/, r.out)
    assert_match(/^candle version: +#{Regexp.escape(Candle::VERSION)}$/, r.out)
    assert_match(/^ruby: +#{Regexp.escape(RUBY_VERSION)}/, r.out)
    refute_includes r.out + r.err, SECRET
    refute_includes r.out + r.err, "CliSecret"

    r = candle("env", "--cache-dir", @cache, env: { "HF_HOME" => File.join(@tmp, "home"), "HF_HUB_OFFLINE" => "1" })
    assert_match(/^token: +no$/, r.out)
    assert_match(/^offline: +yes$/, r.out)

    r = candle("env", "--token", SECRET)
    assert_match(/^token: +yes$/, r.out)
    refute_includes r.out, SECRET
  end

  def test_usage_errors_exit_2
    r = candle("frobnicate")
    assert_equal 2, r.code
    assert_match(/unknown command "frobnicate"/, r.err)
    assert_match(/Usage: candle/, r.err)

    assert_equal 2, candle("download").code
    assert_equal 2, candle("download", "org/model", "--bogus").code
    assert_equal 2, candle("download", "org/model", "--max-workers", "0").code
    assert_equal 2, candle("download", "org/model", "--repo-type", "nope").code
    assert_equal 2, candle("cache").code
    assert_equal 2, candle("cache", "frob").code
    assert_equal 2, candle("cache", "link", "org/model").code
    assert_equal 2, candle.code
    assert_equal 0, @server.request_count
  end

  def test_help_and_version
    r = candle("--help")
    assert_equal 0, r.code
    %w[download cache\ ls cache\ verify cache\ rm cache\ link env].each { |c| assert_includes r.out, c }
    r = candle("download", "--help")
    assert_equal 0, r.code
    assert_includes r.out, "--include GLOB"
    assert_equal 0, @server.request_count
    assert_includes candle("help", "cache", "rm").out, "--yes"
    assert_equal "candle #{Candle::VERSION}\n", candle("--version").out
  end

  def test_interrupt_exits_130
    Candle::Hub.stub(:download, ->(*_args, **_opts) { raise Interrupt }) do
      r = candle("download", "org/model", "config.json", *hub_args)
      assert_equal 130, r.code
      assert_match(/interrupted/, r.err)
    end
  end

  def test_executable_version
    root = File.expand_path("..", __dir__)
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(root, "lib"), File.join(root, "exe", "candle"),
                                      "--version")
    assert status.success?, err
    assert_equal "candle #{Candle::VERSION}\n", out
  end
end
