# frozen_string_literal: true

module Candle
  # What Candle::EmbeddingModel, Candle::Reranker and Candle::NER share:
  # argument checks for from_pretrained and for input texts. Not public API.
  module EncoderLoading
    DTYPES = %i[f32 f16 bf16].freeze

    module_function

    # The natives' load arguments: [id, revision, dtype, [kind, ordinal], hub options, progress].
    def native_args(id, revision:, device:, dtype:, progress:, hub_options:)
      raise ArgumentError, "id must be a String, got #{id.class}" unless id.is_a?(String)

      repo, file, rev = File.directory?(id) ? [id, nil, nil] : Hub.parse_id(id)
      raise ArgumentError, "#{id}: encoders load safetensors; a file (#{file}) cannot be named" if file

      unless dtype.nil? || DTYPES.include?(dtype.to_s.to_sym)
        raise ArgumentError, "dtype: must be one of #{DTYPES.map(&:inspect).join(", ")}, got #{dtype.inspect}"
      end

      dev = Device.coerce(device)
      progress, = Hub.send(:split_progress, { progress: progress })
      [repo, (revision || rev || "main").to_s, dtype&.to_s, [dev.kind.to_s, dev.ordinal], Hub.native_options(hub_options), progress]
    end

    # A String as valid UTF-8 (other encodings converted), else ArgumentError.
    def text(value, name = "text")
      raise ArgumentError, "#{name} must be a String, got #{value.class}" unless value.is_a?(String)

      utf8 = value.encoding == ::Encoding::UTF_8 ? value : value.encode(::Encoding::UTF_8)
      raise ArgumentError, "#{name} is not valid UTF-8" unless utf8.valid_encoding?

      utf8
    rescue ::EncodingError => e
      raise ArgumentError, "#{name} cannot be converted to UTF-8: #{e.message}"
    end

    # An Array of texts (each checked as #text).
    def texts(values, name = "texts")
      raise ArgumentError, "#{name} must be an Array of Strings, got #{values.class}" unless values.is_a?(Array)

      values.each_with_index.map { |v, i| text(v, "#{name}[#{i}]") }
    end

    def positive_integer(value, name)
      return value if value.is_a?(Integer) && value.positive?

      raise ArgumentError, "#{name} must be a positive Integer, got #{value.inspect}"
    end
  end
end
