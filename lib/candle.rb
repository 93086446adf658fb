# frozen_string_literal: true

require "logger"
require_relative "candle/version"
require_relative "candle/errors"
# The native extension; `require` (not require_relative) so it is found both in
# a checkout (lib/candle/candle.so) and in an installed gem's extension dir.
require "candle/candle"
require_relative "candle/arguments"
require_relative "candle/device"
require_relative "candle/hub"
require_relative "candle/tokenizer"
require_relative "candle/generation_config"
require_relative "candle/llm"
require_relative "candle/encoder_loading"
require_relative "candle/embedding_model"
require_relative "candle/reranker"
require_relative "candle/ner"
require_relative "candle/pattern_recognizer"
require_relative "candle/gazetteer_recognizer"
require_relative "candle/hybrid_ner"

# Run HuggingFace models from Ruby: tokenizers, embeddings, rerankers, NER and
# LLMs, loaded from the standard HuggingFace cache.
module Candle
  class << self
    # A Ruby Logger on $stderr, level WARN; CANDLE_LOG=debug|info|warn|error
    # changes the default. Replace it with `Candle.logger = Rails.logger`.
    attr_writer :logger

    def logger
      @logger ||= default_logger
    end

    # What this build of the native extension contains.
    #   Candle.build_info # => {version: "0.1.0", features: [], cuda: false, ...}
    def build_info
      Native.build_info
    end

    private

    def default_logger
      logger = Logger.new($stderr, progname: "candle")
      level = ENV.fetch("CANDLE_LOG", "warn").strip.downcase
      logger.level = %w[debug info warn error fatal].include?(level) ? level.to_sym : :warn
      logger
    end
  end
end
