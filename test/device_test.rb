# frozen_string_literal: true

require_relative "test_helper"

class DeviceTest < Minitest::Test
  def test_cpu
    cpu = Candle::Device.cpu
    assert_equal "cpu", cpu.to_s
    assert_equal :cpu, cpu.kind
    assert cpu.cpu?
    assert_equal cpu, Candle::Device.coerce(:cpu)
    assert_equal cpu, Candle::Device.coerce(nil)
    assert_equal cpu.hash, Candle::Device.cpu.hash
    assert_equal "#<Candle::Device cpu>", cpu.inspect
  end

  def test_available_lists_cpu_last_and_best_is_the_first
    available = Candle::Device.available
    assert_equal Candle::Device.cpu, available.last
    assert_equal available.first, Candle::Device.best
  end

  def test_missing_accelerators_raise_device_error_saying_how_to_build
    info = Candle.build_info
    { cuda: -> { Candle::Device.cuda }, metal: -> { Candle::Device.metal } }.each do |feature, open|
      next if info[feature]

      error = assert_raises(Candle::DeviceError) { open.call }
      assert_includes error.message, "CANDLE_FEATURES=#{feature}"
    end
  end

  def test_coerce_rejects_nonsense
    assert_raises(ArgumentError) { Candle::Device.coerce(:tpu) }
    assert_raises(ArgumentError) { Candle::Device.coerce(42) }
    assert_raises(ArgumentError) { Candle::Device.cuda(-1) }
  end

  def test_build_info_describes_this_build
    info = Candle.build_info
    assert_equal Candle::VERSION, info[:version]
    assert_kind_of Array, info[:features]
    %i[cuda metal mkl accelerate].each { |f| assert_equal info[:features].include?(f.to_s), info[f] }
  end

  def test_logger_defaults_to_warn_and_follows_candle_log
    assert_equal Logger::WARN, Candle.logger.level
    script = 'require "candle"; print Candle.logger.level'
    out = IO.popen({"CANDLE_LOG" => "debug"}, [RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", script], &:read)
    assert_equal Logger::DEBUG.to_s, out
  end
end
