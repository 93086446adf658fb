# frozen_string_literal: true

require "optparse"
require_relative "cli/format"
require_relative "cli/generate"
require_relative "cli/bench"
require_relative "cli/encode"

module Candle
  # The `candle` command line, modelled on `huggingface-cli`:
  #
  #   candle generate PROMPT [--model ID]   (streams an answer)
  #   candle chat [--model ID]              (interactive, with history)
  #   candle embed TEXT... [--model ID]     (JSON vectors, one per line)
  #   candle rerank QUERY DOC... [--model ID]
  #   candle download REPO [FILE...]   (huggingface-cli download)
  #   candle cache ls | verify | rm | link   (scan-cache / delete-cache)
  #   candle env
  #
  # `Candle::CLI.new(stdout:, stderr:).run(argv)` returns the exit status
  # (0 ok, 1 error, 2 usage error, 130 interrupted) and never calls `exit`,
  # so it can be driven in-process.
  class CLI
    include Generate
    include Bench
    include Encode

    EXIT_OK = 0
    EXIT_ERROR = 1
    EXIT_USAGE = 2
    EXIT_INTERRUPTED = 130

    # Wrong command line: exit 2 and show the usage of `command`.
    class UsageError < StandardError
      attr_reader :command

      def initialize(message, command = nil)
        super(message)
        @command = command
      end
    end

    COMMANDS = {
      "generate" => "Answer a prompt with an LLM (streams to stdout)",
      "chat" => "Chat with an LLM (interactive, keeps the history)",
      "bench" => "Measure an LLM's prompt and generation speed (like llama-bench)",
      "embed" => "Print sentence embeddings as JSON arrays, one per line",
      "rerank" => "Sort documents by relevance to a query with a cross-encoder",
      "download" => "Download files, or a filtered snapshot, into the Hub cache",
      "cache ls" => "List the cached repos (like huggingface-cli scan-cache)",
      "cache verify" => "Re-hash cached blobs; exit 1 if any is corrupt",
      "cache rm" => "Delete a repo, or one revision of it, from the cache",
      "cache link" => "Make DIR a directory of symlinks to a cached snapshot",
      "env" => "Show version, build features and the resolved Hub settings",
      "help" => "Show help for a command"
    }.freeze

    SYNOPSIS = {
      "generate" => "generate PROMPT [options]",
      "chat" => "chat [options]",
      "bench" => "bench MODEL [-p 128,512] [-n 128] [-t THREADS] [-r 3] [--json]",
      "embed" => "embed TEXT... [options]",
      "rerank" => "rerank QUERY DOCUMENT... [options]",
      "download" => "download REPO [FILE...] [options]",
      "cache ls" => "cache ls [options]",
      "cache verify" => "cache verify [REPO] [options]",
      "cache rm" => "cache rm REPO [options]",
      "cache link" => "cache link REPO DIR [options]",
      "env" => "env [options]",
      "help" => "help [COMMAND]"
    }.freeze

    CACHE_ALIASES = { "list" => "ls", "scan" => "ls", "delete" => "rm", "remove" => "rm" }.freeze

    def initialize(stdout: $stdout, stderr: $stderr, stdin: $stdin, env: ENV)
      @out = stdout
      @err = stderr
      @in = stdin
      @env = env
      @secrets = []
    end

    def run(argv)
      argv = Array(argv).map(&:to_s)
      dispatch(argv)
    rescue UsageError, OptionParser::ParseError => e
      usage_error(e.message, (e.command if e.respond_to?(:command)) || @command)
    rescue Interrupt, Candle::Interrupted
      @err.puts
      @err.puts "candle: interrupted"
      EXIT_INTERRUPTED
    rescue Candle::Error => e
      @err.puts "candle: #{e.class.name.delete_prefix("Candle::")}: #{redact(e.message)}"
      EXIT_ERROR
    rescue ArgumentError => e
      usage_error(e.message, @command, show_usage: false)
    rescue SystemCallError, IOError => e
      @err.puts "candle: #{redact(e.message)}"
      EXIT_ERROR
    end

    private

    # ------------------------------------------------------------ dispatch

    def dispatch(argv)
      first = argv.first
      case first
      when nil
        @err.print(main_help)
        EXIT_USAGE
      when "-h", "--help"
        @out.print(main_help)
        EXIT_OK
      when "-v", "--version", "version"
        @out.puts "candle #{Candle::VERSION}"
        EXIT_OK
      when "help"
        help(argv.drop(1))
      when "generate" then generate(argv.drop(1))
      when "chat" then chat(argv.drop(1))
      when "bench" then bench(argv.drop(1))
      when "embed" then embed(argv.drop(1))
      when "rerank" then rerank(argv.drop(1))
      when "download" then download(argv.drop(1))
      when "env" then env(argv.drop(1))
      when "cache" then cache(argv.drop(1))
      when /\A-/ then raise UsageError, "unknown option #{first}"
      else raise UsageError, "unknown command #{first.inspect}"
      end
    end

    def help(args)
      name = args.join(" ")
      name = "cache #{CACHE_ALIASES.fetch(args[1], args[1])}" if args.first == "cache" && args[1]
      if name.empty?
        @out.print(main_help)
      elsif name == "cache"
        @out.print(cache_help)
      elsif COMMANDS.key?(name) && name != "help"
        @out.print(parser_for(name, {}).help)
      else
        raise UsageError, "unknown command #{name.inspect}"
      end
      EXIT_OK
    end

    def cache(args)
      sub = args.first
      case sub
      when nil then raise UsageError.new("missing cache command (ls, verify, rm or link)", "cache")
      when "-h", "--help"
        @out.print(cache_help)
        return EXIT_OK
      end
      sub = CACHE_ALIASES.fetch(sub, sub)
      case sub
      when "ls" then cache_ls(args.drop(1))
      when "verify" then cache_verify(args.drop(1))
      when "rm" then cache_rm(args.drop(1))
      when "link" then cache_link(args.drop(1))
      else raise UsageError.new("unknown cache command #{sub.inspect}", "cache")
      end
    end

    # Parses `args` for `command`; returns [options, positional args] or
    # prints help and returns nil on --help.
    def parse(command, args)
      @command = command
      opts = {}
      parser = parser_for(command, opts)
      rest = parser.parse(args)
      return nil if opts[:help]

      [opts, rest]
    end

    # ------------------------------------------------------------ commands

    def download(args)
      opts, rest = parse("download", args) || (return help_printed("download"))
      raise UsageError, "missing REPO" if rest.empty?

      repo_id, file, rev = Hub.parse_id(rest.shift)
      files = rest
      files.unshift(file) if file
      revision = pick_revision(opts[:revision], rev)
      repo_type = opts[:repo_type] || :model
      conn = connection(opts)
      progress = progress_for(opts)

      if files.empty?
        dir = Hub.snapshot(repo_id, revision: revision, repo_type: repo_type, allow: opts[:include],
                                    ignore: opts[:exclude], max_workers: opts[:max_workers] || 8,
                                    progress: progress, **conn)
        @out.puts dir
      else
        if opts[:include] || opts[:exclude]
          @err.puts "candle: ignoring --include/--exclude since file names were given" unless opts[:quiet]
        end
        files.each do |name|
          @out.puts Hub.download(repo_id, name, revision: revision, repo_type: repo_type, progress: progress, **conn)
        end
      end
      EXIT_OK
    end

    def cache_ls(args)
      opts, rest = parse("cache ls", args) || (return help_printed("cache ls"))
      raise UsageError, "unexpected argument #{rest.first.inspect}" unless rest.empty?

      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      cache = Hub::Cache.scan(cache_dir: opts[:cache_dir])
      repos = cache.repos.sort_by { |r| [r.repo_type.to_s, r.repo_id.downcase] }
      repos = repos.select { |r| r.repo_type.to_s == opts[:repo_type].to_s } if opts[:repo_type]
      now = Time.now
      rows = repos.map do |r|
        [r.repo_id, r.repo_type.to_s, Format.size(r.size), r.nb_files.to_s,
         r.last_modified ? Format.time_ago(r.last_modified, now) : "-", (r.refs || {}).keys.sort.join(", ")]
      end
      @out.print(Format.table(["REPO ID", "TYPE", "SIZE ON DISK", "NB FILES", "LAST MODIFIED", "REFS"], rows,
                              right: [2, 3]))
      @out.puts unless rows.empty?
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      @out.puts format("Done in %.1fs. Scanned %d repo(s) in %s for a total of %s.", elapsed, repos.size, cache.cache_dir,
                       Format.size(repos.sum(&:size)))
      EXIT_OK
    end

    def cache_verify(args)
      opts, rest = parse("cache verify", args) || (return help_printed("cache verify"))
      raise UsageError, "too many arguments" if rest.size > 1

      repo_id = rest.first && Hub.parse_id(rest.first).first
      reports = Hub::Cache.verify(repo_id, cache_dir: opts[:cache_dir])
      if repo_id && reports.empty? && Hub::Cache.scan(cache_dir: opts[:cache_dir]).none? { |r| r.repo_id == repo_id }
        raise Candle::RepositoryNotFoundError, "#{repo_id} is not in the cache #{cache_dir(opts)}"
      end

      corrupt = reports.select(&:corrupt?)
      corrupt.each do |r|
        @out.puts "CORRUPT #{r.repo_id} #{r.blob} (expected #{r.expected}, got #{r.actual})"
      end
      unchecked = reports.count { |r| r.status == :unchecked }
      repos = reports.map(&:repo_id).uniq.size
      summary = format("Verified %d blob(s) in %d repo(s): %d ok, %d corrupt", reports.size, repos,
                       reports.count(&:ok?), corrupt.size)
      summary += ", #{unchecked} unchecked (no hash in the name)" if unchecked.positive?
      @out.puts summary + "."
      if corrupt.any?
        @err.puts "candle: #{corrupt.size} corrupt blob(s); remove the repo with `candle cache rm REPO` and download it again"
        return EXIT_ERROR
      end
      EXIT_OK
    end

    def cache_rm(args)
      opts, rest = parse("cache rm", args) || (return help_printed("cache rm"))
      raise UsageError, "missing REPO" if rest.empty?
      raise UsageError, "too many arguments" if rest.size > 1

      repo_id, file, rev = Hub.parse_id(rest.first)
      raise UsageError, "cache rm removes whole revisions, not single files (#{file})" if file

      revision = pick_revision(opts[:revision], rev, default: nil)
      repo_type = opts[:repo_type] || :model
      what = revision ? "revision #{revision} of #{repo_type} #{repo_id}" : "#{repo_type} #{repo_id}"
      unless opts[:yes]
        raise UsageError, "refusing to delete #{what} without --yes (stdin is not a terminal)" unless @in.respond_to?(:tty?) && @in.tty?

        @err.print "Delete #{what}#{planned_size(repo_id, repo_type, revision, opts)} from #{cache_dir(opts)}? [y/N] "
        answer = @in.gets.to_s.strip.downcase
        unless %w[y yes].include?(answer)
          @err.puts "Nothing deleted."
          return EXIT_OK
        end
      end
      report = Hub::Cache.delete(repo_id, revision: revision, repo_type: repo_type, cache_dir: opts[:cache_dir])
      snaps = report[:removed_snapshots]
      detail = if revision
                 "commit #{snaps.first.to_s[0, 12]}, #{report[:removed_blobs]} blob(s)"
               else
                 "#{snaps.size} revision(s)"
               end
      @out.puts "Deleted #{what} (#{detail}); freed #{Format.size(report[:freed_bytes])}."
      EXIT_OK
    end

    def cache_link(args)
      opts, rest = parse("cache link", args) || (return help_printed("cache link"))
      raise UsageError, "expected REPO and DIR" unless rest.size == 2

      repo_id, file, rev = Hub.parse_id(rest[0])
      raise UsageError, "cache link links whole snapshots, not single files (#{file})" if file

      dir = Hub::Cache.link(repo_id, into: rest[1], revision: pick_revision(opts[:revision], rev),
                                     repo_type: opts[:repo_type] || :model, cache_dir: opts[:cache_dir])
      @out.puts dir
      EXIT_OK
    end

    def env(args)
      opts, rest = parse("env", args) || (return help_printed("env"))
      raise UsageError, "unexpected argument #{rest.first.inspect}" unless rest.empty?

      config = Hub.config(**connection(opts))
      info = Candle.build_info
      features = Array(info[:features])
      flags = %i[cuda metal mkl accelerate].select { |k| info[k] }
      lines = [
        ["candle version", Candle::VERSION],
        ["native version", info[:version]],
        ["build features", features.empty? ? "none" : features.join(", ")],
        ["accelerators", flags.empty? ? "none" : flags.join(", ")],
        ["native target", info[:target]],
        ["debug assertions", info[:debug_assertions] ? "yes" : "no"],
        ["ruby", "#{RUBY_VERSION}p#{RUBY_PATCHLEVEL} (#{RUBY_ENGINE})"],
        ["platform", RUBY_PLATFORM],
        ["cache dir", config.cache_dir],
        ["endpoint", config.endpoint],
        ["offline", config.offline? ? "yes" : "no"],
        ["token", config.token? ? "yes" : "no"],
        ["max retries", config.max_retries]
      ]
      set = %w[HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_HOME XDG_CACHE_HOME HF_ENDPOINT HF_HUB_OFFLINE CANDLE_LOG]
            .select { |k| @env[k] && !@env[k].empty? }
      lines << ["environment", set.empty? ? "(none of the HF_* settings are set)" : set.map { |k| "#{k}=#{@env[k]}" }.join(" ")]
      lines << ["HF_TOKEN", "set (not shown)"] if @env["HF_TOKEN"] && !@env["HF_TOKEN"].empty?
      width = lines.map { |k, _| k.size }.max
      lines.each { |k, v| @out.puts "#{"#{k}:".ljust(width + 1)} #{redact(v.to_s)}" }
      EXIT_OK
    end

    # ------------------------------------------------------------ options

    def parser_for(command, opts)
      OptionParser.new do |o|
        # no built-in --version / --*-completion-* (they would print and exit)
        o.base.long.clear
        o.base.short.clear
        o.banner = "Usage: candle #{SYNOPSIS.fetch(command)}"
        o.separator ""
        o.separator COMMANDS.fetch(command)
        o.separator ""
        describe(command, o)
        o.separator "Options:" unless command == "help"
        send(:"options_#{command.tr(" ", "_")}", o, opts)
        o.on("-h", "--help", "Show this help") do
          @out.print(o.help)
          opts[:help] = true
        end
      end
    end

    def describe(command, o)
      text = case command
             when "download"
               ["REPO is org/name, optionally org/name:FILE@REVISION. With FILEs, downloads each and prints",
                "its path; without, downloads the repo's files (filtered by --include/--exclude) in parallel",
                "and prints the snapshot directory. Cached files are not downloaded again."]
             when "cache ls"
               ["Scans the Hub cache (shared with Python's huggingface_hub) and prints a table."]
             when "cache verify"
               ["Re-hashes every blob (sha256 for LFS files, git sha1 for others) of REPO, or of the whole",
                "cache, prints the corrupt ones and exits 1 if there are any."]
             when "cache rm"
               ["Deletes REPO (or one --revision of it: its snapshot, the refs pointing at it and the blobs no",
                "other revision uses). Asks first on a terminal; --yes skips the question."]
             when "cache link"
               ["Makes DIR a project-local directory of symlinks to the cached snapshot (no copy) and prints",
                "it. The snapshot must be in the cache (see `candle download`)."]
             when "env"
               ["Prints what to paste into a bug report. The token itself is never printed."]
             when "bench"
               ["MODEL is a repo (org/name[:FILE.gguf]) or a local directory. ppN times reading an N-token",
                "prompt, tgN generating N tokens one by one (EOS ignored); mean ± stddev over -r runs,",
                "after a warm-up. --json prints llama-bench's record fields (test, avg_ts, stddev_ts, ...)."]
             end
      return unless text

      text.each { |l| o.separator(l) }
      o.separator ""
    end

    def options_download(o, opts)
      revision_option(o, opts)
      o.on("--include GLOB", "Only files matching GLOB (repeatable), e.g. '*.json'") { |v| (opts[:include] ||= []) << v }
      o.on("--exclude GLOB", "Skip files matching GLOB (repeatable)") { |v| (opts[:exclude] ||= []) << v }
      repo_type_option(o, opts)
      cache_dir_option(o, opts)
      connection_options(o, opts)
      o.on("--local-files-only", "Never use the network; answer from the cache or fail") { opts[:local_files_only] = true }
      o.on("--max-workers N", Integer, "Parallel downloads for a snapshot (default 8)") do |v|
        raise UsageError.new("--max-workers must be a positive integer", "download") unless v.positive?

        opts[:max_workers] = v
      end
      o.on("-q", "--quiet", "No progress bar; print only the paths") { opts[:quiet] = true }
    end

    def options_cache_ls(o, opts)
      repo_type_option(o, opts, "Only repos of this type")
      cache_dir_option(o, opts)
    end

    def options_cache_verify(o, opts)
      cache_dir_option(o, opts)
    end

    def options_cache_rm(o, opts)
      o.on("--revision R", "Delete only this revision (branch, tag or commit)") { |v| opts[:revision] = v }
      repo_type_option(o, opts)
      cache_dir_option(o, opts)
      o.on("-y", "--yes", "Do not ask for confirmation") { opts[:yes] = true }
    end

    def options_cache_link(o, opts)
      revision_option(o, opts)
      repo_type_option(o, opts)
      cache_dir_option(o, opts)
    end

    def options_env(o, opts)
      cache_dir_option(o, opts)
      connection_options(o, opts)
    end

    def options_help(_o, _opts); end

    def revision_option(o, opts)
      o.on("--revision R", "Branch, tag or commit sha (default main)") { |v| opts[:revision] = v }
    end

    def repo_type_option(o, opts, text = "model (default), dataset or space")
      o.on("--repo-type TYPE", %w[model dataset space], text) { |v| opts[:repo_type] = v.to_sym }
    end

    def cache_dir_option(o, opts)
      o.on("--cache-dir DIR", "Hub cache directory (default: HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)") do |v|
        opts[:cache_dir] = v
      end
    end

    def connection_options(o, opts)
      o.on("--endpoint URL", "Hub or mirror URL (default: HF_ENDPOINT, https://huggingface.co)") { |v| opts[:endpoint] = v }
      o.on("--token TOKEN", "HuggingFace access token (default: HF_TOKEN or the token file)") do |v|
        @secrets << v
        opts[:token] = v
      end
    end

    # Where the commands that load a model get it from, and whether they show progress.
    def model_source_options(o, opts, local_only_help = "Never use the network; answer from the cache or fail")
      revision_option(o, opts)
      cache_dir_option(o, opts)
      connection_options(o, opts)
      o.on("--local-files-only", local_only_help) { opts[:local_files_only] = true }
      o.on("-q", "--quiet", "No download progress bar") { opts[:quiet] = true }
    end

    # ------------------------------------------------------------ helpers

    def connection(opts)
      opts.slice(:cache_dir, :endpoint, :token, :local_files_only)
    end

    # A progress bar on stderr, unless -q or CANDLE_PROGRESS=0.
    def progress_for(opts)
      opts[:quiet] || @env["CANDLE_PROGRESS"] == "0" ? false : Hub::ProgressBar.new(@err)
    end

    # from_pretrained's Hub keywords for a model-loading command.
    def load_options(opts)
      { revision: opts[:revision], progress: progress_for(opts), **connection(opts) }
    end

    def cache_dir(opts)
      Hub.config(**opts.slice(:cache_dir)).cache_dir
    end

    def pick_revision(option, from_id, default: "main")
      if option && from_id && option != from_id
        raise UsageError, "two revisions given: --revision #{option} and @#{from_id}"
      end

      option || from_id || default
    end

    def planned_size(repo_id, repo_type, revision, opts)
      repo = Hub::Cache.scan(cache_dir: opts[:cache_dir]).find { |r| r.repo_id == repo_id && r.repo_type == repo_type }
      return "" unless repo

      size = if revision
               rev = repo.revisions.find { |r| r.commit == revision || Array(r.refs).include?(revision) }
               rev&.size
             else
               repo.size
             end
      size ? " (#{Format.size(size)})" : ""
    end

    def help_printed(_command) = EXIT_OK

    def usage_error(message, command, show_usage: true)
      @err.puts "candle: #{redact(message)}"
      if show_usage
        usage = if command == "cache" then cache_help
                elsif command && SYNOPSIS.key?(command) then "Usage: candle #{SYNOPSIS[command]}\n"
                else short_usage
                end
        @err.print(usage)
      end
      @err.puts(command && SYNOPSIS.key?(command) ? "Run `candle #{command} --help` for its options." : "Run `candle help` for the commands.")
      EXIT_USAGE
    end

    # Never let a token reach the terminal, even inside a library message.
    def redact(text)
      secrets = (@secrets + [@env["HF_TOKEN"], @env["HUGGING_FACE_HUB_TOKEN"]]).compact.map(&:strip)
      text = secrets.reject { |s| s.size < 4 }.uniq.reduce(text.to_s) { |t, s| t.gsub(s, "[REDACTED]") }
      text.gsub(%r{(://)[^/@\s]+@}, "\\1[REDACTED]@") # user:password@ in URLs
    end

    def short_usage
      "Usage: candle COMMAND [ARGS] [OPTIONS]  (commands: #{COMMANDS.keys.map { |c| c.split.first }.uniq.join(", ")})\n"
    end

    def main_help
      synopses = SYNOPSIS.transform_values { |v| v.sub(/ \[options\]\z/, "") }
      width = synopses.values.map(&:size).max
      lines = ["Usage: candle COMMAND [ARGS] [OPTIONS]", "",
               "Download and manage HuggingFace Hub models for candle #{Candle::VERSION}.", "", "Commands:"]
      COMMANDS.each { |name, text| lines << "  #{synopses[name].ljust(width)}  #{text}" }
      lines.push("", "Options:", "  -h, --help     Show this help (`candle COMMAND --help` for a command's options)",
                 "  -v, --version  Print the version", "",
                 "Settings: HF_HUB_CACHE / HF_HOME (cache), HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE=1 (see `candle env`).",
                 "Exit status: 0 ok, 1 error, 2 usage error, 130 interrupted.")
      lines.join("\n") + "\n"
    end

    def cache_help
      names = COMMANDS.keys.grep(/\Acache /)
      width = names.map { |n| SYNOPSIS[n].size }.max
      lines = ["Usage: candle cache COMMAND [ARGS] [OPTIONS]", "", "Commands:"]
      names.each { |n| lines << "  #{SYNOPSIS[n].ljust(width)}  #{COMMANDS[n]}" }
      lines.push("", "Run `candle cache COMMAND --help` for its options.")
      lines.join("\n") + "\n"
    end
  end
end
