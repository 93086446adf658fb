# frozen_string_literal: true

# Checks the local Hub tree built by `ruby script/stage_test_hub.rb`: every repo
# of the staging table exists and every file has its pinned sha256. A missing
# tree FAILS (it is never skipped): build it first.
#
# Root: $CANDLE_TEST_HUB_DIR or ~/.cache/candle-test-hub/repos (as the script).
require "minitest/autorun"
require "digest"
require "json"
require_relative "../script/stage_test_hub"

class StagedModelsTest < Minitest::Test
  ROOT = Candle::Staging.default_root
  HINT = "run `ruby script/stage_test_hub.rb` (root #{ROOT})".freeze

  def test_table_pins_every_file
    Candle::Staging::SOURCES.each do |id, entry|
      refute_empty entry[:sha256], id
      entry[:sha256].each do |f, sha|
        assert_match(/\A\h{64}\z/, sha, "#{id}: #{f} has no real sha256 pin")
      end
      refute_nil entry[:license], id
    end
  end

  Candle::Staging::SOURCES.each do |repo_id, entry|
    define_method("test_staged_#{repo_id.gsub(/[^A-Za-z0-9]+/, '_')}") do
      dir = File.join(ROOT, repo_id)
      marker = File.join(dir, ".hub-repo")
      assert File.file?(marker), "#{repo_id} is not staged (#{marker} missing): #{HINT}"
      meta = JSON.parse(File.read(marker))
      assert_equal entry[:sha256].keys.sort, meta["files"].keys.sort, "#{repo_id}: .hub-repo file list; #{HINT}"
      assert_equal entry[:license], meta["license"]
      on_disk = Dir.glob("**/*", File::FNM_DOTMATCH, base: dir)
                   .select { |p| File.file?(File.join(dir, p)) } - [".hub-repo"]
      assert_equal entry[:sha256].keys.sort, on_disk.sort, "#{repo_id}: files on disk; #{HINT}"
      entry[:sha256].each do |f, want|
        path = File.join(dir, f)
        assert_equal meta["files"][f]["size"], File.size(path), "#{repo_id}: size of #{f}; #{HINT}"
        assert_equal want, meta["files"][f]["sha256"], "#{repo_id}: .hub-repo sha256 of #{f}; #{HINT}"
        assert_equal want, Digest::SHA256.file(path).hexdigest, "#{repo_id}: sha256 of #{f}; #{HINT}"
      end
    end
  end
end
