# frozen_string_literal: true

# Candle::Tokenizer on the real tokenizers of the manifest, loaded offline from
# the pre-warmed cache. Exactness against Python `tokenizers` is in
# tokenizer_reference_test.rb; this file covers the Ruby API.
require_relative "test_helper"
require "pathname"

class TokenizerTest < Minitest::Test
  def self.cached(id) = (@cached ||= {})[id] ||= Candle::Tokenizer.from_pretrained(id)
  def cached(id) = self.class.cached(id)

  def bert = cached("candle-test/bert-base-uncased-tokenizer")
  def qwen = cached("candle-test/qwen3-tokenizer")
  def llama3 = cached("candle-test/llama3-tokenizer")

  def test_encode_bert
    enc = bert.encode("Hello, world!")
    assert_equal %w[[CLS] hello , world ! [SEP]], enc.tokens
    assert_equal [101, 7592, 1010, 2088, 999, 102], enc.ids
    assert_equal [1] * 6, enc.attention_mask
    assert_equal [0] * 6, enc.type_ids
    assert_equal [1, 0, 0, 0, 0, 1], enc.special_tokens_mask
    assert_equal [nil, 0, 1, 2, 3, nil], enc.word_ids
    assert_equal 6, enc.length
    assert_equal "hello, world!", bert.decode(enc.ids)
    assert_equal "[CLS] hello, world! [SEP]", bert.decode(enc.ids, skip_special_tokens: false)
    assert_equal %w[hello , world !], bert.encode("Hello, world!", add_special_tokens: false).tokens
  end

  def test_pairs_have_type_ids
    enc = bert.encode("one", "two")
    assert_equal %w[[CLS] one [SEP] two [SEP]], enc.tokens
    assert_equal [0, 0, 0, 1, 1], enc.type_ids
    assert_equal [nil, 0, nil, 1, nil], enc.sequence_ids
  end

  def test_offsets_are_character_offsets_into_the_ruby_string
    text = "naïve café — 東京 🤗 hello"
    enc = qwen.encode(text, add_special_tokens: false)
    # Every character is covered by some token (byte-level BPE may split one
    # character over two tokens; both then carry its offsets).
    covered = enc.offsets.flat_map { |a, b| (a...b).to_a }.uniq.sort
    assert_equal (0...text.length).to_a, covered
    hello = enc.tokens.index("Ġhello")
    assert_equal " hello", text[enc.offsets[hello][0]...enc.offsets[hello][1]]
    bert_enc = bert.encode(text, add_special_tokens: false)
    cafe = bert_enc.tokens.index("cafe")
    assert_equal "café", text[bert_enc.offsets[cafe][0]...bert_enc.offsets[cafe][1]]
  end

  def test_batch_equals_single_and_releases_the_gvl
    texts = ["Hello there", "東京タワー", "emoji 👩‍👩‍👧 family", "", "  spaces  "] * 200
    batch = qwen.encode_batch(texts)
    assert_equal texts.size, batch.size
    texts.first(5).each_with_index do |t, i|
      assert_equal qwen.encode(t).ids, batch[i].ids, t
      assert_equal qwen.encode(t).offsets, batch[i].offsets, t
    end
    pairs = bert.encode_batch([%w[one two], %w[three four]])
    assert_equal bert.encode("three", "four").ids, pairs[1].ids

    big = ["The quick brown fox jumps over the lazy dog. " * 40] * 400
    thread, ticks = ticker
    bert.encode_batch(big)
    thread.kill
    assert_operator ticks.call, :>, 0, "a Ruby thread must run while a batch encodes"
  end

  def test_padding_and_truncation
    tok = Candle::Tokenizer.from_pretrained("candle-test/bert-base-uncased-tokenizer")
    assert_nil tok.padding
    tok.enable_padding
    batch = tok.encode_batch(["hello", "hello big world"])
    assert_equal [5, 5], batch.map(&:length)
    assert_equal [1, 1, 1, 0, 0], batch[0].attention_mask
    assert_equal "[PAD]", batch[0].tokens.last
    tok.enable_padding(length: 8, direction: :left)
    enc = tok.encode("hello")
    assert_equal 8, enc.length
    assert_equal "[PAD]", enc.tokens.first
    assert_equal({ length: 8, direction: :left, pad_id: 0, pad_token: "[PAD]", pad_type_id: 0, pad_to_multiple_of: nil }, tok.padding)
    tok.no_padding
    assert_equal 3, tok.encode("hello").length

    tok.enable_truncation(4)
    assert_equal %w[[CLS] hello big [SEP]], tok.encode("hello big world").tokens
    tok.enable_truncation(4, direction: :left)
    assert_equal %w[[CLS] big world [SEP]], tok.encode("hello big world").tokens
    assert_equal({ max_length: 4, strategy: :longest_first, direction: :left, stride: 0 }, tok.truncation)
    tok.no_truncation
    assert_equal 5, tok.encode("hello big world").length
  end

  def test_minilm_keeps_the_padding_its_tokenizer_json_turns_on
    tok = cached("sentence-transformers/all-MiniLM-L6-v2")
    assert_equal 128, tok.truncation[:max_length]
    assert_equal 128, tok.encode("short").length, "tokenizer.json pads to a fixed 128"
  end

  def test_vocab_and_special_tokens
    assert_equal 30_522, bert.vocab_size
    assert_equal 7592, bert.vocab["hello"]
    assert_equal 7592, bert.token_to_id("hello")
    assert_equal "hello", bert.id_to_token(7592)
    assert_nil bert.token_to_id("no-such-token-xyz")
    assert_nil bert.id_to_token(10_000_000)
    assert_equal "[CLS]", bert.cls_token
    assert_equal 102, bert.sep_token_id
    assert_equal "<|im_end|>", qwen.eos_token
    assert_equal qwen.token_to_id("<|im_end|>"), qwen.added_special_tokens["<|im_end|>"]
    assert_includes qwen.special_tokens.keys, :eos_token
    assert_match(/vocab_size=\d+/, qwen.inspect)
  end

  def test_decode_stream_never_splits_a_character
    text = "Emoji 👩‍👩‍👧‍👦 and 東京タワー, Ünïcödé, 한국어 👍🏽!"
    [qwen, llama3, cached("candle-test/gemma3-tokenizer")].each do |tok|
      ids = tok.encode(text, add_special_tokens: false).ids
      stream = tok.decode_stream
      pieces = ids.filter_map { |id| stream.step(id) }
      tail = stream.flush
      pieces << tail if tail
      pieces.each { |p| assert p.valid_encoding?, "#{tok.source}: invalid piece #{p.inspect}" }
      refute pieces.any? { |p| p.include?("\uFFFD") }, "#{tok.source}: a replacement character leaked: #{pieces.inspect}"
      assert_equal tok.decode(ids), pieces.join, tok.source
      assert_operator pieces.size, :>, 5
    end
  end

  def test_decode_batch
    ids = [bert.encode("one").ids, bert.encode("two three").ids]
    assert_equal ["one", "two three"], bert.decode_batch(ids)
  end

  def test_vocab_only_repo_equals_its_tokenizer_json_twin
    vocab_only = cached("candle-test/bert-vocab-only")
    twin = cached("candle-test/bert-pii-ner")
    assert_match(/\Avocab\.txt from/, vocab_only.source)
    texts = ["My name is John Smith, email john.smith@example.com", "Çà et là — naïve 東京 résumé", "ID: 42-Main_Street!!"]
    texts.each do |t|
      a = vocab_only.encode(t)
      b = twin.encode(t)
      assert_equal b.ids, a.ids, t
      assert_equal b.tokens, a.tokens, t
      assert_equal b.offsets, a.offsets, t
      assert_equal twin.decode(b.ids), vocab_only.decode(a.ids)
    end
    assert_equal twin.vocab_size, vocab_only.vocab_size
  end

  def test_from_file_and_from_vocab
    json = Candle::Hub.cached_path("candle-test/bert-base-uncased-tokenizer", "tokenizer.json")
    vocab = Candle::Hub.cached_path("candle-test/bert-base-uncased-tokenizer", "vocab.txt")
    assert_equal bert.encode("Hello world").ids, Candle::Tokenizer.from_file(json).encode("Hello world").ids
    assert_equal bert.encode("Hello world").ids, Candle::Tokenizer.from_vocab(vocab).encode("Hello world").ids
    assert_equal bert.encode("Hello world").ids, Candle::Tokenizer.from_file(Pathname(json)).encode("Hello world").ids
  end

  def test_bad_arguments
    assert_raises(ArgumentError) { bert.encode(42) }
    assert_raises(ArgumentError) { bert.encode("\xff\xfe".b.force_encoding("UTF-8")) }
    assert_raises(ArgumentError) { bert.decode([-1]) }
    assert_raises(ArgumentError) { bert.decode([bert.vocab_size + 10]) }
    assert_raises(ArgumentError) { bert.enable_truncation(0) }
    assert_raises(ArgumentError) { bert.enable_truncation(8, strategy: :sideways) }
    assert_raises(ArgumentError) { bert.enable_padding(direction: :up) }
    assert_raises(ArgumentError) { bert.encode_batch("not an array") }
    e = assert_raises(Candle::TokenizerError) { Candle::Tokenizer.from_file("/nonexistent/tokenizer.json") }
    assert_includes e.message, "/nonexistent/tokenizer.json"
  end

  def test_latin1_strings_are_transcoded
    latin1 = "café".encode("ISO-8859-1")
    assert_equal bert.encode("café").ids, bert.encode(latin1).ids
  end
end
