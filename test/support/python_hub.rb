# frozen_string_literal: true

require "json"
require "open3"
require "stringio"
require "tmpdir"

module CandleTest
  # Python's huggingface_hub (the real client), run from the staging venv that
  # script/stage_test_hub.rb builds (python3 -m venv + pip install -r
  # script/requirements-staging.txt, which pins huggingface_hub). The venv is
  # made here when it is missing or stale (a CI run whose model cache was
  # restored complete never stages), so the tests that use it never skip:
  # without Python they fail, saying why.
  module PythonHub
    ROOT = File.expand_path("../..", __dir__)
    STAGE_SCRIPT = File.join(ROOT, "script", "stage_test_hub.rb")
    REQUIREMENTS = File.join(ROOT, "script", "requirements-staging.txt")
    DRIVER = File.join(__dir__, "python_hub.py")
    RUN_TIMEOUT = 120

    class Unavailable < StandardError; end

    module_function

    # The huggingface_hub version script/requirements-staging.txt pins.
    def pinned_version
      File.read(REQUIREMENTS)[/^huggingface[-_]hub==(\S+)/i, 1] or
        raise Unavailable, "#{REQUIREMENTS} does not pin huggingface_hub"
    end

    # Path of the venv's python; builds the venv (needs python3 and PyPI) the way
    # the stage script does, once per process.
    def python
      raise @unavailable if @unavailable

      @python ||= begin
        require STAGE_SCRIPT
        # Stager#venv_python: the one place that knows the venv's path and how it
        # is built (and rebuilt when script/requirements-staging.txt changes).
        Candle::Staging::Stager.new(root: Dir.tmpdir, out: StringIO.new).send(:venv_python)
      rescue StandardError, ScriptError => e
        # Remembered: a second test does not retry a failed pip install.
        raise @unavailable = Unavailable.new(
          "Python's huggingface_hub is needed for this test and its venv could not be set up " \
          "(script/stage_test_hub.rb builds it with `python3 -m venv` (or $CANDLE_STAGE_PYTHON) " \
          "and `pip install -r script/requirements-staging.txt`, which needs PyPI):\n#{e.class}: #{e.message}"
        )
      end
    end

    # Runs the ops (see python_hub.py) in a child Python with a clean environment:
    # only PATH, a throwaway HOME and `env` (e.g. HF_HUB_CACHE, HF_ENDPOINT or
    # HF_HUB_OFFLINE) -- no token, no proxy, no developer HF_* settings.
    # Returns {"version" => ..., "results" => [...]}.
    def run(ops, env:, home:)
      start(ops, env: env, home: home).result
    end

    # The ops running in the background: #wait_for_line waits for a line the
    # driver prints on stderr (e.g. hold_lock's "locked <path>"), #result waits for
    # the end and returns what #run returns.
    class Running
      def initialize(stdin, stdout, stderr, wait, what)
        @wait = wait
        @what = what
        @err = +""
        @lines = [] # stderr lines not yet looked at by #wait_for_line
        @eof = false
        @mutex = Mutex.new
        @cond = ConditionVariable.new
        @out_reader = Thread.new { stdout.read.tap { stdout.close } }
        @err_reader = Thread.new do
          stderr.each_line do |l|
            @mutex.synchronize do
              @err << l
              @lines << l
              @cond.broadcast
            end
          end
          stderr.close
          @mutex.synchronize do
            @eof = true
            @cond.broadcast
          end
        end
        stdin.close
      end

      def pid = @wait.pid

      # The first stderr line matching `pattern` (MatchData); raises when the
      # driver ends first or nothing matches within `timeout` seconds.
      def wait_for_line(pattern, timeout: 60)
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
        @mutex.synchronize do
          loop do
            while (line = @lines.shift)
              m = pattern.match(line)
              return m if m
            end
            raise "#{@what} ended before printing a line matching #{pattern.inspect}:\n#{@err}" if @eof

            left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
            raise "#{@what}: no line matching #{pattern.inspect} within #{timeout} s:\n#{@err}" if left <= 0

            @cond.wait(@mutex, left)
          end
        end
      end

      def result
        unless @wait.join(RUN_TIMEOUT)
          kill
          raise "#{@what} did not finish within #{RUN_TIMEOUT} s"
        end
        out = @out_reader.value
        @err_reader.join
        raise "#{@what} failed (#{@wait.value.inspect}):\n#{@err}\n#{out}" unless @wait.value.success?

        JSON.parse(out)
      end

      # Ends the driver if it still runs (a test that failed half-way).
      def kill
        return unless @wait.alive?

        Process.kill("KILL", @wait.pid)
        @wait.join
      rescue Errno::ESRCH
        nil
      end
    end

    def start(ops, env:, home:)
      clean = {
        "PATH" => ENV.fetch("PATH", "/usr/bin:/bin"),
        "HOME" => home,
        "HF_HOME" => File.join(home, "hf_home"),
        "LANG" => "C.UTF-8",
        "PYTHONIOENCODING" => "utf-8",
        "PYTHONDONTWRITEBYTECODE" => "1",
        "HF_HUB_DISABLE_TELEMETRY" => "1",
        "HF_HUB_DISABLE_PROGRESS_BARS" => "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN" => "1",
        # The local server speaks plain HTTP (no Xet headers); say so explicitly.
        "HF_HUB_DISABLE_XET" => "1"
      }.merge(env)
      exe = python
      stdin, stdout, stderr, wait = Open3.popen3(clean, exe, DRIVER, unsetenv_others: true)
      stdin.write(JSON.generate("ops" => ops))
      Running.new(stdin, stdout, stderr, wait, "#{exe} #{DRIVER}")
    end
  end
end
