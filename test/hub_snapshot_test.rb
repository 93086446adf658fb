# frozen_string_literal: true

require_relative "support/hub_test_case"

# Candle::Hub.snapshot / .files / .parse_id / .pick_gguf against the local Hub server.
class HubSnapshotTest < CandleTest::HubTestCase
  ALL = %w[1_Pooling/config.json config.json model.safetensors tokenizer.json].freeze

  def setup
    super
    @commit = add_model_repo
  end

  def snapshot(repo_id = "org/model", **kw) = Candle::Hub.snapshot(repo_id, **hub_opts(**kw))

  def files(repo_id = "org/model", **kw) = Candle::Hub.files(repo_id, **hub_opts(**kw).except(:progress))

  def listed(dir) = entries(dir)

  # ------------------------------------------------------------ snapshot

  def test_snapshot_downloads_every_file_and_returns_the_snapshot_dir
    dir = assert_requests(1 + ALL.size * 2) { snapshot }
    assert_equal File.join(repo_dir("org/model"), "snapshots", @commit), dir
    assert_equal ALL, listed(dir)
    assert_equal CONFIG_JSON, File.read(File.join(dir, "config.json"))
    assert_equal POOLING_JSON, File.read(File.join(dir, "1_Pooling", "config.json"))
    assert_equal weights, File.binread(File.join(dir, "model.safetensors"))
    assert_equal @commit, File.read(File.join(repo_dir("org/model"), "refs", "main"))
    assert_equal 1, @server.request_count("/api/models/org/model/revision/main")
    assert_equal 4, blobs("org/model").size
  end

  def test_allow_and_ignore_globs
    dir = snapshot(allow: ["*.json"])
    assert_equal %w[1_Pooling/config.json config.json tokenizer.json], listed(dir)
    assert_equal 0, @server.request_count("model.safetensors")

    FileUtils.rm_rf(@cache)
    dir = snapshot(ignore: ["*.safetensors", "1_Pooling/*"])
    assert_equal %w[config.json tokenizer.json], listed(dir)

    FileUtils.rm_rf(@cache)
    dir = snapshot(allow: "*.json", ignore: "tokenizer*")
    assert_equal %w[1_Pooling/config.json config.json], listed(dir)

    FileUtils.rm_rf(@cache)
    dir = snapshot(allow: ["1_Pooling/"])
    assert_equal %w[1_Pooling/config.json], listed(dir)

    FileUtils.rm_rf(@cache)
    dir = assert_requests(1) { snapshot(allow: ["*.nothing"]) }
    assert_equal [], listed(dir)
    assert File.directory?(dir)
  end

  def test_snapshot_argument_errors_make_no_requests
    assert_no_requests do
      assert_raises(ArgumentError) { snapshot(max_workers: 0) }
      assert_raises(ArgumentError) { snapshot(max_workers: 1.5) }
      assert_raises(ArgumentError) { snapshot(allow: [5]) }
      assert_raises(ArgumentError) { snapshot(ignore: [""]) }
      assert_raises(ArgumentError) { snapshot(repo_type: :nope) }
    end
    assert_raises(ArgumentError) { snapshot(allow: ["[unclosed"]) }
  end

  def test_max_workers_controls_parallelism
    body = self.class.random_bytes(50_000, 31)
    files = (1..4).to_h { |i| ["part#{i}.safetensors", body + i.to_s] }
    @server.add_repo("org/parts", files: files)
    @server.fault(/\Apart\d\.safetensors\z/, :slow, bytes_per_sec: 250_000) # ~0.2 s per file

    spans = [1, 4].map do |workers|
      FileUtils.rm_rf(@cache)
      @server.clear_requests
      dir = snapshot("org/parts", max_workers: workers)
      assert_equal files.keys.sort, listed(dir)
      files.each { |name, data| assert_equal data, File.binread(File.join(dir, name)) }
      starts = @server.requests.select { |r| r[:path].start_with?("/cdn/") }.map { |r| r[:time] }
      assert_equal 4, starts.size
      starts.max - starts.min
    end
    assert_operator spans[0], :>=, 0.45, "max_workers: 1 must download one file at a time"
    assert_operator spans[1], :<, 0.3, "max_workers: 4 must download the 4 files at once"
  end

  def test_warm_snapshot_makes_only_the_listing_request
    first = snapshot
    dir = assert_requests(1) { snapshot }
    assert_equal first, dir
    # The cached ref pins the commit: the listing is asked at that commit, so a
    # branch that moved meanwhile cannot mix in another commit's files.
    assert_equal "/api/models/org/model/revision/#{@commit}", @server.requests.last[:path]
    assert_equal first, assert_requests(1) { snapshot(refresh: true) }
    assert_match %r{\A/api/models/org/model/revision/main}, @server.requests.last[:path]
    # by commit too
    assert_equal first, assert_requests(1) { snapshot(revision: @commit) }
  end

  def test_offline_snapshot_comes_from_the_cache
    online = snapshot(allow: ["*.json"])
    with_env("HF_HUB_OFFLINE" => "1") do
      assert_equal online, assert_no_requests { snapshot }
      assert_equal online, assert_no_requests { snapshot(allow: ["config.json"]) }
    end
    assert_equal online, assert_no_requests { snapshot(local_files_only: true) }
    e = assert_no_requests { assert_raises(Candle::OfflineError) { snapshot(revision: "v2", local_files_only: true) } }
    assert_includes e.message, "org/model"
    assert_includes e.message, "v2"
    assert_no_requests { assert_raises(Candle::OfflineError) { snapshot("org/other", local_files_only: true) } }
  end

  def test_snapshot_progress_events
    events = []
    snapshot(max_workers: 2, progress: ->(e) { events << e })
    ALL.each do |name|
      mine = events.select { |e| e[:file] == name }
      assert_equal :start, mine.first[:type], name
      assert_equal :done, mine.last[:type], name
      assert(mine.all? { |e| e[:repo] == "org/model" })
    end
    events.clear
    snapshot(progress: ->(e) { events << e })
    assert_equal ALL, events.map { |e| e[:file] }.sort
    assert(events.all? { |e| e[:type] == :cached })
  end

  def test_snapshot_errors_propagate
    @server.fault("tokenizer.json", :status, status: 500)
    e = assert_raises(Candle::DownloadError) { snapshot(max_retries: 0, max_workers: 1) }
    assert_includes e.message, "tokenizer.json"
    refute_includes listed(File.join(repo_dir("org/model"), "snapshots", @commit)), "tokenizer.json"

    error_class = Class.new(StandardError)
    FileUtils.rm_rf(@cache)
    @server.clear_faults
    assert_raises(error_class) { snapshot(progress: ->(ev) { raise error_class if ev[:type] == :start }) }

    assert_raises(Candle::RepositoryNotFoundError) { snapshot("org/nope") }
    assert_raises(Candle::RevisionNotFoundError) { snapshot(revision: "nope") }
  end

  def test_timeout_interrupts_a_snapshot
    body = self.class.random_bytes(1_000_000, 33)
    @server.add_repo("org/parts", files: { "a.safetensors" => body, "b.safetensors" => body.reverse })
    @server.fault(/\.safetensors\z/, :slow, bytes_per_sec: 200_000)
    t0 = now
    assert_raises(Timeout::Error) { Timeout.timeout(0.3) { snapshot("org/parts") } }
    assert_operator now - t0, :<, 1.0
    assert_equal [], snapshot_files("org/parts")
    assert_equal [], blobs("org/parts").grep_v(/\.incomplete\z/)
    @server.clear_faults
    dir = snapshot("org/parts")
    assert_equal body, File.binread(File.join(dir, "a.safetensors"))
    # both partial files were resumed
    assert_equal 2, @server.requests.count { |r| r[:path].start_with?("/cdn/") && r[:range] != "bytes=0-" }
  end

  # ------------------------------------------------------------ files

  def test_files_online_and_offline
    assert_equal ALL, assert_requests(1) { files }.sort
    assert_equal @commit, File.read(File.join(repo_dir("org/model"), "refs", "main"))
    assert_raises(Candle::RepositoryNotFoundError) { files("org/nope") }
    assert_raises(Candle::RevisionNotFoundError) { files(revision: "nope") }

    assert_raises(Candle::OfflineError, "no snapshot cached yet") { files(local_files_only: true) }
    snapshot(allow: ["*.json"])
    with_env("HF_HUB_OFFLINE" => "1") do
      assert_equal %w[1_Pooling/config.json config.json tokenizer.json], assert_no_requests { files }.sort
    end
  end

  # ------------------------------------------------------------ ids & gguf

  def test_parse_id
    assert_equal ["org/name", nil, nil], Candle::Hub.parse_id("org/name")
    assert_equal ["gpt2", nil, "v1"], Candle::Hub.parse_id("gpt2@v1")
    assert_equal ["org/name", "sub/m.Q4_K_M.gguf", "refs/pr/3"], Candle::Hub.parse_id("org/name:sub/m.Q4_K_M.gguf@refs/pr/3")
    assert_equal ["org/name", "m.gguf", nil], Candle::Hub.parse_id("org/name:m.gguf")
    ["", "org/name:", "org/name@", "../x", "org/name:../../etc/passwd", "org/name@..", "a/b/c:f"].each do |bad|
      assert_raises(ArgumentError, bad.inspect) { Candle::Hub.parse_id(bad) }
    end
    assert_raises(ArgumentError) { Candle::Hub.parse_id(nil) }
  end

  def test_pick_gguf_and_download_the_pick
    names = %w[README.md model.Q8_0.gguf model.Q4_K_S.gguf model.Q4_K_M.gguf model.Q5_K_M.gguf config.json]
    @server.add_repo("TheBloke/Tiny-GGUF", files: names.to_h { |n| [n, "GGUF#{n}"] })
    listed = files("TheBloke/Tiny-GGUF")
    pick = Candle::Hub.pick_gguf(listed)
    assert_equal "model.Q4_K_M.gguf", pick
    assert_equal "model.Q8_0.gguf", Candle::Hub.pick_gguf(listed, prefer: ["q8_0"])
    assert_equal "model.Q5_K_M.gguf", Candle::Hub.pick_gguf(listed, prefer: %w[Q6_K Q5_K_M])
    assert_equal "a-q4_k_m.gguf", Candle::Hub.pick_gguf(%w[a-q8_0.gguf a-q4_k_m.gguf])
    assert_equal "x-00001-of-00002.gguf", Candle::Hub.pick_gguf(%w[x-00002-of-00002.gguf x-00001-of-00002.gguf])
    assert_nil Candle::Hub.pick_gguf(%w[a.bin b.safetensors])
    assert_nil Candle::Hub.pick_gguf([])

    path = download("TheBloke/Tiny-GGUF", pick)
    assert_equal "GGUF#{pick}", File.read(path)
    assert_equal Digest::SHA256.hexdigest("GGUF#{pick}"), File.basename(File.readlink(path)), ".gguf files are LFS"
  end
end
