# frozen_string_literal: true

# The RUSTFLAGS the native extension builds with, shared by extconf.rb (gem
# install, rake compile) and rake test:rust so both reuse one build.
#
# The gem compiles on the machine that runs it, so by default it builds for
# that CPU (`-C target-cpu=native`): candle's quantized kernels and the
# compiler's auto-vectorisation then use AVX2 / AVX-512 / NEON where present,
# 1.5-4x faster than a baseline x86-64 build for GGUF models (bench/README.md).
# CANDLE_PORTABLE=1 builds for the baseline target instead (a binary to copy to
# other machines); a RUSTFLAGS the user set wins over both.
module CandleRustflags
  NATIVE = "-C target-cpu=native"

  def self.value(env = ENV)
    return env["RUSTFLAGS"] if env["RUSTFLAGS"] && !env["RUSTFLAGS"].empty?
    return "" if %w[1 true yes].include?(env["CANDLE_PORTABLE"].to_s.downcase)

    NATIVE
  end
end
