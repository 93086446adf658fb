# frozen_string_literal: true

# Candle::EmbeddingModel on the real all-MiniLM-L6-v2 (BERT, mean pooling,
# Normalize) served by the local test Hub, and on SPLADE-tiny (a BERT with
# the legacy LayerNorm.gamma/beta names under a bert. prefix). Exactness
# against sentence-transformers is test/encoder_references_test.rb.
require_relative "test_helper"
require "timeout"

class EmbeddingModelTest < Minitest::Test
  MINILM = "sentence-transformers/all-MiniLM-L6-v2"
  SENTENCES = [
    "The cat sits on the mat.",
    "A quick brown fox jumps over the lazy dog near the river bank in the morning.",
    "Zoë moved to São Paulo 🙂",
    "short",
    "Embeddings map text to vectors; similar meanings land close together, which makes search work.",
  ].freeze

  def model = (self.class.instance_variable_get(:@m) || self.class.instance_variable_set(:@m, Candle::EmbeddingModel.from_pretrained(MINILM)))

  def norm(v) = Math.sqrt(v.sum { |x| x * x })

  def test_describes_itself_from_the_sentence_transformers_files
    assert_equal 384, model.dimensions
    assert_equal 256, model.max_length # sentence_bert_config.json, not tokenizer.json's 128
    assert_equal :mean, model.pooling
    assert_equal "bert", model.architecture
    assert_equal :f32, model.dtype
    assert_equal MINILM, model.model_id
    assert_match(/all-MiniLM-L6-v2@\h{7} architecture=bert dimensions=384/, model.inspect)
  end

  def test_string_gives_a_vector_and_array_gives_vectors_in_order
    one = model.embed(SENTENCES[0])
    assert_equal 384, one.size
    assert_in_delta 1.0, norm(one), 1e-5
    many = model.embed(SENTENCES, batch_size: 2)
    assert_equal SENTENCES.size, many.size
    SENTENCES.each_with_index do |s, i|
      assert_operator max_diff(model.embed(s), many[i]), :<, 1e-5, "#{s.inspect} differs inside a batch"
    end
  end

  def test_a_text_embeds_the_same_alone_and_inside_any_batch
    target = SENTENCES[2]
    alone = model.embed(target)
    [[target, "x" * 300], ["a", target, SENTENCES[1]], SENTENCES.reverse].each do |batch|
      row = model.embed(batch, batch_size: 32)[batch.index(target)]
      assert_operator max_diff(alone, row), :<, 1e-5
    end
  end

  def test_meaning_orders_similarity
    cat = model.similarity("A cat sleeps on the sofa.", "A kitten naps on the couch.")
    tax = model.similarity("A cat sleeps on the sofa.", "Quarterly tax filings are due in April.")
    assert_operator cat, :>, tax + 0.3
  end

  def test_dimensions_truncate_and_renormalize
    full = model.embed(SENTENCES[1], normalize: false)
    short = model.embed(SENTENCES[1], dimensions: 64)
    assert_equal 64, short.size
    assert_in_delta 1.0, norm(short), 1e-5
    head = full.first(64)
    assert_operator max_diff(short, head.map { |x| x / norm(head) }), :<, 1e-6
    assert_raises(ArgumentError) { model.embed("x", dimensions: 385) }
    assert_raises(ArgumentError) { model.embed("x", dimensions: 0) }
  end

  def test_pooling_choices_give_different_vectors
    mean = model.embed(SENTENCES[1], normalize: false)
    cls = model.embed(SENTENCES[1], pooling: :cls, normalize: false)
    max = model.embed(SENTENCES[1], pooling: :max, normalize: false)
    refute_operator max_diff(mean, cls), :<, 1e-3
    # Max pooling is at least the mean in every feature.
    assert(max.zip(mean).all? { |m, a| m >= a - 1e-6 })
    assert_raises(ArgumentError) { model.embed("x", pooling: :median) }
  end

  def test_packed_form_holds_the_same_floats
    packed = model.embed_packed(SENTENCES.first(3))
    assert_equal Encoding::BINARY, packed.encoding
    assert_equal 3 * 384 * 4, packed.bytesize
    rows = packed.unpack("e*").each_slice(384).to_a
    model.embed(SENTENCES.first(3)).each_with_index { |v, i| assert_operator max_diff(v, rows[i]), :<, 1e-7 }
    assert_equal "".b, model.embed_packed([])
  end

  def test_bad_input_is_an_argument_error_or_a_defined_result
    assert_equal [], model.embed([])
    empty = model.embed("")
    assert_equal 384, empty.size # [CLS] [SEP]
    assert_in_delta 1.0, norm(empty), 1e-5
    long = model.embed("word " * 20_000) # 100k characters: truncated to 256 tokens
    assert_equal 384, long.size
    assert_raises(ArgumentError) { model.embed(["ok", 42]) }
    assert_raises(ArgumentError) { model.embed(nil) }
    assert_raises(ArgumentError) { model.embed("\xff\xfe".dup.force_encoding("UTF-8")) }
    assert_raises(ArgumentError) { model.embed("x", batch_size: 0) }
    assert_raises(ArgumentError) { model.embed("x", prompt: :query) } # MiniLM has no prompts
    latin1 = "café".encode("ISO-8859-1")
    assert_operator max_diff(model.embed(latin1), model.embed("café")), :<, 1e-7
  end

  def test_prompt_string_is_prepended
    assert_operator max_diff(model.embed("query: cats", normalize: true), model.embed("cats", prompt: "query: ")), :<, 1e-7
  end

  def test_threads_share_one_model
    expected = model.embed(SENTENCES)
    results = Array.new(8) { |i| Thread.new { model.embed(SENTENCES.rotate(i)).rotate(-i) } }.map(&:value)
    results.each { |r| r.each_with_index { |v, j| assert_operator max_diff(v, expected[j]), :<, 1e-5 } }
  end

  def test_timeout_interrupts_a_long_batch
    texts = Array.new(4000) { |i| "sentence number #{i} " * 12 }
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Timeout::Error) { Timeout.timeout(0.3) { model.embed(texts, batch_size: 64) } }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 2.0
  end

  def test_half_precision_dtypes_stay_close_to_f32
    { f16: 2e-3, bf16: 1e-2 }.each do |dtype, tolerance|
      half = Candle::EmbeddingModel.from_pretrained(MINILM, dtype: dtype)
      assert_equal dtype, half.dtype
      assert_operator max_diff(model.embed(SENTENCES[2]), half.embed(SENTENCES[2])), :<, tolerance
    end
  end

  def test_ctrl_c_stops_a_long_batch_within_a_second
    script = <<~RUBY
      $stdout.sync = true
      require "candle"
      model = Candle::EmbeddingModel.from_pretrained("#{MINILM}")
      texts = Array.new(20_000) { |i| "sentence number " + i.to_s * 12 }
      begin
        puts "ready"
        model.embed(texts, batch_size: 64)
        puts "finished"
      rescue Interrupt
        puts "interrupted"
      end
    RUBY
    assert_sigint_interrupts(script) { sleep 0.5 }
  end

  def test_legacy_gamma_beta_names_under_a_bert_prefix_load
    splade = Candle::EmbeddingModel.from_pretrained("candle-test/splade-tiny")
    v = splade.embed("legacy checkpoints still load")
    assert_equal splade.dimensions, v.size
    assert_in_delta 1.0, norm(v), 1e-5
  end

  def test_models_that_are_not_encoders_are_refused_by_name
    e = assert_raises(Candle::UnsupportedModelError) { Candle::EmbeddingModel.from_pretrained("candle-test/tiny-llama") }
    assert_match(/model_type "llama" is not a supported encoder; supported: bert/, e.message)
    e = assert_raises(Candle::UnsupportedModelError) { Candle::EmbeddingModel.from_pretrained("candle-test/tiny-lms-gguf") }
    assert_match(/not GGUF/, e.message)
    assert_raises(ArgumentError) { Candle::EmbeddingModel.from_pretrained(MINILM, dtype: :f64) }
  end
end
