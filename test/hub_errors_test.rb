# frozen_string_literal: true

require_relative "support/hub_test_case"

# Hub errors say what they are about: #repo_id, #filename, #revision,
# #status (the HTTP status that decided them) and #retry_after.
class HubErrorsTest < CandleTest::HubTestCase
  def setup
    super
    add_model_repo
  end

  def test_a_missing_file_names_repo_file_revision_and_status
    err = assert_raises(Candle::EntryNotFoundError) { download("org/model", "nope.json") }
    assert_equal ["org/model", "nope.json", "main", 404, nil],
                 [err.repo_id, err.filename, err.revision, err.status, err.retry_after]
  end

  def test_a_missing_repo_and_revision
    err = assert_raises(Candle::RepositoryNotFoundError) { download("org/absent", "config.json", revision: "v1") }
    assert_equal ["org/absent", "config.json", "v1", 404], [err.repo_id, err.filename, err.revision, err.status]
    err = assert_raises(Candle::RevisionNotFoundError) { download("org/model", "config.json", revision: "nope") }
    assert_equal ["org/model", "nope", 404], [err.repo_id, err.revision, err.status]
    err = assert_raises(Candle::RepositoryNotFoundError) { Candle::Hub.files("org/absent", **hub_opts.except(:progress)) }
    assert_equal ["org/absent", nil, "main"], [err.repo_id, err.filename, err.revision]
  end

  def test_rate_limiting_carries_status_and_retry_after
    @server.fault("config.json", :status, status: 429, times: 5, retry_after: 7)
    err = assert_raises(Candle::RateLimitedError) { download("org/model", "config.json", max_retries: 0) }
    assert_equal ["org/model", "config.json", 429], [err.repo_id, err.filename, err.status]
    assert_in_delta 7.0, err.retry_after
  end

  def test_server_errors_after_retries_carry_the_last_status
    @server.fault("config.json", :status, status: 503, times: 5)
    err = assert_raises(Candle::DownloadError) do
      download("org/model", "config.json", max_retries: 1, retry_base_delay: 0.01)
    end
    assert_equal [503, nil], [err.status, err.retry_after]
    assert_equal "config.json", err.filename
  end

  def test_offline_and_connection_errors_have_no_status
    err = assert_raises(Candle::OfflineError) { download("org/model", "config.json", local_files_only: true) }
    assert_equal ["org/model", "config.json", "main", nil], [err.repo_id, err.filename, err.revision, err.status]
    err = assert_raises(Candle::DownloadError) do
      download("org/model", "config.json", endpoint: "http://127.0.0.1:1", max_retries: 0)
    end
    assert_equal ["org/model", nil], [err.repo_id, err.status]
  end

  def test_authentication
    @server.add_repo("org/private", files: { "config.json" => CONFIG_JSON }, private: true, token: SECRET)
    err = assert_raises(Candle::AuthenticationError) { download("org/private", "config.json") }
    assert_equal ["org/private", 401], [err.repo_id, err.status]
  end

  # A path component over 255 bytes cannot be a file name: refused before any
  # request, and left out of Hub.files so a listing never offers it.
  def test_names_over_255_bytes_are_refused_before_a_request_and_not_listed
    long = "#{"é" * 128}.json" # 261 bytes
    @server.add_repo("org/odd", files: { "config.json" => CONFIG_JSON, "dir/#{long}" => "{}" })
    assert_equal ["config.json"], Candle::Hub.files("org/odd", **hub_opts.except(:progress)).sort
    @server.clear_requests
    err = assert_raises(ArgumentError) { download("org/odd", "dir/#{long}") }
    assert_match(/255/, err.message)
    assert_equal 0, @server.request_count
    assert_includes Candle::Hub.snapshot("org/odd", **hub_opts).then { |d| Dir.children(d) }, "config.json"
  end
end
