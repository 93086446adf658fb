# frozen_string_literal: true

# Tokenizers read from a SentencePiece tokenizer.model: ids and decodes equal
# to the Python `sentencepiece` package on models it trained at staging time
# (script/derive/sentencepiece_models.py: BPE and Unigram, byte fallback on
# and off, nmt_nfkc and identity normalization, no dummy prefix, user-defined
# pieces), served as candle-test/sentencepiece-models.
require_relative "test_helper"
require "tmpdir"
require "fileutils"

class SentencePieceTokenizerTest < Minitest::Test
  REPO = "candle-test/sentencepiece-models"

  def self.path(file) = Candle::Hub.cached_path(REPO, file) || raise("#{REPO}/#{file} is not cached; run rake models:prewarm")
  def self.reference = @reference ||= JSON.parse(File.read(path("reference.json")))

  MODELS = %w[bpe bpe_nofallback bpe_nodummy unigram unigram_nofallback unigram_identity unigram_user].freeze

  def test_reference_covers_every_model
    assert_equal MODELS.map { |m| "#{m}.model" }.sort, self.class.reference["models"].keys.sort
  end

  MODELS.each do |name|
    model = "#{name}.model"
    define_method("test_#{name}_matches_python_sentencepiece") do
      tok = Candle::Tokenizer.from_sentencepiece(self.class.path(model))
      cases = self.class.reference["models"][model]["cases"]
      assert_operator cases.size, :>=, 50
      failures = cases.reject do |c|
        tok.encode(c["text"], add_special_tokens: false).ids == c["ids"] && tok.decode(c["ids"]) == c["decoded"]
      end
      first = failures.first
      assert_empty failures, "#{model}: #{failures.size} of #{cases.size} differ from sentencepiece " \
                             "#{self.class.reference["sentencepiece_version"]}; first: #{first && first["text"].inspect} " \
                             "want #{first && first["ids"].inspect} got #{first && tok.encode(first["text"], add_special_tokens: false).ids.inspect}"
    end
  end

  def test_a_repo_with_only_tokenizer_model_adds_bos_as_its_config_says
    Dir.mktmpdir("candle-spm") do |dir|
      FileUtils.cp(self.class.path("bpe.model"), File.join(dir, "tokenizer.model"))
      File.write(File.join(dir, "tokenizer_config.json"), JSON.generate(add_bos_token: true, add_eos_token: true))
      tok = Candle::Tokenizer.from_pretrained(dir)
      assert_match(/\Atokenizer\.model from/, tok.source)
      ids = tok.encode("Hello world").ids
      assert_equal tok.bos_token_id, ids.first
      assert_equal tok.eos_token_id, ids.last
      assert_equal "Hello world", tok.decode(ids)

      File.write(File.join(dir, "tokenizer_config.json"), JSON.generate(add_bos_token: false))
      plain = Candle::Tokenizer.from_pretrained(dir)
      assert_equal tok.encode("Hello world", add_special_tokens: false).ids, plain.encode("Hello world").ids
    end
  end

  def test_hostile_model_files_are_tokenizer_errors
    Dir.mktmpdir("candle-spm") do |dir|
      bad = File.join(dir, "tokenizer.model")
      File.binwrite(bad, "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f".b)
      e = assert_raises(Candle::TokenizerError) { Candle::Tokenizer.from_sentencepiece(bad) }
      assert_includes e.message, "SentencePiece"
      real = File.binread(self.class.path("unigram.model"))
      File.binwrite(bad, real[0, real.bytesize / 3])
      assert_raises(Candle::TokenizerError) { Candle::Tokenizer.from_sentencepiece(bad) }
    end
  end
end
