# frozen_string_literal: true

require "rake/testtask"

namespace :test do
  desc "Rust core tests (cargo test, same profile and target dir as the extension)"
  task :rust do
    features = ENV.fetch("CANDLE_FEATURES", "").split(/[\s,]+/).reject(&:empty?)
    args = ["cargo", "test", "--manifest-path", "ext/candle/Cargo.toml", "--profile", candle_cargo_profile]
    args += ["--features", features.join(",")] unless features.empty?
    sh(candle_cargo_env, *args)
  end

  Rake::TestTask.new(:ruby) do |t|
    t.libs << "test" << "lib"
    t.test_files = FileList["test/**/*_test.rb"]
    t.warning = false
  end
end
# The Ruby suite runs offline against the warm cache (test/test_helper.rb sets
# HF_HUB_OFFLINE=1 and removes HF_ENDPOINT): a test that needs the network must
# start its own local Hub server and pass endpoint: explicitly.
task "test:ruby" => :compile

desc "Compile, run the Rust core tests, pre-warm the test models, run the Ruby suite offline"
task test: [:compile, "test:rust", "models:prewarm", "test:ruby"]
