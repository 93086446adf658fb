# frozen_string_literal: true

# `candle generate` / `candle chat` / `candle bench`, in-process, on models of
# the pre-warmed cache (the suite runs offline).
require_relative "test_helper"
require "candle/cli"
require "json"
require "stringio"

class CLIGenerateTest < Minitest::Test
  TINY = "candle-test/tiny-random-llama-gguf"

  def candle(*argv, stdin: "")
    out = StringIO.new
    err = StringIO.new
    code = Candle::CLI.new(stdout: out, stderr: err, stdin: StringIO.new(stdin)).run(argv)
    [code, out.string, err.string]
  end

  def test_generate_streams_the_answer_of_the_default_model
    code, out, err = candle("generate", "What is the capital of France?", "--system", "You are a helpful assistant.",
                            "--temperature", "0", "-n", "30", "--stats", "-q")
    assert_equal 0, code, err
    assert_includes out, "Paris"
    assert_match(/\[eos: \d+ prompt \+ \d+ generated tokens, prefill [\d.]+ tokens\/s/, err)
  end

  def test_generate_raw_with_options_and_stdin
    args = ["--model", TINY, "--raw", "--temperature", "0", "--max-tokens", "12", "-q"]
    code, out, = candle("generate", "Hello", *args)
    assert_equal 0, code
    expected = Candle::LLM.from_pretrained(TINY).generate("Hello", temperature: 0, max_tokens: 12)
    assert_equal "#{expected}\n", out
    code, piped, = candle("generate", "-", *args, stdin: "Hello")
    assert_equal 0, code
    assert_equal out, piped
  end

  def test_chat_keeps_history_until_an_empty_line
    code, out, err = candle("chat", "--system", "You are a helpful assistant.", "--temperature", "0", "-n", "20", "-q",
                            stdin: "What is the capital of France?\nAnd of Italy?\n\n")
    assert_equal 0, code, err
    assert_equal 3, out.scan("> ").size
    assert_includes out, "Paris"
  end

  def test_usage_errors
    code, _, err = candle("generate", "--model", TINY, "-q")
    assert_equal 2, code
    assert_includes err, "missing PROMPT"
    code, _, err = candle("generate", "hi", "--model", TINY, "--temperature", "-1", "-q")
    assert_equal 2, code
    assert_includes err, "temperature"
    code, _, err = candle("generate", "hi", "--model", "candle-test/splade-tiny", "-q")
    assert_equal 1, code
    assert_includes err, "UnsupportedModelError"
  end

  def test_bench_prints_a_llama_bench_table
    code, out, err = candle("bench", "candle-test/tiny-qwen2", "-p", "16,32", "-n", "8", "-r", "2", "-q")
    assert_equal 0, code, err
    rows = out.lines.select { |l| l.start_with?("| candle-test/tiny-qwen2") }
    assert_equal %w[pp16 pp32 tg8], rows.map { |r| r.split("|")[6].strip }
    rows.each { |r| assert_match(/\d+\.\d\d ± \d+\.\d\d \|$/, r.strip) }
    assert_match(/peak RSS \d+ MiB/, out)
  end

  def test_bench_json_has_llama_bench_fields
    code, out, err = candle("bench", "candle-test/tiny-lms-gguf:phi3-q8_0.gguf", "-p", "8", "-n", "4", "-r", "3", "--json", "-q")
    assert_equal 0, code, err
    records = JSON.parse(out)
    assert_equal %w[pp8 tg4], records.map { |r| r["test"] }
    pp8, tg4 = records
    assert_equal [8, 0], [pp8["n_prompt"], pp8["n_gen"]]
    assert_equal [0, 4], [tg4["n_prompt"], tg4["n_gen"]]
    records.each do |r|
      assert_equal "phi3-q8_0.gguf", r["model"]
      assert_equal 3, r["samples_ts"].size
      assert r["samples_ts"].all?(&:positive?)
      assert_in_delta r["samples_ts"].sum / 3, r["avg_ts"], 0.01
      assert_operator r["stddev_ts"], :>=, 0
      assert_operator r["n_threads"], :>=, 1
    end
  end

  def test_bench_p_0_times_generation_only
    code, out, err = candle("bench", TINY, "-p", "0", "-n", "4", "-r", "1", "--json", "-q")
    assert_equal 0, code, err
    assert_equal ["tg4"], JSON.parse(out).map { |r| r["test"] }
  end

  def test_bench_usage_errors
    assert_equal 2, candle("bench")[0]
    assert_equal 2, candle("bench", TINY, "-p", "0", "-n", "0")[0], "nothing to measure"
    assert_equal 2, candle("bench", TINY, "-p", "-1")[0]
    assert_equal 2, candle("bench", TINY, "-r", "0")[0]
    code, out, = candle("help", "bench")
    assert_equal 0, code
    assert_includes out, "--json"
  end

  def test_ignore_eos_and_generate_ids
    llm = Candle::LLM.from_pretrained("candle-test/tiny-gemma3")
    # This continuation emits <|im_end|> second (see llm_tiny_models_test.rb).
    ids = llm.tokenizer.encode("Once upon a", add_special_tokens: false).ids
    stopped = llm.generate_ids(ids, temperature: 0, max_tokens: 6)
    assert_equal :eos, stopped.finish_reason
    assert_equal 2, stopped.token_ids.size
    full = llm.generate_ids(ids, temperature: 0, max_tokens: 6, ignore_eos: true)
    assert_equal :length, full.finish_reason
    assert_equal 6, full.token_ids.size
    assert_equal full.token_ids.first(stopped.token_ids.size), stopped.token_ids
    assert_raises(ArgumentError) { llm.generate_ids([], max_tokens: 2) }
    assert_raises(ArgumentError) { llm.generate_ids(["a"], max_tokens: 2) }
    assert_raises(ArgumentError) { llm.generate_ids([1], ignore_eos: "yes") }
  end
end
