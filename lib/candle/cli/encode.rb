# frozen_string_literal: true

require "json"

module Candle
  class CLI
    # `candle embed` and `candle rerank`: the encoder models from the Hub
    # cache (downloaded when missing).
    module Encode
      DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
      DEFAULT_RERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"

      private

      # One JSON array of floats per TEXT (one per line; stdin lines when no TEXT).
      def embed(args)
        opts, texts = parse("embed", args) || (return help_printed("embed"))
        texts = @in.each_line.map(&:chomp).reject(&:empty?) if texts.empty? || texts == ["-"]
        raise UsageError, "missing TEXT" if texts.empty?

        model = EmbeddingModel.from_pretrained(opts[:model] || DEFAULT_EMBEDDING_MODEL, **load_options(opts))
        vectors = model.embed(texts, **opts.slice(:dimensions, :pooling, :normalize, :prompt))
        vectors.each { |v| @out.puts JSON.generate(v) }
        EXIT_OK
      end

      # The documents by score, best first: "score<TAB>index<TAB>document" (or --json).
      def rerank(args)
        opts, rest = parse("rerank", args) || (return help_printed("rerank"))
        raise UsageError, "missing QUERY" if rest.empty?

        query, *docs = rest
        docs = @in.each_line.map(&:chomp).reject(&:empty?) if docs.empty? || docs == ["-"]
        raise UsageError, "missing DOCUMENT" if docs.empty?

        reranker = Reranker.from_pretrained(opts[:model] || DEFAULT_RERANKER, **load_options(opts))
        ranked = reranker.rerank(query, docs, top_k: opts[:top_k])
        if opts[:json]
          @out.puts JSON.generate(ranked)
        else
          ranked.each { |r| @out.puts format("%.6f\t%d\t%s", r[:score], r[:index], r[:document]) }
        end
        EXIT_OK
      end

      def options_embed(o, opts)
        o.on("-m", "--model ID", "Embedding model repo or local directory (default #{DEFAULT_EMBEDDING_MODEL})") { |v| opts[:model] = v }
        o.on("--dimensions N", Integer, "Keep the first N features, then normalize (Matryoshka models)") { |v| opts[:dimensions] = v }
        o.on("--pooling KIND", %w[mean cls max last_token], "mean, cls, max or last_token (default: the model's)") do |v|
          opts[:pooling] = v.to_sym
        end
        o.on("--no-normalize", "Raw vectors instead of unit length") { opts[:normalize] = false }
        o.on("--prompt NAME", "Prepend the model's named prompt (e.g. query)") { |v| opts[:prompt] = v.to_sym }
        model_source_options(o, opts)
      end

      def options_rerank(o, opts)
        o.on("-m", "--model ID", "Cross-encoder repo or local directory (default #{DEFAULT_RERANKER})") { |v| opts[:model] = v }
        o.on("-k", "--top-k N", Integer, "Print only the N best") { |v| opts[:top_k] = v }
        o.on("--json", "Print [{index, score, document}] as JSON") { opts[:json] = true }
        model_source_options(o, opts)
      end
    end
  end
end
