# frozen_string_literal: true

require_relative "test_helper"
require "open3"
require "rbconfig"

# The suite runs offline against a cache pre-warmed from test/model_manifest.txt.
class OfflineSuiteTest < Minitest::Test
  def test_the_suite_runs_offline
    assert_equal "1", ENV["HF_HUB_OFFLINE"]
    assert_nil ENV["HF_ENDPOINT"]
    assert Candle::Hub.config.offline?
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
    gguf = Candle::Hub.download("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert_equal "GGUF", File.binread(gguf, 4)
    assert_raises(Candle::OfflineError) { Candle::Hub.download("sentence-transformers/all-MiniLM-L6-v2", "not-there.bin") }
  end
end
