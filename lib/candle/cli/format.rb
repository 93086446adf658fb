# frozen_string_literal: true

module Candle
  class CLI
    # Text helpers for the CLI's tables (same conventions as huggingface-cli
    # scan-cache: decimal units, "3.4G", "2 days ago").
    module Format
      module_function

      # 1234567 => "1.2M" (powers of 1000, like huggingface-cli).
      def size(bytes) = Hub::ProgressBar.human_size(bytes, compact: true)

      TIME_UNITS = [["second", 60], ["minute", 60], ["hour", 24], ["day", 7], ["week", 4.35], ["month", 12],
                    ["year", Float::INFINITY]].freeze

      # A Time => "a few seconds ago", "3 minutes ago", "2 weeks ago".
      def time_ago(time, now = Time.now)
        delta = (now - time).to_f
        return "in the future" if delta < -60
        return "a few seconds ago" if delta < 20

        TIME_UNITS.each do |unit, per|
          n = delta.round
          return "#{n} #{unit}#{"s" unless n == 1} ago" if delta < per

          delta /= per
        end
      end

      # Left-aligned columns (indexes in `right` right-aligned), a dashed rule
      # under the header; "" when there are no rows.
      def table(headers, rows, right: [])
        return "" if rows.empty?

        widths = headers.each_index.map { |i| ([headers[i]] + rows.map { |r| r[i] }).map { |c| c.to_s.size }.max }
        line = lambda do |cells|
          cells.each_with_index.map do |c, i|
            right.include?(i) ? c.to_s.rjust(widths[i]) : c.to_s.ljust(widths[i])
          end.join("  ").rstrip
        end
        ([line.call(headers), widths.map { |w| "-" * w }.join("  ")] + rows.map { |r| line.call(r) }).join("\n") + "\n"
      end
    end
  end
end
