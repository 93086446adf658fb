# frozen_string_literal: true

module Candle
  VERSION = "0.1.0"
end
