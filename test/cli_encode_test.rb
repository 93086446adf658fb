# frozen_string_literal: true

# `candle embed` / `candle rerank`, in-process, on models of the pre-warmed
# cache (the suite runs offline).
require_relative "test_helper"
require "candle/cli"
require "json"
require "stringio"

class CLIEncodeTest < Minitest::Test
  def candle(*argv, stdin: "")
    out = StringIO.new
    err = StringIO.new
    code = Candle::CLI.new(stdout: out, stderr: err, stdin: StringIO.new(stdin)).run(argv)
    [code, out.string, err.string]
  end

  def test_embed_prints_one_json_vector_per_text
    code, out, err = candle("embed", "hello world", "Zoë lives in São Paulo", "-q")
    assert_equal 0, code, err
    rows = out.lines.map { |l| JSON.parse(l) }
    assert_equal 2, rows.size
    model = Candle::EmbeddingModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    expected = model.embed(["hello world", "Zoë lives in São Paulo"])
    rows.each_with_index { |r, i| assert_equal expected[i].map { |x| x.round(6) }, r.map { |x| x.round(6) } }
  end

  def test_embed_reads_stdin_lines_and_takes_options
    code, out, = candle("embed", "--dimensions", "8", "--pooling", "cls", "-q", stdin: "one\n\ntwo\n")
    assert_equal 0, code
    rows = out.lines.map { |l| JSON.parse(l) }
    assert_equal [8, 8], rows.map(&:size)
    assert_in_delta 1.0, Math.sqrt(rows[0].sum { |x| x * x }), 1e-5
  end

  def test_rerank_prints_documents_best_first
    docs = ["Paris is the capital of France.", "The cat sat on the mat.", "Berlin is in Germany."]
    code, out, err = candle("rerank", "capital of France", *docs, "--model", "candle-test/tiny-bert-seqcls1", "-q")
    assert_equal 0, code, err
    rows = out.lines.map { |l| l.chomp.split("\t", 3) }
    expected = Candle::Reranker.from_pretrained("candle-test/tiny-bert-seqcls1").rerank("capital of France", docs)
    assert_equal expected.map { |r| [r[:index].to_s, r[:document]] }, rows.map { |r| r[1, 2] }
    code, out, = candle("rerank", "capital of France", "--model", "candle-test/tiny-bert-seqcls1", "--json", "-k", "1", "-q",
                        stdin: docs.join("\n"))
    assert_equal 0, code
    assert_equal [expected.first[:index]], JSON.parse(out).map { |r| r["index"] }
  end

  def test_usage_errors_exit_2
    code, _, err = candle("embed", "-q", stdin: "")
    assert_equal 2, code
    assert_match(/missing TEXT/, err)
    code, _, err = candle("rerank", "-q")
    assert_equal 2, code
    assert_match(/missing QUERY/, err)
  end

  def test_help_lists_the_commands
    code, out, = candle("--help")
    assert_equal 0, code
    assert_match(/embed TEXT\.\.\./, out)
    assert_match(/rerank QUERY DOCUMENT\.\.\./, out)
  end
end
