# frozen_string_literal: true

module Candle
  # Where tensors live and models run. A value object: equal devices compare ==.
  # CUDA and Metal exist only in builds made with CANDLE_FEATURES=cuda / metal;
  # asking for one the build lacks raises Candle::DeviceError saying how to get it.
  class Device
    KINDS = %i[cpu cuda metal].freeze

    attr_reader :kind, :ordinal

    def self.cpu
      new(:cpu, 0)
    end

    def self.cuda(ordinal = 0)
      open(:cuda, ordinal)
    end

    def self.metal(ordinal = 0)
      open(:metal, ordinal)
    end

    # The fastest device usable now: CUDA, then Metal, then CPU.
    def self.best
      kind, ordinal = Native.device_best
      new(kind.to_sym, ordinal)
    end

    # Devices usable now, accelerators first, CPU last.
    def self.available
      Native.device_available.map { |kind, ordinal| new(kind.to_sym, ordinal) }
    end

    # Accepts a Device, :cpu / "cuda" / "cuda:1" / "metal", or nil (=> cpu).
    def self.coerce(value)
      case value
      when Device then value
      when nil then cpu
      when Symbol, String
        kind, ordinal = value.to_s.split(":", 2)
        kind = kind.downcase.to_sym
        raise ArgumentError, "unknown device #{value.inspect} (expected one of #{KINDS.join(", ")})" unless KINDS.include?(kind)
        kind == :cpu ? cpu : open(kind, Integer(ordinal || 0))
      else
        raise ArgumentError, "expected a Candle::Device, Symbol or String, got #{value.class}"
      end
    end

    def self.open(kind, ordinal)
      raise ArgumentError, "device ordinal must be a non-negative Integer" unless ordinal.is_a?(Integer) && ordinal >= 0

      Native.device_check(kind.to_s, ordinal)
      new(kind, ordinal)
    end
    private_class_method :new, :open

    def initialize(kind, ordinal)
      @kind = kind
      @ordinal = ordinal
      freeze
    end

    def cpu?
      kind == :cpu
    end

    def to_s
      cpu? ? "cpu" : "#{kind}:#{ordinal}"
    end

    def inspect
      "#<Candle::Device #{self}>"
    end

    def ==(other)
      other.is_a?(Device) && other.kind == kind && other.ordinal == ordinal
    end
    alias eql? ==

    def hash
      [self.class, kind, ordinal].hash
    end
  end
end
