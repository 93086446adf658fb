# frozen_string_literal: true

module Candle
  module Hub
    # A one-line progress display on an IO (stderr by default), fed the same
    # event hashes an app's progress: callback gets.
    class ProgressBar
      WIDTH = 24

      # The gem's one byte formatter, in decimal units as the Hub shows sizes:
      # 1234567 => "1.2 MB"; compact: true => "1.2M" (huggingface-cli's
      # scan-cache style, used by the CLI's tables; 999 => "999.0").
      def self.human_size(bytes, compact: false)
        value = bytes.to_f
        return "#{bytes.to_i} B" if !compact && value.abs < 1000

        units = compact ? %w[K M G T P E Z] : %w[kB MB GB TB PB EB ZB]
        unit = ""
        while value.abs >= 1000 && units.any?
          value /= 1000
          unit = units.shift
        end
        compact ? format("%.1f%s", value, unit) : format("%.1f %s", value, unit)
      end

      def initialize(io = $stderr)
        @io = io
        @started = {}
        @last_draw = 0.0
      end

      def call(event)
        key = [event[:repo], event[:file]]
        case event[:type]
        when :start then @started[key] = now
        when :progress then draw(event, key) if now - @last_draw >= 0.1
        when :done then draw(event, key, final: true)
        when :retry then @io.print("\r#{event[:file]}: retrying in #{event[:wait]} s (#{event[:reason]})\e[K\n")
        end
      end

      private

      def draw(event, key, final: false)
        @last_draw = now
        total = event[:total].to_i
        bytes = event[:bytes].to_i
        fraction = total.positive? ? bytes.fdiv(total) : 0.0
        filled = (fraction * WIDTH).round
        elapsed = now - (@started[key] || now)
        rate = elapsed.positive? ? bytes / elapsed : 0
        line = format("\r%-32.32s [%-#{WIDTH}s] %3d%% %s/%s %s/s\e[K", event[:file], "#" * filled, (fraction * 100).round,
                      ProgressBar.human_size(bytes), ProgressBar.human_size(total), ProgressBar.human_size(rate))
        @io.print(line)
        @io.print("\n") if final
        @io.flush
      end

      def now
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
