# frozen_string_literal: true

module Candle
  module Hub
    # A one-line progress display on an IO (stderr by default), fed the same
    # event hashes an app's progress: callback gets.
    class ProgressBar
      WIDTH = 24

      # 1234567 => "1.2 MB" (decimal units, as the Hub shows sizes).
      def self.human_size(bytes)
        value = bytes.to_f
        units = %w[kB MB GB TB]
        return "#{bytes.to_i} B" if value < 1000

        unit = nil
        while value >= 1000 && (next_unit = units.shift)
          value /= 1000
          unit = next_unit
        end
        format("%.1f %s", value, unit)
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
