# frozen_string_literal: true

module Candle
  # Runs an NER model and rule-based recognizers over the same text and merges
  # what they find into one list of non-overlapping entities.
  #
  #   ner = Candle::HybridNER.new(model, [
  #     Candle::PatternRecognizer.new("EMAIL", [/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/]),
  #     Candle::GazetteerRecognizer.new("PRODUCT", ["Candle Pro", "Candle Mini"])
  #   ])
  #   ner.entities("Mail zoe@example.com about the Candle Pro", threshold: 0.5)
  #
  # `model` is anything with `entities(text, **options)` returning
  # {text:, label:, start:, end:, score:} Hashes with character offsets (a
  # Candle::NER), or nil for rules only. A recognizer is anything with
  # `entities(text)` returning the same.
  #
  # Merging: where two entities overlap, the higher score is kept; on equal
  # scores the longer span, then the earlier one, then the one from the model
  # (then from the recognizer added first). Entities are chosen in that order,
  # each kept unless it overlaps one already kept; the result is sorted by
  # start. Empty spans are dropped.
  class HybridNER
    attr_reader :model

    def initialize(model = nil, recognizers = [])
      unless model.nil? || model.respond_to?(:entities)
        raise ArgumentError, "model must respond to entities(text, **options) or be nil, got #{model.class}"
      end
      raise ArgumentError, "recognizers must be an Array, got #{recognizers.class}" unless recognizers.is_a?(Array)

      @model = model
      @recognizers = []
      recognizers.each { |recognizer| add(recognizer) }
    end

    # The recognizers, in the order they were added.
    def recognizers = @recognizers.dup.freeze

    # Adds a recognizer (anything with `entities(text)`); returns self.
    def add(recognizer)
      unless recognizer.respond_to?(:entities)
        raise ArgumentError, "a recognizer must respond to entities(text), got #{recognizer.class}"
      end

      @recognizers << recognizer
      self
    end
    alias << add

    # The merged entities of the model (given model_options) and every
    # recognizer, sorted by start.
    def entities(text, **model_options)
      text = Arguments.utf8(text)
      length = text.length
      candidates = []
      sources.each_with_index do |(name, source, model), rank|
        found = model ? source.entities(text, **model_options) : source.entities(text)
        raise ArgumentError, "#{name} returned #{found.class}, not an Array of entities" unless found.is_a?(Array)

        found.each do |entity|
          check_entity(entity, name, length)
          candidates << [entity, rank] if entity[:start] < entity[:end]
        end
      end
      merge(candidates)
    end

    def inspect
      "#<#{self.class.name} model=#{@model.class} recognizers=#{@recognizers.size}>"
    end

    private

    # [name for errors, source, model?] in rank order: the model first.
    def sources
      list = @recognizers.each_with_index.map do |recognizer, index|
        ["recognizer #{index} (#{recognizer.class})", recognizer, false]
      end
      @model ? [["model (#{@model.class})", @model, true], *list] : list
    end

    # Best first: score, then length, then start, then source rank; keeps each
    # entity that overlaps none kept before it.
    def merge(candidates)
      candidates.sort_by! { |entity, rank| [-entity[:score], entity[:start] - entity[:end], entity[:start], rank] }
      kept = [] # sorted by start, non-overlapping
      candidates.each do |entity, _|
        # The first kept span ending after this one starts is the only one that may overlap it.
        index = kept.bsearch_index { |other| other[:end] > entity[:start] } || kept.size
        next if index < kept.size && kept[index][:start] < entity[:end]

        kept.insert(index, entity)
      end
      kept
    end

    def check_entity(entity, name, length)
      raise ArgumentError, "#{name} returned #{entity.inspect}, not an entity Hash" unless entity.is_a?(Hash)

      start = entity[:start]
      finish = entity[:end]
      score = entity[:score]
      unless start.is_a?(Integer) && finish.is_a?(Integer) && start >= 0 && start <= finish && finish <= length
        raise ArgumentError, "#{name} returned an entity with start: #{start.inspect}, end: #{finish.inspect} " \
                             "outside a text of #{length} characters"
      end
      return if score.is_a?(Numeric) && score.real? && !score.to_f.nan?

      raise ArgumentError, "#{name} returned an entity with score: #{score.inspect}, not a number"
    end
  end
end
