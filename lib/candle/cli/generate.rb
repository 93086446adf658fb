# frozen_string_literal: true

module Candle
  class CLI
    # `candle generate` and `candle chat`: an LLM from the Hub cache (downloaded
    # when missing), answering with the model's own chat template.
    module Generate
      DEFAULT_MODEL = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"
      GENERATION_FLAGS = %i[max_tokens temperature top_p top_k min_p repetition_penalty seed stop].freeze

      private

      def generate(args)
        opts, rest = parse("generate", args) || (return help_printed("generate"))
        prompt = rest.join(" ")
        prompt = @in.read.to_s if prompt.empty? || prompt == "-"
        raise UsageError, "missing PROMPT" if prompt.strip.empty?

        llm = load_llm(opts)
        messages = []
        messages << { role: "system", content: opts[:system] } if opts[:system]
        messages << { role: "user", content: prompt }
        stream_answer(llm, opts) do |gen_opts, printer|
          if opts[:raw] || llm.tokenizer.chat_template.nil?
            llm.generate(prompt, **gen_opts, &printer)
          else
            llm.chat(messages, **gen_opts, &printer)
          end
        end
        EXIT_OK
      end

      def chat(args)
        opts, = parse("chat", args) || (return help_printed("chat"))
        llm = load_llm(opts)
        raise Candle::TokenizerError, "#{llm.source} has no chat template; use `candle generate --raw`" unless llm.tokenizer.chat_template

        history = []
        history << { role: "system", content: opts[:system] } if opts[:system]
        @err.puts "Chatting with #{llm.source} (#{llm.gguf_file}). Empty line or Ctrl-D ends."
        loop do
          @out.print "> "
          @out.flush
          line = @in.gets
          break if line.nil? || line.strip.empty?

          history << { role: "user", content: line.chomp }
          answer = stream_answer(llm, opts) { |gen_opts, printer| llm.chat(history, **gen_opts, &printer) }
          history << { role: "assistant", content: answer }
        end
        EXIT_OK
      end

      def load_llm(opts)
        LLM.from_pretrained(opts[:model] || DEFAULT_MODEL, **load_options(opts))
      end

      # Streams the answer to stdout; returns its text. The block runs the
      # generation with the options and a printer for the pieces.
      def stream_answer(llm, opts)
        printer = lambda do |piece|
          @out.print piece
          @out.flush
        end
        text = yield(opts.slice(*GENERATION_FLAGS), printer)
        @out.puts
        print_stats(llm.last_result) if opts[:stats]
        text
      end

      def print_stats(r)
        rate = ->(v) { v ? format("%.1f tokens/s", v) : "n/a" }
        @err.puts format("[%s: %d prompt + %d generated tokens, prefill %s, decode %s, first token after %.2f s]",
                         r.finish_reason, r.prompt_tokens, r.generated_tokens, rate.call(r.prefill_tokens_per_second),
                         rate.call(r.decode_tokens_per_second), r.time_to_first_token.to_f)
      end

      def options_generate(o, opts)
        llm_options(o, opts)
        o.on("--raw", "Continue the prompt as is (no chat template)") { opts[:raw] = true }
      end

      def options_chat(o, opts)
        llm_options(o, opts)
      end

      def llm_options(o, opts)
        o.on("-m", "--model ID", "Model repo, org/name[:FILE.gguf] or a local directory (default #{DEFAULT_MODEL})") do |v|
          opts[:model] = v
        end
        o.on("--system TEXT", "A system prompt") { |v| opts[:system] = v }
        o.on("-n", "--max-tokens N", Integer, "Most tokens to generate (default 512)") { |v| opts[:max_tokens] = v }
        o.on("-t", "--temperature T", Float, "0 = greedy (default 0.7)") { |v| opts[:temperature] = v }
        o.on("--top-p P", Float, "Nucleus sampling") { |v| opts[:top_p] = v }
        o.on("--top-k K", Integer, "Sample among the K most likely tokens") { |v| opts[:top_k] = v }
        o.on("--min-p P", Float, "Drop tokens less than P times as likely as the best") { |v| opts[:min_p] = v }
        o.on("--repetition-penalty X", Float, "> 1 discourages repeats") { |v| opts[:repetition_penalty] = v }
        o.on("--seed N", Integer, "Reproducible sampling") { |v| opts[:seed] = v }
        o.on("--stop TEXT", "Stop before TEXT (repeatable)") { |v| (opts[:stop] ||= []) << v }
        o.on("--stats", "Print token counts and speed to stderr") { opts[:stats] = true }
        model_source_options(o, opts)
      end
    end
  end
end
