# frozen_string_literal: true

# Candle::LLM on real GGUF files from the pre-warmed cache: the tiny random
# llama (fast: every option), SmolLM2-135M-Instruct Q4_1 and
# Qwen2.5-Coder-0.5B-Instruct Q4_K_M (real answers).
require_relative "test_helper"
require "timeout"
require "tmpdir"

class LLMTest < Minitest::Test
  TINY = "candle-test/tiny-random-llama-gguf"
  SMOLLM = "candle-test/SmolLM2-135M-Instruct-GGUF"
  QWEN = "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF"

  def self.model(id) = (@models ||= {})[id] ||= Candle::LLM.from_pretrained(id)
  def tiny = self.class.model(TINY)

  GREEDY = { temperature: 0, max_tokens: 24 }.freeze

  def test_loads_the_architecture_from_gguf_metadata
    assert_equal "llama", tiny.architecture
    assert_equal "tiny.gguf", tiny.gguf_file
    assert_match(/candle-test\/tiny-random-llama-gguf@\h{7} tiny\.gguf architecture=llama/, tiny.inspect)
    assert_operator tiny.context_length, :>, 0
    assert_kind_of Candle::Tokenizer, tiny.tokenizer
    assert_equal "qwen2", self.class.model(QWEN).architecture
  end

  def test_greedy_is_deterministic_and_details_report_counts
    a = tiny.generate("Hello world", **GREEDY)
    b = tiny.generate("Hello world", **GREEDY)
    assert_equal a, b
    r = tiny.generate("Hello world", details: true, **GREEDY)
    assert_kind_of Candle::GenerationResult, r
    assert_equal a, r.text
    assert_includes %i[length eos], r.finish_reason
    assert_equal tiny.tokenizer.encode("Hello world").length, r.prompt_tokens
    assert_operator r.generated_tokens, :<=, 24
    assert_equal r.generated_tokens, 24 if r.finish_reason == :length
    assert_operator r.time_to_first_token, :>, 0
    assert_same r, tiny.last_result
  end

  def test_seeded_sampling_is_reproducible
    opts = { temperature: 1.0, seed: 1234, max_tokens: 20 }
    assert_equal tiny.generate("Once", **opts), tiny.generate("Once", **opts)
    others = (1..4).map { |s| tiny.generate("Once", **opts, seed: s) }
    refute_equal 1, (others + [tiny.generate("Once", **opts)]).uniq.size, "different seeds must differ somewhere"
  end

  def test_max_tokens_is_honoured
    r = tiny.generate("a b c", temperature: 1.0, seed: 3, max_tokens: 5, details: true)
    assert_operator r.generated_tokens, :<=, 5
    assert_equal :length, r.finish_reason if r.generated_tokens == 5
  end

  def test_stop_strings_end_generation_and_are_not_in_the_output
    full = tiny.generate("The", temperature: 0, max_tokens: 40)
    assert_operator full.size, :>=, 8, "the tiny model must say something: #{full.inspect}"
    stop = full[4, 3]
    cut = full.index(stop)
    r = tiny.generate("The", temperature: 0, max_tokens: 40, stop: [stop], details: true)
    assert_equal full[0...cut], r.text
    assert_equal :stop, r.finish_reason
    assert_equal full, tiny.generate("The", temperature: 0, max_tokens: 40, stop: ["\u{1F600}never"])
  end

  def test_streaming_pieces_join_to_the_text
    pieces = []
    text = tiny.generate("Stream", **GREEDY) { |p| pieces << p }
    assert_equal text, pieces.join
    assert(pieces.all? { |p| p.valid_encoding? && !p.empty? })
    assert_equal text, tiny.stream("Stream", **GREEDY).to_a.join
    assert_equal pieces.first(2), tiny.stream("Stream", **GREEDY).first(2)
  end

  def test_break_stops_generation_at_once
    seen = 0
    tiny.generate("Break", temperature: 0, max_tokens: 200) do |_|
      seen += 1
      break
    end
    assert_equal 1, seen
    # The model is usable afterwards.
    assert_equal tiny.generate("Break", **GREEDY), tiny.generate("Break", **GREEDY)
  end

  def test_an_exception_in_the_block_stops_generation
    calls = 0
    assert_raises(RuntimeError) do
      tiny.generate("Raise", temperature: 0, max_tokens: 200) do
        calls += 1
        raise "stop" if calls == 2
      end
    end
    assert_equal 2, calls
  end

  def test_timeout_interrupts_within_a_token
    llm = Candle::LLM.from_pretrained(TINY)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_raises(Timeout::Error) { Timeout.timeout(0.3) { llm.generate("x", temperature: 1.0, max_tokens: 1_000_000) } }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :<, 2.0
    assert_equal llm.generate("x", **GREEDY), tiny.generate("x", **GREEDY)
  end

  def test_threads_share_one_model_without_corrupting_it
    expected = { "alpha" => tiny.generate("alpha", **GREEDY), "beta" => tiny.generate("beta", **GREEDY) }
    results = Queue.new
    threads = 4.times.map do |i|
      prompt = i.even? ? "alpha" : "beta"
      Thread.new { 2.times { results << [prompt, tiny.generate(prompt, **GREEDY)] } }
    end
    threads.each(&:join)
    got = Array.new(results.size) { results.pop }
    assert_equal 8, got.size
    got.each { |prompt, text| assert_equal expected[prompt], text, prompt }
  end

  def test_the_ruby_vm_runs_while_tokens_are_generated
    thread, ticks = ticker
    tiny.generate("tick", temperature: 0, max_tokens: 300)
    thread.kill
    assert_operator ticks.call, :>, 0
  end

  def test_context_size_is_enforced
    small = Candle::LLM.from_pretrained(TINY, context_size: 8)
    assert_equal 8, small.context_length
    e = assert_raises(Candle::GenerationError) { small.generate("one two three four five six seven eight nine ten") }
    assert_includes e.message, "context"
    r = small.generate("one", temperature: 1.0, seed: 1, max_tokens: 100, details: true)
    assert_operator r.prompt_tokens + r.generated_tokens, :<=, 8
    cut = small.generate("one two three four five six seven eight nine ten", truncate: true, max_tokens: 3,
                                                                               temperature: 0, details: true)
    assert_equal 5, cut.prompt_tokens, "the end of the prompt is kept, leaving room for max_tokens"
  end

  def test_generation_config
    assert_equal 0.0, Candle::GenerationConfig.greedy.temperature
    assert_equal 0.9, Candle::GenerationConfig.balanced.top_p
    cfg = Candle::GenerationConfig.new(max_tokens: 10, stop: "END")
    assert_equal ["END"], cfg.stop
    assert_equal 5, cfg.merge(max_tokens: 5).max_tokens
    [{ max_tokens: 0 }, { temperature: -1 }, { top_p: 0 }, { top_p: 1.5 }, { top_k: 0 }, { min_p: 2 },
     { repetition_penalty: 0 }, { seed: -1 }, { stop: [""] }, { bogus: 1 }, { max_tokens: "10" }].each do |bad|
      assert_raises(ArgumentError, bad.inspect) { Candle::GenerationConfig.new(**bad) }
      assert_raises(ArgumentError, bad.inspect) { tiny.generate("x", **bad) }
    end
    assert_equal tiny.generate("cfg", config: Candle::GenerationConfig.greedy(max_tokens: 12)),
                 tiny.generate("cfg", temperature: 0, max_tokens: 12)
  end

  def test_repetition_penalty_changes_greedy_output
    plain = tiny.generate("repeat repeat", temperature: 0, max_tokens: 40)
    penalized = tiny.generate("repeat repeat", temperature: 0, max_tokens: 40, repetition_penalty: 3.0)
    refute_equal plain, penalized
  end

  # ------------------------------------------------------------ real models

  def test_smollm2_knows_the_capital_of_france
    llm = self.class.model(SMOLLM)
    # This 135M Q4_1 file sits on near-ties for most phrasings: "What is the
    # capital of France?" alone gets "L'Étoile, la Marseillaise, ...", and
    # with this system prompt its first token is " The" or "La" 0.05 apart
    # in the logits, so the prompt GEMM and the token-by-token row dots
    # (equally exact, 1e-5 apart per matmul, amplified over 30 layers of Q8
    # activations) answer differently. This phrasing gets "The capital of
    # France is Paris." from both paths and from llama.cpp's llama-simple.
    messages = [{ role: "system", content: "You are a helpful assistant." },
                { role: "user", content: "What is the capital of France? Answer in one word." }]
    r = llm.chat(messages, temperature: 0, max_tokens: 30, details: true)
    assert_includes r.text, "Paris"
    assert_equal :eos, r.finish_reason
    assert_operator r.decode_tokens_per_second, :>, 0
  end

  def test_qwen_coder_writes_a_python_function
    llm = self.class.model(QWEN)
    text = llm.chat([{ role: "user", content: "Write a Python function add(a, b) that returns the sum." }],
                    temperature: 0, max_tokens: 60)
    assert_match(/def add\(a, b\)/, text)
  end

  # The KV cache's correctness is checked where the numerics leave no room
  # for near-ties: the tiny F32 model (greedy margins >= 0.02, f32 matmuls).
  # On a Q4_1 model a prompt read in pieces and one read at once go through
  # different kernels (row dots vs the prompt GEMM, with activations
  # quantized to Q8), so greedy text can differ at a near-tie; SmolLM2 only
  # has to show that the cache was used.
  def test_a_follow_up_chat_turn_reuses_the_kv_cache
    id = "candle-test/tiny-lms-gguf:qwen2-f32.gguf"
    llm = Candle::LLM.from_pretrained(id)
    history = [{ role: "user", content: "Name a color." }]
    first = llm.chat(history, temperature: 0, max_tokens: 12, ignore_eos: true, details: true)
    assert_equal first.prompt_tokens, first.prefill_tokens, "a cold model reads the whole prompt"
    history += [{ role: "assistant", content: first.text }, { role: "user", content: "And another one?" }]
    second = llm.chat(history, temperature: 0, max_tokens: 12, ignore_eos: true, details: true)
    assert_operator second.prefill_tokens, :<, second.prompt_tokens - first.prompt_tokens,
                    "the first turn's tokens must come from the KV cache"
    # Same tokens as a model that reads everything.
    cold = Candle::LLM.from_pretrained(id).chat(history, temperature: 0, max_tokens: 12, ignore_eos: true, details: true)
    assert_equal cold.prompt_tokens, cold.prefill_tokens
    assert_equal cold.token_ids, second.token_ids

    smol = Candle::LLM.from_pretrained(SMOLLM)
    chat = [{ role: "user", content: "Name a color." }]
    a = smol.chat(chat, temperature: 0, max_tokens: 12, details: true)
    chat += [{ role: "assistant", content: a.text }, { role: "user", content: "And another one?" }]
    b = smol.chat(chat, temperature: 0, max_tokens: 12, details: true)
    assert_operator b.prefill_tokens, :<, b.prompt_tokens - a.prompt_tokens
    refute_empty b.text.strip
  end

  # ------------------------------------------------------------ bad files

  def test_hostile_and_unsupported_files
    vocab = Candle::Hub.cached_path("candle-test/llama-cpp-vocab", "ggml-vocab-gpt-2.gguf")
    e = assert_raises(Candle::UnsupportedModelError) { Candle::LLM.from_file(vocab) }
    assert_includes e.message, "llama"
    spm = Candle::Hub.cached_path("candle-test/llama-cpp-vocab", "ggml-vocab-llama-spm.gguf")
    e = assert_raises(Candle::InvalidModelFileError) { Candle::LLM.from_file(spm) }
    assert_includes e.message, "no tensors"
    real = File.binread(Candle::Hub.cached_path(TINY, "tiny.gguf"))
    Dir.mktmpdir("candle-llm") do |dir|
      path = File.join(dir, "cut.gguf")
      File.binwrite(path, real[0, real.bytesize - 1000])
      e = assert_raises(Candle::InvalidModelFileError) { Candle::LLM.from_file(path) }
      assert_match(/does not fit|truncated/, e.message)
      File.binwrite(path, "GGUF" + "\xff".b * 40)
      assert_raises(Candle::InvalidModelFileError) { Candle::LLM.from_file(path) }
    end
    assert_raises(Candle::ModelLoadError) { Candle::LLM.from_file("/nonexistent.gguf") }
    assert_raises(ArgumentError) { Candle::LLM.from_pretrained(TINY, dtype: :f16) }
    assert_raises(Candle::UnsupportedModelError) { Candle::LLM.from_pretrained("candle-test/splade-tiny") }
  end

  def test_from_file_and_repo_file_syntax
    path = Candle::Hub.cached_path(TINY, "tiny.gguf")
    from_file = Candle::LLM.from_file(path)
    assert_equal tiny.generate("file", **GREEDY), from_file.generate("file", **GREEDY)
    named = Candle::LLM.from_pretrained("#{TINY}:tiny.gguf")
    assert_equal "tiny.gguf", named.gguf_file
  end
end
