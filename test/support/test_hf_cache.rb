# frozen_string_literal: true

module CandleTest
  # Which HuggingFace cache the test suite, its pre-warm (`rake models:prewarm`,
  # `rake models:check`) and the benchmarks use. One switch, CANDLE_TEST_HF_CACHE:
  #
  #   unset or empty  the suite's own cache, ~/.cache/candle-test-hub/hf-cache
  #                   (DEFAULT); the user's HuggingFace cache is never touched,
  #                   whatever HF_HOME / HF_HUB_CACHE / XDG_CACHE_HOME say
  #   user            the user's cache, as HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE /
  #                   HF_HOME / XDG_CACHE_HOME / ~/.cache/huggingface/hub decide
  #                   (what the GitHub workflow asks for: it caches ~/.cache/huggingface)
  #   any other value that directory (a hub cache: models--org--name/ go in it)
  #
  # The chosen directory is handed over as HF_HUB_CACHE, which wins over every
  # other HF_* variable. Plain Ruby, no extension needed.
  module TestHFCache
    SWITCH = "CANDLE_TEST_HF_CACHE"
    DEFAULT = File.join(Dir.home, ".cache", "candle-test-hub", "hf-cache").freeze

    module_function

    # The hub cache directory the switch selects, or nil for "user".
    def dir(env = ENV)
      value = env[SWITCH].to_s.strip
      return DEFAULT if value.empty?
      return nil if value == "user"

      File.expand_path(value)
    end

    # Environment for a child process: HF_HUB_CACHE set to the test cache
    # ({} for "user": the child resolves the user's cache itself).
    def env(env = ENV)
      (d = dir(env)) ? { "HF_HUB_CACHE" => d } : {}
    end

    # Points this process's ENV at the test cache.
    def apply!(env = ENV)
      env.update(self.env(env))
    end

    # One line saying which cache is in use, for logs.
    def describe(env = ENV)
      d = dir(env)
      d ? "#{d} (#{SWITCH}=user uses your HuggingFace cache)" : "your HuggingFace cache (#{SWITCH}=user)"
    end
  end
end
