# frozen_string_literal: true

require "etc"
require "json"

module Candle
  class CLI
    # `candle bench MODEL`: prompt-processing (ppN) and generation (tgN)
    # tokens/s, shaped like llama.cpp's llama-bench so the two compare
    # directly: a table with mean ± standard deviation over the repetitions,
    # or --json records with the same field names (test, n_prompt, n_gen,
    # n_threads, avg_ts, stddev_ts, samples_ts, model).
    #
    # ppN: a fresh context reads N token ids (spread over the vocabulary), the
    # time of that one forward pass. tgN: from a one-token context, N tokens
    # generated greedily one at a time, EOS ignored. A warm-up generation runs
    # first (the first forward of a process is slow).
    module Bench
      private

      def bench(args)
        opts, rest = parse("bench", args) || (return help_printed("bench"))
        raise UsageError, "missing MODEL" if rest.empty?
        raise UsageError, "one MODEL at a time" if rest.size > 1

        threads = opts[:threads]
        # candle's CPU thread pool reads this when it starts (at the first matmul).
        @env["CANDLE_NUM_THREADS"] = threads.to_s if threads && @env.equal?(ENV)
        reps = opts[:repetitions] || 3
        pp_sizes = (opts[:prompt] || [512]).reject(&:zero?) # -p 0: no prompt test, as llama-bench
        tg = opts.key?(:gen) ? opts[:gen] : 128
        llm = LLM.from_pretrained(rest.first, **load_options(opts))
        n_threads = threads || Integer(@env.fetch("CANDLE_NUM_THREADS", Etc.nprocessors.to_s))
        tests = pp_sizes.map { |n| [:pp, n] }
        tests << [:tg, tg] if tg.positive?
        raise UsageError, "nothing to measure (-p and -n are both empty)" if tests.empty?

        ids = token_ids(llm, [pp_sizes.max || 1, 16].max)
        bench_run(llm, ids.first(16), :tg, 4) # warm-up
        records = tests.map do |kind, n|
          samples = Array.new(reps) { bench_run(llm, ids, kind, n) }
          bench_record(llm, kind, n, n_threads, samples)
        end
        opts[:json] ? @out.puts(JSON.pretty_generate(records)) : bench_table(records)
        EXIT_OK
      end

      # Token ids spread over the vocabulary, skipping the special ones.
      def token_ids(llm, count)
        vocab = llm.tokenizer.vocab_size
        raise Candle::Error, "the vocabulary is too small to benchmark" if vocab < 300

        Array.new(count) { |i| 100 + ((i * 7919) % (vocab - 200)) }
      end

      # Tokens/s of one run.
      def bench_run(llm, ids, kind, n)
        llm.reset
        if kind == :pp
          r = llm.generate_ids(ids.first(n), max_tokens: 1, temperature: 0, ignore_eos: true)
          raise Candle::GenerationError, "prefill of #{n} tokens took no measurable time" unless r.prefill_tokens_per_second

          r.prefill_tokens_per_second
        else
          # n + 1 tokens: the first comes from the prompt's forward pass.
          r = llm.generate_ids(ids.first(1), max_tokens: n + 1, temperature: 0, ignore_eos: true)
          r.decode_tokens_per_second
        end
      end

      def bench_record(llm, kind, n, threads, samples)
        mean = samples.sum / samples.size
        sd = samples.size > 1 ? Math.sqrt(samples.sum { |s| (s - mean)**2 } / (samples.size - 1)) : 0.0
        {
          model: llm.gguf_file || llm.source, model_type: llm.architecture, weights: llm.weights_format,
          backend: "CPU", n_threads: threads, test: "#{kind}#{n}",
          n_prompt: kind == :pp ? n : 0, n_gen: kind == :tg ? n : 0,
          avg_ts: mean.round(3), stddev_ts: sd.round(3), samples_ts: samples.map { |s| s.round(3) },
          peak_rss_mib: peak_rss_mib
        }
      end

      def peak_rss_mib
        status = "/proc/self/status"
        return nil unless File.readable?(status)

        (File.read(status)[/VmHWM:\s+(\d+)/, 1].to_i / 1024.0).round(1)
      end

      def bench_table(records)
        rows = records.map do |r|
          [r[:model], r[:model_type], r[:weights], r[:backend], r[:n_threads].to_s, r[:test],
           format("%.2f ± %.2f", r[:avg_ts], r[:stddev_ts])]
        end
        head = %w[model arch weights backend threads test t/s]
        widths = head.each_index.map { |i| ([head[i]] + rows.map { |r| r[i] }).map(&:length).max }
        line = ->(cells) { "| #{cells.each_with_index.map { |c, i| i == cells.size - 1 ? c.rjust(widths[i]) : c.ljust(widths[i]) }.join(" | ")} |" }
        @out.puts line.call(head)
        @out.puts "|#{widths.map { |w| "-" * (w + 2) }.join("|")}|"
        rows.each { |r| @out.puts line.call(r) }
        rss = records.map { |r| r[:peak_rss_mib] }.compact.max
        @out.puts format("peak RSS %.0f MiB", rss) if rss
      end

      def options_bench(o, opts)
        list = lambda do |v|
          v.split(",").map { |x| Integer(x) }.tap do |l|
            raise OptionParser::InvalidArgument, v if l.any?(&:negative?)
          end
        end
        o.on("-p", "--n-prompt N[,N...]", "Prompt sizes to time (default 512; 0 skips)") { |v| opts[:prompt] = list.call(v) }
        o.on("-n", "--n-gen N", Integer, "Tokens to generate (default 128; 0 skips)") do |v|
          raise OptionParser::InvalidArgument, v.to_s if v.negative?

          opts[:gen] = v
        end
        o.on("-t", "--threads N", Integer, "CPU threads (default: CANDLE_NUM_THREADS, else all cores)") do |v|
          raise OptionParser::InvalidArgument, v.to_s unless v.positive?

          opts[:threads] = v
        end
        o.on("-r", "--repetitions N", Integer, "Runs per test (default 3)") do |v|
          raise OptionParser::InvalidArgument, v.to_s unless v.positive?

          opts[:repetitions] = v
        end
        o.on("--json", "JSON records (llama-bench's field names) instead of a table") { opts[:json] = true }
        model_source_options(o, opts, "Never use the network")
      end
    end
  end
end
