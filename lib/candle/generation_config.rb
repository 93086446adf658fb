# frozen_string_literal: true

module Candle
  # How LLM#generate / #chat pick tokens and when they stop.
  #
  #   config = Candle::GenerationConfig.new(max_tokens: 200, temperature: 0.2, stop: ["\n\n"])
  #   llm.generate("Once upon a time", config: config)
  #   llm.generate("Once upon a time", max_tokens: 50, seed: 42)   # keywords work too
  #
  # temperature 0 is greedy. top_k / top_p / min_p filter the candidates;
  # repetition_penalty (> 1 discourages repeats) looks at the last
  # repetition_window tokens; seed makes sampling reproducible; stop strings
  # end generation and are not part of the output (even when split across tokens);
  # ignore_eos: true generates max_tokens whatever the model says (benchmarks).
  class GenerationConfig
    OPTIONS = %i[max_tokens temperature top_p top_k min_p repetition_penalty repetition_window seed stop
                 ignore_eos].freeze
    DEFAULTS = { max_tokens: 512, temperature: 0.7, top_p: nil, top_k: nil, min_p: nil, repetition_penalty: 1.0,
                 repetition_window: 64, seed: nil, stop: [], ignore_eos: false }.freeze

    attr_reader(*OPTIONS)

    def self.greedy(**opts) = new(**{ temperature: 0.0 }.merge(opts))
    def self.balanced(**opts) = new(**{ temperature: 0.7, top_p: 0.9, repetition_penalty: 1.1 }.merge(opts))
    def self.creative(**opts) = new(**{ temperature: 1.0, top_p: 0.95, min_p: 0.05, repetition_penalty: 1.15 }.merge(opts))

    def initialize(**opts)
      unknown = opts.keys - OPTIONS
      raise ArgumentError, "unknown generation option(s) #{unknown.map(&:inspect).join(", ")}" unless unknown.empty?

      values = DEFAULTS.merge(opts)
      @max_tokens = integer(values[:max_tokens], :max_tokens, min: 1)
      @temperature = float(values[:temperature], :temperature, min: 0.0)
      @top_p = values[:top_p].nil? ? nil : float(values[:top_p], :top_p, min: Float::MIN, max: 1.0)
      @top_k = values[:top_k].nil? ? nil : integer(values[:top_k], :top_k, min: 1)
      @min_p = values[:min_p].nil? ? nil : float(values[:min_p], :min_p, min: 0.0, max: 1.0)
      @repetition_penalty = float(values[:repetition_penalty], :repetition_penalty, min: Float::MIN)
      @repetition_window = integer(values[:repetition_window], :repetition_window, min: 0)
      @seed = values[:seed].nil? ? nil : integer(values[:seed], :seed, min: 0)
      @stop = stop_strings(values[:stop])
      @ignore_eos = values[:ignore_eos]
      raise ArgumentError, "ignore_eos must be true or false, got #{@ignore_eos.inspect}" unless [true, false].include?(@ignore_eos)

      freeze
    end

    # A copy with some options changed.
    def merge(**opts) = self.class.new(**to_h.merge(opts))

    def to_h = OPTIONS.to_h { |k| [k, public_send(k)] }

    def ==(other) = other.is_a?(GenerationConfig) && to_h == other.to_h

    def inspect = "#<#{self.class.name} #{to_h.compact.map { |k, v| "#{k}=#{v.inspect}" }.join(" ")}>"

    private

    def integer(value, name, min:)
      raise ArgumentError, "#{name} must be an Integer >= #{min}, got #{value.inspect}" unless value.is_a?(Integer) && value >= min

      value
    end

    def float(value, name, min:, max: Float::INFINITY)
      unless value.is_a?(Numeric) && value.to_f.finite? && value.to_f >= min && value.to_f <= max
        range = max == Float::INFINITY ? ">= #{min}" : "in [#{min}, #{max}]"
        raise ArgumentError, "#{name} must be a number #{range}, got #{value.inspect}"
      end

      value.to_f
    end

    def stop_strings(value)
      list = value.is_a?(String) ? [value] : Array(value)
      list.map do |s|
        raise ArgumentError, "stop strings must be non-empty Strings, got #{s.inspect}" unless s.is_a?(String) && !s.empty?

        s.dup.freeze
      end.freeze
    end
  end

  # What a generation did (LLM#generate(details: true), LLM#last_result).
  GenerationResult = Struct.new(:text, :finish_reason, :prompt_tokens, :generated_tokens, :prefill_tokens,
                                :prefill_tokens_per_second, :decode_tokens_per_second, :time_to_first_token,
                                :token_ids, keyword_init: true)
end
