# frozen_string_literal: true

module Candle
  module Hub
    # What is in the local HuggingFace cache, and managing it.
    #
    #   cache = Candle::Hub::Cache.scan
    #   cache.each { |repo| puts "#{repo.repo_id} #{repo.size}" }
    #   cache.verify.select(&:corrupt?)
    #   Candle::Hub::Cache.delete("org/name", revision: "main")
    #   Candle::Hub::Cache.link("org/name", into: "vendor/models/name")
    class Cache
      include Enumerable

      CachedFile = Struct.new(:name, :blob, :size, keyword_init: true)
      Revision = Struct.new(:commit, :refs, :size, :files, keyword_init: true)
      Repo = Struct.new(:repo_id, :repo_type, :path, :size, :nb_files, :last_modified, :refs, :revisions,
                        keyword_init: true)
      BlobReport = Struct.new(:repo_id, :blob, :size, :status, :expected, :actual, keyword_init: true) do
        def ok? = status == :ok
        def corrupt? = status == :corrupt
      end

      attr_reader :cache_dir, :repos

      def self.scan(cache_dir: nil)
        opts = Hub.native_options(cache_dir: cache_dir)
        dir = Native.hub_config(opts)[:cache_dir]
        repos = Native.hub_cache_scan(opts).map do |h|
          revisions = h[:revisions].map do |r|
            Revision.new(**r, files: r[:files].map { |f| CachedFile.new(**f) })
          end
          Repo.new(**h, revisions: revisions, last_modified: h[:last_modified] && Time.at(h[:last_modified]))
        end
        new(dir, repos)
      end

      # Re-hashes blobs (sha256 for LFS files, git sha1 for others); returns a
      # report per blob. `repo_id` limits it to one repo.
      def self.verify(repo_id = nil, cache_dir: nil)
        Native.hub_cache_verify(repo_id, Hub.native_options(cache_dir: cache_dir)).map { |h| BlobReport.new(**h) }
      end

      # Removes a revision's snapshot and refs (or the whole repo when revision
      # is nil) and every blob no other snapshot uses.
      def self.delete(repo_id, revision: nil, repo_type: :model, cache_dir: nil)
        Native.hub_cache_delete(repo_id.to_s, Hub.type_name(repo_type), revision&.to_s,
                                Hub.native_options(cache_dir: cache_dir))
      end

      # Makes `into` a directory of symlinks to a cached snapshot (no copy).
      def self.link(repo_id, into:, revision: "main", repo_type: :model, cache_dir: nil)
        Native.hub_cache_link(repo_id.to_s, Hub.type_name(repo_type), revision.to_s, File.expand_path(into.to_s),
                              Hub.native_options(cache_dir: cache_dir))
      end

      def initialize(cache_dir, repos)
        @cache_dir = cache_dir
        @repos = repos.freeze
      end

      def each(&block) = repos.each(&block)

      def size_on_disk = repos.sum(&:size)

      def verify(repo_id = nil) = self.class.verify(repo_id, cache_dir: cache_dir)

      def inspect
        "#<Candle::Hub::Cache #{cache_dir} repos=#{repos.size} size=#{size_on_disk}>"
      end
    end
  end
end
