# frozen_string_literal: true

# The one-commit resolver, seen through Tokenizer.from_pretrained against the
# local Hub: which requests a load makes, that a load never mixes commits, and
# that absent files are never asked for.
require_relative "support/hub_test_case"

class TokenizerResolverTest < CandleTest::HubTestCase
  # A small real tokenizer.json (WordLevel); `offset` shifts every id so two
  # commits' tokenizers are told apart by their ids.
  def tokenizer_json(offset = 0)
    vocab = %w[[UNK] <s> </s> hello world].each_with_index.to_h { |t, i| [t, i + offset] }
    JSON.generate(
      version: "1.0", truncation: nil, padding: nil, added_tokens: [], normalizer: nil,
      pre_tokenizer: { type: "Whitespace" }, post_processor: nil, decoder: nil,
      model: { type: "WordLevel", vocab: vocab, unk_token: "[UNK]" }
    )
  end

  def tokenizer_config(bos)
    JSON.generate(bos_token: bos, eos_token: "</s>", chat_template: "{% for m in messages %}#{bos}{{ m.content }}{% endfor %}")
  end

  def add_tokenizer_repo(repo_id = "org/tok", offset: 0, bos: "<s>")
    @server.add_repo(repo_id, files: {
                       "config.json" => CONFIG_JSON,
                       "tokenizer.json" => tokenizer_json(offset),
                       "tokenizer_config.json" => tokenizer_config(bos)
                     })
  end

  def load(repo_id = "org/tok", **kw)
    Candle::Tokenizer.from_pretrained(repo_id, **hub_opts(**kw))
  end

  def paths_since(before) = @server.requests.drop(before).map { |r| r[:path] }

  def test_cold_load_lists_once_and_fetches_only_what_exists
    add_tokenizer_repo
    before = @server.requests.size
    tok = load
    paths = paths_since(before)
    assert_equal 1, paths.count { |p| p.start_with?("/api/models/org/tok/revision/main") }, paths.inspect
    assert paths.any? { |p| p.end_with?("/tokenizer.json") }
    assert paths.any? { |p| p.end_with?("/tokenizer_config.json") }
    %w[tokenizer.model vocab.txt special_tokens_map.json chat_template.jinja chat_template.json].each do |absent|
      refute paths.any? { |p| p.end_with?("/#{absent}") }, "asked for #{absent}, which the listing lacks: #{paths.inspect}"
    end
    commit = @server.commit_for("org/tok")
    assert paths.grep(%r{/resolve/}).all? { |p| p.include?("/resolve/#{commit}/") }, "files fetched by branch name: #{paths}"
    assert_equal [3, 4], tok.encode("hello world").ids
    assert_equal "<s>", tok.bos_token
  end

  def test_warm_load_makes_no_request_and_works_offline
    add_tokenizer_repo
    load
    tok = assert_no_requests { load }
    assert_equal [3, 4], tok.encode("hello world").ids
    offline = assert_no_requests { load(local_files_only: true) }
    assert_equal "<s>", offline.bos_token
    assert_match(/tokenizer\.json from org\/tok@\h{7}/, offline.inspect)
  end

  def test_a_moving_branch_never_mixes_commits
    add_tokenizer_repo(offset: 0, bos: "<s>")
    first = @server.commit_for("org/tok")
    # Only tokenizer.json is cached: refs/main -> first.
    download("org/tok", "tokenizer.json")
    second = @server.update_repo("org/tok", files: {
                                   "tokenizer.json" => tokenizer_json(100),
                                   "tokenizer_config.json" => tokenizer_config("</s>")
                                 })
    refute_equal first, second

    before = @server.requests.size
    tok = load
    paths = paths_since(before)
    assert paths.grep(%r{/resolve/}).all? { |p| p.include?("/resolve/#{first}/") }, "fetched off the pinned commit: #{paths}"
    assert_equal [3], tok.encode("hello").ids, "tokenizer.json must be the first commit's"
    assert_equal "<s>", tok.bos_token, "tokenizer_config.json must be the first commit's"
    assert_equal first, File.read(File.join(repo_dir("org/tok"), "refs", "main")).strip

    fresh = load(refresh: true)
    assert_equal [103], fresh.encode("hello").ids
    assert_equal "</s>", fresh.bos_token
    assert_equal second, File.read(File.join(repo_dir("org/tok"), "refs", "main")).strip
  end

  def test_hub_download_on_a_cached_branch_stays_on_its_commit
    add_tokenizer_repo(offset: 0, bos: "<s>")
    first = @server.commit_for("org/tok")
    download("org/tok", "tokenizer.json")
    @server.update_repo("org/tok", files: { "tokenizer_config.json" => tokenizer_config("<new>") })
    path = download("org/tok", "tokenizer_config.json")
    assert_includes path, "/snapshots/#{first}/"
    assert_includes File.read(path), '"<s>"'
  end

  def test_unknown_files_cost_one_request_each_once
    add_tokenizer_repo
    # A cached ref with only config.json: nothing is known about the rest.
    download("org/tok", "config.json")
    before = @server.requests.size
    load
    paths = paths_since(before)
    refute paths.any? { |p| p.start_with?("/api/") }, "a cached ref must not be re-listed: #{paths}"
    assert_equal 1, paths.count { |p| p.end_with?("/special_tokens_map.json") }, paths.inspect
    # Absent files were remembered (.no_exist), present ones cached.
    assert_no_requests { load }
  end

  def test_a_warm_cache_loads_while_the_hub_is_unreachable
    add_tokenizer_repo
    # Partly cached: optional files such as special_tokens_map.json are unknown.
    download("org/tok", "tokenizer.json")
    download("org/tok", "tokenizer_config.json")
    @server.stop
    t0 = now
    tok = load(max_retries: 3, retry_base_delay: 0.5)
    assert_operator now - t0, :<, 1.0, "optional files must not be retried while the Hub is down"
    assert_equal [3, 4], tok.encode("hello world").ids
    assert_equal "<s>", tok.bos_token
  end

  def test_no_tokenizer_names_what_it_looked_for_and_what_the_repo_has
    @server.add_repo("org/weights-only", files: { "config.json" => CONFIG_JSON, "model.safetensors" => "x" * 10 })
    e = assert_raises(Candle::TokenizerError) { load("org/weights-only") }
    assert_includes e.message, "tokenizer.json, tokenizer.model, vocab.txt"
    assert_includes e.message, "config.json, model.safetensors"
  end

  def test_a_local_directory_loads_with_no_network
    dir = File.join(@tmp, "my-model")
    FileUtils.mkdir_p(dir)
    File.write(File.join(dir, "tokenizer.json"), tokenizer_json(10))
    File.write(File.join(dir, "tokenizer_config.json"), tokenizer_config("<s>"))
    tok = assert_no_requests { Candle::Tokenizer.from_pretrained(dir, endpoint: @server.url, cache_dir: @cache) }
    assert_equal [13], tok.encode("hello").ids
    assert_equal "<s>hi", tok.apply_chat_template([{ role: "user", content: "hi" }])
    Dir.chdir(@tmp) do
      assert_equal [13], Candle::Tokenizer.from_pretrained("./my-model", cache_dir: @cache).encode("hello").ids
    end
    refute File.exist?(@cache), "a local load must not create the cache"
    e = assert_raises(ArgumentError) { Candle::Tokenizer.from_pretrained(File.join(@tmp, "missing-dir")) }
    assert_includes e.message, "not a directory"
  end

  def test_corrupt_tokenizer_json_is_a_tokenizer_error
    @server.add_repo("org/broken", files: { "tokenizer.json" => '{"version": "1.0", "model": ' })
    e = assert_raises(Candle::TokenizerError) { load("org/broken") }
    assert_includes e.message, "not a valid tokenizer.json"
  end

  def test_offline_cold_load_is_an_offline_error
    add_tokenizer_repo
    e = assert_raises(Candle::OfflineError) { load(local_files_only: true) }
    assert_includes e.message, "org/tok"
  end
end
