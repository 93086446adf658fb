# frozen_string_literal: true

require_relative "test_helper"

# Rule-based entity recognizers (PatternRecognizer, GazetteerRecognizer) and
# HybridNER's merge of model and rule entities. Pure Ruby: no model needed.
class RuleNERTest < Minitest::Test
  EMAIL = /[\p{Word}.+-]+@[\p{Word}-]+(?:\.[\p{Word}-]+)+/.freeze
  PHONE = /\+?\d{1,3}[ -]?\(?\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}/.freeze

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Every entity's offsets are character offsets that slice out its text.
  def assert_spans(text, entities)
    entities.each do |e|
      assert_equal e[:text], text[e[:start]...e[:end]], "#{e.inspect} does not slice #{text.inspect}"
    end
    assert_equal entities.sort_by { |e| e[:start] }, entities
  end

  def span(text, start, finish, label, score, source: nil)
    { text: text[start...finish], label: label, start: start, end: finish, score: score, source: source }.compact
  end

  # --- PatternRecognizer -----------------------------------------------------

  def test_email_spans_are_character_offsets_after_multibyte_text
    text = "Zoë's email: zoe@example.com — or ünïcödé ✉ bob.smith+ner@mail.example.org."
    emails = Candle::PatternRecognizer.new("EMAIL", [EMAIL])
    found = emails.entities(text)

    assert_equal ["zoe@example.com", "bob.smith+ner@mail.example.org"], found.map { |e| e[:text] }
    assert_equal({ text: "zoe@example.com", label: "EMAIL", start: 13, end: 28, score: 1.0 }, found.first)
    assert_spans(text, found)
    assert_equal "EMAIL", emails.label
  end

  def test_phones_and_emails_in_one_recognizer_sorted_by_start
    text = "Call +44 20 7946 0958 (Müller) or write müller@beispiel.de; alt 555-123-4567."
    contact = Candle::PatternRecognizer.new(:CONTACT, [EMAIL, PHONE], score: 0.9)
    found = contact.entities(text)

    assert_equal ["+44 20 7946 0958", "müller@beispiel.de", "555-123-4567"], found.map { |e| e[:text] }
    assert(found.all? { |e| e[:label] == "CONTACT" && e[:score] == 0.9 })
    assert_spans(text, found)
  end

  def test_string_patterns_are_literals
    text = "Price: $5.00 (not $5X00) in C++ or c++."
    found = Candle::PatternRecognizer.new("LIT", ["$5.00", "C++"]).entities(text)

    assert_equal [["$5.00", 7], ["C++", 28]], found.map { |e| [e[:text], e[:start]] }
  end

  def test_overlapping_patterns_leftmost_then_longest_then_first_listed
    text = "in New York City, York and Yorkshire"
    found = Candle::PatternRecognizer.new("LOC", ["New York", /York/, "New York City", /Yorkshire/, /Yorks/]).entities(text)

    assert_equal [["New York City", 3], ["York", 18], ["Yorkshire", 27]], found.map { |e| [e[:text], e[:start]] }
    # Leftmost beats longer: "ab" at 0 wins over "bcdef" at 1.
    found = Candle::PatternRecognizer.new("X", [/bcdef/, /ab/]).entities("abcdef")
    assert_equal ["ab"], found.map { |e| e[:text] }
  end

  def test_matches_of_one_pattern_do_not_overlap_and_anchors_see_the_whole_text
    assert_equal %w[aa aa], Candle::PatternRecognizer.new("A", [/aa/]).entities("aaaaa").map { |e| e[:text] }
    # \A and lookbehind are relative to the whole text, not the scan position.
    assert_equal [0], Candle::PatternRecognizer.new("S", [/\A\w+/]).entities("héllo wörld").map { |e| e[:start] }
    assert_equal ["42"], Candle::PatternRecognizer.new("N", [/(?<=€)\d+/]).entities("€42 and 7").map { |e| e[:text] }
  end

  def test_zero_width_matches_are_skipped
    text = "ä-b--c"
    found = Candle::PatternRecognizer.new("D", [/-*/, /\b/]).entities(text)

    assert_equal [["-", 1, 2], ["--", 3, 5]], found.map { |e| [e[:text], e[:start], e[:end]] }
    assert_empty Candle::PatternRecognizer.new("E", [/(?=x)/]).entities("xxx")
    assert_empty Candle::PatternRecognizer.new("E", [/x/]).entities("")
  end

  def test_catastrophic_backtracking_is_stopped_by_the_timeout
    evil = Candle::PatternRecognizer.new("EVIL", [/(a+)+$/], timeout: 0.2)
    started = now
    error = assert_raises(Candle::PatternTimeoutError) { evil.entities("#{"a" * 40}!") }
    elapsed = now - started

    assert_operator elapsed, :<, 3.0, "timeout took #{elapsed.round(2)} s"
    assert_kind_of Candle::Error, error
    assert_equal Candle::Error, Candle::PatternTimeoutError.superclass
    assert_match(/EVIL.*0\.2/, error.message)
    # The default bound (1 s) applies too, and the recognizer still works afterwards.
    started = now
    assert_raises(Candle::PatternTimeoutError) { Candle::PatternRecognizer.new("EVIL", [/(a+)+$/]).entities("#{"a" * 40}!") }
    assert_operator now - started, :<, 3.0
    assert_equal ["aaa"], evil.entities("aaa").map { |e| e[:text] }
  end

  def test_timeout_nil_disables_the_bound_for_trusted_patterns
    assert_nil Candle::PatternRecognizer.new("X", [/x/], timeout: nil).timeout
    assert_equal 1, Candle::PatternRecognizer.new("X", [/x/], timeout: nil).entities("axb").size
  end

  def test_bad_text_is_an_argument_error
    recognizer = Candle::PatternRecognizer.new("X", [/x/], max_length: 10)

    assert_raises(ArgumentError) { recognizer.entities("abc\xFFdef") }
    assert_raises(ArgumentError) { recognizer.entities("\xC3".b) }
    assert_raises(ArgumentError) { recognizer.entities(nil) }
    assert_raises(ArgumentError) { recognizer.entities(42) }
    assert_raises(ArgumentError) { recognizer.entities(:symbol) }
    error = assert_raises(ArgumentError) { recognizer.entities("x" * 11) }
    assert_match(/max_length/, error.message)
    assert_equal 2, recognizer.entities("ééééééééxx").size, "max_length counts characters, not bytes"
    # Other encodings are converted to UTF-8; offsets stay character offsets.
    latin = "Zoë x".encode(Encoding::ISO_8859_1)
    assert_equal [{ text: "x", label: "X", start: 4, end: 5, score: 1.0 }], recognizer.entities(latin)
  end

  def test_bad_arguments_are_argument_errors
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", []) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [42]) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [""]) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", nil) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("", [/x/]) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new(nil, [/x/]) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [/x/], score: 1.5) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [/x/], score: Float::NAN) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [/x/], timeout: 0) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [/x/], max_length: 0) }
    assert_raises(ArgumentError) { Candle::PatternRecognizer.new("X", [Regexp.new("\xFF".b, Regexp::NOENCODING)]) }
    # A single pattern need not be wrapped in an Array.
    assert_equal 1, Candle::PatternRecognizer.new("X", /x/).entities("x").size
  end

  # --- GazetteerRecognizer ---------------------------------------------------

  def cities
    Candle::GazetteerRecognizer.new("LOC", ["Paris", "New York", "New York City", "München", "São Paulo", "AT&T"])
  end

  def test_whole_words_only_with_unicode_word_characters
    text = "Parisian cafés, Parisé, Paris_1, 2Paris, Paris. (Paris) Paris's"
    found = cities.entities(text)

    assert_equal [41, 49, 56], found.map { |e| e[:start] }
    assert(found.all? { |e| e[:text] == "Paris" && e[:label] == "LOC" && e[:score] == 1.0 })
    assert_spans(text, found)
    assert_empty cities.entities("Münchener Straße, SãoPaulo, NewYork, AT & T")
  end

  def test_longest_match_wins_and_whitespace_runs_are_equivalent
    text = "Flights: New York City, New York, New\n  York City; New Jersey; at AT&T."
    found = cities.entities(text)

    assert_equal ["New York City", "New York", "New\n  York City", "AT&T"], found.map { |e| e[:text] }
    assert_spans(text, found)
  end

  def test_unicode_case_folding_and_character_offsets
    text = "Zoë flew from MÜNCHEN to são paulo via NEW YORK."
    found = cities.entities(text)

    assert_equal [["MÜNCHEN", 14, 21], ["são paulo", 25, 34], ["NEW YORK", 39, 47]],
                 found.map { |e| [e[:text], e[:start], e[:end]] }
    assert_spans(text, found)
    # Full folding ("ß" is "ss") and NFC: a decomposed "ü" matches the composed one.
    streets = Candle::GazetteerRecognizer.new("STREET", ["Hauptstraße"])
    assert_equal ["HAUPTSTRASSE"], streets.entities("Die HAUPTSTRASSE").map { |e| e[:text] }
    decomposed = "Mu\u0308nchen ist schön"
    assert_equal [[0, 8]], cities.entities(decomposed).map { |e| [e[:start], e[:end]] }
  end

  def test_case_sensitive
    exact = Candle::GazetteerRecognizer.new("ORG", %w[Apple IBM], case_sensitive: true, score: 0.8)

    assert exact.case_sensitive?
    assert_equal %w[Apple IBM], exact.entities("apple Apple ibm IBM").map { |e| e[:text] }
    assert(exact.entities("Apple").all? { |e| e[:score] == 0.8 })
  end

  def test_terms_and_bad_arguments
    g = Candle::GazetteerRecognizer.new(:LOC, ["Paris", "Paris", "Rome"])
    assert_equal %w[Paris Rome], g.terms
    assert_equal 2, g.size
    assert_equal "LOC", g.label

    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", []) }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", "Paris") }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", ["Paris", 42]) }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", ["  "]) }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", ["Par\xFFis"]) }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("", ["Paris"]) }
    assert_raises(ArgumentError) { Candle::GazetteerRecognizer.new("LOC", ["Paris"], score: -0.1) }
    assert_raises(ArgumentError) { g.entities("Paris \xFF") }
    assert_raises(ArgumentError) { g.entities(nil) }
  end

  def test_ten_thousand_terms_over_a_hundred_kilobyte_text
    terms = Array.new(10_000) { |i| "Térm#{i} Nàme#{i % 97}" }
    text = +""
    expected = 0
    i = 0
    while text.bytesize < 100_000
      if (i % 7).zero?
        text << "TÉRM#{i} NÀME#{i % 97} · "
        expected += 1 if i < 10_000
      else
        text << "fïller wörd#{i} · "
      end
      i += 1
    end

    started = now
    gazetteer = Candle::GazetteerRecognizer.new("TERM", terms)
    found = gazetteer.entities(text)
    elapsed = now - started

    assert_operator text.bytesize, :>=, 100_000
    assert_equal 10_000, gazetteer.size
    assert_equal expected, found.size
    assert_spans(text, found.first(50) + found.last(50))
    assert_operator elapsed, :<, 5.0, "10k terms over 100 KB took #{elapsed.round(2)} s"
  end

  # --- HybridNER -------------------------------------------------------------

  # A stand-in for Candle::NER: HybridNER only needs `entities(text, **opts)`.
  class FixedModel
    attr_reader :calls

    def initialize(&spans)
      @spans = spans
      @calls = []
    end

    def entities(text, **options)
      @calls << options
      @spans.call(text)
    end
  end

  def test_merge_keeps_the_higher_score_then_longer_then_earlier
    text = "Anna Maria Schmidt lives in New York City; mail anna@example.com"
    model = FixedModel.new do |t|
      [
        span(t, 0, 10, "PER", 0.95),   # "Anna Maria" beats the rule's longer span on score
        span(t, 28, 36, "LOC", 0.70),  # "New York" loses to the gazetteer's 1.0
        span(t, 48, 52, "PER", 0.99),  # "anna" inside the email: higher score wins
        span(t, 11, 18, "PER", 0.90)   # "Schmidt" does not overlap "Anna Maria"
      ]
    end
    people = FixedModel.new { |t| [span(t, 0, 18, "PER", 0.9)] }
    hybrid = Candle::HybridNER.new(model, [Candle::GazetteerRecognizer.new("LOC", ["New York City"])])
    hybrid << Candle::PatternRecognizer.new("EMAIL", [EMAIL], score: 0.98)
    hybrid.add(people)

    found = hybrid.entities(text, threshold: 0.5)
    assert_equal [["Anna Maria", "PER"], ["Schmidt", "PER"], ["New York City", "LOC"], ["anna", "PER"]],
                 found.map { |e| [e[:text], e[:label]] }
    assert_spans(text, found)
    assert_equal [{ threshold: 0.5 }], model.calls
    assert_equal [{}], people.calls, "recognizers get no model options"
  end

  def test_ties_prefer_the_longer_then_the_earlier_then_the_model
    text = "abcdefghij"
    model = FixedModel.new do |t|
      [span(t, 2, 5, "M", 0.8, source: :model), span(t, 6, 9, "M", 0.5, source: :model)]
    end
    rule = FixedModel.new do |t|
      [
        span(t, 1, 5, "R", 0.8, source: :rule),   # longer than the model's 2...5 at the same score
        span(t, 5, 8, "R", 0.5, source: :rule),   # same length and score as 6...9, but earlier
        span(t, 6, 9, "R", 0.5, source: :rule)    # identical to the model's: the model wins, but both lose to 5...8
      ]
    end
    found = Candle::HybridNER.new(model, [rule]).entities(text)
    assert_equal [[1, 5, :rule], [5, 8, :rule]], found.map { |e| [e[:start], e[:end], e[:source]] }

    same = FixedModel.new { |t| [span(t, 0, 3, "R", 0.5, source: :rule)] }
    model = FixedModel.new { |t| [span(t, 0, 3, "M", 0.5, source: :model)] }
    assert_equal [:model], Candle::HybridNER.new(model, [same]).entities(text).map { |e| e[:source] }
  end

  def test_adjacent_spans_do_not_overlap_and_result_is_sorted
    model = FixedModel.new { |t| [span(t, 5, 10, "B", 0.1), span(t, 0, 5, "A", 0.2), span(t, 10, 10, "Z", 1.0)] }
    found = Candle::HybridNER.new(model).entities("aaaaabbbbbccc")
    assert_equal [%w[aaaaa A], %w[bbbbb B]], found.map { |e| [e[:text], e[:label]] }
  end

  def test_nil_model_runs_rules_only
    text = "Zoë (zoe@example.com) moved from Paris to São Paulo."
    hybrid = Candle::HybridNER.new(nil, [
      Candle::PatternRecognizer.new("EMAIL", [EMAIL]),
      Candle::GazetteerRecognizer.new("LOC", ["Paris", "São Paulo", "example"], score: 0.9)
    ])
    found = hybrid.entities(text)

    assert_nil hybrid.model
    assert_equal 2, hybrid.recognizers.size
    assert_equal [["zoe@example.com", "EMAIL"], ["Paris", "LOC"], ["São Paulo", "LOC"]], found.map { |e| [e[:text], e[:label]] }
    assert_spans(text, found)
    assert_empty Candle::HybridNER.new.entities(text)
  end

  def test_hybrid_bad_arguments
    assert_raises(ArgumentError) { Candle::HybridNER.new(Object.new) }
    assert_raises(ArgumentError) { Candle::HybridNER.new(nil, Object.new) }
    assert_raises(ArgumentError) { Candle::HybridNER.new(nil, [42]) }
    assert_raises(ArgumentError) { Candle::HybridNER.new << "not a recognizer" }
    assert_raises(ArgumentError) { Candle::HybridNER.new.entities(nil) }
    assert_raises(ArgumentError) { Candle::HybridNER.new.entities("\xFF") }
    # A model that returns spans outside the text, or no score, is reported.
    outside = FixedModel.new { |t| [{ text: "x", label: "X", start: 0, end: t.length + 1, score: 1.0 }] }
    assert_raises(ArgumentError) { Candle::HybridNER.new(outside).entities("abc") }
    unscored = FixedModel.new { |_| [{ text: "a", label: "X", start: 0, end: 1 }] }
    assert_raises(ArgumentError) { Candle::HybridNER.new(unscored).entities("abc") }
    # A pattern timeout passes through as the typed error.
    evil = Candle::HybridNER.new(nil, [Candle::PatternRecognizer.new("EVIL", [/(a+)+$/], timeout: 0.1)])
    assert_raises(Candle::PatternTimeoutError) { evil.entities("#{"a" * 40}!") }
  end
end
