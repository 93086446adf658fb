# frozen_string_literal: true

# Debug-only natives (panic on purpose, busy loops) are registered only when
# this is set before the extension loads.
ENV["CANDLE_TEST_NATIVES"] = "1"

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require "minitest/autorun"
