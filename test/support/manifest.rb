# frozen_string_literal: true

require "digest"
require "candle" # Candle::Error, and the Hub's repo-id rule

# Test tooling, not part of the gem: the model manifest of the test suite,
# read by script/download_test_models.rb and the tests.
module Candle
  # A malformed line in a model manifest; the message starts with "path:LINE: ".
  class ManifestError < Error; end

  # The list of Hub repos (and the files of each) that tests and tools need,
  # one repo per line:
  #
  #   # comment
  #   sentence-transformers/all-MiniLM-L6-v2 files:*.json,model.safetensors,vocab.txt
  #   candle-test/SmolLM2-135M-Instruct-GGUF gguf:SmolLM2-135M-Instruct.Q4_1.gguf
  #   candle-test/bert-base-uncased-tokenizer revision:main
  #
  # Fields after the repo id, separated by whitespace:
  #   gguf:FILE      one GGUF file (must end in .gguf)
  #   files:A,B,C    file names or globs (File.fnmatch, `*` does not cross `/`,
  #                  `**/` does; {a,b} is not supported since `,` separates)
  #   revision:REV   branch, tag or commit (default "main")
  # A line with neither gguf: nor files: means the whole repo. `#` starts a
  # comment (at the start of a line or after whitespace); blank lines are ignored.
  # Plain Ruby: requires nothing native.
  class Manifest
    include Enumerable

    DEFAULT_PATH = File.expand_path("../model_manifest.txt", __dir__)
    FIELDS = %w[gguf files revision].freeze
    # Repo ids follow the Hub client's rule (Candle::Hub.valid_repo_id?).
    REVISION = %r{\A[A-Za-z0-9._/-]+\z}

    Entry = Struct.new(:repo_id, :revision, :files, :gguf, :line, keyword_init: true) do
      # gguf and files combined; nil when the entry means the whole repo.
      def patterns
        return nil if whole_repo?

        [gguf, *files].compact
      end

      def whole_repo?
        gguf.nil? && files.nil?
      end

      # Does the repo file +path+ belong to this entry?
      def include?(path)
        return true if whole_repo?

        patterns.any? do |pat|
          File.fnmatch?(pat, path, File::FNM_PATHNAME | File::FNM_DOTMATCH)
        end
      end

      def to_s
        parts = [repo_id]
        parts << "revision:#{revision}" unless revision == "main"
        parts << "gguf:#{gguf}" if gguf
        parts << "files:#{files.join(',')}" if files
        parts.join(" ")
      end
    end

    attr_reader :path, :entries, :sha256

    def self.default_path
      env = ENV["CANDLE_MODEL_MANIFEST"]
      env && !env.empty? ? env : DEFAULT_PATH
    end

    def self.load(path = default_path)
      text = begin
        File.read(path, encoding: "UTF-8")
      rescue SystemCallError => e
        raise ManifestError, "#{path}: cannot read manifest: #{e.message}"
      end
      parse(text, path: path)
    end

    def self.parse(text, path: "(string)")
      new(text, path)
    end

    def initialize(text, path)
      @path = path
      @sha256 = Digest::SHA256.hexdigest(text)
      @entries = []
      seen = {}
      text.each_line.with_index(1) do |raw, lineno|
        entry = parse_line(raw, lineno)
        next unless entry

        key = [entry.repo_id, entry.revision]
        if (first = seen[key])
          error(lineno, "duplicate entry for #{entry.repo_id}@#{entry.revision} (first on line #{first})")
        end
        seen[key] = lineno
        @entries << entry.freeze
      end
      @entries.freeze
    end

    def each(&block)
      return enum_for(:each) unless block

      @entries.each(&block)
      self
    end

    def size
      @entries.size
    end

    def repo_ids
      @entries.map(&:repo_id)
    end

    # The entry for +repo_id+ (at +revision+, default: the first listed), or nil.
    def [](repo_id, revision = nil)
      @entries.find { |e| e.repo_id == repo_id && (revision.nil? || e.revision == revision) }
    end

    private

    def parse_line(raw, lineno)
      line = raw.sub(/(?:\A|\s)#.*/m, "").strip
      return nil if line.empty?

      repo_id, *fields = line.split(/\s+/)
      validate_repo_id(repo_id, lineno)
      values = {}
      fields.each do |field|
        key, sep, value = field.partition(":")
        error(lineno, "expected FIELD:VALUE, got #{field.inspect}") if sep.empty?
        unless FIELDS.include?(key)
          error(lineno, "unknown field #{key.inspect} (known: #{FIELDS.join(', ')})")
        end
        error(lineno, "duplicate field #{key}:") if values.key?(key)
        error(lineno, "empty value for #{key}:") if value.empty?
        values[key] = value
      end

      gguf = values["gguf"]
      if gguf
        error(lineno, "gguf: value #{gguf.inspect} does not end in .gguf") unless gguf.downcase.end_with?(".gguf")
        validate_file(gguf, lineno, "gguf:")
      end
      files = nil
      if (list = values["files"])
        files = list.split(",", -1)
        error(lineno, "empty name in files: list #{list.inspect}") if files.any?(&:empty?)
        files.each { |f| validate_file(f, lineno, "files:") }
        error(lineno, "duplicate name in files: list #{list.inspect}") if files.uniq.size != files.size
        files.freeze
      end
      revision = values.fetch("revision", "main")
      if !REVISION.match?(revision) || revision.split("/").any? { |p| p.empty? || p == "." || p == ".." }
        error(lineno, "bad revision #{revision.inspect}")
      end

      Entry.new(repo_id: repo_id.freeze, revision: revision.freeze, files: files, gguf: gguf&.freeze, line: lineno)
    end

    def validate_repo_id(id, lineno)
      error(lineno, "bad repo id #{id.inspect}") unless Candle::Hub.valid_repo_id?(id)
    end

    def validate_file(name, lineno, field)
      bad = name.start_with?("/") || name.include?("\\") ||
            name.split("/", -1).any? { |p| p.empty? || p == "." || p == ".." }
      error(lineno, "bad file name #{name.inspect} in #{field}") if bad
    end

    def error(lineno, message)
      raise ManifestError, "#{@path}:#{lineno}: #{message}"
    end
  end
end
