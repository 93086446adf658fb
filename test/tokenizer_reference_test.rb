# frozen_string_literal: true

# Exactness against Python: ids, tokens, offsets, masks and decodes of Python
# `tokenizers`, and chat templates rendered by transformers'
# apply_chat_template, on the same files. The references are made at staging
# time by script/derive/tokenizer_references.py (pinned versions) and served
# as the repo candle-test/tokenizer-references (in the manifest).
require_relative "test_helper"

class TokenizerReferenceTest < Minitest::Test
  REFS = "candle-test/tokenizer-references"
  ENCODING_REFS = %w[minilm pii_bert llama3 qwen3 gemma3].freeze
  FIELDS = %w[ids tokens offsets type_ids attention_mask special_tokens_mask word_ids].freeze

  def self.reference(file)
    path = Candle::Hub.cached_path(REFS, file) or raise "#{REFS}/#{file} is not cached; run `bundle exec rake models:prewarm`"
    JSON.parse(File.read(path))
  end

  def self.tokenizer(repo) = (@tokenizers ||= {})[repo] ||= Candle::Tokenizer.from_pretrained(repo)

  def encoding_hash(enc)
    { "ids" => enc.ids, "tokens" => enc.tokens, "offsets" => enc.offsets, "type_ids" => enc.type_ids,
      "attention_mask" => enc.attention_mask, "special_tokens_mask" => enc.special_tokens_mask,
      "word_ids" => enc.word_ids }
  end

  def mismatch_report(failures)
    failures.first(5).map { |f| f.map { |k, v| "#{k}: #{v.inspect[0, 300]}" }.join("\n  ") }.join("\n---\n")
  end

  ENCODING_REFS.each do |name|
    define_method("test_#{name}_matches_python_tokenizers") do
      ref = self.class.reference("encodings/#{name}.json")
      tok = self.class.tokenizer(ref.fetch("source"))
      cases = ref.fetch("cases")
      assert_operator cases.size, :>=, 100, "#{name}: too few reference cases"
      failures = []
      cases.each do |c|
        enc = tok.encode(c["text"], c["pair"], add_special_tokens: c["add_special_tokens"])
        got = encoding_hash(enc)
        FIELDS.each do |f|
          failures << { field: f, text: c["text"], pair: c["pair"], want: c[f], got: got[f] } unless got[f] == c[f]
        end
        decoded = tok.decode(c["ids"])
        failures << { field: "decoded", text: c["text"], want: c["decoded"], got: decoded } unless decoded == c["decoded"]
        with_special = tok.decode(c["ids"], skip_special_tokens: false)
        unless with_special == c["decoded_with_special"]
          failures << { field: "decoded_with_special", text: c["text"], want: c["decoded_with_special"], got: with_special }
        end
      end
      assert_empty failures, "#{name}: #{failures.size} mismatches against Python tokenizers " \
                             "#{ref["tokenizers_version"]}:\n  #{mismatch_report(failures)}"
    end

    define_method("test_#{name}_batch_equals_python") do
      ref = self.class.reference("encodings/#{name}.json")
      tok = self.class.tokenizer(ref.fetch("source"))
      singles = ref.fetch("cases").select { |c| c["pair"].nil? && c["add_special_tokens"] }
      batch = tok.encode_batch(singles.map { |c| c["text"] })
      singles.zip(batch).each do |c, enc|
        assert_equal c["ids"], enc.ids, c["text"]
        assert_equal c["offsets"], enc.offsets, c["text"]
      end
    end
  end

  def test_chat_templates_match_transformers
    ref = self.class.reference("chat_templates.json")
    cases = ref.fetch("cases")
    sources = cases.map { |c| c["template_source"] }.uniq
    assert_operator sources.size, :>=, 4, "expected Qwen3, Llama-3, Gemma-3 and SmolLM2 templates"
    failures = []
    cases.each do |c|
      tok = self.class.tokenizer(c["template_source"])
      assert_equal c["template"], tok.chat_template, "#{c["template_source"]}: not the same template"
      # The values the template sees must be transformers'. (A tokenizer
      # class default that no file states, like GemmaTokenizer's mask_token,
      # is not known here.)
      tok.special_tokens.each do |name, value|
        next if name == :additional_special_tokens

        assert_equal c["special_tokens"][name.to_s], value, "#{c["template_source"]}: #{name}"
      end
      # ...and none of transformers' bos/eos is missing (Qwen3 has no bos).
      %w[bos_token eos_token].each do |name|
        next unless c["special_tokens"].key?(name)

        assert_equal c["special_tokens"][name], tok.special_tokens[name.to_sym], "#{c["template_source"]}: #{name}"
      end
      vars = (c["extra"] || {}).transform_keys(&:to_sym)
      render = lambda do
        tok.apply_chat_template(c["messages"], add_generation_prompt: c["add_generation_prompt"], tools: c["tools"], **vars)
      end
      if c["raises"]
        e = assert_raises(Candle::TokenizerError, "#{c["name"]} must raise") { render.call }
        failures << { case: c["name"], want_error: c["raises"], got: e.message } unless e.message.include?(c["raises"])
      else
        got = begin
          render.call
        rescue Candle::TokenizerError => e
          "raised #{e.message}"
        end
        failures << { case: "#{c["template_source"]} #{c["name"]}", want: c["expected"], got: got } unless got == c["expected"]
      end
    end
    assert_empty failures, "#{failures.size} of #{cases.size} chat template cases differ from transformers " \
                           "#{ref["transformers_version"]}:\n  #{mismatch_report(failures)}"
  end
end
