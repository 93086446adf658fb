# frozen_string_literal: true

module Candle
  # Every error this gem raises on purpose is a Candle::Error (bad arguments
  # detected before any work are ArgumentError). The native extension maps each
  # Rust error kind to one of these classes.
  class Error < StandardError; end

  # Talking to the Hub or its cache failed. What the error is about, where
  # known: #repo_id, #filename, #revision (as asked), #status (the HTTP status
  # that decided it) and #retry_after (seconds the server asked to wait).
  class HubError < Error
    attr_reader :repo_id, :filename, :revision, :status, :retry_after
  end
  # The Hub says the thing does not exist (or is private and you have no access).
  class NotFoundError < HubError; end
  class RepositoryNotFoundError < NotFoundError; end
  class RevisionNotFoundError < NotFoundError; end
  class EntryNotFoundError < NotFoundError; end
  # 401/403: the repo is gated or private; set HF_TOKEN or pass token:.
  class AuthenticationError < HubError; end
  # Still 429 Too Many Requests after the retry budget.
  class RateLimitedError < HubError; end
  # Offline (HF_HUB_OFFLINE=1 or local_files_only: true) and not in the cache.
  class OfflineError < HubError; end
  # Connection/server errors after the retry budget, or a bad answer.
  class DownloadError < HubError; end
  # Downloaded bytes do not match the Hub's sha256; nothing was kept.
  class IntegrityError < HubError; end

  class ModelLoadError < Error; end
  class UnsupportedModelError < ModelLoadError; end
  class InvalidModelFileError < ModelLoadError; end

  class TokenizerError < Error; end
  class GenerationError < Error; end
  class DeviceError < Error; end
  # Long native work stopped because the thread was interrupted.
  class Interrupted < Error; end
  # A Candle::PatternRecognizer's patterns ran longer than its timeout: (Ruby
  # 3.1 has no Regexp.timeout, so catastrophic backtracking is bounded there).
  class PatternTimeoutError < Error; end
end
