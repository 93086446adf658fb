# frozen_string_literal: true

require_relative "test_helper"
require "digest"
require "fileutils"
require "open3"
require "rbconfig"
require "tmpdir"

# `rake models:prewarm` and the suite never write into the user's HuggingFace
# cache: they use the test cache that CANDLE_TEST_HF_CACHE selects
# (test/support/test_hf_cache.rb), whatever HF_HOME / XDG_CACHE_HOME say.
class UserCacheUntouchedTest < Minitest::Test
  ROOT = File.expand_path("..", __dir__)
  COMMIT = "0123456789abcdef0123456789abcdef01234567"

  def setup
    @home = Dir.mktmpdir("candle-user-cache")
    @hf_home = File.join(@home, "hf-home")
    @xdg = File.join(@home, "xdg")
    # A user cache holding ids the suite also uses, with a snapshot of its own.
    [File.join(@hf_home, "hub"), File.join(@xdg, "huggingface", "hub")].each do |hub|
      fake_repo(hub, "sentence-transformers/all-MiniLM-L6-v2", "config.json" => %({"model_type": "bert"}))
      fake_repo(hub, "candle-test/tiny-bert", "config.json" => "{}", "vocab.txt" => "[PAD]\n")
    end
    File.write(File.join(@hf_home, "token"), "hf_user_token\n")
    # Old mtimes, so that a rewrite with the same bytes would still show.
    Dir.glob("**/*", File::FNM_DOTMATCH, base: @home).each do |rel|
      File.lutime(Time.at(1_000_000_000), Time.at(1_000_000_000), File.join(@home, rel)) unless rel.end_with?(".")
    end
  end

  def teardown
    FileUtils.rm_rf(@home)
  end

  def fake_repo(hub, repo_id, files)
    repo = File.join(hub, "models--#{repo_id.tr("/", "--")}")
    FileUtils.mkdir_p([File.join(repo, "refs"), File.join(repo, "blobs"), File.join(repo, "snapshots", COMMIT)])
    File.write(File.join(repo, "refs", "main"), COMMIT)
    files.each do |name, content|
      blob = Digest::SHA1.hexdigest("blob #{content.bytesize}\0#{content}")
      File.write(File.join(repo, "blobs", blob), content)
      File.symlink("../../blobs/#{blob}", File.join(repo, "snapshots", COMMIT, name))
    end
  end

  # Every entry under @home: path, type, content digest (or link target), size, mtime.
  def listing
    Dir.glob("**/*", File::FNM_DOTMATCH, base: @home).reject { |rel| rel.end_with?("/.", "/..") || rel == "." }.sort.map do |rel|
      path = File.join(@home, rel)
      st = File.lstat(path)
      content = if st.symlink? then "-> #{File.readlink(path)}"
                elsif st.file? then Digest::SHA256.file(path).hexdigest
                end
      [rel, st.ftype, content, st.size, st.mtime.to_r]
    end
  end

  # The child sees the user's cache through HF_HOME and XDG_CACHE_HOME only, and
  # the same test-cache switch as this process (so a complete test cache stays
  # complete: the pre-warm is the no-op --check). Under CANDLE_TEST_HF_CACHE=user
  # (the GitHub workflow) that cache is passed as a directory.
  def child_env
    switch = ENV["CANDLE_TEST_HF_CACHE"]
    switch = Candle::Hub.config.cache_dir if switch.to_s.strip == "user"
    { "HF_HOME" => @hf_home, "XDG_CACHE_HOME" => @xdg, "HF_HUB_CACHE" => nil, "HUGGINGFACE_HUB_CACHE" => nil,
      "HF_ENDPOINT" => nil, "HF_HUB_OFFLINE" => nil, "CANDLE_TEST_HF_CACHE" => switch, "CANDLE_PROGRESS" => "0" }
  end

  def run_child(*cmd)
    out, status = Open3.capture2e(child_env, *cmd, chdir: ROOT)
    assert status.success?, "#{cmd.join(" ")} failed:\n#{out}"
    out
  end

  def test_the_switch_never_resolves_to_the_users_cache_by_default
    env = { "HF_HOME" => @hf_home, "XDG_CACHE_HOME" => @xdg, "HF_HUB_CACHE" => File.join(@home, "configured") }
    assert_equal CandleTest::TestHFCache::DEFAULT, CandleTest::TestHFCache.dir(env)
    assert_equal({ "HF_HUB_CACHE" => CandleTest::TestHFCache::DEFAULT }, CandleTest::TestHFCache.env(env))
    assert_equal({}, CandleTest::TestHFCache.env(env.merge("CANDLE_TEST_HF_CACHE" => "user")))
    assert_equal File.join(@home, "x"), CandleTest::TestHFCache.dir("CANDLE_TEST_HF_CACHE" => File.join(@home, "x"))
    refute CandleTest::TestHFCache::DEFAULT.start_with?(File.join(Dir.home, ".cache", "huggingface"))
  end

  def test_prewarm_and_a_test_file_leave_the_users_cache_unchanged
    before = listing
    refute_empty before
    out = run_child(RbConfig.ruby, Gem.bin_path("rake", "rake"), "models:prewarm")
    assert_match(/models: cache complete/, out, "the test cache should already be complete (rake test pre-warms it)")
    run_child(RbConfig.ruby, "-Ilib", "-Itest", "test/tokenizer_test.rb")
    assert_equal before, listing, "the user's cache under HF_HOME / XDG_CACHE_HOME changed"
  end
end
