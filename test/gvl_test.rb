# frozen_string_literal: true

require_relative "test_helper"
require "timeout"
require "rbconfig"

# Timing here is judged against bounds a busy 2-core CI machine keeps: a
# regression (native work holding the GVL, or ignoring interrupts) is off by
# orders of magnitude, so the bounds are ratios of the measured time or far
# above what a working build needs, yet far below what a broken one takes.
class GvlTest < Minitest::Test
  T = Candle::Native::Testing
  TICK = 0.005 # the ticker's sleep (test_helper.rb)
  # Interrupting must be prompt: far below the 30 s (busy) or ~1000 s (matmul,
  # events) the native calls below run when they are not interrupted.
  PROMPT = 2.0

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Ticks a Ruby thread made while the block ran, and the seconds it took.
  def ticks_during
    thread, ticks = ticker
    sleep 0.02
    before = ticks.call
    t0 = now
    value = yield
    elapsed = now - t0
    during = ticks.call - before
    [during, elapsed, value]
  ensure
    thread&.kill
  end

  # A thread holding the GVL for the whole call lets the ticker tick at most
  # once; a released GVL lets it tick about elapsed / TICK times. Asking for a
  # tenth of that (and at least 3) survives a loaded machine.
  def assert_ticked(during, elapsed, what)
    want = [(elapsed / TICK / 10).floor, 3].max
    assert_operator during, :>=, want,
                    "a Ruby thread ticked #{during} times during #{elapsed.round(3)} s of #{what} " \
                    "(~#{(elapsed / TICK).round} expected with the GVL released)"
  end

  def test_other_ruby_threads_run_during_a_long_native_call
    during, elapsed, = ticks_during { T.busy(400) }
    assert_operator elapsed, :>=, 0.4
    assert_ticked(during, elapsed, "native work")
  end

  def test_other_ruby_threads_run_during_matmul
    during, elapsed, done = ticks_during { T.matmul(256, 200) }
    assert_equal 200, done
    assert_ticked(during, elapsed, "matmul")
  end

  def test_timeout_interrupts_a_long_native_call_promptly
    started = now
    assert_raises(Timeout::Error) { Timeout.timeout(0.2) { T.busy(30_000) } }
    elapsed = now - started
    assert_operator elapsed, :>=, 0.2
    assert_operator elapsed, :<, PROMPT, "took #{elapsed.round(3)} s to stop (deadline 0.2 s, uninterrupted 30 s)"
    # Usable afterwards.
    assert_operator T.busy(5), :>=, 5
  end

  def test_timeout_interrupts_matmul_between_iterations
    started = now
    assert_raises(Timeout::Error) { Timeout.timeout(0.2) { T.matmul(256, 1_000_000) } }
    elapsed = now - started
    assert_operator elapsed, :<, PROMPT, "took #{elapsed.round(3)} s to stop (deadline 0.2 s)"
  end

  def test_thread_kill_stops_native_work
    thread = Thread.new { T.busy(30_000) }
    sleep 0.05
    assert thread.alive?, "the native call must still be running"
    started = now
    thread.kill
    assert thread.join(PROMPT * 2), "killed thread did not finish"
    elapsed = now - started
    assert_operator elapsed, :<, PROMPT, "took #{elapsed.round(3)} s to stop after Thread#kill (uninterrupted 30 s)"
  end

  def test_sigint_interrupts_native_work_in_a_child_process
    script = <<~RUBY
      ENV["CANDLE_TEST_NATIVES"] = "1"
      require "candle"
      $stdout.sync = true
      puts "ready"
      begin
        Candle::Native::Testing.busy(30_000)
        puts "finished"
      rescue Interrupt
        puts "interrupted"
      end
    RUBY
    assert_sigint_interrupts(script) { sleep 0.1 }
  end

  def test_events_reach_a_ruby_block_in_order
    seen = []
    assert_equal 50, T.events(50) { |i| seen << i }
    assert_equal (0...50).to_a, seen
  end

  def test_an_exception_in_the_block_cancels_the_work_and_propagates
    calls = 0
    started = now
    error = assert_raises(RuntimeError) do
      T.events(100_000) do
        calls += 1
        raise "stop here" if calls == 3
      end
    end
    assert_equal "stop here", error.message
    assert_equal 3, calls
    # the 100,000 events take ~100 s when the work is not cancelled
    assert_operator now - started, :<, PROMPT * 5
  end
end
