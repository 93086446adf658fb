# frozen_string_literal: true

module Candle
  # Sentence embeddings from an encoder checkpoint (BERT, MiniLM, BGE, E5,
  # RoBERTa, XLM-RoBERTa, DistilBERT).
  #
  #   model = Candle::EmbeddingModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
  #   model.embed("Hello world")            # => [0.0123, ...] (384 Floats, unit length)
  #   model.embed(["a", "b"], batch_size: 8) # => [[...], [...]]
  #   model.similarity("cat", "kitten")     # => cosine similarity
  #
  # Pooling and the input length follow the repo's sentence-transformers
  # files (modules.json, 1_Pooling/config.json, sentence_bert_config.json),
  # else mean pooling; texts longer than #max_length tokens are truncated (as
  # sentence-transformers does). Batches are sorted by length to cut padding
  # and come back in input order; a text's vector does not depend on what it
  # is batched with. The model is immutable: threads may share it, and every
  # call runs without the GVL (Timeout and Thread#kill stop a long batch).
  class EmbeddingModel
    POOLINGS = %i[mean cls max last_token].freeze

    class << self
      # device: a Candle::Device or :cpu / :cuda / :metal (default Device.best);
      # dtype: :f32 (default on the CPU) / :f16 / :bf16. Hub options:
      # revision:, token:, cache_dir:, endpoint:, local_files_only:, refresh:, progress:.
      def from_pretrained(id, device: nil, dtype: nil, revision: nil, progress: nil, **hub_options)
        args = EncoderLoading.native_args(id, revision: revision, device: device, dtype: dtype, progress: progress,
                                              hub_options: hub_options)
        model = Native.embedding_from_pretrained(*args)
        model.instance_variable_set(:@model_id, id)
        model
      end
    end

    attr_reader :model_id

    # An Array of Floats for a String, an Array of them for an Array.
    # pooling: :mean / :cls / :max / :last_token (default: the repo's);
    # normalize: unit length (default true); dimensions: keeps the first n
    # features (Matryoshka models) before normalizing. prompt: prepends a
    # String, or the named prompt of the repo's config_sentence_transformers.json
    # (e.g. :query for Qwen3-Embedding's "Instruct: ...\nQuery:").
    def embed(texts, batch_size: 32, pooling: nil, normalize: true, dimensions: nil, prompt: nil)
      one = texts.is_a?(String)
      list = prepare(one ? [texts] : texts, prompt)
      return [] if list.empty?

      rows = _embed(list, *options(batch_size, pooling, normalize, dimensions))
      one ? rows.first : rows
    end

    # Like #embed for an Array, as one binary String of little-endian
    # float32s, row after row (texts.size * width bytes * 4): for big batches,
    # e.g. `packed.unpack("e*").each_slice(width)` or a numo / pgvector
    # buffer. width is `dimensions || self.dimensions`.
    def embed_packed(texts, batch_size: 32, pooling: nil, normalize: true, dimensions: nil, prompt: nil)
      list = prepare(texts, prompt)
      return "".b if list.empty?

      _embed_packed(list, *options(batch_size, pooling, normalize, dimensions))
    end

    # Cosine similarity of two texts' embeddings.
    def similarity(a, b, **options)
      x, y = embed([a, b], **options, normalize: true)
      x.zip(y).sum { |p, q| p * q }
    end

    # The pooling used when embed gets no pooling: (from the repo's files).
    def pooling = _pooling.to_sym

    # Named prompts from config_sentence_transformers.json ({"query" => "..."}).
    def prompts = _prompts.to_h

    def dtype = _dtype.to_sym

    def inspect
      "#<#{self.class.name} #{source} architecture=#{architecture} dimensions=#{dimensions} " \
        "max_length=#{max_length} pooling=#{pooling}>"
    end
    alias to_s inspect

    private

    def prepare(texts, prompt)
      list = Arguments.utf8_list(texts)
      prefix = prompt_prefix(prompt)
      prefix ? list.map { |t| prefix + t } : list
    end

    def prompt_prefix(prompt)
      case prompt
      when nil then nil
      when String then Arguments.utf8(prompt, "prompt")
      when Symbol
        prompts.fetch(prompt.to_s) do
          raise ArgumentError, "this model has no prompt #{prompt.inspect} (it has: #{prompts.keys.join(", ")})"
        end
      else raise ArgumentError, "prompt: must be a String or a Symbol, got #{prompt.class}"
      end
    end

    def options(batch_size, pooling, normalize, dimensions)
      EncoderLoading.positive_integer(batch_size, "batch_size")
      unless pooling.nil? || POOLINGS.include?(pooling.to_s.to_sym)
        raise ArgumentError, "pooling: must be one of #{POOLINGS.map(&:inspect).join(", ")}, got #{pooling.inspect}"
      end
      unless dimensions.nil? || (dimensions.is_a?(Integer) && dimensions.between?(1, self.dimensions))
        raise ArgumentError, "dimensions: must be an Integer from 1 to #{self.dimensions}, got #{dimensions.inspect}"
      end

      [batch_size, pooling&.to_s, normalize ? true : false, dimensions]
    end
  end
end
