# frozen_string_literal: true

module Candle
  # Named-entity recognition with a token classifier
  # (BertForTokenClassification, XLM-R and DistilBERT token classifiers);
  # labels come from the model's config.json (BIO or BIOES tags).
  #
  #   ner = Candle::NER.from_pretrained("dslim/bert-base-NER")
  #   ner.entities("My name is Wolfgang and I live in Berlin")
  #   # => [{text: "Wolfgang", label: "PER", start: 11, end: 19, score: 0.99}, ...]
  #
  # Offsets are character offsets: text[start...end] == entity[:text], for
  # any text. Aggregation follows transformers' token-classification
  # pipeline: :simple (tags grouped), :first / :max / :average (words first,
  # from their sub-tokens), :none (every token, with its full tag). Texts
  # longer than the model's window are read in overlapping windows, never
  # truncated. Combine with rules in Candle::HybridNER.
  class NER
    AGGREGATIONS = %i[none simple first max average].freeze

    class << self
      # Same options as Candle::EmbeddingModel.from_pretrained.
      def from_pretrained(id, device: nil, dtype: nil, revision: nil, progress: nil, **hub_options)
        args = EncoderLoading.native_args(id, revision: revision, device: device, dtype: dtype, progress: progress,
                                              hub_options: hub_options)
        model = Native.ner_from_pretrained(*args)
        model.instance_variable_set(:@model_id, id)
        model
      end
    end

    attr_reader :model_id

    # [{text:, label:, start:, end:, score:}] sorted by start, with score >=
    # threshold. With aggregation: :none, label is the token's full tag ("B-PER").
    # merge_adjacent: (default true) joins entities of one type whose spans
    # touch — the pieces of "john.smith@example.com" or "Spring"+"field" when
    # a model tags every token B-; false gives transformers' pipeline output.
    def entities(text, threshold: 0.5, aggregation: :simple, merge_adjacent: true)
      text = Arguments.utf8(text)
      threshold = Arguments.unit_score(threshold, "threshold")
      unless AGGREGATIONS.include?(aggregation.to_s.to_sym)
        raise ArgumentError, "aggregation: must be one of #{AGGREGATIONS.map(&:inspect).join(", ")}, got #{aggregation.inspect}"
      end

      _entities(text, aggregation.to_s, threshold, merge_adjacent ? true : false).map do |t, label, s, e, score|
        { text: t, label: label, start: s, end: e, score: score }
      end
    end

    # Every token (special tokens left out) with its best label:
    # [{token:, start:, end:, label:, score:, probabilities: {label => p}}].
    def tokens(text)
      text = Arguments.utf8(text)
      names = labels
      _tokens(text).map do |tok, s, e, label, score, probs|
        { token: tok, start: s, end: e, label: label, score: score, probabilities: names.zip(probs).to_h }
      end
    end

    # The entity types the model knows ("PER", not "B-PER"), in label order.
    def entity_types
      labels.map { |l| l.sub(/\A[BIES]-/, "") }.uniq - ["O"]
    end

    def inspect
      "#<#{self.class.name} #{source} architecture=#{architecture} labels=#{labels.size}>"
    end
    alias to_s inspect
  end
end
