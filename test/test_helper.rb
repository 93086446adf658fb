# frozen_string_literal: true

require "rbconfig"

# Debug-only natives (panic on purpose, busy loops) are registered only when
# this is set before the extension loads.
ENV["CANDLE_TEST_NATIVES"] = "1"

# The suite runs offline (as `rake test` arranges): tests that need the network
# start their own local Hub server and pass endpoint: explicitly.
ENV["HF_HUB_OFFLINE"] = "1"
ENV.delete("HF_ENDPOINT")

# ...against its own HuggingFace cache, the one `rake models:prewarm` fills
# (~/.cache/candle-test-hub/hf-cache), never the user's unless asked for with
# CANDLE_TEST_HF_CACHE=user: HF_HUB_CACHE wins over HF_HOME / XDG_CACHE_HOME.
require_relative "support/test_hf_cache"
CandleTest::TestHFCache.apply!

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require_relative "support/manifest"
require "json"
require "minitest/autorun"

# Tests that change HF_* / CANDLE_* variables must put them back: a leak makes
# later tests (in this process) silently use another cache or endpoint.
module CandleEnvGuard
  WATCHED = /\A(HF_|HUGGINGFACE_|XDG_CACHE_HOME\z|CANDLE_)/

  def before_setup
    super
    @candle_env_before = watched_env
  end

  def after_teardown
    leaked = watched_env.to_a - @candle_env_before.to_a | @candle_env_before.to_a - watched_env.to_a
    assert_empty leaked.map(&:first).uniq, "#{self.class}##{name} left environment variables changed"
    super
  end

  private

  def watched_env
    ENV.to_h.select { |k, _| k.match?(WATCHED) }
  end
end
Minitest::Test.prepend(CandleEnvGuard)

module CandleTestHelpers
  # Largest |a - b| over two equally shaped (nested) arrays of numbers.
  def max_diff(a, b)
    assert_equal a.size, b.size
    a.flatten.zip(b.flatten).map { |x, y| (x - y).abs }.max
  end

  def softmax(v)
    m = v.max
    e = v.map { |x| Math.exp(x - m) }
    e.map { |x| x / e.sum }
  end

  # ENV changes for the block only (nil deletes).
  def with_env(vars)
    saved = vars.keys.to_h { |k| [k, ENV[k]] }
    vars.each { |k, v| v.nil? ? ENV.delete(k) : ENV[k] = v }
    yield
  ensure
    saved&.each { |k, v| v.nil? ? ENV.delete(k) : ENV[k] = v }
  end

  # A Ruby thread that counts while native work runs: [thread, -> { ticks }].
  # Ticks only advance when the native call has released the GVL.
  def ticker
    ticks = 0
    thread = Thread.new do
      loop do
        ticks += 1
        sleep 0.005
      end
    end
    [thread, -> { ticks }]
  end

  # Runs `script` in a child Ruby (lib on the load path). The script prints
  # "ready" once its native work is under way and "interrupted" when it
  # rescues Interrupt; SIGINT sent after "ready" must reach that rescue
  # within `within` seconds, and the child must exit cleanly.
  def assert_sigint_interrupts(script, within: 1.0)
    lib = File.expand_path("../lib", __dir__)
    IO.popen([RbConfig.ruby, "-I", lib, "-e", script], err: File::NULL) do |io|
      assert_equal "ready\n", io.gets
      yield if block_given?
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      Process.kill("INT", io.pid)
      assert_equal "interrupted\n", io.gets
      assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, within
    end
    assert $?.success?
  end
end
Minitest::Test.include(CandleTestHelpers)
