# frozen_string_literal: true

# Debug-only natives (panic on purpose, busy loops) are registered only when
# this is set before the extension loads.
ENV["CANDLE_TEST_NATIVES"] = "1"

# The suite runs offline (as `rake test` arranges): tests that need the network
# start their own local Hub server and pass endpoint: explicitly.
ENV["HF_HUB_OFFLINE"] = "1"
ENV.delete("HF_ENDPOINT")

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "candle"
require "json"
require "minitest/autorun"
