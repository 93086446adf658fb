# frozen_string_literal: true

# The real models the suite uses are exactly the pinned ones: every file that
# test/model_manifest.txt names is in the HF cache (put there through the Hub
# download path) with the sha256 that Candle::Staging::SOURCES pins. The staging
# script checks its own tree against the same pins whenever it builds it.
require_relative "test_helper"
require "digest"
require_relative "../script/stage_test_hub"

class StagedModelsTest < Minitest::Test
  HINT = "run `bundle exec rake models:prewarm`"

  def test_table_pins_every_file_and_names_a_licence
    Candle::Staging::SOURCES.each do |id, entry|
      refute_empty entry[:sha256], id
      entry[:sha256].each do |f, sha|
        assert_match(/\A\h{64}\z/, sha, "#{id}: #{f} has no real sha256 pin")
      end
      refute_nil entry[:license], id
    end
  end

  def test_every_manifest_repo_has_a_staging_source
    missing = Candle::Manifest.load.repo_ids - Candle::Staging::SOURCES.keys
    assert_empty missing, "manifest repos with no source in script/stage_test_hub.rb"
  end

  Candle::Manifest.load.each do |entry|
    define_method("test_cached_#{entry.repo_id.gsub(/[^A-Za-z0-9]+/, "_")}_matches_its_pins") do
      pins = Candle::Staging::SOURCES.fetch(entry.repo_id)[:sha256]
      cached = Candle::Hub.files(entry.repo_id, revision: entry.revision).select { |f| entry.include?(f) }
      refute_empty cached, "#{entry.repo_id}: nothing in the cache; #{HINT}"
      (entry.patterns || []).each do |pattern|
        assert cached.any? { |f| File.fnmatch?(pattern, f, File::FNM_PATHNAME) },
               "#{entry.repo_id}: no cached file for #{pattern}; #{HINT}"
      end
      cached.each do |file|
        path = Candle::Hub.cached_path(entry.repo_id, file, revision: entry.revision)
        assert pins.key?(file), "#{entry.repo_id}: #{file} is not pinned"
        assert_equal pins[file], Digest::SHA256.file(path).hexdigest, "#{entry.repo_id}: sha256 of #{file}"
      end
    end
  end
end
