# frozen_string_literal: true

module Candle
  # `candle` command line: see `candle --help`.
  class CLI
    def run(argv)
      case argv.first
      when "--version", "-v", "version"
        puts "candle #{Candle::VERSION}"
        0
      else
        warn "usage: candle --version"
        2
      end
    end
  end
end
