# frozen_string_literal: true

# Candle::LLM end to end on the tiny random checkpoints that transformers
# made (script/fixtures/tiny_causal_lms.py), served by the local test Hub as
# candle-test/tiny-<arch> (safetensors) and candle-test/tiny-lms-gguf (the
# same weights as GGUF). Each reference.json holds the prompt ids and the
# greedy tokens transformers computed; from Ruby the whole path runs: the
# resolver, the tokenizer (tokenizer.json, or the GGUF's own vocabulary), the
# model's chat template, the model and the generation loop. Logits are
# compared in Rust (models/tests.rs).
require_relative "test_helper"
require "json"
require "tmpdir"

class LLMTinyModelsTest < Minitest::Test
  ARCHS = %w[llama qwen2 qwen3 gemma3 phi3].freeze
  # Families whose GGUF path differs from transformers (none; see
  # KNOWN_GGUF_MISMATCH in ext/candle/src/models/tests.rs).
  GGUF_MISMATCH = [].freeze
  GGUF_REPO = "candle-test/tiny-lms-gguf"

  def self.reference(arch)
    (@refs ||= {})[arch] ||= JSON.parse(File.read(Candle::Hub.cached_path("candle-test/tiny-#{arch}", "reference.json")))
  end

  def self.model(id) = (@models ||= {})[id] ||= Candle::LLM.from_pretrained(id)

  # The reference's greedy tokens through the first EOS (generation stops
  # there; token_ids holds the EOS it generated).
  def expected(arch, greedy)
    eos = self.class.reference(arch)["generation_eos_token_id"]
    cut = greedy.index { |t| eos.include?(t) }
    cut ? greedy.first(cut + 1) : greedy
  end

  def messages(arch) = self.class.reference(arch)["chat"]["messages"].map { |m| m.transform_keys(&:to_sym) }

  ARCHS.each do |arch|
    define_method("test_#{arch}_safetensors_chat_matches_transformers") do
      ref = self.class.reference(arch)
      llm = self.class.model("candle-test/tiny-#{arch}")
      assert_equal arch, llm.architecture
      assert_equal "F32", llm.weights_format
      prompt = llm.tokenizer.apply_chat_template(messages(arch), add_generation_prompt: true)
      assert_equal ref["chat"]["text"], prompt
      assert_equal ref["chat"]["ids"], llm.tokenizer.encode(prompt, add_special_tokens: false).ids
      r = llm.chat(messages(arch), temperature: 0, max_tokens: ref["chat"]["greedy"].size, details: true)
      assert_equal expected(arch, ref["chat"]["greedy"]), r.token_ids
    end

    define_method("test_#{arch}_safetensors_generate_matches_transformers") do
      ref = self.class.reference(arch)
      llm = self.class.model("candle-test/tiny-#{arch}")
      ref["prompts"].each do |case_|
        assert_equal case_["ids"], llm.tokenizer.encode(case_["text"], add_special_tokens: false).ids
        r = llm.generate(case_["text"], add_special_tokens: false, temperature: 0, max_tokens: case_["greedy"].size,
                                        details: true)
        assert_equal expected(arch, case_["greedy"]), r.token_ids, "#{arch} #{case_["name"]}"
      end
    end

    define_method("test_#{arch}_gguf_with_its_own_vocabulary_matches_transformers") do
      ref = self.class.reference(arch)
      llm = self.class.model("#{GGUF_REPO}:#{arch}-f32.gguf")
      assert_equal "#{arch}-f32.gguf", llm.gguf_file
      assert_equal arch, llm.architecture
      # No tokenizer.json in this repo: the GGUF's gpt-2 BPE vocabulary and chat template.
      prompt = llm.tokenizer.apply_chat_template(messages(arch), add_generation_prompt: true)
      assert_equal ref["chat"]["ids"], llm.tokenizer.encode(prompt, add_special_tokens: false).ids
      r = llm.chat(messages(arch), temperature: 0, max_tokens: ref["chat"]["greedy"].size, details: true)
      if GGUF_MISMATCH.include?(arch)
        refute_equal expected(arch, ref["chat"]["greedy"]), r.token_ids, "#{arch} GGUF now matches: update the mismatch lists"
      else
        assert_equal expected(arch, ref["chat"]["greedy"]), r.token_ids
      end
      q8 = self.class.model("#{GGUF_REPO}:#{arch}-q8_0.gguf")
      assert_equal arch, q8.architecture
      assert_equal r.prompt_tokens, q8.chat(messages(arch), temperature: 0, max_tokens: 4, details: true).prompt_tokens
    end
  end

  # Splits a safetensors file into two shards plus model.safetensors.index.json
  # (tensors alternate between the shards).
  def write_shards(src, dir)
    data = File.binread(src)
    n = data[0, 8].unpack1("Q<")
    header = JSON.parse(data[8, n])
    body = data[(8 + n)..]
    names = header.keys - ["__metadata__"]
    shards = [names.each_slice(2).map(&:first), names.each_slice(2).map { |s| s[1] }.compact]
    map = {}
    shards.each_with_index do |part, i|
      file = format("model-%05d-of-00002.safetensors", i + 1)
      offset = 0
      h = {}
      bytes = part.map do |name|
        t = header[name]
        from, to = t["data_offsets"]
        h[name] = t.merge("data_offsets" => [offset, offset + (to - from)])
        offset += to - from
        map[name] = file
        body[from...to]
      end.join
      json = JSON.generate(h)
      File.binwrite(File.join(dir, file), [json.bytesize].pack("Q<") + json + bytes)
    end
    File.write(File.join(dir, "model.safetensors.index.json"), JSON.generate("metadata" => {}, "weight_map" => map))
  end

  def test_a_sharded_checkpoint_loads_like_the_single_file
    snap = File.dirname(Candle::Hub.cached_path("candle-test/tiny-qwen2", "config.json"))
    Dir.mktmpdir("candle-shards") do |dir|
      %w[config.json generation_config.json tokenizer.json tokenizer_config.json].each { |f| FileUtils.cp(File.join(snap, f), dir) }
      write_shards(File.join(snap, "model.safetensors"), dir)
      sharded = Candle::LLM.from_pretrained(dir)
      assert_equal %w[model-00001-of-00002.safetensors model-00002-of-00002.safetensors], sharded.weight_files
      single = self.class.model("candle-test/tiny-qwen2")
      assert_equal single.generate("The cat", temperature: 0, max_tokens: 8, add_special_tokens: false),
                   sharded.generate("The cat", temperature: 0, max_tokens: 8, add_special_tokens: false)
      # An index naming a shard that is not there.
      File.delete(File.join(dir, "model-00002-of-00002.safetensors"))
      assert_raises(Candle::EntryNotFoundError, Candle::ModelLoadError) { Candle::LLM.from_pretrained(dir) }
    end
  end

  def test_eos_ids_from_generation_config_end_generation
    llm = self.class.model("candle-test/tiny-gemma3")
    # gemma3's reference continuation of "seven_tokens" emits <|im_end|> (2) second.
    case_ = self.class.reference("gemma3")["prompts"].find { |c| c["greedy"].include?(2) }
    refute_nil case_
    r = llm.generate(case_["text"], add_special_tokens: false, temperature: 0, max_tokens: 12, details: true)
    assert_equal :eos, r.finish_reason
    assert_equal expected("gemma3", case_["greedy"]), r.token_ids
  end

  def test_sigint_stops_generation_within_a_second
    script = <<~RUBY
      require "candle"
      $stdout.sync = true
      llm = Candle::LLM.from_pretrained("candle-test/tiny-llama")
      begin
        n = 0
        llm.generate("The", temperature: 1.0, seed: 1, max_tokens: 200) do
          n += 1
          puts "ready" if n == 3
          sleep 0.02
        end
        # Short fixtures finish quickly: loop until the signal arrives.
        loop { llm.generate("The", temperature: 1.0, max_tokens: 200) }
      rescue Interrupt
        puts "interrupted"
      end
    RUBY
    assert_sigint_interrupts(script)
  end

  def kernel_threads
    Dir["/proc/self/task/*/comm"].count { |f| (File.read(f) rescue "").start_with?("candle-kernels") }
  end

  def test_threads_gives_a_gguf_model_its_own_matmul_pool
    default = self.class.model("#{GGUF_REPO}:llama-q8_0.gguf")
    assert_nil default.threads
    want = default.generate("The", temperature: 0, max_tokens: 8, add_special_tokens: false)
    before = kernel_threads
    own = Candle::LLM.from_pretrained("#{GGUF_REPO}:llama-q8_0.gguf", threads: 3)
    assert_equal 3, own.threads
    # A new thread names itself once it runs: wait for both to have.
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 2
    sleep 0.01 while kernel_threads < before + 2 && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    assert_equal before + 2, kernel_threads, "3 threads: the caller and 2 workers"
    # Each output row is computed whole by one thread: the same numbers.
    assert_equal want, own.generate("The", temperature: 0, max_tokens: 8, add_special_tokens: false)
    assert_raises(ArgumentError) { Candle::LLM.from_pretrained("#{GGUF_REPO}:llama-q8_0.gguf", threads: 0) }
    assert_raises(ArgumentError) { Candle::LLM.from_pretrained("candle-test/tiny-llama", threads: 2) }
  end
end
