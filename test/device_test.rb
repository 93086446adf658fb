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

  ACCELERATORS = { cuda: "CUDA", metal: "Metal" }.freeze
  KNOWN_FEATURES = %w[cuda metal mkl accelerate].freeze

  def test_available_is_unique_with_one_cpu_last_and_only_compiled_in_accelerators
    available = Candle::Device.available
    info = Candle.build_info
    assert_equal Candle::Device.cpu, available.last
    assert_equal 1, available.count(&:cpu?)
    assert_equal available.uniq, available
    available.each do |device|
      assert device.cpu? || info[device.kind], "#{device} is listed but this build has no #{device.kind} feature"
    end
    assert_equal [Candle::Device.cpu], available unless ACCELERATORS.keys.any? { |k| info[k] }
  end

  # "CUDA, then Metal, then CPU", and the device it names can be opened.
  def test_best_prefers_cuda_then_metal_then_cpu_and_opens
    available = Candle::Device.available
    want = available.find { |d| d.kind == :cuda } || available.find { |d| d.kind == :metal } || Candle::Device.cpu
    best = Candle::Device.best
    assert_equal want, best
    assert_equal best, Candle::Device.coerce(best.to_s)
  end

  # For every accelerator, whatever this build has: not compiled in => a
  # DeviceError saying how to rebuild; compiled in => usable exactly when
  # Device.available lists it (two different probes that must agree), else a
  # DeviceError from the driver that is not the "rebuild" one.
  def test_each_accelerator_is_usable_or_refused_with_the_right_device_error
    info = Candle.build_info
    available = Candle::Device.available
    ACCELERATORS.each do |kind, name|
      listed = available.select { |d| d.kind == kind }
      opens = [-> { Candle::Device.public_send(kind) }, -> { Candle::Device.coerce(kind) },
               -> { Candle::Device.coerce("#{kind}:0") }]
      if !info[kind]
        assert_empty listed, "#{kind} listed on a build without it"
        (opens + [-> { Candle::Device.public_send(kind, 1) }]).each do |open|
          error = assert_raises(Candle::DeviceError, kind.to_s) { open.call }
          assert_includes error.message, "no #{name} support"
          assert_includes error.message, "CANDLE_FEATURES=#{kind}"
        end
      elsif listed.empty?
        opens.each do |open|
          error = assert_raises(Candle::DeviceError, "#{kind} is compiled in but not listed, so it must not open") { open.call }
          assert_includes error.message, "cannot open #{name} device 0"
          refute_includes error.message, "CANDLE_FEATURES"
        end
      else
        assert_equal [Candle::Device.public_send(kind, 0)], listed
        opens.each { |open| assert_equal listed.first, open.call }
        assert_equal "#{kind}:0", listed.first.to_s
        error = assert_raises(Candle::DeviceError) { Candle::Device.public_send(kind, 4096) }
        assert_includes error.message, "cannot open #{name} device 4096"
      end
    end
  end

  def test_coerce_rejects_nonsense
    assert_raises(ArgumentError) { Candle::Device.coerce(:tpu) }
    assert_raises(ArgumentError) { Candle::Device.coerce(42) }
    assert_raises(ArgumentError) { Candle::Device.cuda(-1) }
  end

  # The features compiled in are the ones the build was configured with:
  # $CANDLE_FEATURES when set (CI compiles and tests with one environment), else
  # the `CANDLE_FEATURES ?=` default that ext/candle/extconf.rb wrote into the
  # Makefile `rake compile` used, else Cargo's default (none).
  def test_build_info_reports_the_features_the_build_was_configured_with
    info = Candle.build_info
    expected, source = configured_features
    assert_equal Candle::VERSION, info[:version], "the extension is not the one of this gem version"
    assert_equal expected.sort, info[:features].sort,
                 "the extension's features differ from #{source}; rebuild it (bundle exec rake compile)"
    KNOWN_FEATURES.each { |f| assert_equal expected.include?(f), info[f.to_sym], f }
  end

  def test_logger_defaults_to_warn_and_follows_candle_log
    assert_equal Logger::WARN, Candle.logger.level
    script = 'require "candle"; print Candle.logger.level'
    out = IO.popen({"CANDLE_LOG" => "debug"}, [RbConfig.ruby, "-I", File.expand_path("../lib", __dir__), "-e", script], &:read)
    assert_equal Logger::DEBUG.to_s, out
  end

  private

  def configured_features
    if (env = ENV["CANDLE_FEATURES"])
      return [parse_features(env), "$CANDLE_FEATURES=#{env.inspect}"]
    end

    makefile = Dir.glob(File.expand_path("../tmp/*/candle/#{RUBY_VERSION}/Makefile", __dir__)).max_by { |f| File.mtime(f) }
    line = makefile && File.foreach(makefile).find { |l| l.start_with?("CANDLE_FEATURES ?=") }
    return [parse_features(line.split("?=", 2).last), "#{makefile} (#{line.strip})"] if line

    [[], "the default build (no $CANDLE_FEATURES, no rake-compiler Makefile)"]
  end

  def parse_features(text)
    features = text.split(/[\s,]+/).reject(&:empty?)
    assert_empty features - KNOWN_FEATURES, "unknown features #{features.inspect}"
    features.uniq
  end
end
