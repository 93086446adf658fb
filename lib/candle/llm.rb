# frozen_string_literal: true

module Candle
  # A causal language model (GGUF or safetensors) with its tokenizer and chat template.
  #
  #   llm = Candle::LLM.from_pretrained("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF")
  #   llm.chat([{role: "user", content: "What is the capital of France?"}], max_tokens: 30)
  #   llm.generate("Once upon a time", temperature: 0) { |piece| print piece }   # streams
  #   llm.stream("Write a haiku").first(5)                                       # lazy
  #
  # The architecture comes from the GGUF metadata or config.json (llama,
  # qwen2, qwen3, gemma3, phi3). A repo with a .gguf loads it; else its
  # safetensors checkpoint (single or sharded) loads in the checkpoint's own
  # dtype (dtype: :f32 / :f16 / :bf16 overrides; on the CPU, BF16 loads as
  # F32 since candle has no BF16 CPU GEMM). The tokenizer is the repo's
  # tokenizer.json when it has one, else the GGUF's own vocabulary; chat
  # templates are the model's own. Every forward
  # pass runs without the GVL; Timeout / Thread#kill / Ctrl-C stop generation
  # within one token; `break` in a streaming block stops it at once.
  class LLM
    class << self
      # id: "org/repo", "org/repo:file.gguf" or a local directory. gguf_file:
      # picks one of several quantizations (default: Candle::Hub.pick_gguf's
      # choice). dtype: for safetensors checkpoints only. threads: gives a GGUF
      # model its own pool of that many matmul threads (default: the
      # process-wide pool, CANDLE_NUM_THREADS or all cores). Hub options: revision:, token:, cache_dir:, endpoint:,
      # local_files_only:, refresh:, progress:.
      def from_pretrained(id, gguf_file: nil, revision: nil, device: nil, dtype: nil, tokenizer: nil, context_size: nil,
                          threads: nil, progress: nil, **hub_options)
        raise ArgumentError, "id must be a String, got #{id.class}" unless id.is_a?(String)

        repo, file, rev = File.directory?(id) ? [id, nil, nil] : Hub.parse_id(id)
        gguf_file ||= file
        revision ||= rev || "main"
        dev = Device.coerce(device)
        progress, = Hub.send(:split_progress, { progress: progress })
        Native.llm_from_pretrained(repo, revision.to_s, gguf_file&.to_s, dtype_arg(dtype),
                                   [dev.kind.to_s, dev.ordinal, threads_arg(threads)],
                                   tokenizer_arg(tokenizer), context_arg(context_size),
                                   Hub.native_options(hub_options), progress)
      end

      # A local .gguf file (its own vocabulary unless tokenizer: is given).
      def from_file(path, device: nil, tokenizer: nil, context_size: nil, threads: nil)
        path = path.to_path if path.respond_to?(:to_path)
        raise ArgumentError, "path must be a String or Pathname, got #{path.class}" unless path.is_a?(String)

        dev = Device.coerce(device)
        Native.llm_from_file(File.expand_path(path), [dev.kind.to_s, dev.ordinal, threads_arg(threads)],
                             tokenizer_arg(tokenizer), context_arg(context_size))
      end

      private

      def dtype_arg(dtype)
        return nil if dtype.nil?
        return dtype.to_s if dtype.is_a?(Symbol) || dtype.is_a?(String)

        raise ArgumentError, "dtype: must be :f32, :f16 or :bf16, got #{dtype.inspect}"
      end

      def tokenizer_arg(tokenizer)
        case tokenizer
        when nil, Tokenizer then tokenizer
        when String then Tokenizer.from_pretrained(tokenizer)
        else raise ArgumentError, "tokenizer: must be a Candle::Tokenizer or a repo id, got #{tokenizer.class}"
        end
      end

      def threads_arg(threads)
        return nil if threads.nil?
        raise ArgumentError, "threads must be a positive Integer, got #{threads.inspect}" unless threads.is_a?(Integer) && threads.positive?

        threads
      end

      def context_arg(size)
        return nil if size.nil?
        raise ArgumentError, "context_size must be a positive Integer, got #{size.inspect}" unless size.is_a?(Integer) && size.positive?

        size
      end
    end

    # The result of the latest generate/chat call on this object.
    attr_reader :last_result

    def tokenizer = (@tokenizer ||= _tokenizer)

    # Generates a continuation of `prompt`. With a block, streams text pieces
    # (valid UTF-8, never a split character) and returns the full text.
    # Options: a GenerationConfig (config:) and/or its keywords; details: true
    # returns a GenerationResult; add_special_tokens: (default true) adds the
    # tokenizer's BOS; truncate: true drops the start of a prompt that does not
    # fit the context (else it is a Candle::GenerationError).
    def generate(prompt, config: nil, details: false, add_special_tokens: true, truncate: false, **options, &block)
      raise ArgumentError, "prompt must be a String, got #{prompt.class}" unless prompt.is_a?(String)

      ids = tokenizer.encode(prompt, add_special_tokens: add_special_tokens).ids
      run(ids, generation_config(config, options), truncate, details, &block)
    end

    # Generates from prompt token ids (already tokenized, nothing added);
    # returns a GenerationResult (its token_ids are the new tokens). Takes
    # the same options as #generate, and streams text pieces to a block.
    def generate_ids(ids, config: nil, truncate: false, **options, &block)
      unless ids.is_a?(Array) && !ids.empty? && ids.all? { |i| i.is_a?(Integer) && i >= 0 && i < 2**32 }
        raise ArgumentError, "ids must be a non-empty Array of token ids"
      end

      run(ids, generation_config(config, options), truncate, true, &block)
    end

    # A lazy Enumerator of text pieces.
    def stream(prompt, **options)
      Enumerator.new { |y| generate(prompt, **options) { |piece| y << piece } }.lazy
    end

    # Answers a conversation ([{role:, content:}, ...]) rendered with the
    # model's chat template (chat_template: overrides it; template variables
    # such as enable_thinking: false go in template_vars:).
    def chat(messages, chat_template: nil, tools: nil, template_vars: {}, config: nil, details: false, truncate: false,
             **options, &block)
      prompt = tokenizer.apply_chat_template(messages, add_generation_prompt: true, tools: tools,
                                                       template: chat_template, **template_vars)
      # The template writes the special tokens itself (as transformers does).
      ids = tokenizer.encode(prompt, add_special_tokens: false).ids
      run(ids, generation_config(config, options), truncate, details, &block)
    end

    def chat_stream(messages, **options)
      Enumerator.new { |y| chat(messages, **options) { |piece| y << piece } }.lazy
    end

    # The GGUF file this model was loaded from (nil for safetensors).
    def gguf_file
      weight_files.first if weights_format == "GGUF"
    end

    def inspect
      weights = gguf_file || "#{weight_files.join(",")} (#{weights_format})"
      "#<#{self.class.name} #{source} #{weights} architecture=#{architecture} context_length=#{context_length}>"
    end
    alias to_s inspect

    private

    def generation_config(config, options)
      base = case config
             when nil then GenerationConfig.new
             when GenerationConfig then config
             when Hash then GenerationConfig.new(**config)
             else raise ArgumentError, "config: must be a Candle::GenerationConfig or Hash, got #{config.class}"
             end
      options.empty? ? base : base.merge(**options)
    end

    # With truncate, keeps the end of a prompt that does not fit, leaving room
    # for max_tokens (at least half the context goes to the prompt).
    def fit(ids, config, truncate)
      return ids unless truncate && ids.size >= context_length

      keep = [context_length - config.max_tokens, context_length / 2].max
      ids.last(keep)
    end

    def run(ids, config, truncate, details)
      session = _start(fit(ids, config, truncate), config.to_h)
      text = +""
      loop do
        piece, finish = session._step
        piece += session._tail if finish # text held back for a stop string that never completed
        unless piece.empty?
          text << piece
          yield piece if block_given?
        end
        break if finish
      end
      @last_result = result(text, session._stats)
      details ? @last_result : text
    end

    def result(text, stats)
      GenerationResult.new(
        text: text, finish_reason: stats[:finish_reason],
        prompt_tokens: stats[:prompt_tokens], generated_tokens: stats[:generated_tokens],
        prefill_tokens: stats[:prefill_tokens],
        prefill_tokens_per_second: rate(stats[:prefill_tokens], stats[:prefill_seconds]),
        decode_tokens_per_second: rate(stats[:generated_tokens] - 1, stats[:decode_seconds]),
        time_to_first_token: stats[:time_to_first_token], token_ids: stats[:generated_ids]
      )
    end

    def rate(tokens, seconds)
      tokens.positive? && seconds.to_f.positive? ? tokens / seconds : nil
    end
  end
end
