# frozen_string_literal: true

# Candle::NER on the real PII token classifier (candle-test/bert-pii-ner,
# BertForTokenClassification, 35 BIO labels) served by the local test Hub.
# Agreement with transformers' pipeline per aggregation strategy is
# test/encoder_references_test.rb.
require_relative "test_helper"

class NERTest < Minitest::Test
  PII = "candle-test/bert-pii-ner"
  TEXT = "My name is John Smith, email john.smith@example.com, I live at 42 Main Street, Springfield."

  def ner = (self.class.instance_variable_get(:@m) || self.class.instance_variable_set(:@m, Candle::NER.from_pretrained(PII)))

  def spans(text, **opts) = ner.entities(text, **opts).map { |e| [e[:label], e[:text]] }

  def assert_offsets(text, entities)
    entities.each { |e| assert_equal e[:text], text[e[:start]...e[:end]], "offsets of #{e.inspect}" }
  end

  def test_tags_the_pii_in_the_sentence_with_character_spans
    ents = ner.entities(TEXT)
    assert_equal [%w[GIVEN_NAME John], %w[SURNAME Smith], ["EMAIL", "john.smith@example.com"], %w[BUILDING_NUMBER 42],
                  ["STREET_NAME", "Main Street"], %w[CITY Springfield]], ents.map { |e| [e[:label], e[:text]] }
    assert_equal [11, 15], [ents[0][:start], ents[0][:end]]
    assert_equal [29, 51], [ents[2][:start], ents[2][:end]]
    assert_offsets(TEXT, ents)
    ents.each { |e| assert_operator e[:score], :>, 0.9 }
  end

  def test_accented_names_keep_character_offsets
    text = "My name is Zoë Müller, email zoe.mueller@example.com, I live at 7 Rue Lefèvre, Montréal."
    ents = ner.entities(text)
    assert_offsets(text, ents)
    assert_equal [%w[GIVEN_NAME Zoë], %w[SURNAME Müller], ["EMAIL", "zoe.mueller@example.com"], %w[BUILDING_NUMBER 7],
                  ["STREET_NAME", "Rue Lefèvre"], %w[CITY Montréal]], ents.map { |e| [e[:label], e[:text]] }
    assert_equal [79, 87], [ents.last[:start], ents.last[:end]] # characters, not bytes
    french = "Je m'appelle Zoë Dubois-Lefèvre et j'habite 12 rue de la Paix, Montréal."
    assert_includes spans(french), ["SURNAME", "Dubois-Lefèvre"]
  end

  def test_merge_adjacent_false_is_the_pipelines_grouping
    pieces = spans(TEXT, merge_adjacent: false)
    # The model tags every token of the address B-EMAIL; the pipeline keeps them apart.
    assert_equal %w[john . smith @ example . com], pieces.select { |l, _| l == "EMAIL" }.map(&:last)
    assert_includes spans(TEXT, merge_adjacent: false, aggregation: :first), %w[CITY Springfield]
  end

  def test_aggregations_and_threshold
    none = ner.entities(TEXT, aggregation: :none)
    assert_includes none.map { |e| e[:label] }, "B-GIVEN_NAME"
    assert_includes none.map { |e| e[:label] }, "I-STREET_NAME"
    assert_offsets(TEXT, none)
    %i[simple first max average].each { |a| assert_includes spans(TEXT, aggregation: a), %w[GIVEN_NAME John], a }
    assert_empty ner.entities(TEXT, threshold: 1.0)
    assert_raises(ArgumentError) { ner.entities(TEXT, aggregation: :mean) }
    assert_raises(ArgumentError) { ner.entities(TEXT, threshold: 2) }
  end

  def test_tokens_and_labels
    toks = ner.tokens("John lives in Springfield")
    assert_equal %w[john lives in spring ##field], toks.map { |t| t[:token] }
    assert_equal "B-GIVEN_NAME", toks.first[:label]
    assert_in_delta 1.0, toks.first[:probabilities].values.sum, 1e-4
    assert_equal 35, ner.labels.size
    assert_equal "O", ner.labels.first
    assert_includes ner.entity_types, "EMAIL"
    refute_includes ner.entity_types, "O"
  end

  def test_long_texts_are_read_in_windows_not_truncated
    filler = "The weather was mild and nothing else happened that day. " * 120 # ~1,700 tokens
    text = filler + TEXT
    ents = ner.entities(text)
    assert_offsets(text, ents)
    email = ents.find { |e| e[:label] == "EMAIL" }
    refute_nil email, "the entity after the first 512 tokens was lost"
    assert_equal "john.smith@example.com", email[:text]
    assert_equal text.index("john.smith"), email[:start]
    %w[GIVEN_NAME SURNAME CITY].each { |l| assert_includes ents.map { |e| e[:label] }, l }
  end

  def test_bad_and_edge_input
    assert_equal [], ner.entities("")
    assert_equal [], ner.tokens("")
    assert_raises(ArgumentError) { ner.entities(nil) }
    assert_raises(ArgumentError) { ner.entities("\xff".dup.force_encoding("UTF-8")) }
    assert_kind_of Array, ner.entities("x" * 100_000)
  end

  def test_threads_share_one_model
    expected = ner.entities(TEXT)
    Array.new(8) { Thread.new { ner.entities(TEXT) } }.map(&:value).each { |r| assert_equal expected, r }
  end

  def test_a_model_without_a_token_head_is_refused
    e = assert_raises(Candle::UnsupportedModelError) { Candle::NER.from_pretrained("sentence-transformers/all-MiniLM-L6-v2") }
    assert_match(/BertModel has no ForTokenClassification head/, e.message)
  end

  def test_hybrid_with_the_model_and_rules
    phone = Candle::PatternRecognizer.new("PHONE", [/\+?\d[\d -]{7,}\d/])
    hybrid = Candle::HybridNER.new(ner, [phone])
    text = "Call John Smith at +1 555 123 4567."
    ents = hybrid.entities(text)
    assert_includes ents.map { |e| [e[:label], e[:text]] }, ["PHONE", "+1 555 123 4567"]
    assert_includes ents.map { |e| [e[:label], e[:text]] }, %w[GIVEN_NAME John]
    assert_offsets(text, ents)
  end
end
