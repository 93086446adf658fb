# frozen_string_literal: true

module Candle
  # The argument checks the public classes share (Tokenizer, the encoder
  # models, the recognizers): one place decides what a valid text, label or
  # score is and what the ArgumentError says. Not public API.
  module Arguments
    module_function

    # A String as valid UTF-8 (other encodings converted), else ArgumentError.
    def utf8(value, name = "text")
      raise ArgumentError, "#{name} must be a String, got #{value.class}" unless value.is_a?(String)

      utf8 = value.encoding == ::Encoding::UTF_8 ? value : value.encode(::Encoding::UTF_8)
      raise ArgumentError, "#{name} is not valid UTF-8" unless utf8.valid_encoding?

      utf8
    rescue ::EncodingError => e
      raise ArgumentError, "#{name} cannot be converted to UTF-8: #{e.message}"
    end

    # An Array of texts, each checked as #utf8.
    def utf8_list(values, name = "texts")
      raise ArgumentError, "#{name} must be an Array of Strings, got #{values.class}" unless values.is_a?(Array)

      values.each_with_index.map { |v, i| utf8(v, "#{name}[#{i}]") }
    end

    # An entity label: a non-empty String or Symbol, as a frozen String.
    def label(value)
      unless (value.is_a?(String) || value.is_a?(Symbol)) && !value.empty?
        raise ArgumentError, "label must be a non-empty String or Symbol, got #{value.inspect}"
      end

      value.to_s.dup.freeze
    end

    # A confidence score: a finite number from 0 to 1, as a Float.
    def unit_score(value, name = "score")
      unless value.is_a?(Numeric) && value.real? && value.to_f.finite? && value.between?(0, 1)
        raise ArgumentError, "#{name} must be a number from 0 to 1, got #{value.inspect}"
      end

      value.to_f
    end
  end
end
