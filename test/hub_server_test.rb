# frozen_string_literal: true

require "minitest/autorun"
require "net/http"
require "socket"
require "tmpdir"
require "fileutils"
require_relative "support/hub_server"

class HubServerTest < Minitest::Test
  BIG_SIZE = 20 * 1024 * 1024

  # One 20 MB random file for the whole run.
  def self.big_file
    @big_file ||= begin
      dir = Dir.mktmpdir("hub-big")
      Minitest.after_run { FileUtils.rm_rf(dir) }
      path = File.join(dir, "big.safetensors")
      rng = Random.new(42)
      File.open(path, "wb") { |f| 20.times { f.write(rng.bytes(1024 * 1024)) } }
      Pathname(path)
    end
  end

  def setup
    @server = CandleTest::HubServer.new.start
    @tmp = Dir.mktmpdir("hub-test")
    @weights = Random.new(7).bytes(300_000)
    @sha = @server.add_repo("org/model", files: {
                              "config.json" => %({"hidden_size": 8}),
                              "model.safetensors" => @weights,
                              "1_Pooling/config.json" => "{}"
                            }, tags: ["v1.0"])
  end

  def teardown
    @server.stop
    FileUtils.rm_rf(@tmp)
  end

  # ------------------------------------------------------------ helpers

  def http(path, headers = {}, method: :get, server: @server, **more)
    headers = headers.merge(more)
    uri = URI(path.start_with?("http") ? path : server.url + path)
    klass = method == :head ? Net::HTTP::Head : Net::HTTP::Get
    Net::HTTP.start(uri.host, uri.port, read_timeout: 10) do |h|
      h.request(klass.new(uri.request_uri, { "Accept-Encoding" => "identity" }.merge(headers)))
    end
  end

  # Raw request; returns [status, headers, body] and never complains about short bodies.
  def raw(path, headers = {})
    uri = URI(path.start_with?("http") ? path : @server.url + path)
    s = TCPSocket.new(uri.host, uri.port)
    s.write("GET #{uri.request_uri} HTTP/1.1\r\nHost: #{uri.host}\r\n" +
            headers.map { |k, v| "#{k}: #{v}\r\n" }.join + "\r\n")
    data = s.read.b
    s.close
    head, body = data.split("\r\n\r\n", 2)
    lines = head.split("\r\n")
    hdrs = lines.drop(1).to_h { |l| k, v = l.split(": ", 2); [k.downcase, v] }
    [lines.first.split(" ")[1].to_i, hdrs, body.to_s]
  end

  def cdn_location(repo, file, server: @server)
    res = http("/#{repo}/resolve/main/#{file}", { "Range" => "bytes=0-0" }, server: server)
    assert_equal "302", res.code
    res["location"]
  end

  def make_tree(root)
    FileUtils.mkdir_p(File.join(root, "org/tree/1_Pooling"))
    FileUtils.mkdir_p(File.join(root, "bert-base-uncased"))
    File.write(File.join(root, "org/tree/.hub-repo"), "")
    File.write(File.join(root, "org/tree/config.json"), %({"a": 1}))
    File.write(File.join(root, "org/tree/1_Pooling/config.json"), %({"pooling": "mean"}))
    File.binwrite(File.join(root, "bert-base-uncased/model.safetensors"), "W" * 5000)
    File.write(File.join(root, "bert-base-uncased/vocab.txt"), "[PAD]\n[UNK]\n")
    sha = Digest::SHA256.hexdigest("W" * 5000)
    File.write(File.join(root, "bert-base-uncased/.hub-repo"),
               JSON.generate("files" => { "model.safetensors" => { "sha256" => sha, "size" => 5000 } }))
  end

  # ------------------------------------------------------------ metadata / bodies

  def test_metadata_small_file
    res = http("/org/model/resolve/main/config.json", "Range" => "bytes=0-0")
    content = %({"hidden_size": 8})
    assert_equal "206", res.code
    assert_equal "bytes 0-0/#{content.bytesize}", res["content-range"]
    assert_equal "1", res["content-length"]
    assert_equal "{", res.body
    assert_equal %("#{Digest::SHA1.hexdigest("blob #{content.bytesize}\0#{content}")}"), res["etag"]
    assert_equal @sha, res["x-repo-commit"]
    assert_equal "bytes", res["accept-ranges"]
    assert_nil res["connection"], "HTTP/1.1 keep-alive: no Connection: close"

    full = http("/org/model/resolve/main/config.json")
    assert_equal "200", full.code
    assert_equal content, full.body

    head = http("/org/model/resolve/main/config.json", method: :head)
    assert_equal "200", head.code
    assert_equal content.bytesize.to_s, head["content-length"]
  end

  def test_metadata_lfs_file_redirects_to_cdn
    res = http("/org/model/resolve/main/model.safetensors", "Range" => "bytes=0-0")
    sha256 = Digest::SHA256.hexdigest(@weights)
    assert_equal "302", res.code
    assert_equal %("#{sha256}"), res["x-linked-etag"]
    assert_equal %("#{sha256}"), res["etag"]
    assert_equal @weights.bytesize.to_s, res["x-linked-size"]
    assert_equal @sha, res["x-repo-commit"]
    assert_equal "0", res["content-length"]
    assert_match %r{\Ahttp://127\.0\.0\.1:#{@server.port}/cdn/org/model/#{sha256}\?file=model\.safetensors\z},
                 res["location"]

    meta = http(res["location"], "Range" => "bytes=0-0")
    assert_equal "206", meta.code
    assert_equal "bytes 0-0/#{@weights.bytesize}", meta["content-range"]
  end

  def test_lfs_threshold_by_size
    big = "x" * 2048
    CandleTest::HubServer.open(lfs_threshold: 1024) do |s|
      s.add_repo("a/b", files: { "big.txt" => big, "small.txt" => "x" })
      assert_equal "302", http("/a/b/resolve/main/big.txt", server: s).code
      assert_equal "200", http("/a/b/resolve/main/small.txt", server: s).code
    end
  end

  def test_cdn_body_and_resume
    loc = cdn_location("org/model", "model.safetensors")
    full = http(loc)
    assert_equal "200", full.code
    assert_equal @weights, full.body.b

    part = http(loc, "Range" => "bytes=1000-")
    assert_equal "206", part.code
    assert_equal "bytes 1000-#{@weights.bytesize - 1}/#{@weights.bytesize}", part["content-range"]
    assert_equal (@weights.bytesize - 1000).to_s, part["content-length"]
    assert_equal @weights.byteslice(1000..), part.body.b

    mid = http(loc, "Range" => "bytes=10-19")
    assert_equal @weights.byteslice(10, 10), mid.body.b

    bad = http(loc, "Range" => "bytes=#{@weights.bytesize}-")
    assert_equal "416", bad.code
    assert_equal "bytes */#{@weights.bytesize}", bad["content-range"]
  end

  def test_file_on_disk_is_streamed
    loc = nil
    CandleTest::HubServer.open do |s|
      s.add_repo("big/one", files: { "w.safetensors" => self.class.big_file })
      loc = cdn_location("big/one", "w.safetensors", server: s)
      res = http(loc, { "Range" => "bytes=#{BIG_SIZE - 100}-" }, server: s)
      assert_equal "206", res.code
      assert_equal File.binread(self.class.big_file, 100, BIG_SIZE - 100), res.body.b
    end
  end

  # ------------------------------------------------------------ api

  def test_api_revision_json
    %w[/api/models/org/model/revision/main /api/models/org/model].each do |path|
      res = http(path)
      assert_equal "200", res.code
      info = JSON.parse(res.body)
      assert_equal "org/model", info["id"]
      assert_equal "org/model", info["modelId"]
      assert_equal @sha, info["sha"]
      assert_equal false, info["private"]
      assert_equal ["1_Pooling/config.json", "config.json", "model.safetensors"],
                   info["siblings"].map { |s| s["rfilename"] }.sort
    end
    assert_equal @sha, JSON.parse(http("/api/models/org/model/revision/v1.0").body)["sha"]
  end

  def test_datasets
    sha = @server.add_repo("org/data", files: { "train.csv" => "a,b\n1,2\n" }, repo_type: :dataset)
    res = http("/datasets/org/data/resolve/main/train.csv")
    assert_equal "200", res.code
    assert_equal sha, res["x-repo-commit"]
    assert_equal sha, JSON.parse(http("/api/datasets/org/data/revision/main").body)["sha"]
    assert_equal "404", http("/org/data/resolve/main/train.csv").code
  end

  # ------------------------------------------------------------ errors

  def test_not_found_codes
    res = http("/nobody/nothing/resolve/main/config.json")
    assert_equal "404", res.code
    assert_equal "RepositoryNotFound", res["x-error-code"]
    assert JSON.parse(res.body)["error"]

    res = http("/org/model/resolve/nope/config.json")
    assert_equal "404", res.code
    assert_equal "RevisionNotFound", res["x-error-code"]

    res = http("/org/model/resolve/main/missing.json", "Range" => "bytes=0-0")
    assert_equal "404", res.code
    assert_equal "EntryNotFound", res["x-error-code"]
    assert_equal @sha, res["x-repo-commit"]
    assert res["x-error-message"]

    assert_equal "RepositoryNotFound", http("/api/models/nobody/nothing")["x-error-code"]
    assert_equal "RevisionNotFound", http("/api/models/org/model/revision/nope")["x-error-code"]
  end

  def test_private_repo
    token = "hf_secret_token_123"
    @server.add_repo("org/private", files: { "config.json" => "{}" }, private: true, token: token)
    path = "/org/private/resolve/main/config.json"

    none = http(path)
    assert_equal "401", none.code
    assert_equal "Invalid username or password.", none["x-error-message"]
    refute_includes none.body, token

    wrong = http(path, "Authorization" => "Bearer hf_wrong")
    assert_equal "401", wrong.code
    refute_includes wrong.body, "hf_wrong"

    assert_equal "401", http("/api/models/org/private").code

    ok = http(path, "Authorization" => "Bearer #{token}")
    assert_equal "200", ok.code
    assert_equal "{}", ok.body
    assert_equal "200", http("/api/models/org/private", "Authorization" => "Bearer #{token}").code
    assert_equal "Bearer #{token}", @server.requests.last[:authorization]
  end

  # ------------------------------------------------------------ revisions

  def test_branch_tag_and_commit_resolve
    dev = @server.add_repo("org/model", revision: "dev", files: { "config.json" => %({"dev": true}) })
    refute_equal @sha, dev
    assert_equal %({"dev": true}), http("/org/model/resolve/dev/config.json").body
    assert_equal dev, http("/org/model/resolve/dev/config.json")["x-repo-commit"]

    [["main", @sha], ["v1.0", @sha], [@sha, @sha], [dev, dev]].each do |rev, want|
      res = http("/org/model/resolve/#{rev}/config.json")
      assert_equal "200", res.code, rev
      assert_equal want, res["x-repo-commit"], rev
    end
    # the main commit still has its own file list
    assert_equal "404", http("/org/model/resolve/#{dev}/model.safetensors").code
    assert_equal "302", http("/org/model/resolve/#{@sha}/model.safetensors").code
  end

  def test_encoded_revision_with_slash
    pr = @server.add_revision("org/model", revision: "refs/pr/1", files: { "config.json" => "pr" })
    fx = @server.add_repo("org/model", revision: "feature/x", files: { "config.json" => "fx" })
    res = http("/org/model/resolve/refs%2Fpr%2F1/config.json")
    assert_equal "200", res.code
    assert_equal pr, res["x-repo-commit"]
    assert_equal "pr", res.body
    assert_equal "fx", http("/org/model/resolve/feature%2Fx/config.json").body
    assert_equal fx, JSON.parse(http("/api/models/org/model/revision/feature%2Fx").body)["sha"]
    # nested file path after an encoded revision
    @server.add_repo("org/model", revision: "refs/pr/2", files: { "a/b.json" => "ab" })
    assert_equal "ab", http("/org/model/resolve/refs%2Fpr%2F2/a/b.json").body
  end

  def test_commit_shas_are_stable_across_instances
    files = { "config.json" => "{}", "model.safetensors" => "weights" }
    a = CandleTest::HubServer.open { |s| s.add_repo("x/y", files: files) }
    b = CandleTest::HubServer.open { |s| s.add_repo("x/y", files: files.to_a.reverse.to_h) }
    assert_match(/\A\h{40}\z/, a)
    assert_equal a, b
    c = CandleTest::HubServer.open { |s| s.add_repo("x/y", files: files.merge("config.json" => "{ }")) }
    refute_equal a, c

    make_tree(@tmp)
    shas = 2.times.map do
      CandleTest::HubServer.open(root: @tmp) do |s|
        http("/org/tree/resolve/main/config.json", server: s)["x-repo-commit"]
      end
    end
    assert_equal 1, shas.uniq.size
    assert_match(/\A\h{40}\z/, shas.first)
  end

  # ------------------------------------------------------------ directory repos

  def test_directory_tree_repos
    make_tree(@tmp)
    CandleTest::HubServer.open(root: @tmp) do |s|
      nested = http("/org/tree/resolve/main/1_Pooling/config.json", server: s)
      assert_equal "200", nested.code
      assert_equal %({"pooling": "mean"}), nested.body

      info = JSON.parse(http("/api/models/org/tree", server: s).body)
      assert_equal ["1_Pooling/config.json", "config.json"], info["siblings"].map { |x| x["rfilename"] }.sort
      assert_equal nested["x-repo-commit"], info["sha"]

      vocab = http("/bert-base-uncased/resolve/main/vocab.txt", server: s)
      assert_equal "[PAD]\n[UNK]\n", vocab.body
      res = http("/bert-base-uncased/resolve/main/model.safetensors", { "Range" => "bytes=0-0" }, server: s)
      assert_equal "302", res.code
      assert_equal %("#{Digest::SHA256.hexdigest("W" * 5000)}"), res["x-linked-etag"]
      assert_equal "W" * 5000, http(res["location"], server: s).body
      assert_equal "404", http("/bert-base-uncased/resolve/main/.hub-repo", server: s).code
    end
  end

  # ------------------------------------------------------------ faults

  def test_fault_status_429_then_ok
    f = @server.fault("config.json", :status, status: 429, times: 2, retry_after: 1)
    path = "/org/model/resolve/main/config.json"
    2.times do
      res = http(path, "Range" => "bytes=0-0")
      assert_equal "429", res.code
      assert_equal "1", res["retry-after"]
    end
    assert_equal "206", http(path, "Range" => "bytes=0-0").code
    assert_equal 2, f.hits
    assert_equal 3, @server.request_count("/resolve/main/config.json")

    @server.fault("config.json", :status, status: 500, times: 1, phase: :body)
    assert_equal "206", http(path, "Range" => "bytes=0-0").code # metadata phase: not affected
    assert_equal "500", http(path).code
    assert_equal "200", http(path).code
  end

  def test_fault_scoped_to_repo
    @server.add_repo("other/model", files: { "config.json" => "{}" })
    @server.fault("config.json", :status, status: 503, repo: "other/model")
    assert_equal "200", http("/org/model/resolve/main/config.json").code
    assert_equal "503", http("/other/model/resolve/main/config.json").code
    @server.clear_faults
    assert_equal "200", http("/other/model/resolve/main/config.json").code
  end

  def test_fault_drop_gives_short_read
    @server.fault("model.safetensors", :drop, after_bytes: 1000)
    loc = cdn_location("org/model", "model.safetensors")
    status, headers, body = raw(loc)
    assert_equal 200, status
    assert_equal @weights.bytesize.to_s, headers["content-length"]
    assert_equal 1000, body.bytesize
    assert_equal @weights.byteslice(0, 1000), body
    # times: 1 by default -> the next request is whole
    assert_equal @weights, http(loc).body.b
  end

  def test_fault_corrupt_flips_one_byte
    @server.fault("model.safetensors", :corrupt, offset: 12_345)
    loc = cdn_location("org/model", "model.safetensors")
    body = http(loc).body.b
    assert_equal @weights.bytesize, body.bytesize
    diff = (0...body.bytesize).select { |i| body.getbyte(i) != @weights.getbyte(i) }
    assert_equal [12_345], diff
    # ranged request covering the offset is corrupted too; one not covering it is clean
    part = http(loc, "Range" => "bytes=12000-").body.b
    refute_equal @weights.byteslice(12_000..), part
    assert_equal @weights.byteslice(20_000..), http(loc, "Range" => "bytes=20000-").body.b
    # works on files on disk as well as in memory
    @server.add_repo("big/one", files: { "w.safetensors" => self.class.big_file })
    @server.fault("w.safetensors", :corrupt, offset: BIG_SIZE - 1)
    tail = http(cdn_location("big/one", "w.safetensors"), "Range" => "bytes=#{BIG_SIZE - 2}-").body.b
    orig = File.binread(self.class.big_file, 2, BIG_SIZE - 2)
    assert_equal orig.getbyte(0), tail.getbyte(0)
    assert_equal orig.getbyte(1) ^ 0xFF, tail.getbyte(1)
  end

  def test_fault_wrong_length
    @server.fault("config.json", :wrong_length, times: 1)
    content = %({"hidden_size": 8})
    status, headers, body = raw("/org/model/resolve/main/config.json")
    assert_equal 200, status
    assert_equal content.bytesize.to_s, headers["content-length"]
    assert_equal content.byteslice(0, content.bytesize - 1), body
    assert_equal content, http("/org/model/resolve/main/config.json").body
  end

  def test_fault_slow_throttles
    @server.fault("model.safetensors", :slow, bytes_per_sec: 40_000)
    loc = cdn_location("org/model", "model.safetensors")
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    body = http(loc, "Range" => "bytes=0-19999").body.b
    elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
    assert_equal @weights.byteslice(0, 20_000), body
    assert_operator elapsed, :>=, 0.4
    assert_operator elapsed, :<, 3
  end

  # ------------------------------------------------------------ keep-alive

  # Writes raw HTTP/1.1 requests on one socket; returns [status, headers, body] of
  # the response (its body read by Content-Length).
  def read_response(sock)
    status = sock.gets("\r\n").to_s.split(" ")[1].to_i
    headers = {}
    while (l = sock.gets("\r\n")) && l != "\r\n"
      k, v = l.chomp.split(": ", 2)
      headers[k.downcase] = v
    end
    [status, headers, sock.read(headers["content-length"].to_i).to_s]
  end

  # Everything the server sends until it closes the socket; fails (instead of
  # hanging) when it keeps the socket open for `timeout` seconds.
  def read_to_eof(sock, timeout = 5)
    out = +""
    loop do
      flunk "the server kept the connection open (#{timeout} s)" unless sock.wait_readable(timeout)
      out << sock.readpartial(CandleTest::HubServer::CHUNK)
    end
  rescue EOFError, Errno::ECONNRESET
    out
  end

  def get_on(sock, path, headers = {})
    sock.write("GET #{path} HTTP/1.1\r\nHost: x\r\n#{headers.map { |k, v| "#{k}: #{v}\r\n" }.join}\r\n")
    read_response(sock)
  end

  def test_keep_alive_serves_many_requests_on_one_connection
    @server.clear_requests
    content = %({"hidden_size": 8})
    Net::HTTP.start(@server.host, @server.port, read_timeout: 10) do |h|
      3.times { assert_equal content, h.get("/org/model/resolve/main/config.json").body }
      assert_equal "302", h.request(Net::HTTP::Get.new("/org/model/resolve/main/model.safetensors", "Range" => "bytes=0-0")).code
      assert_equal "404", h.get("/org/model/resolve/main/nope.json").code
      assert_equal "200", h.head("/org/model/resolve/main/config.json").code
      assert_equal content, h.get("/org/model/resolve/main/config.json").body
    end
    assert_equal 7, @server.request_count
    assert_equal 1, @server.connection_count
    assert_equal 1, @server.requests.map { |r| r[:connection] }.uniq.size
    # HTTP/1.0 or Connection: close in the request: the server closes after the response
    [["HTTP/1.1", "Connection: close\r\n"], ["HTTP/1.0", ""]].each do |version, extra|
      s = TCPSocket.new(@server.host, @server.port)
      s.write("GET /org/model/resolve/main/config.json #{version}\r\nHost: x\r\n#{extra}\r\n")
      _, headers, body = read_response(s)
      assert_equal "close", headers["connection"]
      assert_equal content, body
      assert_equal "", read_to_eof(s), "the server must close the socket (#{version} #{extra.strip})"
      s.close
    end
    assert_equal 3, @server.connection_count
    @server.clear_requests
    assert_equal 0, @server.connection_count
  end

  def test_body_faults_close_the_connection_and_keep_alive_false_closes_every_one
    loc = URI(cdn_location("org/model", "model.safetensors"))
    s = TCPSocket.new(loc.host, loc.port)
    status, headers, body = get_on(s, loc.request_uri, "Range" => "bytes=0-99")
    assert_equal [206, @weights.byteslice(0, 100)], [status, body]
    assert_nil headers["connection"]
    %i[corrupt slow wrong_length drop].each do |type|
      opts = { corrupt: { offset: 10 }, slow: { bytes_per_sec: 1_000_000 }, wrong_length: {}, drop: { after_bytes: 10 } }[type]
      @server.fault("model.safetensors", type, times: 1, **opts)
      s ||= TCPSocket.new(loc.host, loc.port)
      s.write("GET #{loc.request_uri} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n\r\n")
      head = s.gets("\r\n\r\n")
      assert_match(/^Connection: close\r$/, head, type.to_s)
      rest = read_to_eof(s)
      assert_operator rest.bytesize, :<=, 100, type.to_s
      s.close
      s = nil
    end
    # a status fault's answer is whole: the connection stays
    @server.fault("config.json", :status, status: 503, times: 1)
    s = TCPSocket.new(@server.host, @server.port)
    assert_equal 503, get_on(s, "/org/model/resolve/main/config.json").first
    assert_equal 200, get_on(s, "/org/model/resolve/main/config.json").first
    s.close

    CandleTest::HubServer.open(keep_alive: false) do |srv|
      srv.add_repo("org/x", files: { "a.json" => "{}" })
      refute srv.keep_alive?
      Net::HTTP.start(srv.host, srv.port, read_timeout: 10) do |h|
        3.times do
          res = h.get("/org/x/resolve/main/a.json")
          assert_equal ["{}", "close"], [res.body, res["connection"]]
        end
      end
      assert_equal 3, srv.request_count
      assert_equal 3, srv.connection_count # Net::HTTP reconnects after each close
    end
  end

  def test_stop_closes_idle_kept_alive_connections_promptly
    socks = 3.times.map do
      s = TCPSocket.new(@server.host, @server.port)
      assert_equal 200, get_on(s, "/org/model/resolve/main/config.json").first
      s
    end
    assert_equal 3, @server.connection_count
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    @server.stop
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0, :<, 1
    socks.each do |s|
      assert_equal "", read_to_eof(s, 1), "an idle connection must be closed by stop"
      s.close
    end
  end

  # ------------------------------------------------------------ request log

  def test_request_log
    @server.clear_requests
    http("/org/model/resolve/main/config.json", "Range" => "bytes=0-0", "Authorization" => "Bearer hf_abc")
    http("/api/models/org/model/revision/main")
    http("/org/model/resolve/main/model.safetensors", method: :head)
    log = @server.requests
    assert log.frozen?
    assert_equal 3, log.size
    first = log.first
    assert first.frozen?
    assert_equal "GET", first[:method]
    assert_equal "/org/model/resolve/main/config.json", first[:path]
    assert_equal "bytes=0-0", first[:range]
    assert_equal "Bearer hf_abc", first[:authorization]
    assert_kind_of Time, first[:time]
    assert_nil log[1][:range]
    assert_nil log[1][:authorization]
    assert_equal "HEAD", log[2][:method]

    assert_equal 3, @server.request_count
    assert_equal 2, @server.request_count("/resolve/")
    assert_equal 1, @server.request_count(%r{\A/api/})
    assert_equal 1, @server.request_count(method: :head)
    @server.clear_requests
    assert_equal 0, @server.request_count
  end

  # ------------------------------------------------------------ concurrency

  def test_concurrent_downloads_of_a_big_file
    @server.add_repo("big/one", files: { "w.safetensors" => self.class.big_file })
    want = Digest::SHA256.file(self.class.big_file).hexdigest
    loc = cdn_location("big/one", "w.safetensors")
    results = 8.times.map do
      Thread.new do
        uri = URI(loc)
        Net::HTTP.start(uri.host, uri.port, read_timeout: 30) do |h|
          d = Digest::SHA256.new
          n = 0
          h.request(Net::HTTP::Get.new(uri.request_uri, "Accept-Encoding" => "identity")) do |res|
            res.read_body { |chunk| d << chunk; n += chunk.bytesize }
          end
          [n, d.hexdigest]
        end
      end
    end.map(&:value)
    assert_equal [[BIG_SIZE, want]] * 8, results
  end

  def test_script_prints_endpoint_and_exits_on_stdin_eof
    make_tree(@tmp)
    script = File.expand_path("../script/hub_server.rb", __dir__)
    IO.popen([RbConfig.ruby, script, "--root", @tmp, "--lfs-threshold", "100"], "r+") do |io|
      line = io.gets
      assert_match(%r{\AHF_ENDPOINT=http://127\.0\.0\.1:\d+\n\z}, line)
      endpoint = line.chomp.split("=", 2).last
      res = http("#{endpoint}/org/tree/resolve/main/config.json")
      assert_equal %({"a": 1}), res.body
      io.close_write
      assert_nil io.gets # exits (closing stdout) once stdin is at EOF
    end
    assert $?.success?
  end

  def test_stop_closes_and_open_yields
    port = nil
    CandleTest::HubServer.open do |s|
      port = s.port
      assert_equal "http://127.0.0.1:#{port}", s.url
      assert s.running?
    end
    assert_raises(Errno::ECONNREFUSED) { TCPSocket.new("127.0.0.1", port) }
  end
end
