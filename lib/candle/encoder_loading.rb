# frozen_string_literal: true

module Candle
  # What Candle::EmbeddingModel, Candle::Reranker and Candle::NER share:
  # from_pretrained's argument checks (texts are checked by Candle::Arguments).
  # Not public API.
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

    def positive_integer(value, name)
      return value if value.is_a?(Integer) && value.positive?

      raise ArgumentError, "#{name} must be a positive Integer, got #{value.inspect}"
    end
  end
end
