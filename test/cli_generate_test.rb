# frozen_string_literal: true

# `candle generate` / `candle chat`, in-process, on models of the pre-warmed
# cache (the suite runs offline).
require_relative "test_helper"
require "candle/cli"
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
end
