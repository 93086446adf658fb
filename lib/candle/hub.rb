# frozen_string_literal: true

require_relative "hub/progress_bar"
require_relative "hub/cache"

module Candle
  # The HuggingFace Hub and its local cache — every model class loads through here.
  #
  #   path = Candle::Hub.download("sentence-transformers/all-MiniLM-L6-v2", "config.json")
  #   dir  = Candle::Hub.snapshot("sentence-transformers/all-MiniLM-L6-v2", allow: ["*.json", "*.safetensors"])
  #
  # Settings come from one place (see .config): per-call options, then
  # HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE / HF_HOME / XDG_CACHE_HOME, HF_ENDPOINT,
  # HF_TOKEN (or the token file), HF_HUB_OFFLINE. The cache layout is the one
  # Python's huggingface_hub uses, so caches are shared both ways.
  #
  # Options every method takes:
  #   cache_dir:, endpoint:, token:, local_files_only: (no network at all),
  #   refresh: (re-check a cached branch with one request), max_retries:,
  #   retry_base_delay: / max_retry_wait: (seconds), etag_timeout: (seconds a
  #   metadata request may take; HF_HUB_ETAG_TIMEOUT, default 10),
  #   download_timeout: (seconds without a byte before a transfer is retried;
  #   HF_HUB_DOWNLOAD_TIMEOUT, default 10), progress: (nil = bar on a
  #   TTY, false = none, true = bar, or a callable receiving event hashes
  #   {type: :start|:progress|:cached|:done|:retry, repo:, file:, bytes:, total:}).
  module Hub
    CONNECTION_OPTIONS = %i[cache_dir endpoint token local_files_only refresh max_retries retry_base_delay
                            max_retry_wait etag_timeout download_timeout].freeze
    REPO_TYPES = %i[model dataset space].freeze
    # Quantizations in the order pick_gguf prefers them (the Rust core's list).
    DEFAULT_GGUF_PREFERENCE = Native.hub_default_gguf_preference.map(&:freeze).freeze

    # Resolved settings (never the token itself).
    Config = Struct.new(:cache_dir, :endpoint, :offline, :token_present, :max_retries, :retry_base_delay,
                        :max_retry_wait, :etag_timeout, :download_timeout, keyword_init: true) do
      def offline? = offline
      def token? = token_present
    end

    class << self
      # Downloads one file (or finds it in the cache) and returns its path in
      # snapshots/<commit>/.
      def download(repo_id, filename, revision: "main", repo_type: :model, **opts)
        progress, opts = split_progress(opts)
        Candle.logger.debug { "hub: #{repo_id} #{filename}@#{revision}" }
        Native.hub_download(string(repo_id, "repo_id"), string(filename, "filename"), string(revision, "revision"),
                            type_name(repo_type), native_options(opts), progress)
      end

      # Downloads the files of a revision (filtered by allow/ignore globs such as
      # "*.json" or "*.Q4_K_M.gguf") in parallel; returns the snapshot directory.
      def snapshot(repo_id, revision: "main", repo_type: :model, allow: nil, ignore: nil, max_workers: 8, **opts)
        progress, opts = split_progress(opts)
        raise ArgumentError, "max_workers must be a positive Integer" unless max_workers.is_a?(Integer) && max_workers.positive?

        Native.hub_snapshot(string(repo_id, "repo_id"), string(revision, "revision"), type_name(repo_type),
                            globs(allow, "allow"), globs(ignore, "ignore"), max_workers, native_options(opts), progress)
      end

      # The cached path of a file, or nil. Never touches the network.
      def cached_path(repo_id, filename, revision: "main", repo_type: :model, **opts)
        opts = native_options(opts.merge(local_files_only: true))
        Native.hub_cached_path(string(repo_id, "repo_id"), string(filename, "filename"), string(revision, "revision"),
                               type_name(repo_type), opts)
      end

      # File names in a revision: from the Hub's API, or from the cached
      # snapshot when offline.
      def files(repo_id, revision: "main", repo_type: :model, **opts)
        Native.hub_files(string(repo_id, "repo_id"), string(revision, "revision"), type_name(repo_type),
                         native_options(opts))
      end

      # Is +id+ a repo id the Hub accepts ("name" or "org/name", each part at
      # most 96 of [A-Za-z0-9._-], as huggingface_hub checks)?
      def valid_repo_id?(id)
        id.is_a?(String) && Native.hub_valid_repo_id(id)
      end

      # "org/name:file.gguf@rev" => ["org/name", "file.gguf", "rev"] (nil for a
      # missing part).
      def parse_id(id)
        Native.hub_parse_id(string(id, "id"))
      end

      # Picks one GGUF file from a repo's file list, by quantization preference
      # (case-insensitive); falls back to the first GGUF.
      def pick_gguf(files, prefer: DEFAULT_GGUF_PREFERENCE)
        Native.hub_pick_gguf(Array(files).map(&:to_s), Array(prefer).map(&:to_s))
      end

      def config(**opts)
        Config.new(**Native.hub_config(native_options(opts)))
      end

      # Checks and normalizes connection options (shared with Hub::Cache).
      def native_options(opts)
        unknown = opts.keys - CONNECTION_OPTIONS
        raise ArgumentError, "unknown option(s) #{unknown.map(&:inspect).join(", ")}" unless unknown.empty?

        opts.each_with_object({}) do |(key, value), out|
          next if value.nil?

          out[key] = case key
                     when :cache_dir then File.expand_path(string(value.to_s, "cache_dir"))
                     when :local_files_only, :refresh then value ? true : false
                     when :max_retries then Integer(value)
                     when :retry_base_delay, :max_retry_wait then Float(value)
                     when :etag_timeout, :download_timeout then positive_seconds(value, key)
                     else string(value, key.to_s)
                     end
        end
      end

      def type_name(repo_type)
        type = repo_type.to_s.to_sym
        raise ArgumentError, "repo_type must be one of #{REPO_TYPES.join(", ")}, got #{repo_type.inspect}" unless REPO_TYPES.include?(type)

        type.to_s
      end

      private

      def string(value, name)
        raise ArgumentError, "#{name} must be a String, got #{value.class}" unless value.is_a?(String)
        raise ArgumentError, "#{name} must not be empty" if value.empty?

        value
      end

      def positive_seconds(value, name)
        seconds = Float(value)
        raise ArgumentError, "#{name} must be a positive number of seconds, got #{value.inspect}" unless seconds.positive? && seconds.finite?

        seconds
      end

      def globs(value, name)
        return [] if value.nil?

        Array(value).map { |g| string(g, name) }
      end

      # progress: nil => a bar when stderr is a TTY (unless CANDLE_PROGRESS=0),
      # false => nothing, true => a bar, callable => the app's handler.
      def split_progress(opts)
        opts = opts.dup
        progress = opts.delete(:progress)
        handler =
          case progress
          when nil then ProgressBar.new if $stderr.tty? && ENV["CANDLE_PROGRESS"] != "0"
          when false then nil
          when true then ProgressBar.new
          else
            raise ArgumentError, "progress: must be true, false, nil or respond to #call" unless progress.respond_to?(:call)

            progress
          end
        [handler, opts]
      end
    end
  end
end
