#!/usr/bin/env ruby
# frozen_string_literal: true

# Pre-warms a HuggingFace cache with exactly the files test/model_manifest.txt
# names, through Candle::Hub (so HF_ENDPOINT, HF_TOKEN, HF_HUB_CACHE / HF_HOME,
# retries and integrity checks all apply). Never loads a model.
#
#   ruby script/download_test_models.rb            # download what is missing
#   ruby script/download_test_models.rb --check    # no network: exit 0 only if complete
#
# Run directly, it uses the cache the HF_* variables name (your own, by default).
# `rake models:prewarm` / `rake models:check` run it with HF_HUB_CACHE set to the
# suite's test cache instead (CANDLE_TEST_HF_CACHE, test/support/test_hf_cache.rb),
# and with --no-token since their endpoint is the local test Hub.
#
# Exit status: 0 when every entry is fully cached, 1 otherwise, 2 on bad usage
# or a malformed manifest.

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "optparse"
require "tmpdir"
require "candle"
require "candle/cli"
require_relative "../test/support/manifest"

module Candle
  # Downloads (or checks) the files of manifest entries.
  class ModelPrewarmer
    Result = Struct.new(:entry, :files, :bytes, :status, :error, keyword_init: true)

    GLOB = /[*?\[{]/

    def initialize(manifest, check: false, jobs: 4, out: $stdout)
      @manifest = manifest
      @check = check
      @jobs = jobs
      @out = out
      @lock = Mutex.new
    end

    def run
      queue = Queue.new
      @manifest.each { |entry| queue << entry }
      queue.close
      results = []
      Array.new([@jobs, @manifest.size].min.clamp(1, 64)) do
        Thread.new do
          while (entry = queue.pop)
            result = process(entry)
            @lock.synchronize { results << result }
          end
        end
      end.each(&:join)
      results.sort_by { |r| r.entry.line }
    end

    private

    def process(entry)
      fresh = 0
      progress = ->(event) { @lock.synchronize { fresh += 1 } if event[:type] == :done }
      paths = files_for(entry).map { |file| fetch(entry, file, progress) }
      status = if @check then "cached"
               elsif fresh.zero? then "cached"
               else "downloaded"
               end
      Result.new(entry: entry, files: paths.size, bytes: paths.sum { |p| File.size(p) }, status: status)
    rescue Candle::OfflineError, Candle::EntryNotFoundError => e
      Result.new(entry: entry, files: 0, bytes: 0, status: @check ? "missing" : "failed", error: e)
    rescue Candle::Error, ArgumentError => e
      Result.new(entry: entry, files: 0, bytes: 0, status: "failed", error: e)
    end

    def fetch(entry, file, progress)
      if @check
        Hub.cached_path(entry.repo_id, file, revision: entry.revision) or
          raise OfflineError, "#{entry.repo_id}: #{file} (revision #{entry.revision}) is not in the cache"
      else
        Hub.download(entry.repo_id, file, revision: entry.revision, progress: progress)
      end
    end

    # Exact names are used as they are (no listing request). Globs and whole
    # repos are matched against the revision's file list: from the Hub when
    # downloading, from the cached snapshot with --check (then each glob must
    # match at least one cached file).
    def files_for(entry)
      patterns = entry.patterns
      exact = patterns ? patterns.grep_v(GLOB) : []
      globs = patterns ? patterns.grep(GLOB) : nil
      return exact if globs && globs.empty?

      listing = Hub.files(entry.repo_id, revision: entry.revision, local_files_only: @check || nil)
      matched = listing.select { |f| entry.whole_repo? || globs.any? { |g| File.fnmatch?(g, f, File::FNM_PATHNAME) } }
      (globs || [nil]).each do |glob|
        next if glob.nil? ? matched.any? : matched.any? { |f| File.fnmatch?(glob, f, File::FNM_PATHNAME) }

        what = glob ? "no file matches #{glob.inspect}" : "the repo has no files"
        raise(@check ? OfflineError : EntryNotFoundError, "#{entry.repo_id}@#{entry.revision}: #{what}")
      end
      (exact + matched).uniq
    end
  end
end

def human(bytes) = Candle::Hub::ProgressBar.human_size(bytes)

options = {check: false, jobs: 4, manifest: Candle::Manifest.default_path, no_token: false}
parser = OptionParser.new do |o|
  o.banner = "usage: ruby script/download_test_models.rb [--check] [--manifest PATH] [--jobs N] [--no-token]"
  o.on("--check", "download nothing; exit 0 only if every entry is cached") { options[:check] = true }
  o.on("--no-token", "send no token, neither HF_TOKEN nor the token file (for the local test Hub)") do
    options[:no_token] = true
  end
  o.on("--manifest PATH", "manifest file (default: test/model_manifest.txt)") { |v| options[:manifest] = v }
  o.on("--jobs N", Integer, "repos fetched in parallel (default 4)") { |v| options[:jobs] = v }
end

begin
  parser.parse!(ARGV)
  raise OptionParser::InvalidArgument, ARGV.join(" ") unless ARGV.empty?

  manifest = Candle::Manifest.load(options[:manifest])
rescue OptionParser::ParseError, Candle::ManifestError => e
  warn "download_test_models: #{e.message}"
  warn parser.banner
  exit 2
end

# --check must never touch the network, whatever the environment says.
ENV["HF_HUB_OFFLINE"] = "1" if options[:check]

if options[:no_token]
  # Keep the cache that HF_HOME may have chosen, then point HF_HOME at an empty
  # directory, so that no token file is found.
  ENV["HF_HUB_CACHE"] = Candle::Hub.config.cache_dir
  %w[HF_TOKEN HUGGING_FACE_HUB_TOKEN].each { |k| ENV.delete(k) }
  ENV["HF_HOME"] = Dir.mktmpdir("candle-no-token")
  at_exit { FileUtils.rm_rf(ENV["HF_HOME"]) }
end

results = Candle::ModelPrewarmer.new(manifest, check: options[:check], jobs: options[:jobs]).run

rows = results.map { |r| [r.entry.repo_id, r.files, human(r.bytes), r.status] }
print Candle::CLI::Format.table(%w[REPO FILES SIZE STATUS], rows, right: [1, 2])
results.select(&:error).each { |r| puts "  #{r.entry.repo_id}: #{r.error.class.name.sub("Candle::", "")}: #{r.error.message}" }

cache = Candle::Hub::Cache.scan
puts "cache: #{cache.cache_dir} (#{human(cache.size_on_disk)} in #{cache.repos.size} repos)"
missing = results.reject { |r| %w[cached downloaded].include?(r.status) }
if missing.empty?
  puts "#{results.size} of #{results.size} manifest entries complete"
  exit 0
else
  puts "#{missing.size} of #{results.size} manifest entries incomplete#{options[:check] ? " (run without --check to download)" : ""}"
  exit 1
end
