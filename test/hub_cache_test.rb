# frozen_string_literal: true

require_relative "support/hub_test_case"

# Candle::Hub::Cache: scan, verify, delete and link on a cache filled by real
# downloads from the local Hub server.
class HubCacheTest < CandleTest::HubTestCase
  V1_WEIGHTS = "v1-weights-" * 1000

  def setup
    super
    @main = add_model_repo
    # v1 shares config.json with main; its weights and tokenizer differ
    @v1 = @server.add_revision("org/model", revision: "v1", files: {
                                 "config.json" => CONFIG_JSON,
                                 "tokenizer.json" => "{}",
                                 "model.safetensors" => V1_WEIGHTS
                               })
    @server.add_repo("org/other", files: { "config.json" => "{\"other\": true}" })
    @shared_blob = git_sha1(CONFIG_JSON)
    @main_dir = Candle::Hub.snapshot("org/model", **hub_opts)
    @v1_dir = Candle::Hub.snapshot("org/model", revision: "v1", **hub_opts)
    download("org/other", "config.json")
    @server.clear_requests
  end

  def teardown
    assert_equal 0, @server.requests.size, "cache management must never touch the network" unless failures.any?
    super
  end

  def scan = Candle::Hub::Cache.scan(cache_dir: @cache)

  def blob_path(name) = File.join(repo_dir("org/model"), "blobs", name)

  # ------------------------------------------------------------ scan

  def test_scan_lists_repos_revisions_files_and_sizes
    cache = scan
    assert_equal @cache, cache.cache_dir
    assert_equal %w[org/model org/other], cache.map(&:repo_id)
    repo = cache.find { |r| r.repo_id == "org/model" }
    assert_equal :model, repo.repo_type
    assert_equal repo_dir("org/model"), repo.path
    assert_equal({ "main" => @main, "v1" => @v1 }, repo.refs)
    assert_equal [@main, @v1].sort, repo.revisions.map(&:commit)

    main = repo.revisions.find { |r| r.commit == @main }
    assert_equal ["main"], main.refs
    assert_equal %w[1_Pooling/config.json config.json model.safetensors tokenizer.json], main.files.map(&:name)
    sizes = { "1_Pooling/config.json" => POOLING_JSON.bytesize, "config.json" => CONFIG_JSON.bytesize,
              "model.safetensors" => weights.bytesize, "tokenizer.json" => TOKENIZER_JSON.bytesize }
    main.files.each do |f|
      assert_equal sizes.fetch(f.name), f.size, f.name
      assert_equal File.realpath(File.join(@main_dir, f.name)), f.blob
    end
    assert_equal sizes.values.sum, main.size
    v1 = repo.revisions.find { |r| r.commit == @v1 }
    assert_equal ["v1"], v1.refs
    assert_equal 3, v1.files.size

    # the shared config.json blob is counted once
    blob_bytes = sizes.values.sum + "{}".bytesize + V1_WEIGHTS.bytesize
    assert_equal blob_bytes, repo.size
    assert_equal 7, repo.nb_files
    assert_kind_of Time, repo.last_modified
    assert_in_delta Time.now.to_f, repo.last_modified.to_f, 60
    assert_equal cache.sum(&:size), cache.size_on_disk
    assert_match(/repos=2/, cache.inspect)
  end

  def test_scan_ignores_partial_files_and_handles_a_missing_cache
    File.binwrite(blob_path("#{"a" * 64}.incomplete"), "partial")
    File.binwrite(blob_path("#{"b" * 64}.lock"), "")
    repo = scan.find { |r| r.repo_id == "org/model" }
    assert_equal 7, repo.nb_files
    refute_includes Candle::Hub::Cache.verify("org/model", cache_dir: @cache).map { |b| File.basename(b.blob) },
                    "#{"a" * 64}.incomplete"
    assert_equal [], Candle::Hub::Cache.scan(cache_dir: File.join(@tmp, "nothing-here")).to_a
  end

  def test_scan_uses_the_configured_cache_dir
    with_env("HF_HUB_CACHE" => @cache) do
      assert_equal %w[org/model org/other], Candle::Hub::Cache.scan.map(&:repo_id)
    end
  end

  # ------------------------------------------------------------ verify

  def test_verify_reports_a_corrupted_blob
    reports = Candle::Hub::Cache.verify(cache_dir: @cache)
    assert_equal 7, reports.size # 6 in org/model (one shared) + 1 in org/other
    assert reports.all?(&:ok?), reports.reject(&:ok?).inspect

    lfs = Digest::SHA256.hexdigest(weights)
    data = File.binread(blob_path(lfs))
    data.setbyte(1000, data.getbyte(1000) ^ 1)
    File.binwrite(blob_path(lfs), data)
    File.write(blob_path(@shared_blob), CONFIG_JSON.sub("8", "9"))

    reports = scan.verify("org/model")
    assert_equal 6, reports.size
    assert(reports.all? { |r| r.repo_id == "org/model" })
    bad = reports.select(&:corrupt?).sort_by(&:blob)
    assert_equal [blob_path(@shared_blob), blob_path(lfs)].sort, bad.map(&:blob)
    by_name = bad.to_h { |r| [File.basename(r.blob), r] }
    assert_equal lfs, by_name[lfs].expected
    assert_equal Digest::SHA256.hexdigest(data), by_name[lfs].actual
    assert_equal weights.bytesize, by_name[lfs].size
    assert_equal @shared_blob, by_name[@shared_blob].expected
    assert_equal git_sha1(CONFIG_JSON.sub("8", "9")), by_name[@shared_blob].actual
    assert_equal :corrupt, by_name[lfs].status
    assert(Candle::Hub::Cache.verify("org/other", cache_dir: @cache).all?(&:ok?))
  end

  # ------------------------------------------------------------ delete

  def test_delete_a_revision_keeps_blobs_shared_with_another
    before = blobs("org/model")
    v1_only = [git_sha1("{}"), Digest::SHA256.hexdigest(V1_WEIGHTS)]
    report = Candle::Hub::Cache.delete("org/model", revision: "v1", cache_dir: @cache)

    assert_equal [@v1], report[:removed_snapshots]
    assert_equal 2, report[:removed_blobs]
    assert_equal "{}".bytesize + V1_WEIGHTS.bytesize, report[:freed_bytes]
    refute File.exist?(@v1_dir)
    refute File.exist?(File.join(repo_dir("org/model"), "refs", "v1"))
    assert_equal @main, File.read(File.join(repo_dir("org/model"), "refs", "main"))
    assert_equal (before - v1_only).sort, blobs("org/model")
    assert_includes blobs("org/model"), @shared_blob
    # main is intact
    assert_equal CONFIG_JSON, File.read(File.join(@main_dir, "config.json"))
    assert_equal weights, File.binread(File.join(@main_dir, "model.safetensors"))
    assert_equal [@main], scan.find { |r| r.repo_id == "org/model" }.revisions.map(&:commit)

    assert_raises(Candle::RevisionNotFoundError) { Candle::Hub::Cache.delete("org/model", revision: "v1", cache_dir: @cache) }
    assert_raises(Candle::RepositoryNotFoundError) { Candle::Hub::Cache.delete("org/nope", cache_dir: @cache) }
    assert_raises(ArgumentError) { Candle::Hub::Cache.delete("../x", cache_dir: @cache) }
    assert_raises(ArgumentError) { Candle::Hub::Cache.delete("org/model", revision: "../../x", cache_dir: @cache) }

    # by commit, then the whole repo
    report = Candle::Hub::Cache.delete("org/model", revision: @main, cache_dir: @cache)
    assert_equal [@main], report[:removed_snapshots]
    assert_equal [], blobs("org/model")
    Candle::Hub::Cache.delete("org/other", cache_dir: @cache)
    refute File.exist?(repo_dir("org/other"))
    assert_equal ["org/model"], scan.map(&:repo_id)
  end

  def test_deleted_revision_can_be_downloaded_again
    Candle::Hub::Cache.delete("org/model", revision: "v1", cache_dir: @cache)
    path = assert_requests(2) { download("org/model", "model.safetensors", revision: "v1") }
    assert_equal V1_WEIGHTS, File.read(path)
    @server.clear_requests
  end

  # ------------------------------------------------------------ link

  def test_link_makes_a_directory_of_symlinks_into_the_cache
    into = File.join(@tmp, "vendor", "models", "model")
    out = Candle::Hub::Cache.link("org/model", into: into, cache_dir: @cache)
    assert_equal into, out
    assert_equal %w[1_Pooling/config.json config.json model.safetensors tokenizer.json], entries(into)
    entries(into).each do |name|
      link = File.join(into, name)
      assert File.symlink?(link), name
      assert_equal File.realpath(File.join(@main_dir, name)), File.realpath(link)
      assert File.realpath(link).start_with?(File.join(File.realpath(repo_dir("org/model")), "blobs")), name
    end
    assert_equal weights, File.binread(File.join(into, "model.safetensors"))

    # re-linking to another revision replaces the links
    Candle::Hub::Cache.link("org/model", into: into, revision: "v1", cache_dir: @cache)
    assert_equal V1_WEIGHTS, File.read(File.join(into, "model.safetensors"))

    assert_raises(Candle::OfflineError) { Candle::Hub::Cache.link("org/model", into: into, revision: "v9", cache_dir: @cache) }
    plain = File.join(@tmp, "plain")
    FileUtils.mkdir_p(plain)
    File.write(File.join(plain, "config.json"), "mine")
    assert_raises(ArgumentError) { Candle::Hub::Cache.link("org/model", into: plain, cache_dir: @cache) }
    assert_equal "mine", File.read(File.join(plain, "config.json")), "a regular file must never be overwritten"
  end
end
