# frozen_string_literal: true

require_relative "test_helper"
require "timeout"
require "rbconfig"

class GvlTest < Minitest::Test
  T = Candle::Native::Testing

  def test_other_ruby_threads_run_during_a_long_native_call
    thread, ticks = ticker
    sleep 0.02
    before = ticks.call
    T.busy(400)
    during = ticks.call - before
    thread.kill
    assert_operator during, :>=, 20, "a Ruby thread ticked only #{during} times during 400 ms of native work"
  end

  def test_other_ruby_threads_run_during_matmul
    thread, ticks = ticker
    sleep 0.02
    before = ticks.call
    done = T.matmul(256, 200)
    during = ticks.call - before
    thread.kill
    assert_equal 200, done
    assert_operator during, :>=, 3
  end

  def test_timeout_interrupts_a_long_native_call_promptly
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Timeout::Error) { Timeout.timeout(0.2) { T.busy(30_000) } }
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    assert_operator elapsed, :<, 0.3, "took #{elapsed.round(3)} s to stop (deadline 0.2 s)"
    # Usable afterwards.
    assert_operator T.busy(5), :>=, 5
  end

  def test_timeout_interrupts_matmul_between_iterations
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Timeout::Error) { Timeout.timeout(0.2) { T.matmul(256, 1_000_000) } }
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
    assert_operator elapsed, :<, 0.3
  end

  def test_thread_kill_stops_native_work
    thread = Thread.new { T.busy(30_000) }
    sleep 0.05
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    thread.kill
    assert thread.join(1), "killed thread did not finish"
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 0.1
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
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    error = assert_raises(RuntimeError) do
      T.events(100_000) do
        calls += 1
        raise "stop here" if calls == 3
      end
    end
    assert_equal "stop here", error.message
    assert_equal 3, calls
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 1.0
  end
end
