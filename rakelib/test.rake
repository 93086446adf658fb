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
task "test:ruby" => :compile

desc "Compile, then run the Rust core tests and the Ruby test suite"
task test: [:compile, "test:rust", "test:ruby"]
