# frozen_string_literal: true

require_relative "test_helper"

class ErrorsTest < Minitest::Test
  HIERARCHY = {
    Candle::Error => StandardError,
    Candle::HubError => Candle::Error,
    Candle::NotFoundError => Candle::HubError,
    Candle::RepositoryNotFoundError => Candle::NotFoundError,
    Candle::RevisionNotFoundError => Candle::NotFoundError,
    Candle::EntryNotFoundError => Candle::NotFoundError,
    Candle::AuthenticationError => Candle::HubError,
    Candle::RateLimitedError => Candle::HubError,
    Candle::OfflineError => Candle::HubError,
    Candle::DownloadError => Candle::HubError,
    Candle::IntegrityError => Candle::HubError,
    Candle::ModelLoadError => Candle::Error,
    Candle::UnsupportedModelError => Candle::ModelLoadError,
    Candle::InvalidModelFileError => Candle::ModelLoadError,
    Candle::TokenizerError => Candle::Error,
    Candle::GenerationError => Candle::Error,
    Candle::DeviceError => Candle::Error,
    Candle::Interrupted => Candle::Error
  }.freeze

  def test_every_error_class_has_the_documented_superclass
    HIERARCHY.each do |klass, parent|
      assert_equal parent, klass.superclass, "#{klass} should inherit from #{parent}"
    end
  end

  def test_every_rust_error_kind_maps_to_a_declared_class
    classes = Candle::Native::Testing.error_classes
    # NotFoundError is abstract (its three subclasses are raised); bad input is ArgumentError.
    expected = HIERARCHY.keys - [Candle::NotFoundError] + [ArgumentError]
    assert_equal expected.sort_by(&:name), classes.sort_by(&:name)
  end

  def test_a_rust_panic_becomes_candle_error_and_the_process_lives
    error = assert_raises(Candle::Error) { Candle::Native::Testing.panic("boom on purpose") }
    assert_match(/Rust panic.*boom on purpose/, error.message)
    # The extension still works afterwards.
    assert_equal 0, Candle::Native::Testing.busy(0)
    error = assert_raises(Candle::Error) { Candle::Native::Testing.panic("again") }
    assert_match(/again/, error.message)
  end
end
