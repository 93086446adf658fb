# frozen_string_literal: true

module Candle
  # A cross-encoder that scores how well documents answer a query
  # (BertForSequenceClassification, XLMRobertaForSequenceClassification,
  # DistilBertForSequenceClassification).
  #
  #   reranker = Candle::Reranker.from_pretrained("cross-encoder/ms-marco-MiniLM-L-6-v2")
  #   reranker.rerank("capital of France", ["Paris is ...", "Berlin is ..."])
  #   # => [{index: 0, score: 0.98, document: "Paris is ..."}, {index: 1, score: 0.01, ...}]
  #
  # Each (query, document) pair is one input; scores are the sigmoid of a
  # one-logit head, or the softmax probability of label 1 for a two-logit
  # head, and do not depend on how documents are batched. The model is
  # immutable: threads may share it, and scoring runs without the GVL.
  class Reranker
    class << self
      # Same options as Candle::EmbeddingModel.from_pretrained.
      def from_pretrained(id, device: nil, dtype: nil, revision: nil, progress: nil, **hub_options)
        args = EncoderLoading.native_args(id, revision: revision, device: device, dtype: dtype, progress: progress,
                                              hub_options: hub_options)
        model = Native.reranker_from_pretrained(*args)
        model.instance_variable_set(:@model_id, id)
        model
      end
    end

    attr_reader :model_id

    # The documents sorted by score, best first: [{index:, score:, document:}]
    # (document: only with return_documents: true). top_k: keeps the best k.
    # max_length: truncates each pair (longest part first) to that many tokens.
    def rerank(query, documents, top_k: nil, return_documents: true, batch_size: 16, max_length: nil)
      scores = scores(query, documents, batch_size: batch_size, max_length: max_length)
      unless top_k.nil? || (top_k.is_a?(Integer) && !top_k.negative?)
        raise ArgumentError, "top_k must be a non-negative Integer, got #{top_k.inspect}"
      end

      ranked = scores.each_with_index.sort_by { |s, i| [-s, i] }
      ranked = ranked.first(top_k) if top_k
      ranked.map do |s, i|
        h = { index: i, score: s }
        h[:document] = documents[i] if return_documents
        h
      end
    end

    # The score of each document, in the documents' order.
    def scores(query, documents, batch_size: 16, max_length: nil)
      query = Arguments.utf8(query, "query")
      docs = Arguments.utf8_list(documents, "documents")
      EncoderLoading.positive_integer(batch_size, "batch_size")
      EncoderLoading.positive_integer(max_length, "max_length") unless max_length.nil?
      return [] if docs.empty?

      _score(query, docs, batch_size, max_length).map(&:first)
    end

    # One document's score.
    def score(query, document, **options)
      scores(query, [document], **options).first
    end

    # The head's raw logits for each document.
    def logits(query, documents, batch_size: 16, max_length: nil)
      query = Arguments.utf8(query, "query")
      docs = Arguments.utf8_list(documents, "documents")
      return [] if docs.empty?

      _score(query, docs, EncoderLoading.positive_integer(batch_size, "batch_size"), max_length).map(&:last)
    end

    def inspect
      "#<#{self.class.name} #{source} architecture=#{architecture} labels=#{labels.size} max_length=#{max_length}>"
    end
    alias to_s inspect
  end
end
