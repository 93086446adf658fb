# frozen_string_literal: true

module Candle
  # Finds the terms of a list (a gazetteer: cities, products, people) in text,
  # as whole words only.
  #
  #   cities = Candle::GazetteerRecognizer.new("LOC", ["Paris", "New York", "New York City", "München"])
  #   cities.entities("From MÜNCHEN to New York City, not Parisian cafés.")
  #   # => [{text: "MÜNCHEN", label: "LOC", start: 5, end: 12, score: 1.0},
  #   #     {text: "New York City", label: "LOC", start: 16, end: 29, score: 1.0}]
  #
  # Text and terms are cut into tokens: runs of word characters (Unicode
  # letters, marks, digits, connector punctuation such as "_") and single other
  # non-space characters. A term matches a run of whole tokens, so "Paris" is
  # not found inside "Parisian" or "Parisé". Between tokens, any run of
  # whitespace matches any other ("New York" finds "New\nYork"), but tokens a
  # term writes together must be together in the text ("AT&T" does not find
  # "AT & T"). Where terms overlap, the leftmost match wins, then the longest
  # ("New York City" over "New York").
  #
  # Unless case_sensitive: is true, tokens are compared after full Unicode case
  # folding ("MÜNCHEN" finds "München", "STRASSE" finds "Straße"); combining
  # sequences are composed (NFC) first, so a decomposed "ü" finds "ü". The terms live in a trie of tokens, so a call costs about one
  # Hash lookup per token of text, however many terms there are. Offsets are
  # character offsets into the Ruby String (`text[start...end]` is the
  # entity's text).
  class GazetteerRecognizer
    WORD_CHARS = "\\p{L}\\p{M}\\p{N}\\p{Pc}"
    # Pieces cover the whole text: word runs, whitespace runs, any other character.
    PIECE = /[#{WORD_CHARS}]+|[[:space:]]+|./m.freeze
    SPACE = /\A[[:space:]]/.freeze
    MARK = /\p{M}/.freeze
    # Marks a trie node where a term ends (the other keys are token Strings).
    TERMINAL = :terminal
    private_constant :WORD_CHARS, :PIECE, :SPACE, :MARK, :TERMINAL

    attr_reader :label, :score, :terms

    # label: a String or Symbol (kept as a String); terms: an Array (or other
    # Enumerable) of Strings.
    def initialize(label, terms, case_sensitive: false, score: 1.0)
      @label = Arguments.label(label)
      @score = Arguments.unit_score(score)
      @case_sensitive = case_sensitive ? true : false
      @root = {}
      @terms = build_trie(terms).freeze
    end

    def case_sensitive? = @case_sensitive

    # How many distinct terms (as given) the recognizer holds.
    def size = @terms.size

    # Every whole-word match in `text`, as {text:, label:, start:, end:,
    # score:} Hashes sorted by start.
    def entities(text)
      text = Arguments.utf8(text)
      pieces = text.scan(PIECE)
      keys = {} # a text repeats its words: fold each once
      tokens = [] # [key, spaced_before, start, end, piece_index]
      offset = 0
      spaced = false
      pieces.each_with_index do |piece, index|
        length = piece.length
        if piece.match?(SPACE)
          spaced = true
        else
          tokens << [keys[piece] ||= key(piece), spaced, offset, offset + length, index]
          spaced = false
        end
        offset += length
      end
      match(tokens, pieces)
    end

    def inspect
      "#<#{self.class.name} label=#{@label.inspect} terms=#{@terms.size} case_sensitive=#{@case_sensitive}>"
    end

    private

    # Greedy leftmost-longest walk of the trie from each token.
    def match(tokens, pieces)
      found = []
      count = tokens.size
      i = 0
      while i < count
        node = @root[tokens[i][0]]
        last = nil
        if node
          last = i if node.key?(TERMINAL)
          j = i + 1
          while j < count && (node = node[edge(tokens[j])])
            last = j if node.key?(TERMINAL)
            j += 1
          end
        end
        if last
          first_token = tokens[i]
          last_token = tokens[last]
          found << { text: pieces[first_token[4]..last_token[4]].join, label: @label,
                     start: first_token[2], end: last_token[3], score: @score }
          i = last + 1
        else
          i += 1
        end
      end
      found
    end

    # The trie key of a token after the first: a leading space records that
    # whitespace came before it.
    def edge(token) = token[1] ? " #{token[0]}" : token[0]

    # A token's trie key: case-folded unless case_sensitive:, with combining
    # sequences composed (NFC). Normalizing is slow in Ruby, so only tokens
    # with combining marks pay for it.
    def key(piece)
      return (@case_sensitive ? piece : piece.downcase) if piece.ascii_only?

      if piece.match?(MARK)
        return piece.unicode_normalize(:nfc) if @case_sensitive

        return piece.unicode_normalize(:nfd).downcase(:fold).unicode_normalize(:nfc)
      end
      return piece if @case_sensitive

      folded = piece.downcase(:fold) # full folding may decompose ("İ" is "i" + U+0307)
      folded.match?(MARK) ? folded.unicode_normalize(:nfc) : folded
    end

    def build_trie(terms)
      unless terms.is_a?(Enumerable) && !terms.is_a?(Hash) && !terms.is_a?(String)
        raise ArgumentError, "terms must be an Array of Strings, got #{terms.class}"
      end

      kept = {}
      keys = {}
      terms.each do |term|
        term = term_arg(term)
        next if kept.key?(term)

        kept[term] = true
        node = @root
        first = true
        spaced = false
        term.scan(PIECE) do |piece|
          if piece.match?(SPACE)
            spaced = true
            next
          end
          token_key = keys[piece] ||= key(piece)
          token_key = " #{token_key}" if spaced && !first
          node = (node[token_key] ||= {})
          first = false
          spaced = false
        end
        node[TERMINAL] = true
      end
      raise ArgumentError, "terms must not be empty" if kept.empty?

      kept.keys
    end

    def term_arg(term)
      raise ArgumentError, "each term must be a String, got #{term.class}" unless term.is_a?(String)

      utf8 = term.encoding == ::Encoding::UTF_8 ? term : term.encode(::Encoding::UTF_8)
      raise ArgumentError, "term #{term.inspect} is not valid UTF-8" unless utf8.valid_encoding?
      raise ArgumentError, "term #{term.inspect} is blank" if utf8.match?(/\A[[:space:]]*\z/)

      utf8.frozen? ? utf8 : utf8.dup.freeze
    rescue ::EncodingError => e
      raise ArgumentError, "term cannot be converted to UTF-8: #{e.message}"
    end
  end
end
