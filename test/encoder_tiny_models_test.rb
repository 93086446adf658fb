# frozen_string_literal: true

# Every encoder architecture against transformers, on the tiny random
# checkpoints script/fixtures/tiny_encoders.py made (served by the local test
# Hub as candle-test/tiny-<name>). Each reference.json holds what
# transformers (and sentence-transformers, and the token-classification
# pipeline) computed for fixed inputs; ours must match within 1e-4.
# TINY_ENCODERS_DIR=dir loads the checkpoints from a local directory instead
# (when regenerating them).
require_relative "test_helper"
require "json"

class EncoderTinyModelsTest < Minitest::Test
  TOL = 1e-4
  BASE = %w[bert bert-legacy distilbert xlm-roberta modernbert qwen3-embedding].freeze
  # Those with sentence-transformers files (modules.json, 1_Pooling, ...).
  SENTENCE_TRANSFORMERS = %w[bert bert-cls-pooling qwen3-embedding].freeze
  SEQCLS = %w[bert-seqcls1 bert-seqcls2 xlm-roberta-seqcls1 modernbert-seqcls1 modernbert-seqcls1-mean].freeze
  TOKCLS = %w[bert-tokcls bert-tokcls-bioes distilbert-tokcls xlm-roberta-tokcls].freeze

  def self.source(name)
    dir = ENV["TINY_ENCODERS_DIR"]
    dir ? File.join(dir, name) : "candle-test/tiny-#{name}"
  end

  def self.reference(name)
    (@refs ||= {})[name] ||= begin
      src = source(name)
      path = File.directory?(src) ? File.join(src, "reference.json") : Candle::Hub.cached_path(src, "reference.json")
      JSON.parse(File.read(path))
    end
  end

  def self.load(klass, name) = ((@models ||= {})[[klass, name]] ||= klass.from_pretrained(source(name)))

  def assert_close(expected, actual, what)
    assert_operator max_diff(expected, actual), :<, TOL, what
  end

  BASE.each do |name|
    define_method("test_#{name.tr("-", "_")}_pooled_hidden_states_match_transformers") do
      ref = self.class.reference(name)
      model = self.class.load(Candle::EmbeddingModel, name)
      # Inputs that fit the model's input length (sentence_bert_config.json
      # may set it below the tokenizer's, where transformers truncated).
      inputs = ref["inputs"].select { |i| i["pooled"] && i["input_ids"].size <= model.max_length }
      assert_operator inputs.size, :>=, 4, "#{name}: too few reference inputs"
      texts = inputs.map { |i| i["text"] }
      %w[mean cls max last_token].each do |pooling|
        ours = model.embed(texts, pooling: pooling.to_sym, normalize: false, batch_size: 3)
        inputs.each_with_index do |input, i|
          assert_close input["pooled"][pooling], ours[i], "#{name} #{pooling} #{input["text"][0, 40].inspect}"
        end
      end
      # All inputs in one batch: with 2+ threads the CPU path splits the
      # rows between threads (whole rows per thread) instead of each GEMM.
      whole = model.embed(texts, pooling: :mean, normalize: false, batch_size: texts.size)
      inputs.each_with_index do |input, i|
        assert_close input["pooled"]["mean"], whole[i], "#{name} one batch #{input["text"][0, 40].inspect}"
      end
    end

    define_method("test_#{name.tr("-", "_")}_tokenizer_matches_transformers") do
      ref = self.class.reference(name)
      tok = Candle::Tokenizer.from_pretrained(self.class.source(name))
      ref["inputs"].reject { |i| i["truncated"] }.each do |input|
        assert_equal input["input_ids"], tok.encode(input["text"]).ids, input["text"]
      end
    end
  end

  # The same checkpoints on candle's ops instead of the project's CPU
  # kernels (the path other devices and dtypes take), forced by
  # CANDLE_ENCODER_CANDLE_OPS=1 at load.
  %w[bert distilbert xlm-roberta modernbert].each do |name|
    define_method("test_#{name.tr("-", "_")}_on_candle_ops_matches_transformers") do
      ref = self.class.reference(name)
      model = begin
        ENV["CANDLE_ENCODER_CANDLE_OPS"] = "1"
        Candle::EmbeddingModel.from_pretrained(self.class.source(name))
      ensure
        ENV.delete("CANDLE_ENCODER_CANDLE_OPS")
      end
      inputs = ref["inputs"].select { |i| i["pooled"] && i["input_ids"].size <= model.max_length }
      ours = model.embed(inputs.map { |i| i["text"] }, pooling: :mean, normalize: false, batch_size: 3)
      inputs.each_with_index do |input, i|
        assert_close input["pooled"]["mean"], ours[i], "#{name} candle ops #{input["text"][0, 40].inspect}"
      end
    end
  end

  SENTENCE_TRANSFORMERS.each do |name|
    define_method("test_#{name.tr("-", "_")}_default_embedding_matches_sentence_transformers") do
      st = self.class.reference(name)["sentence_transformers"]
      model = self.class.load(Candle::EmbeddingModel, name)
      assert_equal st["pooling"].sub("lasttoken", "last_token").to_sym, model.pooling
      assert_equal st["max_seq_length"], model.max_length
      ours = model.embed(st["texts"], normalize: st["normalized"])
      st["embeddings"].each_with_index { |e, i| assert_close e, ours[i], "#{name} #{st["texts"][i][0, 40].inspect}" }
    end
  end

  def test_qwen3_embedding_query_prompt_matches_sentence_transformers
    st = self.class.reference("qwen3-embedding")["sentence_transformers"]
    model = self.class.load(Candle::EmbeddingModel, "qwen3-embedding")
    assert_equal st["prompt_query"]["prompt"], model.prompts["query"]
    ours = model.embed(st["texts"], prompt: :query)
    st["prompt_query"]["embeddings"].each_with_index { |e, i| assert_close e, ours[i], "query #{i}" }
    assert_equal :last_token, model.pooling
    assert_equal "qwen3", model.architecture
  end

  SEQCLS.each do |name|
    define_method("test_#{name.tr("-", "_")}_logits_and_scores_match_transformers") do
      ref = self.class.reference(name)
      reranker = self.class.load(Candle::Reranker, name)
      ref["inputs"].each do |pair|
        assert_close pair["logits"], reranker.logits(pair["query"], [pair["document"]]).first, pair["query"]
        score = reranker.score(pair["query"], pair["document"])
        expected = pair["logits"].size == 1 ? 1.0 / (1.0 + Math.exp(-pair["logits"][0])) : softmax(pair["logits"])[1]
        assert_in_delta expected, score, TOL
      end
      # One query against all the documents at once, in one padded batch.
      query = ref["inputs"].first["query"]
      docs = ref["inputs"].map { |p| p["document"] }
      alone = docs.map { |d| reranker.score(query, d) }
      assert_close alone, reranker.scores(query, docs, batch_size: docs.size), "#{name} batched"
      ranked = reranker.rerank(query, docs)
      assert_equal alone.each_with_index.sort_by { |s, i| [-s, i] }.map(&:last), ranked.map { |r| r[:index] }
    end
  end

  def test_bioes_singles_stand_alone_and_begin_end_spans_join
    ref = self.class.reference("bert-tokcls-bioes")
    ner = self.class.load(Candle::NER, "bert-tokcls-bioes")
    checked = 0
    ref["inputs"].each do |input|
      ents = ner.entities(input["text"], aggregation: :simple, threshold: 0, merge_adjacent: false)
      spans = ents.map { |e| [e[:start], e[:end]] }
      input["predicted_labels"].each_with_index do |label, j|
        next unless input["special_tokens_mask"][j].zero? && label.start_with?("S-")

        assert_includes spans, input["offsets"][j], "S- token #{input["tokens"][j]} in #{input["text"].inspect}"
        checked += 1
      end
      labels = input["predicted_labels"]
      labels.each_cons(2).with_index do |(a, b), j|
        next unless a.start_with?("B-") && b == "E-#{a[2..]}" && input["special_tokens_mask"][j + 1].zero?

        assert_includes spans, [input["offsets"][j][0], input["offsets"][j + 1][1]], "B-E pair in #{input["text"].inspect}"
        checked += 1
      end
    end
    assert_operator checked, :>=, 5
  end

  TOKCLS.each do |name|
    define_method("test_#{name.tr("-", "_")}_token_probabilities_match_transformers") do
      ref = self.class.reference(name)
      ner = self.class.load(Candle::NER, name)
      assert_equal ref["id2label"].sort_by { |k, _| k.to_i }.map(&:last), ner.labels
      ref["inputs"].each do |input|
        toks = ner.tokens(input["text"])
        keep = input["special_tokens_mask"].each_index.select { |j| input["special_tokens_mask"][j].zero? }
        assert_equal keep.map { |j| input["offsets"][j] }, toks.map { |t| [t[:start], t[:end]] }, input["text"]
        keep.each_with_index do |j, k|
          assert_close softmax(input["logits"][j]), toks[k][:probabilities].values, "#{name} token #{j} of #{input["text"].inspect}"
        end
      end
    end

    define_method("test_#{name.tr("-", "_")}_entities_match_the_pipeline_for_every_aggregation") do
      ref = self.class.reference(name)
      ner = self.class.load(Candle::NER, name)
      ref["inputs"].each do |input|
        input["pipeline"].each do |strategy, expected|
          # The pipeline knows only B-/I-: it reads S-PER S-PER as one
          # entity. BIOES grouping is checked below instead.
          next if name.end_with?("bioes") && strategy != "none"

          ours = ner.entities(input["text"], aggregation: strategy.to_sym, threshold: 0, merge_adjacent: false)
          want = expected.map { |e| [e["entity_group"] || e["entity"], e["start"], e["end"]] }
          assert_equal want, ours.map { |e| [e[:label], e[:start], e[:end]] }, "#{name} #{strategy} #{input["text"].inspect}"
          expected.zip(ours).each { |e, o| assert_in_delta e["score"], o[:score], TOL }
          ours.each { |e| assert_equal e[:text], input["text"][e[:start]...e[:end]] }
        end
      end
    end
  end
end
