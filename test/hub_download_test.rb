# frozen_string_literal: true

require_relative "support/hub_test_case"
require_relative "support/python_hub"

# Candle::Hub.download against the local Hub server: cache layout, warm cache,
# offline mode, negative cache, errors, input validation, progress events; and
# the cache shared both ways with Python's huggingface_hub (the real client).
class HubDownloadTest < CandleTest::HubTestCase
  def setup
    super
    @commit = add_model_repo
  end

  # ------------------------------------------------------------ layout

  # The layout huggingface_hub writes, spelled out; the tests under "shared with
  # Python" below check it against the real client.
  def test_small_file_layout
    path = assert_requests(2) { download("org/model", "config.json") }
    dir = repo_dir("org/model")
    blob = git_sha1(CONFIG_JSON)

    assert_equal File.join(dir, "snapshots", @commit, "config.json"), path
    assert File.symlink?(path), "snapshot entry must be a symlink"
    assert_equal "../../blobs/#{blob}", File.readlink(path)
    assert_equal CONFIG_JSON, File.read(path)
    assert_equal [blob], blobs("org/model")
    assert_equal @commit, File.read(File.join(dir, "refs", "main"))
    assert_equal ["main"], entries(File.join(dir, "refs"))
    assert_equal ["#{@commit}/config.json"], snapshot_files("org/model")
    # metadata (Range 0-0) then body from byte 0; no leftovers
    ranges = @server.requests.map { |r| r[:range] }
    assert_equal ["bytes=0-0", "bytes=0-"], ranges
    assert_equal [], entries(dir).grep(/\.(incomplete|lock)\z|\.tmp-/)
  end

  def test_empty_files_download_with_one_metadata_request
    @server.add_repo("org/empty", files: {"__init__.py" => "", "empty.bin" => ""})
    small = assert_requests(1) { download("org/empty", "__init__.py") }
    assert_equal "", File.read(small)
    lfs = download("org/empty", "empty.bin")
    assert_equal "", File.read(lfs)
    assert_equal "../../blobs/#{Digest::SHA256.hexdigest("")}", File.readlink(lfs)
    assert_requests(0) { download("org/empty", "__init__.py") }
  end

  def test_lfs_file_is_fetched_through_the_redirect_and_named_by_sha256
    path = download("org/model", "model.safetensors")
    sha = Digest::SHA256.hexdigest(weights)

    assert_equal File.join(repo_dir("org/model"), "snapshots", @commit, "model.safetensors"), path
    assert_equal "../../blobs/#{sha}", File.readlink(path)
    assert_equal weights, File.binread(path)
    assert_equal [sha], blobs("org/model")
    paths = @server.requests.map { |r| r[:path] }
    assert_equal 2, paths.size, paths.inspect
    assert_match %r{\A/org/model/resolve/main/model\.safetensors\z}, paths[0]
    assert_match %r{\A/cdn/org/model/#{sha}}, paths[1], "body must come from the redirect target"
  end

  def test_nested_file_gets_a_deeper_relative_symlink
    path = download("org/model", "1_Pooling/config.json")
    assert_equal File.join(repo_dir("org/model"), "snapshots", @commit, "1_Pooling", "config.json"), path
    assert_equal "../../../blobs/#{git_sha1(POOLING_JSON)}", File.readlink(path)
    assert_equal POOLING_JSON, File.read(path)
  end

  def test_dataset_layout
    commit = @server.add_repo("org/data", files: { "train.csv" => "a,b\n1,2\n" }, repo_type: :dataset)
    path = download("org/data", "train.csv", repo_type: :dataset)
    assert_equal File.join(repo_dir("org/data", type: "datasets"), "snapshots", commit, "train.csv"), path
    assert_equal "a,b\n1,2\n", File.read(path)
    assert(@server.requests.all? { |r| r[:path].start_with?("/datasets/org/data/") }, @server.requests.inspect)
    assert_raises(ArgumentError) { download("org/data", "train.csv", repo_type: :weird) }
  end

  ODD_NAMES = ["my file.json", "a#b.json", "q?.json", "données.json", "pct%20.json", "plus+.json", "dir with space/x.json"].freeze

  def test_file_names_needing_url_encoding
    commit = @server.add_repo("org/odd", files: ODD_NAMES.to_h { |n| [n, "content of #{n}"] })
    ODD_NAMES.each do |name|
      path = download("org/odd", name)
      assert_equal File.join(repo_dir("org/odd"), "snapshots", commit, name), path
      assert_equal "content of #{name}", File.read(path), name
    end
    assert_equal [], entries(File.join(repo_dir("org/odd"), ".no_exist"))
    dir = Candle::Hub.snapshot("org/odd", **hub_opts)
    assert_equal ODD_NAMES.sort, entries(dir)
  end

  def test_revision_with_a_slash_and_a_plus
    pr = @server.add_revision("org/model", revision: "refs/pr/1", files: { "config.json" => "{\"pr\": 1}" })
    tag = @server.add_revision("org/model", revision: "v1.0+build", files: { "config.json" => "{\"tag\": 1}" })
    assert_equal "{\"pr\": 1}", File.read(download("org/model", "config.json", revision: "refs/pr/1"))
    assert_equal "{\"tag\": 1}", File.read(download("org/model", "config.json", revision: "v1.0+build"))
    assert_equal pr, File.read(File.join(repo_dir("org/model"), "refs", "refs", "pr", "1"))
    assert_equal tag, File.read(File.join(repo_dir("org/model"), "refs", "v1.0+build"))
    assert(@server.requests.any? { |r| r[:path].include?("/resolve/refs%2Fpr%2F1/") })
    assert_no_requests { download("org/model", "config.json", revision: "refs/pr/1") }
    assert_equal %w[config.json], Candle::Hub.files("org/model", revision: "v1.0+build", endpoint: @server.url, cache_dir: @cache)
  end

  def test_two_files_with_the_same_content_share_one_blob
    commit = @server.add_repo("org/dup", files: { "a.json" => "{}", "b/c.json" => "{}" })
    a = download("org/dup", "a.json")
    c = download("org/dup", "b/c.json")
    assert_equal [git_sha1("{}")], blobs("org/dup")
    assert_equal File.realpath(a), File.realpath(c)
    assert_equal ["#{commit}/a.json", "#{commit}/b/c.json"], snapshot_files("org/dup")
  end

  # ------------------------------------------------------------ shared with Python's huggingface_hub

  SHARED_FILES = {
    "config.json" => CONFIG_JSON,
    "tokenizer.json" => TOKENIZER_JSON,
    "1_Pooling/config.json" => POOLING_JSON,
    "dir with space/données.json" => %({"é": 1})
  }.freeze
  SHARED_MAIN_CONFIG = %({"hidden_size": 16, "model_type": "bert"})

  # org/shared: v1.0 (tag) = SHARED_FILES + an LFS file; main = v1.0 with another config.json.
  def add_shared_repo
    v1 = @server.add_repo("org/shared", files: SHARED_FILES.merge("model.safetensors" => weights), tags: ["v1.0"])
    main = @server.update_repo("org/shared", files: { "config.json" => SHARED_MAIN_CONFIG })
    refute_equal v1, main
    [v1, main]
  end

  def shared_contents = SHARED_FILES.merge("model.safetensors" => weights)

  def sha256(bytes) = Digest::SHA256.hexdigest(bytes)

  def python_hub(ops, env)
    out = CandleTest::PythonHub.run(ops, env: { "HF_HUB_CACHE" => @cache }.merge(env), home: @tmp)
    assert_equal CandleTest::PythonHub.pinned_version, out["version"], "the venv's huggingface_hub is not the pinned one"
    assert_equal ops.size, out["results"].size
    out["results"]
  end

  # Candle's Cache.scan in the shape of python_hub.py's scan_cache_dir op.
  def ruby_scan
    Candle::Hub::Cache.scan(cache_dir: @cache).map do |repo|
      {
        "repo_id" => repo.repo_id, "repo_type" => repo.repo_type.to_s, "repo_path" => repo.path,
        "size_on_disk" => repo.size, "nb_files" => repo.nb_files, "refs" => repo.refs,
        "revisions" => repo.revisions.sort_by(&:commit).map do |rev|
          {
            "commit_hash" => rev.commit, "snapshot_path" => File.join(repo.path, "snapshots", rev.commit),
            "size_on_disk" => rev.size, "refs" => rev.refs.sort,
            "files" => rev.files.map { |f| { "name" => f.name, "blob_path" => f.blob, "size_on_disk" => f.size } }
                            .sort_by { |f| f["name"] }
          }
        end
      }
    end
  end

  def expected_blob(name, bytes)
    File.join(repo_dir("org/shared"), "blobs", name.end_with?(".safetensors") ? sha256(bytes) : git_sha1(bytes))
  end

  # Candle writes (from the local Hub), Python reads the cache offline.
  def test_python_huggingface_hub_reads_what_candle_downloaded
    v1, main = add_shared_repo
    snapshot = Candle::Hub.snapshot("org/shared", revision: "v1.0", **hub_opts)
    ruby = shared_contents.keys.to_h { |name| [name, download("org/shared", name, revision: "v1.0")] }
    ruby_main = download("org/shared", "config.json")
    assert_raises(Candle::EntryNotFoundError) { download("org/shared", "missing.json") }
    requests = @server.requests.size

    ops = shared_contents.keys.map { |f| { op: "hf_hub_download", repo_id: "org/shared", filename: f, revision: "v1.0" } }
    ops += [
      { op: "hf_hub_download", repo_id: "org/shared", filename: "config.json" },
      { op: "hf_hub_download", repo_id: "org/shared", filename: "tokenizer.json", revision: v1 },
      { op: "hf_hub_download", repo_id: "org/shared", filename: "tokenizer.json" },
      { op: "try_to_load_from_cache", repo_id: "org/shared", filename: "missing.json" },
      { op: "try_to_load_from_cache", repo_id: "org/shared", filename: "1_Pooling/config.json", revision: "v1.0" },
      { op: "snapshot_download", repo_id: "org/shared", revision: "v1.0" },
      { op: "scan_cache_dir" }
    ]
    res = python_hub(ops, "HF_HUB_OFFLINE" => "1")
    assert_equal requests, @server.requests.size, "Python must read the cache with no request"

    shared_contents.each_with_index do |(name, bytes), i|
      assert_equal({ "path" => ruby[name], "sha256" => sha256(bytes) }, res[i], name)
      assert_equal File.join(repo_dir("org/shared"), "snapshots", v1, name), ruby[name]
    end
    main_config, by_commit, not_in_main, missing, pooling, snap, scan = res.drop(shared_contents.size)
    assert_equal({ "path" => ruby_main, "sha256" => sha256(SHARED_MAIN_CONFIG) }, main_config)
    assert_equal File.join(repo_dir("org/shared"), "snapshots", main, "config.json"), ruby_main
    assert_equal ruby["tokenizer.json"], by_commit["path"]
    # main's snapshot holds only config.json: neither client may serve tokenizer.json@main offline
    assert_equal "LocalEntryNotFoundError", not_in_main["error"], not_in_main.inspect
    assert_nil Candle::Hub.cached_path("org/shared", "tokenizer.json", cache_dir: @cache)
    # Candle's .no_exist marker is Python's answer too: the file is known not to exist
    assert_equal({ "no_exist" => true }, missing)
    assert_equal({ "path" => ruby["1_Pooling/config.json"] }, pooling)
    assert_equal({ "path" => snapshot }, snap)

    assert_equal [], scan["warnings"]
    assert_equal ruby_scan, scan["repos"]
    repo = scan["repos"].first
    assert_equal({ "main" => main, "v1.0" => v1 }, repo["refs"])
    assert_equal [main, v1].sort, repo["revisions"].map { |r| r["commit_hash"] }
    v1_files = repo["revisions"].find { |r| r["commit_hash"] == v1 }["files"]
    assert_equal(shared_contents.map { |n, b| { "name" => n, "blob_path" => expected_blob(n, b), "size_on_disk" => b.bytesize } }
                                .sort_by { |f| f["name"] }, v1_files)
  end

  # Python downloads (from the same local Hub), Candle reads the cache with no request.
  def test_candle_reads_what_python_huggingface_hub_downloaded
    v1, main = add_shared_repo
    # The Hub redirects LFS files to a CDN on another host; huggingface_hub only
    # follows a same-host redirect on its HEAD (and then misses X-Repo-Commit).
    @server.cdn_host = "localhost"
    ops = shared_contents.keys.map { |f| { op: "hf_hub_download", repo_id: "org/shared", filename: f, revision: "v1.0" } }
    ops += [
      { op: "hf_hub_download", repo_id: "org/shared", filename: "config.json" },
      { op: "hf_hub_download", repo_id: "org/shared", filename: "missing.json" },
      { op: "scan_cache_dir" }
    ]
    res = python_hub(ops, "HF_ENDPOINT" => @server.url)
    refute_empty @server.requests, "Python must have downloaded from the local Hub"
    assert(@server.requests.all? { |r| r[:authorization].nil? }, "Python sent a token: #{@server.requests.inspect}")
    assert_includes @server.requests.map { |r| r[:path] }, "/cdn/org/shared/#{sha256(weights)}?file=model.safetensors"

    before = @server.requests.size
    shared_contents.each_with_index do |(name, bytes), i|
      py = res[i]
      assert_equal File.join(repo_dir("org/shared"), "snapshots", v1, name), py["path"], name
      assert_equal sha256(bytes), py["sha256"], name
      path = download("org/shared", name, revision: "v1.0", local_files_only: true)
      assert_equal py["path"], path
      assert_equal sha256(bytes), Digest::SHA256.file(path).hexdigest
      assert_equal path, Candle::Hub.cached_path("org/shared", name, revision: v1, cache_dir: @cache)
    end
    main_config, missing, scan = res.drop(shared_contents.size)
    assert_equal "RemoteEntryNotFoundError", missing["error"], missing.inspect
    assert_equal main_config["path"], download("org/shared", "config.json", local_files_only: true)
    assert_equal File.join(repo_dir("org/shared"), "snapshots", main, "config.json"), main_config["path"]
    assert_equal SHARED_MAIN_CONFIG, File.read(main_config["path"])
    assert_equal main, File.read(File.join(repo_dir("org/shared"), "refs", "main"))
    assert_equal v1, File.read(File.join(repo_dir("org/shared"), "refs", "v1.0"))
    assert_nil Candle::Hub.cached_path("org/shared", "tokenizer.json", cache_dir: @cache), "not in main's snapshot"
    # Python's .no_exist marker answers for Candle: not found, not "offline"
    assert_raises(Candle::EntryNotFoundError) { download("org/shared", "missing.json", local_files_only: true) }
    snap = Candle::Hub.snapshot("org/shared", revision: "v1.0", **hub_opts(local_files_only: true))
    assert_equal File.join(repo_dir("org/shared"), "snapshots", v1), snap
    assert_equal shared_contents.keys.sort, entries(snap)
    assert_equal before, @server.requests.size, "Candle must read Python's cache with no request"

    assert_equal [], scan["warnings"]
    assert_equal scan["repos"], ruby_scan
    assert_equal({ "main" => main, "v1.0" => v1 }, ruby_scan.first["refs"])
    reports = Candle::Hub::Cache.verify("org/shared", cache_dir: @cache)
    assert_equal 6, reports.size
    assert reports.all?(&:ok?), reports.inspect
  end

  # Python holds huggingface_hub's own lock for a blob (WeakFileLock on
  # .locks/models--org--shared/<sha256>.lock, the path hf_hub_download locks):
  # Candle waits for it, then downloads.
  def test_candle_waits_for_the_lock_python_holds_on_a_blob
    add_shared_repo
    sha = sha256(weights)
    python = CandleTest::PythonHub.start([{ op: "hold_lock", repo_id: "org/shared", etag: sha, seconds: 1.5 }],
                                         env: { "HF_HUB_CACHE" => @cache }, home: @tmp)
    begin
      lock_path = python.wait_for_line(/^locked (.+)$/)[1]
      assert_equal File.join(@cache, ".locks", "models--org--shared", "#{sha}.lock"), lock_path
      t0 = now
      path = download("org/shared", "model.safetensors")
      elapsed = now - t0
      held = python.result["results"].first
    ensure
      python.kill
    end
    assert_equal weights, File.binread(path)
    assert_operator elapsed, :>=, 1.2, "Candle did not wait for Python's lock"
    assert_operator elapsed, :<, 10
    meta, body = @server.requests
    assert_equal 2, @server.requests.size, @server.requests.inspect
    assert_equal "bytes=0-0", meta[:range]
    assert_match %r{\A/cdn/org/shared/#{sha}}, body[:path]
    # the body was asked for only once Python had let go
    assert_operator body[:time].to_f, :>=, held["released_at"] - 0.05
    assert_equal [], entries(repo_dir("org/shared")).grep(/\.incomplete\z/)
  end

  # The reverse: Candle holds the lock while its (slowed) download runs; Python's
  # hf_hub_download of the same file waits, then finds the blob Candle wrote and
  # asks for no body: one body transfer in all.
  def test_python_waits_for_candle_and_reuses_its_blob
    add_shared_repo
    @server.cdn_host = "localhost" # see test_candle_reads_what_python_huggingface_hub_downloaded
    sha = sha256(weights)
    @server.fault("model.safetensors", :slow, bytes_per_sec: weights.bytesize / 1.5)
    incomplete = File.join(repo_dir("org/shared"), "blobs", "#{sha}.incomplete")
    ruby_done = nil
    ruby = Thread.new do
      download("org/shared", "model.safetensors", revision: "v1.0").tap { ruby_done = Time.now }
    end
    wait_until(10, "Candle's partial file") { File.exist?(incomplete) } # written under the lock
    py = python_hub([{ op: "hf_hub_download", repo_id: "org/shared", filename: "model.safetensors", revision: "v1.0" }],
                    "HF_ENDPOINT" => @server.url).first
    python_done = Time.now
    path = ruby.value
    assert_equal({ "path" => path, "sha256" => sha }, py)
    assert_operator python_done, :>=, ruby_done, "Python returned before Candle's download ended"
    bodies = @server.requests.select { |r| r[:method] == "GET" && r[:range] != "bytes=0-0" }
    assert_equal 1, bodies.size, "one body transfer in all: #{@server.requests.map { |r| [r[:method], r[:path], r[:range]] }}"
    assert_match %r{\A/cdn/org/shared/#{sha}}, bodies.first[:path]
    assert_equal [sha], blobs("org/shared")
  end

  # ------------------------------------------------------------ keep-alive

  # The process has one HTTP agent: its pool keeps a connection open across
  # calls. An LFS file's metadata answer (302, empty body) and its body (read to
  # the end) both leave the connection reusable: 4 calls, 8 requests, 1 connection.
  def test_separate_downloads_reuse_one_connection
    files = (1..4).to_h { |i| ["w#{i}.safetensors", "weights #{i}" * 100] }
    @server.add_repo("org/four", files: files)
    @server.clear_requests
    files.each { |name, bytes| assert_equal bytes, File.binread(download("org/four", name)) }
    assert_equal 8, @server.request_count
    assert_equal 1, @server.connection_count,
                 "connections of the requests: #{@server.requests.map { |r| [r[:connection], r[:path], r[:range]] }}"

    # Small files: the metadata answer is a 206 with a 1-byte body (read to
    # the end so the connection goes back to the pool), the file's body follows.
    small = (1..4).to_h { |i| ["s#{i}.json", %({"n": #{i}})] }
    @server.add_repo("org/small", files: small)
    @server.clear_requests
    small.each { |name, text| assert_equal text, File.read(download("org/small", name)) }
    assert_equal 8, @server.request_count
    assert_equal 1, @server.requests.map { |r| r[:connection] }.uniq.size,
                 "connections of the requests: #{@server.requests.map { |r| [r[:connection], r[:range]] }}"
    # an error answer's body is read too: a 404 does not cost the connection
    @server.clear_requests
    assert_raises(Candle::EntryNotFoundError) { download("org/small", "missing.json") }
    assert_equal "{\"n\": 1}", File.read(download("org/small", "s1.json", refresh: true))
    assert_equal 1, @server.requests.map { |r| r[:connection] }.uniq.size, @server.requests.inspect
  end

  # Control: a server that answers `Connection: close` gets one connection per request.
  def test_a_server_that_closes_gets_one_connection_per_request
    CandleTest::HubServer.open(keep_alive: false) do |srv|
      files = (1..4).to_h { |i| ["w#{i}.safetensors", "weights #{i}" * 100] }
      srv.add_repo("org/four", files: files)
      files.each do |name, bytes|
        assert_equal bytes, File.binread(Candle::Hub.download("org/four", name, **hub_opts(endpoint: srv.url)))
      end
      assert_equal 8, srv.request_count
      assert_equal 8, srv.connection_count
    end
  end

  # ------------------------------------------------------------ warm cache

  def test_second_download_makes_no_request
    first = download("org/model", "model.safetensors")
    second = assert_no_requests { download("org/model", "model.safetensors") }
    assert_equal first, second
  end

  def test_commit_revision_is_served_from_a_warm_cache_without_requests
    download("org/model", "config.json")
    path = assert_no_requests { download("org/model", "config.json", revision: @commit) }
    assert_equal File.join(repo_dir("org/model"), "snapshots", @commit, "config.json"), path
  end

  def test_cold_commit_revision_downloads_and_writes_no_ref
    path = download("org/model", "config.json", revision: @commit)
    assert_equal CONFIG_JSON, File.read(path)
    assert_equal [], entries(File.join(repo_dir("org/model"), "refs"))
    assert_no_requests { download("org/model", "config.json", revision: @commit) }
  end

  def test_refresh_makes_exactly_one_request_and_follows_a_moved_branch
    download("org/model", "config.json")
    same = assert_requests(1) { download("org/model", "config.json", refresh: true) }
    assert_equal File.join(repo_dir("org/model"), "snapshots", @commit, "config.json"), same

    new_commit = @server.update_repo("org/model", files: { "tokenizer.json" => "{}" })
    refute_equal @commit, new_commit
    # without refresh the cached branch is trusted
    assert_equal same, assert_no_requests { download("org/model", "config.json") }
    # with refresh: one metadata request, blob unchanged so no body request
    moved = assert_requests(1) { download("org/model", "config.json", refresh: true) }
    assert_equal File.join(repo_dir("org/model"), "snapshots", new_commit, "config.json"), moved
    assert_equal new_commit, File.read(File.join(repo_dir("org/model"), "refs", "main"))
    assert_equal [git_sha1(CONFIG_JSON)], blobs("org/model")
  end

  def test_other_revision_gets_its_own_ref_and_snapshot
    v1 = @server.add_revision("org/model", revision: "v1", files: { "config.json" => "{\"v\": 1}" })
    download("org/model", "config.json")
    path = download("org/model", "config.json", revision: "v1")
    assert_equal "{\"v\": 1}", File.read(path)
    assert_equal v1, File.read(File.join(repo_dir("org/model"), "refs", "v1"))
    assert_equal @commit, File.read(File.join(repo_dir("org/model"), "refs", "main"))
    assert_equal 2, blobs("org/model").size
  end

  def test_a_blob_removed_from_disk_is_fetched_again
    path = download("org/model", "model.safetensors")
    File.delete(File.realpath(path))
    assert_nil Candle::Hub.cached_path("org/model", "model.safetensors", cache_dir: @cache)
    assert_no_requests do
      assert_raises(Candle::OfflineError) { download("org/model", "model.safetensors", local_files_only: true) }
    end
    assert_equal path, assert_requests(2) { download("org/model", "model.safetensors") }
    assert_equal weights, File.binread(path)
  end

  def test_cached_path_never_touches_the_network
    assert_nil assert_no_requests { Candle::Hub.cached_path("org/model", "config.json", cache_dir: @cache) }
    path = download("org/model", "config.json")
    assert_equal path, assert_no_requests { Candle::Hub.cached_path("org/model", "config.json", cache_dir: @cache) }
    assert_equal path, Candle::Hub.cached_path("org/model", "config.json", revision: @commit, cache_dir: @cache)
    assert_nil Candle::Hub.cached_path("org/model", "tokenizer.json", cache_dir: @cache)
    assert_raises(ArgumentError) { Candle::Hub.cached_path("org/model", "../x", cache_dir: @cache) }
  end

  # ------------------------------------------------------------ offline

  def test_offline_env_serves_the_cache_without_requests
    path = download("org/model", "config.json")
    with_env("HF_HUB_OFFLINE" => "1") do
      assert_equal path, assert_no_requests { download("org/model", "config.json") }
      assert_equal path, assert_no_requests { download("org/model", "config.json", refresh: true) }
    end
  end

  def test_local_files_only_serves_the_cache_without_requests
    path = download("org/model", "model.safetensors")
    assert_equal path, assert_no_requests { download("org/model", "model.safetensors", local_files_only: true) }
  end

  def test_offline_cold_cache_raises_offline_error_naming_what_is_missing
    [
      -> { with_env("HF_HUB_OFFLINE" => "1") { download("org/model", "config.json", revision: "v9") } },
      -> { download("org/model", "config.json", revision: "v9", local_files_only: true) }
    ].each do |call|
      e = assert_no_requests { assert_raises(Candle::OfflineError) { call.call } }
      assert_kind_of Candle::HubError, e
      %w[org/model config.json v9].each { |part| assert_includes e.message, part }
      assert_includes e.message, @cache
    end
    refute File.exist?(@cache), "an offline miss must not create the cache"
  end

  def test_offline_with_cached_ref_but_missing_file_raises_offline_error
    download("org/model", "config.json")
    e = with_env("HF_HUB_OFFLINE" => "1") do
      assert_no_requests { assert_raises(Candle::OfflineError) { download("org/model", "tokenizer.json") } }
    end
    assert_includes e.message, "tokenizer.json"
  end

  # ------------------------------------------------------------ negative cache & not found

  def test_missing_entry_is_remembered_in_no_exist
    e = assert_requests(1) { assert_raises(Candle::EntryNotFoundError) { download("org/model", "missing.json") } }
    assert_kind_of Candle::NotFoundError, e
    assert_includes e.message, "missing.json"
    marker = File.join(repo_dir("org/model"), ".no_exist", @commit, "missing.json")
    assert File.file?(marker), "expected #{marker}"
    assert_equal 0, File.size(marker)
    assert_equal @commit, File.read(File.join(repo_dir("org/model"), "refs", "main"))

    assert_no_requests { assert_raises(Candle::EntryNotFoundError) { download("org/model", "missing.json") } }
    # offline too: the answer is known, so it is not an OfflineError
    with_env("HF_HUB_OFFLINE" => "1") do
      assert_no_requests { assert_raises(Candle::EntryNotFoundError) { download("org/model", "missing.json") } }
    end
    # refresh asks again
    assert_requests(1) do
      assert_raises(Candle::EntryNotFoundError) { download("org/model", "missing.json", refresh: true) }
    end
    # a nested missing file
    assert_raises(Candle::EntryNotFoundError) { download("org/model", "sub/dir/missing.bin") }
    assert File.file?(File.join(repo_dir("org/model"), ".no_exist", @commit, "sub/dir/missing.bin"))
    assert_equal [], snapshot_files("org/model")
  end

  def test_unknown_repository_and_revision
    e = assert_raises(Candle::RepositoryNotFoundError) { download("org/nope", "config.json") }
    assert_includes e.message, "org/nope"
    e = assert_raises(Candle::RevisionNotFoundError) { download("org/model", "config.json", revision: "nope") }
    assert_includes e.message, "nope"
    assert_kind_of Candle::NotFoundError, e
    refute File.exist?(File.join(repo_dir("org/nope"), "snapshots"))
    assert_equal [], snapshot_files("org/model")
    assert_equal [], entries(File.join(repo_dir("org/model"), ".no_exist"))
  end

  # ------------------------------------------------------------ input validation

  BAD_REPO_IDS = ["../x", "org/../x", "/abs", "/etc/passwd", "org/na\0me", "org\\name", "a/b/c", "..", "org/", ""].freeze
  BAD_REVISIONS = ["../main", "refs/../../x", "/abs", "ma\0in", "ma\\in", "..", "a//b", "main/", ""].freeze
  BAD_FILENAMES = ["../secret", "a/../../b", "/etc/passwd", "a\0b", "dir\\file", "..", "./a", "a//b", "C:\\x", ""].freeze

  def test_path_traversal_and_bad_characters_are_rejected_before_any_request
    assert_no_requests do
      BAD_REPO_IDS.each do |id|
        assert_raises(ArgumentError, id.inspect) { download(id, "config.json") }
        assert_raises(ArgumentError, id.inspect) { Candle::Hub.snapshot(id, **hub_opts) }
        assert_raises(ArgumentError, id.inspect) { Candle::Hub.files(id, **hub_opts) }
      end
      BAD_REVISIONS.each do |rev|
        assert_raises(ArgumentError, rev.inspect) { download("org/model", "config.json", revision: rev) }
        assert_raises(ArgumentError, rev.inspect) { Candle::Hub.snapshot("org/model", revision: rev, **hub_opts) }
      end
      BAD_FILENAMES.each do |name|
        assert_raises(ArgumentError, name.inspect) { download("org/model", name) }
        assert_raises(ArgumentError, name.inspect) { Candle::Hub.cached_path("org/model", name, cache_dir: @cache) }
      end
      assert_raises(ArgumentError) { download(:"org/model", "config.json") }
      assert_raises(ArgumentError) { download("org/model", "config.json", bogus: 1) }
    end
    refute File.exist?(@cache), "nothing may be created for rejected input"
  end

  # ------------------------------------------------------------ progress

  def test_progress_events_for_a_fresh_and_a_cached_file
    big = self.class.random_bytes(3 * 1024 * 1024 + 17, 3)
    @server.add_repo("org/big", files: { "w.safetensors" => big })
    events = []
    download("org/big", "w.safetensors", progress: ->(e) { events << e })

    assert_equal %i[start progress done], event_types(events)
    events.each do |e|
      assert_equal "org/big", e[:repo]
      assert_equal "w.safetensors", e[:file]
      assert_equal big.bytesize, e[:total]
      assert_kind_of Integer, e[:bytes]
    end
    bytes = events.map { |e| e[:bytes] }
    assert_equal bytes.sort, bytes, "bytes must be monotonic"
    assert_equal 0, events.first[:bytes]
    assert_equal big.bytesize, events.last[:bytes]
    assert_operator events.count { |e| e[:type] == :progress }, :>=, 2

    warm = []
    download("org/big", "w.safetensors", progress: ->(e) { warm << e })
    assert_equal [{ type: :cached, repo: "org/big", file: "w.safetensors", bytes: big.bytesize, total: big.bytesize }],
                 warm
  end

  def test_progress_true_draws_a_bar_and_bad_progress_is_rejected
    assert_raises(ArgumentError) { download("org/model", "config.json", progress: 42) }
    io = StringIO.new
    bar = Candle::Hub::ProgressBar.new(io)
    download("org/model", "model.safetensors", progress: bar)
    assert_match(/model\.safetensors.*100%/, io.string)
  end

  def test_exception_in_the_progress_callback_cancels_the_download
    @server.add_repo("org/big", files: { "w.safetensors" => self.class.random_bytes(3 * 1024 * 1024, 5) })
    error_class = Class.new(StandardError)
    seen = []
    callback = lambda do |e|
      seen << e[:type]
      raise error_class, "stop" if e[:type] == :start
    end
    assert_raises(error_class) { download("org/big", "w.safetensors", progress: callback) }
    assert_equal [:start], seen, "no event may be delivered after the callback raised"
    assert_equal [], snapshot_files("org/big"), "a cancelled download must not be published"
    assert_equal [], blobs("org/big").reject { |b| b.end_with?(".incomplete") }

    # the next call works
    path = download("org/big", "w.safetensors")
    assert_equal self.class.random_bytes(3 * 1024 * 1024, 5), File.binread(path)
  end

  def test_exception_on_done_still_leaves_no_snapshot_entry
    error_class = Class.new(StandardError)
    callback = ->(e) { raise error_class, "late" if e[:type] == :done }
    assert_raises(error_class) { download("org/model", "config.json", progress: callback) }
    assert_equal [], snapshot_files("org/model")
    # the blob it did fetch is reused: only the metadata request is needed
    path = assert_requests(1) { download("org/model", "config.json") }
    assert_equal CONFIG_JSON, File.read(path)
  end

  def test_exception_on_cached_event_of_a_shared_blob_leaves_no_snapshot_entry
    commit = @server.add_repo("org/dup", files: { "a.json" => "{}", "b.json" => "{}" })
    download("org/dup", "a.json")
    error_class = Class.new(StandardError)
    assert_raises(error_class) { download("org/dup", "b.json", progress: ->(e) { raise error_class if e[:type] == :cached }) }
    assert_equal ["#{commit}/a.json"], snapshot_files("org/dup")
  end
end
