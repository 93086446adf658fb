# frozen_string_literal: true

require_relative "lib/candle/version"

Gem::Specification.new do |spec|
  spec.name = "candle"
  spec.version = Candle::VERSION
  spec.authors = ["candle developers"]
  spec.summary = "Run HuggingFace models (tokenizers, embeddings, rerankers, NER, LLMs) from Ruby with a Rust core"
  spec.description = "Ruby bindings to HuggingFace's candle: loads models from the standard HuggingFace cache, " \
                     "downloads from the Hub when missing, works fully offline once the cache is warm."
  spec.license = "MIT"
  spec.required_ruby_version = ">= 3.0"

  spec.files = Dir[
    "lib/**/*.rb", "exe/*", "ext/candle/extconf.rb", "ext/candle/rustflags.rb", "ext/candle/Cargo.toml", "ext/candle/Cargo.lock",
    "ext/candle/src/**/*.rs", "README.md", "LICENSE"
  ]
  spec.bindir = "exe"
  spec.executables = ["candle"]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/candle/extconf.rb"]
  spec.metadata["rubygems_mfa_required"] = "true"
end
