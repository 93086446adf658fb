# frozen_string_literal: true

require "strscan"
require "timeout"

module Candle
  # Finds entities with regular expressions (or literal Strings), for spans a
  # model should not have to learn: emails, phone numbers, order numbers.
  #
  #   emails = Candle::PatternRecognizer.new("EMAIL", [/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/])
  #   emails.entities("Zoë's email: zoe@example.com")
  #   # => [{text: "zoe@example.com", label: "EMAIL", start: 13, end: 28, score: 1.0}]
  #
  # Offsets are character offsets into the Ruby String (`text[start...end]` is
  # the entity's text). Each pattern's matches do not overlap one another; where
  # matches of different patterns overlap, the leftmost wins, then the longest,
  # then the pattern listed first. Zero-width matches are skipped.
  #
  # Ruby 3.1 has no Regexp.timeout, so one call's matching is bounded by
  # `timeout:` seconds (nil: unbounded) and raises Candle::PatternTimeoutError
  # past it; texts longer than `max_length:` characters are refused.
  class PatternRecognizer
    DEFAULT_TIMEOUT = 1.0
    DEFAULT_MAX_LENGTH = 1_000_000

    attr_reader :label, :patterns, :score, :timeout, :max_length

    # label: a String or Symbol (kept as a String); patterns: a Regexp, a
    # String (matched literally) or an Array of them.
    def initialize(label, patterns, score: 1.0, timeout: DEFAULT_TIMEOUT, max_length: DEFAULT_MAX_LENGTH)
      @label = Arguments.label(label)
      @patterns = patterns_arg(patterns)
      @score = Arguments.unit_score(score)
      @timeout = timeout_arg(timeout)
      @max_length = max_length_arg(max_length)
    end

    # Every match in `text`, as {text:, label:, start:, end:, score:} Hashes
    # sorted by start.
    def entities(text)
      text = text_arg(text)
      spans = bounded { leftmost_longest(byte_matches(text)) }
      to_entities(text, spans)
    end

    def inspect
      "#<#{self.class.name} label=#{@label.inspect} patterns=#{@patterns.size} score=#{@score}>"
    end

    private

    # [byte_start, byte_end, pattern_index] for every non-empty match of every
    # pattern. StringScanner (fixed_anchor: so \A, ^ and lookbehind see the
    # whole text) reports byte positions, which cost O(1) each; MatchData#begin
    # counts characters from the start of the text on every call.
    def byte_matches(text)
      scanner = StringScanner.new(text, fixed_anchor: true)
      matches = []
      @patterns.each_with_index do |pattern, index|
        scanner.pos = 0
        while scanner.scan_until(pattern)
          size = scanner.matched_size
          if size.zero?
            break if scanner.eos?

            scanner.getch
          else
            matches << [scanner.pos - size, scanner.pos, index]
          end
        end
      end
      matches
    end

    # Leftmost, then longest, then the earlier pattern; drops what overlaps a
    # span already kept.
    def leftmost_longest(matches)
      matches.sort_by! { |s, e, index| [s, s - e, index] }
      last_end = 0
      matches.select do |s, e, _|
        next false if s < last_end

        last_end = e
        true
      end
    end

    # Byte spans (ascending, non-overlapping, on character boundaries) to
    # entities with character offsets, counting each byte once.
    def to_entities(text, spans)
      ascii = text.ascii_only?
      byte = 0
      char = 0
      spans.map do |s, e, _|
        piece = text.byteslice(s, e - s)
        if ascii
          start = s
        else
          char += text.byteslice(byte, s - byte).length
          start = char
          char += piece.length
          byte = e
        end
        { text: piece, label: @label, start: start, end: start + piece.length, score: @score }
      end
    end

    def bounded(&block)
      return yield if @timeout.nil?

      Timeout.timeout(@timeout, PatternTimeoutError,
                      "#{@label} patterns ran longer than #{@timeout} s (timeout:)", &block)
    end

    def text_arg(text)
      utf8 = Arguments.utf8(text)
      if utf8.length > @max_length
        raise ArgumentError, "text is #{utf8.length} characters, more than max_length: #{@max_length}"
      end

      utf8
    end

    def patterns_arg(patterns)
      patterns = [patterns] if patterns.is_a?(Regexp) || patterns.is_a?(String)
      raise ArgumentError, "patterns must be an Array of Regexp or String, got #{patterns.class}" unless patterns.is_a?(Array)
      raise ArgumentError, "patterns must not be empty" if patterns.empty?

      patterns.map { |pattern| pattern_arg(pattern) }.freeze
    end

    def pattern_arg(pattern)
      case pattern
      when Regexp
        if pattern.fixed_encoding? && pattern.encoding != ::Encoding::UTF_8
          raise ArgumentError, "pattern #{pattern.inspect} is fixed to #{pattern.encoding}, not UTF-8"
        end

        pattern
      when String
        raise ArgumentError, "a String pattern must not be empty" if pattern.empty?

        literal = pattern.encoding == ::Encoding::UTF_8 ? pattern : pattern.encode(::Encoding::UTF_8)
        raise ArgumentError, "pattern #{pattern.inspect} is not valid UTF-8" unless literal.valid_encoding?

        Regexp.new(Regexp.escape(literal))
      else
        raise ArgumentError, "each pattern must be a Regexp or String, got #{pattern.class}"
      end
    rescue ::EncodingError => e
      raise ArgumentError, "pattern cannot be converted to UTF-8: #{e.message}"
    end

    def timeout_arg(timeout)
      return nil if timeout.nil?
      return timeout.to_f if timeout.is_a?(Numeric) && timeout.real? && timeout.positive? && timeout.to_f.finite?

      raise ArgumentError, "timeout must be a positive number of seconds or nil, got #{timeout.inspect}"
    end

    def max_length_arg(max_length)
      return max_length if max_length.is_a?(Integer) && max_length.positive?

      raise ArgumentError, "max_length must be a positive Integer, got #{max_length.inspect}"
    end
  end
end
