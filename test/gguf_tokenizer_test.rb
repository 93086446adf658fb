# frozen_string_literal: true

# Tokenizers built from GGUF metadata (tokenizer.ggml.*), proven with
# llama.cpp's own test vectors (ggml-vocab-*.gguf with .inp/.out, staged as
# candle-test/llama-cpp-vocab) and against the same models' tokenizer.json.
require_relative "test_helper"
require "tmpdir"

class GgufTokenizerTest < Minitest::Test
  VOCABS = "candle-test/llama-cpp-vocab"
  SEPARATOR = "\n__ggml_vocab_test__\n"

  # Every vocabulary llama.cpp ships test vectors for; every case must pass.
  # Vocabularies we cannot load are listed in README.md ("GGUF tokenizers").
  MUST_PASS = %w[bert-bge command-r deepseek-coder deepseek-llm falcon gemma-4 gpt-2 llama-bpe llama-spm mpt
                 phi-3 qwen2 qwen35 refact starcoder].freeze

  def self.vocab_path(name) = Candle::Hub.cached_path(VOCABS, "ggml-vocab-#{name}.gguf")

  # [[text, ids], ...] as llama.cpp's test-tokenizer-0 reads them.
  def self.cases(name)
    inp = File.binread(Candle::Hub.cached_path(VOCABS, "ggml-vocab-#{name}.gguf.inp")).force_encoding("UTF-8")
    out = File.read(Candle::Hub.cached_path(VOCABS, "ggml-vocab-#{name}.gguf.out"))
    texts = inp.split(SEPARATOR, -1)
    texts.pop if texts.last == "" # the file ends with a separator
    ids = out.lines.map { |l| l.split.map { |x| Integer(x) } }
    raise "#{name}: #{texts.size} inputs but #{ids.size} outputs" unless texts.size == ids.size

    texts.zip(ids)
  end

  def self.vocab_names
    Candle::Hub.files(VOCABS).grep(/\Aggml-vocab-(.+)\.gguf\.inp\z/) { Regexp.last_match(1) }.sort
  end

  # {name => [passed, failed, first failure]} for every vocabulary with vectors.
  def self.results
    @results ||= vocab_names.to_h do |name|
      tok = Candle::Tokenizer.from_gguf(vocab_path(name))
      tok.split_special_tokens = true # llama.cpp's test runs with parse_special = false
      failures = cases(name).reject { |text, ids| tok.encode(text, add_special_tokens: false).ids == ids }
      [name, [cases(name).size - failures.size, failures.size, failures.first]]
    rescue Candle::Error => e
      [name, [0, cases(name).size, e.message]]
    end
  end

  MUST_PASS.each do |name|
    define_method("test_llama_cpp_vectors_#{name.tr("-", "_")}") do
      passed, failed, first = self.class.results.fetch(name)
      assert_operator passed, :>, 10
      assert_equal 0, failed, "#{name}: #{failed} of #{passed + failed} llama.cpp cases differ; first: #{first.inspect}"
    end
  end

  def test_every_vocabulary_with_vectors_is_checked
    assert_equal MUST_PASS.sort, self.class.vocab_names
  end

  def test_vocabularies_without_vectors_load_or_fail_clearly
    %w[aquila baichuan gpt-neox].each do |name|
      tok = Candle::Tokenizer.from_gguf(self.class.vocab_path(name))
      assert_operator tok.encode("Hello world", add_special_tokens: false).length, :>, 0, name
    end
    e = assert_raises(Candle::TokenizerError) { Candle::Tokenizer.from_gguf(self.class.vocab_path("nomic-bert-moe")) }
    assert_includes e.message, "t5"
  end

  def test_byte_level_decode_is_lossless
    tok = Candle::Tokenizer.from_gguf(self.class.vocab_path("gpt-2"))
    self.class.cases("gpt-2").each { |text, ids| assert_equal text, tok.decode(ids), text.inspect }
  end

  # ------------------------------------------------------- real model GGUFs

  def smollm = (@smollm ||= Candle::Tokenizer.from_pretrained("candle-test/SmolLM2-135M-Instruct-GGUF"))
  def qwen25 = (@qwen25 ||= Candle::Tokenizer.from_pretrained("Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"))

  def reference_texts
    path = Candle::Hub.cached_path("candle-test/tokenizer-references", "encodings/qwen3.json")
    JSON.parse(File.read(path))["cases"].map { |c| c["text"] }.uniq
  end

  def test_smollm2_gguf_tokenizer_equals_its_tokenizer_json
    json = Candle::Tokenizer.from_pretrained("candle-test/SmolLM2-135M-Instruct-safetensors")
    assert_match(/SmolLM2-135M-Instruct\.Q4_1\.gguf from candle-test\/SmolLM2-135M-Instruct-GGUF/, smollm.source)
    diffs = reference_texts.reject do |t|
      smollm.encode(t, add_special_tokens: false).ids == json.encode(t, add_special_tokens: false).ids
    end
    assert_empty diffs.first(5), "#{diffs.size} texts differ between the GGUF vocabulary and tokenizer.json"
    assert_equal json.vocab_size, smollm.vocab_size
  end

  def test_qwen25_gguf_tokenizer_equals_qwen_tokenizer_json
    qwen3 = Candle::Tokenizer.from_pretrained("candle-test/qwen3-tokenizer")
    # Qwen3 added tokens Qwen2.5 does not have (<think>, tool tags ...).
    extra = qwen3.vocab.keys.grep(/\A<.+>\z/).reject { |t| qwen25.token_to_id(t) }
    texts = reference_texts.reject { |t| extra.any? { |s| t.include?(s) } }
    assert_operator texts.size, :>, 100
    diffs = texts.reject do |t|
      qwen25.encode(t, add_special_tokens: false).ids == qwen3.encode(t, add_special_tokens: false).ids
    end
    assert_empty diffs.first(5), "#{diffs.size} texts differ between Qwen2.5's GGUF vocabulary and Qwen's tokenizer.json"
  end

  def test_gguf_special_tokens_and_chat_template
    assert_equal "<|im_end|>", qwen25.eos_token
    assert_includes qwen25.eos_token_ids, qwen25.token_to_id("<|im_end|>")
    out = qwen25.apply_chat_template([{ role: "user", content: "Hi" }])
    assert_includes out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert_includes smollm.apply_chat_template([{ role: "user", content: "Hi" }]), "<|im_start|>user\nHi<|im_end|>"
  end

  def test_gguf_repo_loads_offline_without_asking_for_tokenizer_files
    tok = Candle::Tokenizer.from_pretrained("candle-test/SmolLM2-135M-Instruct-GGUF", local_files_only: true)
    assert_equal smollm.encode("Hello").ids, tok.encode("Hello").ids
  end

  # ------------------------------------------------------------ bad files

  def gguf_bytes(kv)
    out = +"GGUF".b
    out << [3, 0, kv.size].pack("L<Q<Q<")
    kv.each do |key, value|
      out << [key.bytesize].pack("Q<") << key.b
      out << [8, value.bytesize].pack("L<Q<") << value.b
    end
    out
  end

  def with_file(bytes)
    Dir.mktmpdir("candle-gguf") do |dir|
      path = File.join(dir, "model.gguf")
      File.binwrite(path, bytes)
      yield path
    end
  end

  def test_gguf_without_tokenizer_metadata
    with_file(gguf_bytes("general.architecture" => "llama")) do |path|
      e = assert_raises(Candle::TokenizerError) { Candle::Tokenizer.from_gguf(path) }
      assert_includes e.message, "tokenizer.ggml.tokens"
    end
  end

  def test_broken_gguf_files_are_invalid_model_file_errors
    with_file("GGUF".b + [3].pack("L<") + "\x01".b) do |path|
      assert_raises(Candle::InvalidModelFileError) { Candle::Tokenizer.from_gguf(path) }
    end
    with_file("NOPE".b + ("\0" * 64)) do |path|
      e = assert_raises(Candle::InvalidModelFileError) { Candle::Tokenizer.from_gguf(path) }
      assert_includes e.message, "GGUF"
    end
    # A string length far beyond the file: no huge allocation, a clear error.
    huge = +"GGUF".b << [3, 0, 1].pack("L<Q<Q<") << [1 << 60].pack("Q<") << "abc"
    with_file(huge) do |path|
      assert_raises(Candle::InvalidModelFileError) { Candle::Tokenizer.from_gguf(path) }
    end
    real = File.binread(self.class.vocab_path("gpt-2"))
    with_file(real[0, real.bytesize / 2]) do |path|
      e = assert_raises(Candle::InvalidModelFileError) { Candle::Tokenizer.from_gguf(path) }
      assert_match(/truncated|remain|exceeds/i, e.message)
    end
  end
end
