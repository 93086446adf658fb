# frozen_string_literal: true

# Plain Ruby: needs neither the native extension nor the staged models.
require "minitest/autorun"
require_relative "support/manifest"

class ManifestTest < Minitest::Test
  REQUIRED = %w[
    sentence-transformers/all-MiniLM-L6-v2
    candle-test/bert-base-uncased-tokenizer
    candle-test/SmolLM2-135M-Instruct-GGUF
    Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF
    candle-test/tiny-random-llama-gguf
    candle-test/splade-tiny
    candle-test/bert-pii-ner
    candle-test/SmolLM2-135M-Instruct-safetensors
    candle-test/llama3-tokenizer
    candle-test/qwen3-tokenizer
    candle-test/gemma3-tokenizer
    candle-test/bert-vocab-only
  ].freeze

  def parse(text, path: "m.txt")
    Candle::Manifest.parse(text, path: path)
  end

  def test_good_lines_of_every_shape
    m = parse(<<~TXT)
      # a comment line

      bert-base-uncased
      org/whole-repo   # trailing comment
      HuggingFaceTB/SmolLM2-135M-Instruct-GGUF gguf:SmolLM2-135M-Instruct.Q4_1.gguf
      sentence-transformers/all-MiniLM-L6-v2 files:*.json,model.safetensors,1_Pooling/config.json
      org/pinned revision:v1.0 files:a.bin
      \torg/gguf-and-files\tgguf:x.Q4_K_M.GGUF   files:tokenizer.json revision:refs/pr/1
      org/commit revision:0123456789abcdef0123456789abcdef01234567
    TXT
    assert_equal 7, m.size
    assert_equal 7, m.count # Enumerable

    whole = m["bert-base-uncased"]
    assert_equal "main", whole.revision
    assert_nil whole.files
    assert_nil whole.gguf
    assert_nil whole.patterns
    assert whole.whole_repo?
    assert_equal 3, whole.line
    assert whole.include?("anything/at/all.bin")

    assert_equal 4, m["org/whole-repo"].line
    assert m["org/whole-repo"].whole_repo?

    g = m["HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"]
    assert_equal "SmolLM2-135M-Instruct.Q4_1.gguf", g.gguf
    assert_nil g.files
    assert_equal ["SmolLM2-135M-Instruct.Q4_1.gguf"], g.patterns
    refute g.whole_repo?

    s = m["sentence-transformers/all-MiniLM-L6-v2"]
    assert_equal ["*.json", "model.safetensors", "1_Pooling/config.json"], s.files
    assert_equal s.files, s.patterns
    assert s.include?("config.json")
    assert s.include?("1_Pooling/config.json")
    refute s.include?("2_Dense/config.json"), "* must not cross /"
    refute s.include?("pytorch_model.bin")

    assert_equal "v1.0", m["org/pinned"].revision
    assert_equal ["a.bin"], m["org/pinned"].files

    gf = m["org/gguf-and-files"]
    assert_equal "refs/pr/1", gf.revision
    assert_equal ["x.Q4_K_M.GGUF", "tokenizer.json"], gf.patterns
    assert_equal 8, gf.line

    assert_equal "0123456789abcdef0123456789abcdef01234567", m["org/commit"].revision
    assert_equal m.entries, m.each.to_a
    assert_equal m.entries.map(&:repo_id), m.repo_ids
    assert m.entries.frozen?
  end

  def test_entry_fields_and_to_s
    e = parse("org/x revision:dev gguf:a.gguf files:b.json\n").entries.first
    assert_equal %i[repo_id revision files gguf line], e.members
    assert_equal "org/x revision:dev gguf:a.gguf files:b.json", e.to_s
  end

  def test_empty_and_comment_only_text
    assert_equal 0, parse("").size
    assert_equal 0, parse("# nothing\n\n   \n  # indented comment\n").size
  end

  def test_sha256_is_of_the_text
    text = "bert-base-uncased\n"
    assert_equal Digest::SHA256.hexdigest(text), parse(text).sha256
    refute_equal parse(text).sha256, parse("#{text}# changed\n").sha256
  end

  BAD = {
    "unknown field" => ["org/x weights:a.bin", /unknown field "weights"/],
    "no colon" => ["org/x model.safetensors", /expected FIELD:VALUE/],
    "empty files" => ["org/x files:", /empty value for files:/],
    "empty gguf" => ["org/x gguf:", /empty value for gguf:/],
    "empty revision" => ["org/x revision:", /empty value for revision:/],
    "empty list item" => ["org/x files:a.json,,b.json", /empty name in files:/],
    "trailing comma" => ["org/x files:a.json,", /empty name in files:/],
    "dotdot repo" => ["org/../etc", /bad repo id/],
    "dotdot in name" => ["org/a..b", /bad repo id/],
    "double dash" => ["org/a--b", /bad repo id/],
    "three parts" => ["a/b/c", /bad repo id/],
    "leading slash" => ["/org/x", /bad repo id/],
    "bad char" => ["org/x!y", /bad repo id/],
    "space in id" => ["org/my model", /expected FIELD:VALUE/],
    "too long" => ["org/#{'a' * 100}", /bad repo id/],
    "duplicate field" => ["org/x files:a files:b", /duplicate field files:/],
    "duplicate gguf" => ["org/x gguf:a.gguf gguf:b.gguf", /duplicate field gguf:/],
    "not gguf" => ["org/x gguf:model.safetensors", /does not end in \.gguf/],
    "path escape" => ["org/x files:../secret", /bad file name/],
    "absolute path" => ["org/x files:/etc/passwd", /bad file name/],
    "bad revision" => ["org/x revision:a..b/../c", /bad revision/],
  }.freeze

  BAD.each do |name, (line, pattern)|
    define_method("test_bad_line_#{name.tr(' ', '_')}") do
      text = "# header\n\nbert-base-uncased\n#{line}\nother/ok\n"
      err = assert_raises(Candle::ManifestError) { parse(text, path: "test/m.txt") }
      assert_match(/\Atest\/m\.txt:4: /, err.message, "must name path and line 4")
      assert_match pattern, err.message
    end
  end

  def test_duplicate_repo_names_both_lines
    err = assert_raises(Candle::ManifestError) { Candle::Manifest.parse("org/x\n\norg/x files:a\n") }
    assert_match(/\A\(string\):3: duplicate entry for org\/x@main \(first on line 1\)/, err.message)
    # the same repo at two revisions is fine
    assert_equal 2, parse("org/x\norg/x revision:v2\n").size
  end

  def test_manifest_error_is_a_candle_error
    assert_operator Candle::ManifestError, :<, Candle::Error
    assert_operator Candle::Error, :<, StandardError
  end

  def test_load_missing_file_raises_manifest_error
    err = assert_raises(Candle::ManifestError) { Candle::Manifest.load("/nonexistent/manifest.txt") }
    assert_match(%r{/nonexistent/manifest.txt}, err.message)
  end

  def test_real_manifest_parses_and_lists_required_repos
    path = File.expand_path("model_manifest.txt", __dir__)
    m = Candle::Manifest.load(path)
    assert_equal path, m.path
    assert_equal Candle::Manifest::DEFAULT_PATH, path
    missing = REQUIRED - m.repo_ids
    assert_empty missing, "test/model_manifest.txt lacks #{missing.join(', ')}"
    assert_equal "SmolLM2-135M-Instruct.Q4_1.gguf", m["candle-test/SmolLM2-135M-Instruct-GGUF"].gguf
    assert_equal "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", m["Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"].gguf
    assert_equal "tiny.gguf", m["candle-test/tiny-random-llama-gguf"].gguf
    minilm = m["sentence-transformers/all-MiniLM-L6-v2"]
    %w[config.json model.safetensors tokenizer.json vocab.txt 1_Pooling/config.json modules.json].each do |f|
      assert minilm.include?(f), "MiniLM entry must cover #{f}"
    end
    assert m["candle-test/bert-pii-ner"].include?("model.safetensors")
    assert m["candle-test/SmolLM2-135M-Instruct-safetensors"].include?("tokenizer.json")
    m.each { |e| assert_equal "main", e.revision }
  end

  def test_real_manifest_matches_the_staging_table
    require_relative "../script/stage_test_hub"
    m = Candle::Manifest.load
    assert_equal Candle::Staging::SOURCES.keys.sort, m.repo_ids.sort,
                 "test/model_manifest.txt and script/stage_test_hub.rb must list the same repos"
    m.each do |e|
      staged = Candle::Staging::SOURCES.fetch(e.repo_id)[:sha256].keys
      e.patterns&.each do |pat|
        assert staged.any? { |f| File.fnmatch?(pat, f, File::FNM_PATHNAME | File::FNM_DOTMATCH) },
               "#{e.repo_id}: manifest pattern #{pat} (line #{e.line}) matches no staged file"
      end
    end
  end
end
