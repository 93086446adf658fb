# frozen_string_literal: true

require "json"

module Candle
  # A HuggingFace tokenizer: from a Hub repo (or a local directory), a
  # tokenizer.json, a SentencePiece tokenizer.model, a BERT vocab.txt, or the
  # vocabulary inside a GGUF file.
  #
  #   tok = Candle::Tokenizer.from_pretrained("bert-base-uncased")
  #   enc = tok.encode("Hello, world!")
  #   enc.ids     # => [101, 7592, 1010, 2088, 999, 102]
  #   enc.tokens  # => ["[CLS]", "hello", ",", "world", "!", "[SEP]"]
  #   tok.decode(enc.ids) # => "hello, world!"
  #
  # `from_pretrained` resolves the revision to one commit and reads every file
  # at that commit. It uses tokenizer.json, else tokenizer.model, else vocab.txt,
  # else the repo's GGUF; special tokens come from tokenizer_config.json /
  # special_tokens_map.json, chat templates from chat_template.jinja,
  # tokenizer_config.json or the GGUF. Offsets are character offsets into the
  # Ruby String (`text[a...b]` is the token's text).
  class Tokenizer
    SPECIAL_TOKEN_NAMES = %i[bos_token eos_token unk_token sep_token pad_token cls_token mask_token].freeze
    TRUNCATION_STRATEGIES = %i[longest_first only_first only_second].freeze
    DIRECTIONS = %i[left right].freeze

    class << self
      # Hub options: revision:, token:, cache_dir:, endpoint:, local_files_only:,
      # refresh:, progress: (see Candle::Hub). gguf_file: picks the GGUF whose
      # vocabulary is used when the repo has no tokenizer files.
      def from_pretrained(repo_id, revision: "main", gguf_file: nil, progress: nil, **hub_options)
        raise ArgumentError, "repo_id must be a String, got #{repo_id.class}" unless repo_id.is_a?(String)

        progress, = Hub.send(:split_progress, { progress: progress })
        Native.tokenizer_from_pretrained(repo_id, revision.to_s, gguf_file&.to_s, Hub.native_options(hub_options), progress)
      end

      # A tokenizer.json file.
      def from_file(path) = load_file("json", path)

      # The vocabulary (and chat template) inside a GGUF file.
      def from_gguf(path) = load_file("gguf", path)

      # A SentencePiece tokenizer.model.
      def from_sentencepiece(path) = load_file("sentencepiece", path)

      # A BERT WordPiece vocab.txt.
      def from_vocab(path, lowercase: true) = load_file("vocab", path, lowercase: lowercase)

      private

      def load_file(kind, path, lowercase: true)
        path = path.to_path if path.respond_to?(:to_path)
        raise ArgumentError, "path must be a String or Pathname, got #{path.class}" unless path.is_a?(String)

        Native.tokenizer_from_file(kind, File.expand_path(path), lowercase ? true : false)
      end
    end

    # Encodes one text (or a pair) into a Candle::Encoding.
    def encode(text, pair = nil, add_special_tokens: true)
      _encode(text_arg(text, "text"), pair.nil? ? nil : text_arg(pair, "pair"), add_special_tokens ? true : false)
    end

    # Encodes many texts in parallel, without the GVL. Each item is a String
    # or a [text, pair] Array. Padding (if enabled) pads the whole batch.
    def encode_batch(texts, add_special_tokens: true)
      raise ArgumentError, "texts must be an Array" unless texts.is_a?(Array)
      return [] if texts.empty?

      if texts.all? { |t| t.is_a?(Array) }
        firsts = texts.map { |t| pair_arg(t)[0] }
        seconds = texts.map { |t| pair_arg(t)[1] }
        _encode_batch(firsts, seconds, add_special_tokens ? true : false)
      else
        _encode_batch(texts.map { |t| text_arg(t, "each text") }, nil, add_special_tokens ? true : false)
      end
    end

    def decode(ids, skip_special_tokens: true)
      _decode(ids_arg(ids), skip_special_tokens ? true : false)
    end

    def decode_batch(sequences, skip_special_tokens: true)
      raise ArgumentError, "sequences must be an Array of id Arrays" unless sequences.is_a?(Array)

      _decode_batch(sequences.map { |s| ids_arg(s) }, skip_special_tokens ? true : false)
    end

    # An incremental decoder: feed it ids one at a time (#step returns the new
    # text, or nil while a multi-byte character is incomplete), then #flush.
    def decode_stream(skip_special_tokens: true)
      _decode_stream(skip_special_tokens ? true : false)
    end

    # length: nil pads to the longest in a batch; an Integer pads to that length.
    def enable_padding(length: nil, direction: :right, pad_id: nil, pad_token: nil, pad_type_id: 0, pad_to_multiple_of: nil)
      _enable_padding(positive_or_nil(length, "length"), direction_arg(direction) == :left,
                      pad_id.nil? ? nil : Integer(pad_id), pad_token&.to_s, Integer(pad_type_id),
                      positive_or_nil(pad_to_multiple_of, "pad_to_multiple_of"))
      self
    end

    def enable_truncation(max_length, strategy: :longest_first, direction: :right, stride: 0)
      strategy = strategy.to_sym
      unless TRUNCATION_STRATEGIES.include?(strategy)
        raise ArgumentError, "strategy must be one of #{TRUNCATION_STRATEGIES.join(", ")}, got #{strategy.inspect}"
      end

      _enable_truncation(positive_or_nil(max_length, "max_length") || raise(ArgumentError, "max_length is required"),
                         strategy.to_s, direction_arg(direction) == :left, Integer(stride))
      self
    end

    # true: special tokens written in the text ("<|im_end|>") are tokenized as
    # plain text, so user input cannot inject them (transformers'
    # split_special_tokens).
    def split_special_tokens=(value)
      self._split_special_tokens = value ? true : false
    end

    def token_to_id(token) = _token_to_id(token.to_s)

    def id_to_token(id) = _id_to_token(Integer(id))

    # {bos_token: "<s>", eos_token: "</s>", ...} for the tokens this tokenizer
    # has, plus additional_special_tokens: [...] when there are any.
    def special_tokens
      named, additional = _special_tokens
      h = named.to_h { |name, token| [name.to_sym, token] }
      h[:additional_special_tokens] = additional unless additional.empty?
      h
    end

    # Every special added token, {"<|im_end|>" => 151645, ...}.
    def added_special_tokens = _added_special_tokens.to_h

    SPECIAL_TOKEN_NAMES.each do |name|
      define_method(name) { special_tokens[name] }
      define_method(:"#{name}_id") do
        token = special_tokens[name]
        token && token_to_id(token)
      end
    end

    # The template source (default one, or by name such as "tool_use"), or nil.
    def chat_template(name = "default") = _chat_template(name.to_s)

    # Renders a conversation with the tokenizer's chat template, as
    # transformers' apply_chat_template(..., tokenize=False) does.
    #   tok.apply_chat_template([{role: "user", content: "Hi"}])
    # template: a template name ("tool_use") or a Jinja template string;
    # other keywords become template variables (enable_thinking: false, ...).
    def apply_chat_template(messages, add_generation_prompt: true, tools: nil, documents: nil, template: nil, **variables)
      raise ArgumentError, "messages must be an Array of Hashes" unless messages.is_a?(Array) && messages.all?(Hash)

      _apply_chat_template(json_arg(messages, "messages"), add_generation_prompt ? true : false,
                           tools.nil? ? nil : json_arg(tools, "tools"),
                           documents.nil? ? nil : json_arg(documents, "documents"),
                           template&.to_s, json_arg(variables, "template variables"))
    end

    def inspect
      specials = special_tokens.slice(:bos_token, :eos_token, :unk_token).map { |k, v| "#{k}=#{v.inspect}" }
      parts = ["vocab_size=#{vocab_size}", *specials]
      names = chat_template_names
      parts << "chat_templates=#{names.join(",")}" unless names.empty?
      "#<#{self.class.name} #{source} #{parts.join(" ")}>"
    end
    alias to_s inspect

    private

    def text_arg(value, name) = Arguments.utf8(value, name)

    def pair_arg(item)
      raise ArgumentError, "each pair must be [text, pair], got #{item.inspect}" unless item.size == 2

      [text_arg(item[0], "text"), text_arg(item[1], "pair")]
    end

    def ids_arg(ids)
      raise ArgumentError, "ids must be an Array of Integers" unless ids.is_a?(Array)

      ids.map do |id|
        raise ArgumentError, "ids must be non-negative Integers, got #{id.inspect}" unless id.is_a?(Integer) && id >= 0

        id
      end
    end

    def positive_or_nil(value, name)
      return nil if value.nil?
      raise ArgumentError, "#{name} must be a positive Integer, got #{value.inspect}" unless value.is_a?(Integer) && value.positive?

      value
    end

    def direction_arg(direction)
      d = direction.to_sym
      raise ArgumentError, "direction must be :left or :right, got #{direction.inspect}" unless DIRECTIONS.include?(d)

      d
    end

    # Symbol keys become strings; Hash order is kept (templates print it).
    def json_arg(value, name)
      JSON.generate(value)
    rescue JSON::GeneratorError, ::EncodingError => e
      raise ArgumentError, "#{name} cannot be converted to JSON: #{e.message}"
    end
  end

  # The result of Tokenizer#encode: ids, tokens, character offsets, masks.
  class Encoding
    alias size length

    def to_h
      { ids: ids, tokens: tokens, offsets: offsets, attention_mask: attention_mask, type_ids: type_ids,
        word_ids: word_ids, special_tokens_mask: special_tokens_mask }
    end

    def inspect
      shown = tokens.first(8).map(&:inspect).join(", ")
      shown += ", ..." if length > 8
      "#<#{self.class.name} length=#{length} tokens=[#{shown}]>"
    end
  end

  # Incremental decoding for streaming (Tokenizer#decode_stream).
  class DecodeStream
    alias << step

    def inspect = "#<#{self.class.name} ids=#{ids.size}>"
  end
end
