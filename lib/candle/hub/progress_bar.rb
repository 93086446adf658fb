# frozen_string_literal: true

module Candle
  module Hub
    # A one-line progress display on an IO (stderr by default), fed the same
    # event hashes an app's progress: callback gets.
    class ProgressBar
      WIDTH = 24

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
                      human(bytes), human(total), human(rate))
        @io.print(line)
        @io.print("\n") if final
        @io.flush
      end

      def human(bytes)
        units = %w[B kB MB GB TB]
        value = bytes.to_f
        unit = units.shift
        while value >= 1000 && units.any?
          value /= 1000
          unit = units.shift
        end
        unit == "B" ? "#{value.round} B" : format("%.1f %s", value, unit)
      end

      def now
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
