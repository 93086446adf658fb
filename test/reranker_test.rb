# frozen_string_literal: true

# Candle::Reranker's API on the tiny cross-encoders (exactness against
# transformers is test/encoder_tiny_models_test.rb).
require_relative "test_helper"

class RerankerTest < Minitest::Test
  ID = "candle-test/tiny-bert-seqcls1"
  DOCS = ["Paris is the capital of France.", "Berlin is in Germany.", "The cat sat on the mat.",
          "France's capital city, Paris, lies on the Seine."].freeze

  def reranker = (self.class.instance_variable_get(:@r) || self.class.instance_variable_set(:@r, Candle::Reranker.from_pretrained(ID)))

  def test_rerank_sorts_by_score_and_keeps_indices
    scores = reranker.scores("capital of France", DOCS)
    ranked = reranker.rerank("capital of France", DOCS)
    assert_equal DOCS.size, ranked.size
    assert_equal scores.each_with_index.sort_by { |s, i| [-s, i] }.map(&:last), ranked.map { |r| r[:index] }
    ranked.each { |r| assert_equal DOCS[r[:index]], r[:document] }
    assert(ranked.each_cons(2).all? { |a, b| a[:score] >= b[:score] })
    assert(scores.all? { |s| s.between?(0, 1) })
  end

  def test_top_k_return_documents_and_score
    top = reranker.rerank("capital of France", DOCS, top_k: 2, return_documents: false)
    assert_equal 2, top.size
    assert_equal %i[index score], top.first.keys
    assert_in_delta reranker.scores("capital of France", DOCS)[top.first[:index]], top.first[:score], 1e-6
    assert_in_delta reranker.score("capital of France", DOCS[1]), reranker.scores("capital of France", DOCS)[1], 1e-5
    assert_equal [], reranker.rerank("q", [])
    assert_equal [], reranker.rerank("q", DOCS, top_k: 0)
  end

  def test_batch_size_and_max_length
    a = reranker.scores("capital of France", DOCS, batch_size: 1)
    b = reranker.scores("capital of France", DOCS, batch_size: 16)
    a.zip(b).each { |x, y| assert_in_delta x, y, 1e-5 }
    long = "word " * 400
    refute_nil reranker.score("q", long)
    assert_in_delta reranker.score("q", long, max_length: 16), reranker.score("q", "word " * 20, max_length: 16), 1e-5
  end

  def test_bad_input
    assert_raises(ArgumentError) { reranker.rerank(nil, DOCS) }
    assert_raises(ArgumentError) { reranker.rerank("q", "not an array") }
    assert_raises(ArgumentError) { reranker.rerank("q", ["ok", 1]) }
    assert_raises(ArgumentError) { reranker.rerank("q", DOCS, top_k: -1) }
    assert_raises(ArgumentError) { reranker.rerank("q", DOCS, batch_size: 0) }
    assert_raises(ArgumentError) { reranker.rerank("\xff".dup.force_encoding("UTF-8"), DOCS) }
    assert_kind_of Float, reranker.score("", "")
  end

  def test_threads_share_one_reranker
    expected = reranker.scores("capital of France", DOCS)
    Array.new(8) { Thread.new { reranker.scores("capital of France", DOCS) } }.map(&:value).each do |r|
      r.zip(expected).each { |x, y| assert_in_delta y, x, 1e-5 }
    end
  end

  def test_heads_that_are_not_rerankers_are_refused
    e = assert_raises(Candle::UnsupportedModelError) { Candle::Reranker.from_pretrained("candle-test/bert-pii-ner") }
    assert_match(/ForTokenClassification has no ForSequenceClassification head/, e.message)
    e = assert_raises(Candle::UnsupportedModelError) { Candle::Reranker.from_pretrained("sentence-transformers/all-MiniLM-L6-v2") }
    assert_match(/BertModel has no ForSequenceClassification head/, e.message)
    two = Candle::Reranker.from_pretrained("candle-test/tiny-bert-seqcls2")
    assert_equal %w[irrelevant relevant], two.labels
    assert_match(/architecture=bert labels=2/, two.inspect)
  end
end
