# frozen_string_literal: true

# A local, HuggingFace-Hub-compatible HTTP server for the test suite.
#
# Plain TCPServer, one thread per connection. HTTP/1.1 persistent connections
# (keep-alive): after a complete response (always sized by Content-Length) the
# thread reads the next request on the same socket, until the client closes it
# or asks for `Connection: close`. A response a body fault breaks (drop, corrupt,
# wrong_length, slow), an HTTP/1.0 request, or a server made with
# `keep_alive: false` says `Connection: close` and closes the socket, as every
# response did before. #connection_count counts accepted TCP connections.
# Big files are streamed with IO.copy_stream (sendfile). Faults (status codes,
# dropped connections, corrupted / short / slow bodies) are injected at the
# socket level.
#
#   server = CandleTest::HubServer.new(root: "test/fixtures/hub").start
#   ENV["HF_ENDPOINT"] = server.url
#   server.add_repo("org/name", files: { "config.json" => "{}" })
#   server.fault("model.safetensors", :status, status: 429, times: 2, retry_after: 1)
#   server.stop
require "socket"
require "digest"
require "json"
require "pathname"

module CandleTest
  class HubServer
    LFS_EXTENSIONS = %w[.safetensors .gguf .bin .onnx .pt .h5 .msgpack].freeze
    REPO_TYPES = { model: "models", dataset: "datasets", space: "spaces" }.freeze
    STATUS_FAULTS = %i[status].freeze
    BODY_FAULTS = %i[drop corrupt wrong_length slow].freeze
    CHUNK = 64 * 1024
    LAST_MODIFIED = "2024-01-01T00:00:00.000Z"

    REASONS = {
      200 => "OK", 206 => "Partial Content", 302 => "Found", 304 => "Not Modified",
      400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 404 => "Not Found",
      405 => "Method Not Allowed", 408 => "Request Timeout", 416 => "Range Not Satisfiable",
      429 => "Too Many Requests", 500 => "Internal Server Error", 502 => "Bad Gateway",
      503 => "Service Unavailable", 504 => "Gateway Timeout"
    }.freeze

    # One file at one commit. `content` (String) or `file` (absolute path) holds the bytes.
    Entry = Struct.new(:path, :size, :sha256, :blob_sha1, :content, :file, :lfs, keyword_init: true) do
      def lfs? = lfs
      def etag = lfs ? sha256 : blob_sha1
    end

    Repo = Struct.new(:type, :id, :private, :token, :branches, :tags, :commits, :blobs, keyword_init: true)

    # An injected fault; `hits` counts how many requests it has been applied to.
    class Fault
      attr_reader :file, :type, :repo, :phase, :opts, :hits, :remaining

      def initialize(file, type, repo:, phase:, times:, opts:)
        @file = file
        @type = type
        @repo = repo
        @phase = phase
        @remaining = times
        @opts = opts
        @hits = 0
      end

      def active? = @remaining.nil? || @remaining.positive?

      def matches?(repo_id, paths, phase)
        return false unless active?
        return false if @repo && @repo != repo_id
        return false unless @phase == :any || @phase == phase
        return true if @file == "*"
        paths.any? { |p| @file.is_a?(Regexp) ? @file.match?(p) : @file == p }
      end

      def consume!
        @hits += 1
        @remaining -= 1 if @remaining
      end
    end

    # keep_alive: whether the connection stays open after this request's response
    # (cleared by a response that must close it); connection: the connection's id.
    Request = Struct.new(:method, :target, :path, :query, :headers, :phase, :keep_alive, :connection,
                         keyword_init: true) do
      def head? = method == "HEAD"
      def range = headers["range"]
    end

    # sha256 of files on disk, shared by all servers of the process: [path, size, mtime] => sha256
    @hash_cache = {}
    @hash_mutex = Mutex.new
    class << self
      def open(**opts)
        server = new(**opts).start
        return server unless block_given?

        begin
          yield server
        ensure
          server.stop
        end
      end

      def file_sha256(path)
        st = File.stat(path)
        key = [File.expand_path(path), st.size, st.mtime.to_r]
        cached = @hash_mutex.synchronize { @hash_cache[key] }
        return cached if cached

        sha = Digest::SHA256.file(path).hexdigest
        @hash_mutex.synchronize { @hash_cache[key] = sha }
      end
    end

    attr_reader :root, :lfs_threshold, :host

    # The host name LFS redirects point to (default: the server's own host).
    # The real Hub redirects LFS files to a CDN on another host, and clients
    # (Python's huggingface_hub) follow a HEAD's redirect only within one host:
    # cdn_host: "localhost" on a 127.0.0.1 server gives the same socket a second name.
    attr_accessor :cdn_host

    # keep_alive: false answers every request with `Connection: close` and closes
    # the socket (one request per TCP connection).
    def initialize(root: nil, lfs_threshold: 1024 * 1024, host: "127.0.0.1", port: 0, log: nil, cdn_host: nil,
                   keep_alive: true)
      @root = root && File.expand_path(root.to_s)
      @keep_alive = keep_alive
      @lfs_threshold = lfs_threshold
      @host = host
      @cdn_host = cdn_host
      @want_port = port
      @log_io = log
      @repos = {}     # [type, id] => Repo
      @pending = {}   # [type, id] => [dir, meta]  (directory repos not yet loaded)
      @mutex = Mutex.new
      @load_mutex = Mutex.new
      @log_mutex = Mutex.new
      @fault_mutex = Mutex.new
      @requests = []
      @connection_count = 0 # accepted since start / the last clear_requests
      @connection_seq = 0   # ids of connections, never reset
      @faults = []
      @clients = {}
      @clients_mutex = Mutex.new
      @server = nil
    end

    # ---------------------------------------------------------------- lifecycle

    def start
      raise "already started" if @server

      scan_root
      @server = TCPServer.new(@host, @want_port)
      @server.listen(1024)
      @port = @server.addr[1]
      @accept_thread = Thread.new { accept_loop }
      @accept_thread.report_on_exception = false
      self
    end

    def stop
      server = @server
      return self unless server

      @server = nil
      begin
        server.close
      rescue IOError, SystemCallError
        nil
      end
      @accept_thread&.join(2)
      clients = @clients_mutex.synchronize { @clients.dup }
      clients.each_key do |sock|
        sock.close
      rescue IOError, SystemCallError
        nil
      end
      clients.each_value { |t| t.join(2) }
      self
    end

    def running? = !@server.nil?

    def port
      @port or raise "server not started"
    end

    def url = "http://#{@host}:#{port}"
    alias endpoint url

    # Where LFS redirects point: the CDN host name (see #cdn_host), same socket.
    def cdn_url = "http://#{@cdn_host || @host}:#{port}"

    # ---------------------------------------------------------------- repos

    # Adds (or replaces) branch `revision` of a repo with exactly `files`; returns the commit sha.
    # files: { "path" => String content | Pathname (file on disk, streamed) }
    def add_repo(repo_id, files: {}, revision: "main", tags: [], private: nil, token: nil, repo_type: :model)
      type = normalize_type(repo_type)
      entries = files.map { |path, src| build_entry(path.to_s, src) }
      ensure_loaded(type, repo_id)
      @mutex.synchronize do
        repo = @repos[[type, repo_id]] ||= new_repo(type, repo_id)
        repo.private = private unless private.nil?
        repo.token = token if token
        commit_unlocked(repo, revision.to_s, entries, Array(tags))
      end
    end

    def add_revision(repo_id, revision:, files: {}, **opts)
      add_repo(repo_id, files: files, revision: revision, **opts)
    end

    # New commit on `revision` = its current files, plus `files`, minus `delete`. Returns the sha.
    def update_repo(repo_id, revision: "main", files: {}, delete: [], repo_type: :model)
      type = normalize_type(repo_type)
      new_entries = files.map { |path, src| build_entry(path.to_s, src) }
      ensure_loaded(type, repo_id)
      @mutex.synchronize do
        repo = @repos[[type, repo_id]] or raise ArgumentError, "unknown repo #{repo_id}"
        sha = repo.branches[revision.to_s] or raise ArgumentError, "unknown revision #{revision}"
        current = repo.commits[sha].dup
        Array(delete).each { |p| current.delete(p.to_s) }
        new_entries.each { |e| current[e.path] = e }
        commit_unlocked(repo, revision.to_s, current.values, [])
      end
    end

    # Commit sha of a branch / tag / commit of a repo (loads directory repos), or nil.
    def commit_for(repo_id, revision = "main", repo_type: :model)
      repo = find_repo(normalize_type(repo_type), repo_id)
      repo && @mutex.synchronize { resolve_rev_unlocked(repo, revision.to_s) }
    end

    def repo_ids
      @mutex.synchronize { (@repos.keys + @pending.keys).uniq.map { |t, id| t == :model ? id : "#{REPO_TYPES[t]}/#{id}" }.sort }
    end

    # ---------------------------------------------------------------- request log

    def requests
      @log_mutex.synchronize { @requests.dup }.freeze
    end

    # Clears the request log and resets #connection_count.
    def clear_requests
      @log_mutex.synchronize do
        @requests.clear
        @connection_count = 0
      end
      self
    end

    # TCP connections accepted since start (or the last #clear_requests). With
    # keep-alive a client that reuses its connections makes fewer connections
    # than requests; each request log entry names its connection (:connection).
    def connection_count
      @log_mutex.synchronize { @connection_count }
    end

    def keep_alive? = @keep_alive

    def request_count(match = nil, method: nil)
      requests.count do |r|
        next false if method && r[:method] != method.to_s.upcase
        case match
        when nil then true
        when Regexp then match.match?(r[:path])
        else r[:path].include?(match.to_s)
        end
      end
    end

    # ---------------------------------------------------------------- faults

    # file: repo file path (String, Regexp, or "*" for every request incl. api)
    def fault(file, type, repo: nil, phase: nil, times: :default, **opts)
      type = type.to_sym
      raise ArgumentError, "unknown fault type #{type}" unless STATUS_FAULTS.include?(type) || BODY_FAULTS.include?(type)

      phase ||= STATUS_FAULTS.include?(type) ? :any : :body
      raise ArgumentError, "phase must be :metadata, :body or :any" unless %i[metadata body any].include?(phase)

      times = (type == :drop ? 1 : nil) if times == :default
      case type
      when :status then opts[:status] or raise ArgumentError, ":status fault needs status:"
      when :drop then opts[:after_bytes] ||= 0
      when :corrupt then opts[:offset] or raise ArgumentError, ":corrupt fault needs offset:"
      when :slow then opts[:bytes_per_sec] or raise ArgumentError, ":slow fault needs bytes_per_sec:"
      end
      f = Fault.new(file, type, repo: repo, phase: phase, times: times, opts: opts)
      @fault_mutex.synchronize { @faults << f }
      f
    end

    def clear_faults
      @fault_mutex.synchronize { @faults.clear }
      self
    end

    def faults
      @fault_mutex.synchronize { @faults.dup }
    end

    private

    # ---------------------------------------------------------------- repo internals

    def normalize_type(t)
      t = t.to_s.downcase.sub(/s\z/, "").to_sym
      raise ArgumentError, "unknown repo type #{t}" unless REPO_TYPES.key?(t)

      t
    end

    def new_repo(type, id)
      Repo.new(type: type, id: id, private: false, token: nil, branches: {}, tags: {}, commits: {}, blobs: {})
    end

    def lfs_file?(path, size)
      size >= @lfs_threshold || LFS_EXTENSIONS.include?(File.extname(path).downcase)
    end

    def build_entry(path, src, sha256: nil)
      path = path.sub(%r{\A/+}, "")
      raise ArgumentError, "empty file path" if path.empty?

      case src
      when Pathname, File
        file = File.expand_path(src.to_path)
        size = File.size(file)
        sha256 ||= self.class.file_sha256(file)
        lfs = lfs_file?(path, size)
        blob = lfs ? nil : git_blob_sha1_file(file, size)
        Entry.new(path: path.freeze, size: size, sha256: sha256, blob_sha1: blob, content: nil, file: file.freeze, lfs: lfs).freeze
      when String
        content = src.b.freeze
        size = content.bytesize
        lfs = lfs_file?(path, size)
        blob = lfs ? nil : Digest::SHA1.hexdigest("blob #{size}\0" + content)
        Entry.new(path: path.freeze, size: size, sha256: Digest::SHA256.hexdigest(content), blob_sha1: blob,
                  content: content, file: nil, lfs: lfs).freeze
      else
        raise ArgumentError, "file #{path}: expected String content or Pathname, got #{src.class}"
      end
    end

    def git_blob_sha1_file(file, size)
      d = Digest::SHA1.new
      d << "blob #{size}\0"
      File.open(file, "rb") { |f| d << f.read(1 << 20) until f.eof? }
      d.hexdigest
    end

    def commit_sha(repo_id, revision, entries)
      list = entries.map { |e| [e.path, e.sha256] }.sort
      Digest::SHA1.hexdigest(JSON.generate([repo_id, revision, list]))
    end

    def commit_unlocked(repo, revision, entries, tags)
      sha = commit_sha(repo.id, revision, entries)
      files = {}
      entries.sort_by(&:path).each { |e| files[e.path] = e }
      repo.commits[sha] = files.freeze
      entries.each { |e| repo.blobs[e.sha256] ||= e }
      repo.branches[revision] = sha
      tags.each { |t| repo.tags[t.to_s] = sha }
      sha
    end

    def resolve_rev_unlocked(repo, rev)
      repo.branches[rev] || repo.tags[rev] || (rev.match?(/\A\h{40}\z/) && repo.commits.key?(rev.downcase) ? rev.downcase : nil)
    end

    def find_repo(type, id)
      repo = @mutex.synchronize { @repos[[type, id]] }
      return repo if repo

      ensure_loaded(type, id)
      @mutex.synchronize { @repos[[type, id]] }
    end

    # Directory repos: found at start (cheap glob), hashed on first use.
    def scan_root
      return unless @root
      raise ArgumentError, "root #{@root} is not a directory" unless File.directory?(@root)

      Dir.glob("**/.hub-repo", base: @root).sort.each do |rel|
        id = File.dirname(rel)
        next if id == "."

        dir = File.join(@root, id)
        meta = read_meta(File.join(dir, ".hub-repo"))
        type = normalize_type(meta["repo_type"] || meta["type"] || "model")
        @pending[[type, id]] = [dir, meta]
      end
    end

    def read_meta(file)
      text = File.read(file).strip
      return {} if text.empty?

      meta = JSON.parse(text)
      raise ArgumentError, "#{file}: expected a JSON object" unless meta.is_a?(Hash)

      meta
    end

    def ensure_loaded(type, id)
      return unless @mutex.synchronize { @pending.key?([type, id]) }

      @load_mutex.synchronize do
        dir, meta = @mutex.synchronize { @pending[[type, id]] }
        return unless dir

        entries = dir_entries(dir, meta)
        @mutex.synchronize do
          repo = @repos[[type, id]] ||= new_repo(type, id)
          repo.private = meta["private"] ? true : false
          repo.token = meta["token"]
          commit_unlocked(repo, (meta["revision"] || "main").to_s, entries, Array(meta["tags"]))
          @pending.delete([type, id])
        end
      end
    end

    def dir_entries(dir, meta)
      given = meta["files"].is_a?(Hash) ? meta["files"] : {}
      rels = Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).reject do |rel|
        parts = rel.split("/")
        parts.include?(".") || parts.include?("..") || parts.include?(".git") || rel == ".hub-repo"
      end
      files = rels.select { |rel| File.file?(File.join(dir, rel)) }
      # Skip repos nested inside this one.
      nested = files.select { |rel| File.basename(rel) == ".hub-repo" }.map { |rel| "#{File.dirname(rel)}/" }
      files.reject! { |rel| nested.any? { |n| rel.start_with?(n) } }
      files.sort.map do |rel|
        full = File.join(dir, rel)
        info = given[rel].is_a?(Hash) ? given[rel] : {}
        sha = info["sha256"]
        sha = nil if sha && info["size"] && info["size"].to_i != File.size(full)
        build_entry(rel, Pathname(full), sha256: sha)
      end
    end

    # ---------------------------------------------------------------- connections

    def accept_loop
      loop do
        server = @server or break
        sock = server.accept
        id = @log_mutex.synchronize do
          @connection_count += 1
          @connection_seq += 1
        end
        @clients_mutex.synchronize do
          t = Thread.new(sock) { |s| serve_connection(s, id) }
          t.report_on_exception = false
          @clients[sock] = t
        end
      end
    rescue IOError, SystemCallError
      nil
    end

    # Serves requests on one socket until a response closes it (Connection:
    # close, a body fault, an error), the client closes it, or #stop does.
    def serve_connection(sock, id)
      sock.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
      loop do
        req = read_request(sock, id) or break
        log_request(req)
        begin
          dispatch(sock, req)
        rescue IOError, SystemCallError
          raise
        rescue StandardError => e
          warn "HubServer: #{e.class}: #{e.message}\n  #{e.backtrace.first(5).join("\n  ")}"
          req.keep_alive = false # part of a response may be out already
          error_response(sock, req, 500, nil, "Internal Error")
        end
        break unless req.keep_alive && running?
      end
    rescue IOError, SystemCallError
      nil # client went away, or a fault closed the socket
    ensure
      begin
        sock.close unless sock.closed?
      rescue IOError, SystemCallError
        nil
      end
      @clients_mutex.synchronize { @clients.delete(sock) }
    end

    def read_request(sock, id)
      line = sock.gets("\n", 16 * 1024) or return nil
      method, target, version = line.strip.split(" ", 3)
      return nil unless method && target

      headers = {}
      while (l = sock.gets("\n", 16 * 1024))
        l = l.chomp
        break if l.empty?

        k, v = l.split(":", 2)
        headers[k.strip.downcase] = v.to_s.strip if k && headers.size < 200
      end
      len = headers["content-length"].to_i
      sock.read([len, 10 << 20].min) if len.positive?
      path, query = target.split("?", 2)
      range = headers["range"]
      phase = method == "HEAD" || range.to_s.delete(" ") == "bytes=0-0" ? :metadata : :body
      # HTTP/1.1 connections persist unless either side says close; a request
      # body not read whole (or chunked) leaves the stream out of step.
      keep = @keep_alive && version.to_s.upcase == "HTTP/1.1" &&
             !headers["connection"].to_s.downcase.split(",").map(&:strip).include?("close") &&
             len <= (10 << 20) && !headers.key?("transfer-encoding")
      Request.new(method: method.upcase, target: target, path: path, query: query.to_s, headers: headers, phase: phase,
                  keep_alive: keep, connection: id)
    end

    def log_request(req)
      entry = {
        method: req.method.dup.freeze,
        path: req.target.dup.freeze,
        range: req.range&.dup&.freeze,
        authorization: req.headers["authorization"]&.dup&.freeze,
        connection: req.connection,
        time: Time.now
      }.freeze
      @log_mutex.synchronize { @requests << entry }
      @log_io&.puts("#{req.method} #{req.target}#{req.range ? " [#{req.range}]" : ""}")
    rescue IOError
      nil
    end

    # ---------------------------------------------------------------- routing

    def dispatch(sock, req)
      unless %w[GET HEAD].include?(req.method)
        return error_response(sock, req, 405, nil, "Method not allowed")
      end

      segs = req.path.split("/", -1).drop(1)
      segs.pop if segs.last == "" && segs.size > 1
      if segs.first == "api"
        return if status_fault(sock, req, nil, [])

        handle_api(sock, req, segs.drop(1))
      elsif segs.first == "cdn"
        handle_cdn(sock, req, segs.drop(1))
      elsif (i = segs.index("resolve")) && i >= 1
        type = :model
        id_segs = segs[0...i]
        if REPO_TYPES.value?(id_segs.first) && id_segs.size >= 2
          type = REPO_TYPES.key(id_segs.first)
          id_segs = id_segs.drop(1)
        end
        handle_resolve(sock, req, type, id_segs.map { |s| unescape(s) }.join("/"), segs.drop(i + 1))
      else
        return if status_fault(sock, req, nil, [])

        error_response(sock, req, 404, nil, "Not Found")
      end
    end

    def handle_resolve(sock, req, type, repo_id, rest)
      # Candidate file paths, for fault matching before any lookup (rev may hold raw '/').
      candidates = (1...rest.size).map { |k| rest.drop(k).map { |s| unescape(s) }.join("/") }
      return if status_fault(sock, req, repo_id, candidates)

      repo = find_repo(type, repo_id)
      return error_response(sock, req, 404, "RepositoryNotFound", "Repository not found") unless repo
      return if unauthorized(sock, req, repo)
      return error_response(sock, req, 404, "RevisionNotFound", "Invalid rev id: ") if rest.empty?

      commit = nil
      path = nil
      @mutex.synchronize do
        (0...[rest.size - 1, 1].max).each do |k|
          rev = rest[0..k].map { |s| unescape(s) }.join("/")
          next unless (commit = resolve_rev_unlocked(repo, rev))

          path = rest.drop(k + 1).map { |s| unescape(s) }.join("/")
          break
        end
      end
      return error_response(sock, req, 404, "RevisionNotFound", "Invalid rev id: #{unescape(rest[0])}") unless commit

      entry = @mutex.synchronize { repo.commits[commit][path] }
      unless entry
        return error_response(sock, req, 404, "EntryNotFound", "Entry not found",
                              "x-repo-commit" => commit)
      end

      if entry.lfs?
        prefix = type == :model ? "" : "#{REPO_TYPES[type]}/"
        loc = "#{cdn_url}/cdn/#{prefix}#{repo_id.split("/").map { |s| escape(s) }.join("/")}/#{entry.sha256}?file=#{escape(entry.path)}"
        send_response(sock, req, 302, {
                        "Location" => loc,
                        "x-repo-commit" => commit,
                        "x-linked-etag" => %("#{entry.sha256}"),
                        "x-linked-size" => entry.size.to_s,
                        "ETag" => %("#{entry.sha256}"),
                        "Accept-Ranges" => "bytes",
                        "Content-Type" => "text/plain; charset=utf-8"
                      }, "")
      else
        serve_bytes(sock, req, repo.id, entry, {
                      "x-repo-commit" => commit,
                      "ETag" => %("#{entry.blob_sha1}")
                    })
      end
    end

    def handle_cdn(sock, req, segs)
      params = parse_query(req.query)
      sha = segs.last.to_s.downcase
      type = :model
      id_segs = segs[0...-1] || []
      if REPO_TYPES.value?(id_segs.first) && id_segs.size >= 2
        type = REPO_TYPES.key(id_segs.first)
        id_segs = id_segs.drop(1)
      end
      repo_id = id_segs.map { |s| unescape(s) }.join("/")
      file = params["file"]
      return if status_fault(sock, req, repo_id, [file].compact)

      repo = find_repo(type, repo_id)
      entry = repo && @mutex.synchronize { repo.blobs[sha] }
      return error_response(sock, req, 404, nil, "Not Found") unless entry

      file ||= entry.path
      serve_bytes(sock, req, repo_id, entry, { "ETag" => %("#{entry.sha256}") }, fault_path: file)
    end

    def handle_api(sock, req, segs)
      kind = segs.first
      type = REPO_TYPES.key(kind)
      return error_response(sock, req, 404, nil, "Not Found") unless type && segs.size >= 2

      rest = segs.drop(1)
      repo_id = rest.map { |s| unescape(s) }.join("/")
      rev = "main"
      repo = find_repo(type, repo_id)
      unless repo
        i = (1...rest.size).find { |k| rest[k] == "revision" && find_repo(type, rest[0...k].map { |s| unescape(s) }.join("/")) }
        if i
          repo_id = rest[0...i].map { |s| unescape(s) }.join("/")
          repo = find_repo(type, repo_id)
          rev = rest.drop(i + 1).map { |s| unescape(s) }.join("/")
        end
      end
      return error_response(sock, req, 404, "RepositoryNotFound", "Repository not found") unless repo
      return if unauthorized(sock, req, repo)

      commit, files = @mutex.synchronize do
        c = resolve_rev_unlocked(repo, rev)
        [c, c && repo.commits[c]]
      end
      return error_response(sock, req, 404, "RevisionNotFound", "Invalid rev id: #{rev}") unless commit

      blobs = %w[1 true].include?(parse_query(req.query)["blobs"])
      siblings = files.values.map do |e|
        s = { "rfilename" => e.path }
        if blobs
          s["blobId"] = e.lfs? ? Digest::SHA1.hexdigest("blob 134\0#{e.sha256}") : e.blob_sha1
          s["size"] = e.size
          s["lfs"] = { "sha256" => e.sha256, "size" => e.size, "pointerSize" => 134 } if e.lfs?
        end
        s
      end
      info = { "_id" => commit[0, 24], "id" => repo.id }
      info["modelId"] = repo.id if type == :model
      info.merge!("author" => repo.id.include?("/") ? repo.id.split("/").first : nil,
                  "sha" => commit, "lastModified" => LAST_MODIFIED, "private" => repo.private ? true : false,
                  "gated" => false, "disabled" => false, "downloads" => 0, "likes" => 0, "tags" => [],
                  "siblings" => siblings)
      send_response(sock, req, 200, { "Content-Type" => "application/json; charset=utf-8",
                                      "x-repo-commit" => commit }, JSON.generate(info))
    end

    # ---------------------------------------------------------------- helpers

    def unauthorized(sock, req, repo)
      return false unless repo.private

      given = req.headers["authorization"].to_s[/\ABearer\s+(\S+)\s*\z/i, 1]
      ok = given && (repo.token.nil? || secure_equal(given, repo.token.to_s))
      return false if ok

      msg = "Invalid username or password."
      send_response(sock, req, 401, { "Content-Type" => "application/json; charset=utf-8", "x-error-message" => msg },
                    JSON.generate("error" => msg))
      true
    end

    def secure_equal(a, b)
      return false unless a.bytesize == b.bytesize

      a.bytes.zip(b.bytes).reduce(0) { |acc, (x, y)| acc | (x ^ y) }.zero?
    end

    # Answers with a status fault if one matches; returns true when it did.
    def status_fault(sock, req, repo_id, paths)
      f = @fault_mutex.synchronize do
        hit = @faults.find { |x| x.type == :status && x.matches?(repo_id, paths, req.phase) }
        hit&.consume!
        hit
      end
      return false unless f

      status = f.opts[:status].to_i
      msg = f.opts[:message] || REASONS.fetch(status, "Error")
      headers = { "Content-Type" => "application/json; charset=utf-8", "x-error-message" => msg }
      headers["x-error-code"] = f.opts[:error_code] if f.opts[:error_code]
      headers["Retry-After"] = f.opts[:retry_after].to_s if f.opts[:retry_after]
      send_response(sock, req, status, headers, JSON.generate("error" => msg))
      true
    end

    def take_body_faults(repo_id, path, phase, offset, length)
      return [] if length <= 0

      @fault_mutex.synchronize do
        taken = {}
        @faults.each do |f|
          next unless BODY_FAULTS.include?(f.type) && !taken.key?(f.type)
          next unless f.matches?(repo_id, [path], phase)
          next if f.type == :corrupt && !(offset...(offset + length)).cover?(f.opts[:offset].to_i)

          f.consume!
          taken[f.type] = f
        end
        taken.values
      end
    end

    # Range: nil (absent / unparseable / multi-range: whole body), :unsatisfiable, or [first, last]
    def parse_range(header, size)
      return nil unless header

      m = header.strip.match(/\Abytes\s*=\s*(\d*)\s*-\s*(\d*)\s*\z/i) or return nil
      a, b = m[1], m[2]
      return nil if a.empty? && b.empty?

      if a.empty? # suffix: last N bytes
        n = b.to_i
        return :unsatisfiable if n.zero? || size.zero?

        return [[size - n, 0].max, size - 1]
      end
      first = a.to_i
      last = b.empty? ? size - 1 : [b.to_i, size - 1].min
      return nil if !b.empty? && b.to_i < first
      return :unsatisfiable if first >= size

      [first, last]
    end

    def serve_bytes(sock, req, repo_id, entry, headers, fault_path: entry.path)
      size = entry.size
      range = parse_range(req.range, size)
      base = headers.merge("Accept-Ranges" => "bytes", "Content-Type" => "application/octet-stream")
      if range == :unsatisfiable
        return send_response(sock, req, 416, base.merge("Content-Range" => "bytes */#{size}"), "")
      end

      if range
        offset = range[0]
        length = range[1] - range[0] + 1
        status = 206
        base["Content-Range"] = "bytes #{range[0]}-#{range[1]}/#{size}"
      else
        offset = 0
        length = size
        status = 200
      end
      base["Content-Length"] = length.to_s
      if req.head?
        sock.write(response_head(status, base, req))
        return
      end

      faults = take_body_faults(repo_id, fault_path, req.phase, offset, length)
      req.keep_alive = false unless faults.empty? # a broken body closes the connection
      head = response_head(status, base, req)
      if faults.empty?
        if entry.content
          sock.write(head + entry.content.byteslice(offset, length))
        else
          sock.write(head)
          File.open(entry.file, "rb") { |f| IO.copy_stream(f, sock, length, offset) }
        end
      else
        sock.write(head)
        write_faulty_body(sock, entry, offset, length, faults)
      end
    end

    def write_faulty_body(sock, entry, offset, length, faults)
      by_type = faults.to_h { |f| [f.type, f] }
      limit = length
      limit = [limit, by_type[:drop].opts[:after_bytes].to_i].min if by_type[:drop]
      limit = [limit, length - 1].min if by_type[:wrong_length]
      flip = by_type[:corrupt]&.opts&.fetch(:offset)&.to_i
      rate = by_type[:slow]&.opts&.fetch(:bytes_per_sec)&.to_f
      chunk = rate ? [[(rate / 20).to_i, 1].max, CHUNK].min : CHUNK
      src = entry.file && File.open(entry.file, "rb")
      sent = 0
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      while sent < limit
        n = [chunk, limit - sent].min
        pos = offset + sent
        data = src ? src.pread(n, pos) : entry.content.byteslice(pos, n).dup
        if flip && flip >= pos && flip < pos + data.bytesize
          data.setbyte(flip - pos, data.getbyte(flip - pos) ^ 0xFF)
        end
        sock.write(data)
        sent += data.bytesize
        next unless rate

        due = sent / rate - (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0)
        sleep(due) if due.positive?
      end
      # drop / wrong_length: the connection is closed right after (a body fault clears keep_alive).
    ensure
      src&.close
    end

    def error_response(sock, req, status, code, message, extra = {})
      headers = { "Content-Type" => "application/json; charset=utf-8", "x-error-message" => message }
      headers["x-error-code"] = code if code
      send_response(sock, req, status, headers.merge(extra), JSON.generate("error" => message))
    end

    def send_response(sock, req, status, headers, body)
      body = body.b
      head = response_head(status, headers.merge("Content-Length" => body.bytesize.to_s), req)
      sock.write(req.head? ? head : head + body)
    end

    # Says `Connection: close` when the socket closes after this response.
    def response_head(status, headers, req)
      out = +"HTTP/1.1 #{status} #{REASONS.fetch(status, "Status")}\r\n"
      headers.each { |k, v| out << "#{k}: #{v}\r\n" }
      out << "Connection: close\r\n" unless req.keep_alive
      out << "\r\n"
      out.b
    end

    def parse_query(q)
      q.to_s.split("&").each_with_object({}) do |pair, h|
        k, v = pair.split("=", 2)
        h[unescape(k.tr("+", " "))] = unescape(v.to_s.tr("+", " "))
      end
    end

    def unescape(s)
      s.b.gsub(/%(\h\h)/) { Regexp.last_match(1).hex.chr }.force_encoding(Encoding::UTF_8)
    end

    def escape(s)
      s.to_s.b.gsub(/[^A-Za-z0-9\-._~]/) { |c| format("%%%02X", c.ord) }
    end
  end
end
