# frozen_string_literal: true

# The real encoder models of the pre-warmed cache against Python, on the
# references script/fixtures/encoder_references.py computed from the same
# snapshots (test/fixtures/encoder-references/): all-MiniLM-L6-v2 against
# sentence-transformers, the PII token classifier against transformers'
# token-classification pipeline, for every aggregation strategy.
require_relative "test_helper"
require "json"
require "digest"

class EncoderReferencesTest < Minitest::Test
  DIR = File.expand_path("fixtures/encoder-references", __dir__)

  def ref(name) = JSON.parse(File.read(File.join(DIR, name)))

  def test_minilm_reproduces_sentence_transformers
    r = ref("minilm.json")
    model = Candle::EmbeddingModel.from_pretrained(r["model"])
    # The files the reference was computed from (the commit sha in r["snapshot"]
    # is the local test Hub's, so it is provenance only).
    r["model_files_sha256"].each do |file, sha|
      assert_equal sha, Digest::SHA256.file(Candle::Hub.cached_path(r["model"], file)).hexdigest, file
    end
    assert_equal r["max_seq_length"], model.max_length
    ours = model.embed(r["sentences"], batch_size: 4)
    r["sentences"].each_with_index do |s, i|
      assert_operator max_diff(r["embeddings"][i], ours[i]), :<, 1e-4, s[0, 60].inspect
      # The same text alone: the batch does not change it.
      assert_operator max_diff(model.embed(s), ours[i]), :<, 1e-5, s[0, 60].inspect
    end
  end

  def test_pii_ner_matches_the_pipeline
    r = ref("pii_ner.json")
    ner = Candle::NER.from_pretrained(r["model"])
    assert_equal r["id2label"].sort_by { |k, _| k.to_i }.map(&:last), ner.labels
    r["inputs"].each do |input|
      text = input["text"]
      toks = ner.tokens(text)
      keep = input["special_tokens_mask"].each_index.select { |j| input["special_tokens_mask"][j].zero? }
      assert_equal keep.map { |j| input["offsets"][j] }, toks.map { |t| [t[:start], t[:end]] }
      keep.each_with_index do |j, k|
        assert_operator max_diff(softmax(input["logits"][j]), toks[k][:probabilities].values), :<, 1e-4
      end
      input["pipeline"].each do |strategy, expected|
        ours = ner.entities(text, aggregation: strategy.to_sym, threshold: 0, merge_adjacent: false)
        want = expected.map { |e| [e["entity_group"] || e["entity"], e["start"], e["end"]] }
        got = ours.map { |e| [e[:label], e[:start], e[:end]] }
        if (input["unstable_strategies"] || []).include?(strategy)
          # A near-tie in the logits: allow the grouping to differ, not the spans' text.
          ours.each { |e| assert_equal e[:text], text[e[:start]...e[:end]] }
          next
        end
        assert_equal want, got, "#{strategy} #{text.inspect}"
        expected.zip(ours).each { |e, o| assert_in_delta e["score"], o[:score], 1e-4 }
      end
    end
  end
end
