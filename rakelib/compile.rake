# frozen_string_literal: true

require "rake/extensiontask"
require "rake/clean"
require_relative "../ext/candle/rustflags"

# rake-compiler drives ext/candle/extconf.rb's Makefile. Its copy step runs
# `make install`, which always runs cargo, so Cargo.lock / profile / feature
# changes are picked up on every `rake compile` (0.3 s when nothing changed).
# CANDLE_CARGO_PROFILE (release | ci | dev) and CANDLE_FEATURES (cuda,metal,...)
# select what is built; CARGO_TARGET_DIR moves the ~600 MB build directory;
# CANDLE_PORTABLE=1 builds for the baseline CPU instead of this one.
CANDLE_GEMSPEC = Gem::Specification.load(File.expand_path("../candle.gemspec", __dir__))

Rake::ExtensionTask.new("candle", CANDLE_GEMSPEC) do |ext|
  ext.ext_dir = "ext/candle"
  ext.lib_dir = "lib" # make install puts it in lib/candle/
end

CLEAN.include("ext/candle/target")

# The same RUSTFLAGS as the extension's Makefile (ext/candle/rustflags.rb), so
# cargo test reuses the extension's build instead of rebuilding everything.
def candle_cargo_env
  {"CARGO_TARGET_DIR" => ENV.fetch("CARGO_TARGET_DIR", File.expand_path("../ext/candle/target", __dir__)),
   "RUSTFLAGS" => CandleRustflags.value}
end

def candle_cargo_profile
  ENV.fetch("CANDLE_CARGO_PROFILE", "release")
end
