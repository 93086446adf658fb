//! Builds a HuggingFace `tokenizers::Tokenizer` from the `tokenizer.ggml.*`
//! metadata of a GGUF file, reproducing llama.cpp's tokenization:
//!
//! * `gpt2`: byte-level BPE over `tokens` + `merges`, pre-split by the regexes
//!   llama.cpp associates with `tokenizer.ggml.pre`;
//! * `llama`: SentencePiece BPE, merges ranked by the `scores` of the merged
//!   piece, with `<0xXX>` byte fallback;
//! * `gemma4`: BPE over `tokens` + `merges` on raw UTF-8 with spaces as `▁`
//!   and `<0xXX>` byte fallback;
//! * `bert`: WordPiece, with the vocabulary's phantom-space (`▁`) prefixes
//!   turned back into `##` continuation prefixes.
//!
//! Token types decide the added tokens: control and unknown tokens become
//! special added tokens, user-defined ones plain added tokens; both match the
//! raw input text, as llama.cpp matches them.

use std::collections::HashSet;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::normalizers::prepend::Prepend;
use tokenizers::normalizers::replace::Replace;
use tokenizers::normalizers::utils::Sequence as NormalizerSequence;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::{SpecialToken, TemplateProcessing};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::err;
use crate::error::Result;
use crate::gguf::{Metadata, Value};

/// A tokenizer rebuilt from GGUF metadata, with the facts generation needs.
pub struct GgufVocab {
    /// The complete pipeline; `encode(text, true)` adds BOS/EOS as the GGUF
    /// asks (`add_bos_token`, `add_eos_token`).
    pub tokenizer: Tokenizer,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    pub unk_token: Option<String>,
    pub pad_token: Option<String>,
    /// The EOS id followed by the end-of-turn / end-of-message ids, if any,
    /// without duplicates.
    pub eos_token_ids: Vec<u32>,
    pub add_bos_token: bool,
    pub add_eos_token: bool,
    /// `tokenizer.chat_template`
    pub chat_template: Option<String>,
    /// `tokenizer.ggml.model`: "gpt2", "llama" or "bert".
    pub model: String,
    /// `tokenizer.ggml.pre`, the pre-tokenizer name of `gpt2` vocabularies.
    pub pre: Option<String>,
}

const SUPPORTED_MODELS: &str =
    "gpt2 (byte-level BPE), llama (SentencePiece BPE), gemma4 (SentencePiece-style BPE with merges), bert (WordPiece)";

/// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
const TYPE_NORMAL: i64 = 1;
const TYPE_UNKNOWN: i64 = 2;
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

/// The SentencePiece word-boundary marker.
const SPACE_MARKER: &str = "\u{2581}";

pub fn from_metadata(meta: &Metadata) -> Result<GgufVocab> {
    let tokens = string_array(meta, "tokenizer.ggml.tokens")?
        .ok_or_else(|| err!(Tokenizer, "GGUF has no tokenizer metadata (tokenizer.ggml.tokens)"))?;
    if tokens.is_empty() {
        return Err(err!(Tokenizer, "GGUF tokenizer.ggml.tokens is empty"));
    }
    let n = tokens.len();
    let model = meta
        .get("tokenizer.ggml.model")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            err!(
                Tokenizer,
                "GGUF has tokenizer.ggml.tokens but no tokenizer.ggml.model string"
            )
        })?
        .to_string();
    let pre = meta
        .get("tokenizer.ggml.pre")
        .and_then(Value::as_str)
        .map(str::to_string);
    let types = match number_array(meta, "tokenizer.ggml.token_type", n, Value::as_i64)? {
        Some(types) => types,
        None => vec![TYPE_NORMAL; n],
    };
    let special = SpecialIds::read(meta, n)?;
    let flag = |key: &str| meta.get(key).and_then(Value::as_bool);

    let (mut tokenizer, ids) = match model.as_str() {
        "gpt2" => {
            let spec = bpe_pre_tokenizer(pre.as_deref().unwrap_or("default"))?;
            let ids = Ids {
                add_bos: spec.add_bos,
                bos: if spec.no_bos { None } else { special.bos },
                ..Ids::new(&special)
            };
            (byte_level_bpe(&tokens, merges(meta)?, &spec)?, ids)
        }
        "llama" => {
            let scores = number_array(meta, "tokenizer.ggml.scores", n, Value::as_f64)?
                .ok_or_else(|| err!(Tokenizer, "GGUF llama tokenizer has no tokenizer.ggml.scores"))?;
            // llama.cpp's default ids for SentencePiece vocabularies.
            let default = |id: Option<u32>, fallback: u32| id.or(Some(fallback)).filter(|&id| (id as usize) < n);
            let unk = default(special.unk, 0);
            let add_prefix = flag("tokenizer.ggml.add_space_prefix").unwrap_or(true);
            let ids = Ids {
                add_bos: true,
                bos: default(special.bos, 1),
                eos: default(special.eos, 2),
                unk,
                ..Ids::new(&special)
            };
            (sentencepiece_bpe(&tokens, &scores, unk, add_prefix)?, ids)
        }
        "gemma4" => {
            let ids = Ids {
                add_bos: true,
                ..Ids::new(&special)
            };
            (gemma4_bpe(&tokens, merges(meta)?)?, ids)
        }
        "bert" => {
            let unk = special
                .unk
                .ok_or_else(|| err!(Tokenizer, "GGUF bert tokenizer has no unknown_token_id"))?;
            let lowercase = flag("tokenizer.ggml.normalizer.lowercase").unwrap_or(true);
            let strip_accents = flag("tokenizer.ggml.normalizer.strip_accents").unwrap_or(true);
            // [CLS] and [SEP] play the parts of BOS and EOS.
            let ids = Ids {
                add_bos: true,
                add_eos: true,
                add_eos_key: "tokenizer.ggml.add_sep_token",
                bos: special.bos.or(special.cls),
                eos: special.eos.or(special.sep),
                unk: Some(unk),
            };
            (
                word_piece(&tokens, &tokens[unk as usize], lowercase, strip_accents)?,
                ids,
            )
        }
        other => {
            return Err(err!(
                Tokenizer,
                "unsupported GGUF tokenizer model '{other}' (supported: {SUPPORTED_MODELS})"
            ))
        }
    };
    let Ids { bos, eos, unk, .. } = ids;

    add_token_types(&mut tokenizer, &tokens, &types)?;

    // llama.cpp always adds BOS for gemma4, whatever the flag says; a model
    // without a BOS token (chatglm) never does.
    let add_bos_token =
        (model == "gemma4" || flag("tokenizer.ggml.add_bos_token").unwrap_or(ids.add_bos)) && bos.is_some();
    let add_eos_token = flag(ids.add_eos_key).unwrap_or(ids.add_eos) && eos.is_some();
    let bos_piece = bos
        .filter(|_| add_bos_token)
        .map(|id| (id, tokens[id as usize].as_str()));
    let eos_piece = eos
        .filter(|_| add_eos_token)
        .map(|id| (id, tokens[id as usize].as_str()));
    if let Some(post) = post_processor(bos_piece, eos_piece)? {
        tokenizer.with_post_processor(Some(post));
    }

    let mut eos_token_ids = Vec::new();
    for id in [eos, special.eot, special.eom].into_iter().flatten() {
        if !eos_token_ids.contains(&id) {
            eos_token_ids.push(id);
        }
    }
    let text = |id: Option<u32>| id.map(|id| tokens[id as usize].clone());
    Ok(GgufVocab {
        tokenizer,
        bos_token: text(bos),
        eos_token: text(eos),
        unk_token: text(unk),
        pad_token: text(special.pad),
        eos_token_ids,
        add_bos_token,
        add_eos_token,
        chat_template: meta
            .get("tokenizer.chat_template")
            .and_then(Value::as_str)
            .map(str::to_string),
        model,
        pre,
    })
}

/// The special tokens a model uses and llama.cpp's defaults for adding them.
struct Ids {
    add_bos: bool,
    add_eos: bool,
    /// The flag that overrides `add_eos` (BERT's is `add_sep_token`).
    add_eos_key: &'static str,
    bos: Option<u32>,
    eos: Option<u32>,
    unk: Option<u32>,
}

impl Ids {
    /// The ids as the GGUF gives them; nothing added by default.
    fn new(special: &SpecialIds) -> Ids {
        Ids {
            add_bos: false,
            add_eos: false,
            add_eos_key: "tokenizer.ggml.add_eos_token",
            bos: special.bos,
            eos: special.eos,
            unk: special.unk,
        }
    }
}

/// The special token ids of `tokenizer.ggml.*_token_id`, checked to be in range.
struct SpecialIds {
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    eom: Option<u32>,
    unk: Option<u32>,
    pad: Option<u32>,
    sep: Option<u32>,
    cls: Option<u32>,
}

impl SpecialIds {
    fn read(meta: &Metadata, n: usize) -> Result<SpecialIds> {
        let id = |name: &str| -> Result<Option<u32>> {
            let key = format!("tokenizer.ggml.{name}_token_id");
            let Some(value) = meta.get(&key) else { return Ok(None) };
            match value.as_u64() {
                Some(id) if id < n as u64 => Ok(Some(id as u32)),
                // llama.cpp writes -1 (as a large unsigned or signed value) for "none".
                _ if matches!(
                    value,
                    Value::I32(-1) | Value::I64(-1) | Value::U32(u32::MAX) | Value::U64(u64::MAX)
                ) =>
                {
                    Ok(None)
                }
                Some(id) => Err(err!(
                    Tokenizer,
                    "GGUF {key} = {id} is out of range (the vocabulary has {n} tokens)"
                )),
                None => Err(err!(
                    Tokenizer,
                    "GGUF {key} must be an integer, got {}",
                    value.type_name()
                )),
            }
        };
        Ok(SpecialIds {
            bos: id("bos")?,
            eos: id("eos")?,
            eot: id("eot")?,
            eom: id("eom")?,
            unk: id("unknown")?,
            pad: id("padding")?,
            // llama.cpp's spelling.
            sep: id("seperator")?,
            cls: id("cls")?,
        })
    }
}

/// How llama.cpp pre-tokenizes a `gpt2` vocabulary with a given `pre` name.
struct PreSpec {
    /// Applied in order, each splitting the pieces of the previous one;
    /// matches and the text between them both become pieces.
    regexes: &'static [&'static str],
    /// Look a whole pre-token up in the vocabulary before merging (llama 3).
    ignore_merges: bool,
    /// llama.cpp's `add_bos` default for this pre-tokenizer.
    add_bos: bool,
    /// The vocabulary has no usable BOS token (chatglm).
    no_bos: bool,
    /// NFC-normalize first, as the model's own tokenizer.json does (Qwen2).
    /// llama.cpp skips this, so decomposed text (e + U+0301) tokenizes
    /// differently there than in transformers; we follow transformers.
    nfc: bool,
}

// The regexes are llama.cpp's (`llama-vocab.cpp`); where llama.cpp rewrote a
// tokenizer.json regex for std::regex, the original is used since fancy-regex
// understands it.
const GPT2: &[&str] = &["'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"];
const DEFAULT: &[&str] = &[
    "[\\p{P}\\$\\+<=>\\^~\\|]+",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    "\\p{N}+",
    "[0-9][0-9][0-9]",
];
const LLAMA3: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const JAIS2: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"];
// Non-ASCII characters are escaped: some in these ranges (U+1F7D, U+212A,
// ...) change under Unicode normalization, which editors may apply silently.
const DEEPSEEK_LLM: &[&str] = &[
    "[\r\n]",
    "\\s?[A-Za-z\u{00b5}\u{00c0}-\u{00d6}\u{00d8}-\u{00f6}\u{00f8}-\u{01ba}\u{01bc}-\u{01bf}\u{01c4}-\u{0293}\u{0295}-\u{02af}\u{0370}-\u{0373}\u{0376}\u{0377}\u{037b}-\u{037d}\u{037f}\u{0386}\u{0388}-\u{038a}\u{038c}\u{038e}-\u{03a1}\u{03a3}-\u{03f5}\u{03f7}-\u{0481}\u{048a}-\u{052f}\u{0531}-\u{0556}\u{10a0}-\u{10c5}\u{13a0}-\u{13f5}\u{13f8}-\u{13fd}\u{1c90}-\u{1cba}\u{1cbd}-\u{1cbf}\u{1d00}-\u{1d2b}\u{1d6b}-\u{1d77}\u{1d79}-\u{1d9a}\u{1e00}-\u{1f15}\u{1f18}-\u{1f1d}\u{1f20}-\u{1f45}\u{1f48}-\u{1f4d}\u{1f50}-\u{1f57}\u{1f59}\u{1f5b}\u{1f5d}\u{1f5f}-\u{1f7d}\u{1f80}-\u{1fb4}\u{1fb6}-\u{1fbc}\u{1fbe}\u{1fc2}-\u{1fc4}\u{1fc6}-\u{1fcc}\u{1fd0}-\u{1fd3}\u{1fd6}-\u{1fdb}\u{1fe0}-\u{1fec}\u{1ff2}-\u{1ff4}\u{1ff6}-\u{1ffc}\u{2102}\u{2107}\u{210a}-\u{2113}\u{2115}\u{2119}-\u{211d}\u{2124}\u{2126}\u{2128}\u{212a}-\u{212d}\u{212f}-\u{2134}\u{2139}\u{213c}-\u{213f}\u{2145}-\u{2149}\u{214e}\u{2183}\u{2184}\u{2c00}-\u{2c7b}\u{2c7e}-\u{2ce4}\u{2ceb}-\u{2cee}\u{2cf2}\u{2cf3}\u{a640}-\u{a66d}\u{a680}-\u{a69b}\u{a722}-\u{a76f}\u{a771}-\u{a787}\u{a78b}-\u{a78e}\u{ab70}-\u{abbf}\u{fb00}-\u{fb06}\u{fb13}-\u{fb17}\u{ff21}-\u{ff3a}\u{ff41}-\u{ff5a}\u{10400}-\u{1044f}\u{104b0}-\u{104d3}\u{104d8}-\u{104fb}\u{10c80}-\u{10cb2}\u{10cc0}-\u{10cf2}\u{118a0}-\u{118df}\u{1e900}-\u{1e943}]+",
    "\\s?[!-/:-~\u{ff01}-\u{ff0f}\u{ff1a}-\u{ff5e}\u{2018}-\u{201f}\u{3000}-\u{3002}]+",
    "\\s+$",
    "[\u{4e00}-\u{9fa5}\u{0800}-\u{4e00}\u{ac00}-\u{d7ff}]+",
    "\\p{N}+",
];
const DEEPSEEK3_LLM: &[&str] = &[
    "\\p{N}{1,3}",
    "[\u{4e00}-\u{9fa5}\u{3040}-\u{309f}\u{30a0}-\u{30ff}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
];
const DEEPSEEK_CODER: &[&str] = &[
    "[\r\n]",
    "\\s?\\p{L}+",
    "\\s?\\p{P}+",
    "[\u{4e00}-\u{9fa5}\u{0800}-\u{4e00}\u{ac00}-\u{d7ff}]+",
    "\\p{N}",
];
const FALCON: &[&str] = &[
    "[\\p{P}\\$\\+<=>\\^~\\|`]+",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
    "[0-9][0-9][0-9]",
];
const STARCODER: &[&str] = &[
    "\\p{N}",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
];
const QWEN2: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const QWEN35: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const PORO: &[&str] = &[" ?[^(\\s|.,!?\u{2026}\u{3002}\u{ff0c}\u{3001}\u{0964}\u{06d4}\u{060c})]+"];
const VIKING: &[&str] = &[
    " ?[^(\\s|.,!?\u{2026}\u{3002}\u{ff0c}\u{3001}\u{0964}\u{06d4}\u{060c})]+",
    "\\p{N}",
];
const TEKKEN: &[&str] = &["[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const CHAMELEON: &[&str] = &[
    "<sentinel:[0-9]+>",
    "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
    "([\\t\\n]|    |  )",
    "\\p{N}",
    "[\\p{P}!-/:-@\\[-`{-~]",
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
];
const GPT4O: &[&str] = &["[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const TINY_AYA: &[&str] = &[
    "\\d{1,3}(?=(?:\\d{3})*\\b)",
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
];
const BAILINGMOE: &[&str] = &["'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"];
const SEED_CODER: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\r\n]+|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"];
const UFAKZEKA: &[&str] =
    &["[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"];
const LAGUNA: &[&str] = &["[^\\n]+|[\\n]+", QWEN2[0]];
const EXAONE_MOE: &[&str] = &["(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"];
const MINICPM5: &[&str] = &[
    "\\p{N}{1,3}",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
];

/// llama.cpp's `tokenizer.ggml.pre` table (`llama_vocab::impl::load`).
fn bpe_pre_tokenizer(pre: &str) -> Result<PreSpec> {
    let spec = |regexes| PreSpec {
        regexes,
        ignore_merges: false,
        add_bos: false,
        no_bos: false,
        nfc: false,
    };
    Ok(match pre {
        "default" => spec(DEFAULT),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
        | "jina-v5-nano" => PreSpec {
            ignore_merges: true,
            add_bos: true,
            ..spec(LLAMA3)
        },
        "dbrx" | "smaug-bpe" => spec(LLAMA3),
        "jais-2" => spec(JAIS2),
        "deepseek-llm" => spec(DEEPSEEK_LLM),
        "deepseek-v3" | "hunyuan-dense" | "joyai-llm" | "hy_v4" => spec(DEEPSEEK3_LLM),
        "deepseek-coder" => spec(DEEPSEEK_CODER),
        "falcon" => spec(FALCON),
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            spec(STARCODER)
        }
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0" | "mellum"
        | "modern-bert" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" | "exaone4" | "jina-v1-en"
        | "jina-v2-code" | "roberta-bpe" => spec(GPT2),
        "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" | "stablelm2" | "hunyuan" | "solar-open"
        | "grok-2" => spec(QWEN2),
        "qwen2" => PreSpec { nfc: true, ..spec(QWEN2) },
        "qwen35" => spec(QWEN35),
        "poro-chat" | "bloom" | "gpt3-finnish" => spec(PORO),
        "chatglm-bpe" => PreSpec {
            no_bos: true,
            ..spec(LLAMA3)
        },
        "glm4" | "glm5" => PreSpec {
            no_bos: true,
            ignore_merges: true,
            ..spec(LLAMA3)
        },
        "viking" => spec(VIKING),
        "tekken" => PreSpec {
            ignore_merges: true,
            add_bos: true,
            ..spec(TEKKEN)
        },
        "chameleon" => PreSpec {
            add_bos: true,
            ..spec(CHAMELEON)
        },
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => spec(GPT4O),
        "tiny_aya" | "cohere2moe" => spec(TINY_AYA),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => spec(BAILINGMOE),
        "seed-coder" => spec(SEED_CODER),
        "ufakzeka" => spec(UFAKZEKA),
        "laguna" => spec(LAGUNA),
        "exaone-moe" => spec(EXAONE_MOE),
        "minicpm5" => PreSpec {
            ignore_merges: true,
            ..spec(MINICPM5)
        },
        other => {
            return Err(err!(
                Tokenizer,
                "unsupported GGUF pre-tokenizer '{other}' (tokenizer.ggml.pre) for a gpt2 tokenizer"
            ))
        }
    })
}

fn merges(meta: &Metadata) -> Result<Vec<String>> {
    string_array(meta, "tokenizer.ggml.merges")?.ok_or_else(|| err!(Tokenizer, "GGUF has no tokenizer.ggml.merges"))
}

/// llama.cpp splits a merge at the first space after its first character.
/// A merge whose parts or result are not tokens can never fire there;
/// `tokenizers` rejects it, so it is dropped.
fn parse_merges(merges: Vec<String>, vocab: &Vocab) -> Vec<(String, String)> {
    merges
        .into_iter()
        .filter_map(|m| {
            let first = m.chars().next()?.len_utf8();
            let split = m[first..].find(' ')? + first;
            let (a, b) = (&m[..split], &m[split + 1..]);
            let known = vocab.contains_key(a) && vocab.contains_key(b) && vocab.contains_key(&format!("{a}{b}"));
            known.then(|| (a.to_string(), b.to_string()))
        })
        .collect()
}

fn byte_level_bpe(tokens: &[String], merges: Vec<String>, spec: &PreSpec) -> Result<Tokenizer> {
    let vocab = vocab_map(tokens);
    let merges = parse_merges(merges, &vocab);
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .ignore_merges(spec.ignore_merges)
        .build()
        .map_err(|e| err!(Tokenizer, "cannot build the GGUF BPE tokenizer: {e}"))?;

    let mut pre: Vec<PreTokenizerWrapper> = Vec::with_capacity(spec.regexes.len() + 1);
    for regex in spec.regexes {
        let split = Split::new(
            SplitPattern::Regex(regex.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| err!(Tokenizer, "invalid pre-tokenizer regex {regex:?}: {e}"))?;
        pre.push(split.into());
    }
    pre.push(ByteLevel::new(false, false, false).into());

    let mut tokenizer = Tokenizer::new(bpe);
    if spec.nfc {
        tokenizer
            .with_normalizer(Some(tokenizers::normalizers::unicode::NFC))
            .map_err(|e| err!(Tokenizer, "cannot set the GGUF tokenizer's normalizer: {e}"))?;
    }
    tokenizer
        .with_pre_tokenizer(Some(PreTokenizerSequence::new(pre)))
        .with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    Ok(tokenizer)
}

fn sentencepiece_bpe(tokens: &[String], scores: &[f64], unk: Option<u32>, add_prefix: bool) -> Result<Tokenizer> {
    let vocab = vocab_map(tokens);
    let merges = merges_from_scores(tokens, scores, &vocab);
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unk) = unk {
        builder = builder.unk_token(tokens[unk as usize].clone());
    }
    let bpe = builder
        .build()
        .map_err(|e| err!(Tokenizer, "cannot build the GGUF SentencePiece tokenizer: {e}"))?;

    let mut normalizers: Vec<NormalizerWrapper> = Vec::new();
    if add_prefix {
        normalizers.push(Prepend::new(SPACE_MARKER.to_string()).into());
    }
    normalizers.push(replace(" ", SPACE_MARKER)?.into());
    let mut decoders: Vec<DecoderWrapper> = vec![
        replace(SPACE_MARKER, " ")?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    if add_prefix {
        decoders.push(Strip::new(' ', 1, 0).into());
    }

    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(normalizers)))
        .map_err(|e| err!(Tokenizer, "cannot set the GGUF tokenizer's normalizer: {e}"))?
        .with_decoder(Some(DecoderSequence::new(decoders)));
    Ok(tokenizer)
}

/// Gemma 4: spaces become `▁` (no prefix), lines and runs of newlines are
/// merged separately, and a run of newlines that is a token is taken whole.
fn gemma4_bpe(tokens: &[String], merges: Vec<String>) -> Result<Tokenizer> {
    let vocab = vocab_map(tokens);
    let merges = parse_merges(merges, &vocab);
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .ignore_merges(true)
        .build()
        .map_err(|e| err!(Tokenizer, "cannot build the GGUF gemma4 tokenizer: {e}"))?;
    let split = Split::new(
        SplitPattern::Regex("[^\\n]+|[\\n]+".to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| err!(Tokenizer, "invalid pre-tokenizer regex: {e}"))?;
    let decoders: Vec<DecoderWrapper> = vec![
        replace(SPACE_MARKER, " ")?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ];
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_normalizer(Some(replace(" ", SPACE_MARKER)?))
        .map_err(|e| err!(Tokenizer, "cannot set the GGUF tokenizer's normalizer: {e}"))?
        .with_pre_tokenizer(Some(split))
        .with_decoder(Some(DecoderSequence::new(decoders)));
    Ok(tokenizer)
}

fn replace(from: &str, to: &str) -> Result<Replace> {
    Replace::new(from, to).map_err(|e| err!(Tokenizer, "cannot build a replace step: {e}"))
}

const MAX_MERGED_TOKEN_BYTES: usize = 1024;

/// SentencePiece BPE merges the adjacent pair whose concatenation is the
/// highest-scoring token. As ranked merges (`tokenizers` BPE) that is every
/// split of every token into two tokens, ordered by the token's score, which
/// is how transformers converts SentencePiece models.
fn merges_from_scores(tokens: &[String], scores: &[f64], vocab: &Vocab) -> Vec<(String, String)> {
    let mut ranked: Vec<(f64, u32, u32, &str, &str)> = Vec::new();
    for (id, token) in tokens.iter().enumerate() {
        // Duplicated token texts: only the id the vocabulary maps to counts.
        // Splitting costs the square of the length, so absurdly long tokens
        // (real pieces are a few dozen bytes) are left unmerged.
        if vocab.get(token) != Some(&(id as u32)) || token.len() > MAX_MERGED_TOKEN_BYTES {
            continue;
        }
        for (split, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(split);
            if let (Some(&l), Some(_)) = (vocab.get(left), vocab.get(right)) {
                ranked.push((scores[id], id as u32, l, left, right));
            }
        }
    }
    // Higher scores first; ties by token id, then by the left part's id.
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked
        .into_iter()
        .map(|(_, _, _, l, r)| (l.to_string(), r.to_string()))
        .collect()
}

/// llama.cpp stores BERT vocabularies with a `▁` before word-initial pieces
/// and none before continuations; WordPiece wants the reverse (`##`).
fn word_piece(tokens: &[String], unk: &str, lowercase: bool, strip_accents: bool) -> Result<Tokenizer> {
    let mut vocab = Vocab::default();
    for (id, token) in tokens.iter().enumerate() {
        let piece = if let Some(word) = token.strip_prefix(SPACE_MARKER) {
            word.to_string()
        } else if token.starts_with('[') && token.ends_with(']') {
            token.clone()
        } else {
            format!("##{token}")
        };
        vocab.insert(piece, id as u32);
    }
    let wordpiece = WordPiece::builder()
        .vocab(vocab)
        .unk_token(unk.to_string())
        // llama.cpp has no word-length cut-off.
        .max_input_chars_per_word(usize::MAX)
        .build()
        .map_err(|e| err!(Tokenizer, "cannot build the GGUF WordPiece tokenizer: {e}"))?;
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, Some(strip_accents), lowercase)))
        .map_err(|e| err!(Tokenizer, "cannot set the GGUF tokenizer's normalizer: {e}"))?
        .with_pre_tokenizer(Some(BertPreTokenizer))
        .with_decoder(Some(WordPieceDecoder::new("##".to_string(), true)));
    Ok(tokenizer)
}

/// Token text → id. With duplicated texts the last id wins, as in llama.cpp.
fn vocab_map(tokens: &[String]) -> Vocab {
    tokens
        .iter()
        .enumerate()
        .map(|(id, t)| (t.clone(), id as u32))
        .collect()
}

/// Control and unknown tokens become special added tokens, user-defined
/// tokens plain added ones. Neither is normalized: llama.cpp matches their
/// text in the raw input.
fn add_token_types(tokenizer: &mut Tokenizer, tokens: &[String], types: &[i64]) -> Result<()> {
    let mut special = Vec::new();
    let mut user = Vec::new();
    let mut seen = HashSet::new();
    for (token, &ty) in tokens.iter().zip(types) {
        // An empty added token would match nowhere, a repeated one adds nothing.
        if token.is_empty() || !seen.insert(token.as_str()) {
            continue;
        }
        match ty {
            TYPE_CONTROL | TYPE_UNKNOWN => special.push(AddedToken::from(token.clone(), true).normalized(false)),
            TYPE_USER_DEFINED => user.push(AddedToken::from(token.clone(), false).normalized(false)),
            _ => {}
        }
    }
    tokenizer
        .add_special_tokens(special)
        .map_err(|e| err!(Tokenizer, "cannot add special tokens: {e}"))?;
    tokenizer
        .add_tokens(user)
        .map_err(|e| err!(Tokenizer, "cannot add user-defined tokens: {e}"))?;
    Ok(())
}

/// `BOS $A EOS` (each part only when asked for). The template refers to the
/// tokens by fixed names, so token texts with spaces or colons are fine.
fn post_processor(bos: Option<(u32, &str)>, eos: Option<(u32, &str)>) -> Result<Option<TemplateProcessing>> {
    if bos.is_none() && eos.is_none() {
        return Ok(None);
    }
    let wrap = |seq: &str| {
        let mut pieces = Vec::new();
        pieces.extend(bos.map(|_| "bos".to_string()));
        pieces.push(seq.to_string());
        pieces.extend(eos.map(|_| "eos".to_string()));
        pieces
    };
    let mut special_tokens = Vec::new();
    for (name, piece) in [("bos", bos), ("eos", eos)] {
        if let Some((id, text)) = piece {
            let token = SpecialToken::new(name.to_string(), vec![id], vec![text.to_string()])
                .map_err(|e| err!(Tokenizer, "bad special token {text:?}: {e}"))?;
            special_tokens.push(token);
        }
    }
    let post = TemplateProcessing::builder()
        .try_single(wrap("$A"))
        .and_then(|b| b.try_pair([wrap("$A"), wrap("$B:1")].concat()))
        .map_err(|e| err!(Tokenizer, "bad post-processor template: {e}"))?
        .special_tokens(special_tokens)
        .build()
        .map_err(|e| err!(Tokenizer, "cannot build the post-processor: {e}"))?;
    Ok(Some(post))
}

/// A string array, or `None` when the key is absent.
fn string_array(meta: &Metadata, key: &str) -> Result<Option<Vec<String>>> {
    let Some(value) = meta.get(key) else { return Ok(None) };
    let items = value
        .as_array()
        .ok_or_else(|| err!(Tokenizer, "GGUF {key} must be an array, got {}", value.type_name()))?;
    items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| err!(Tokenizer, "GGUF {key} must hold strings, got {}", v.type_name()))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// A numeric array of exactly `n` elements, or `None` when the key is absent.
fn number_array<T>(meta: &Metadata, key: &str, n: usize, get: fn(&Value) -> Option<T>) -> Result<Option<Vec<T>>> {
    let Some(value) = meta.get(key) else { return Ok(None) };
    let items = value
        .as_array()
        .ok_or_else(|| err!(Tokenizer, "GGUF {key} must be an array, got {}", value.type_name()))?;
    if items.len() != n {
        return Err(err!(
            Tokenizer,
            "GGUF {key} has {} entries but there are {n} tokens",
            items.len()
        ));
    }
    items
        .iter()
        .map(|v| get(v).ok_or_else(|| err!(Tokenizer, "GGUF {key} must hold numbers, got {}", v.type_name())))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn meta(kv: Vec<(&str, Value)>) -> Metadata {
        Metadata {
            version: 3,
            kv: kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            tensors: Vec::new(),
            data_offset: 0,
        }
    }

    fn strings(items: &[&str]) -> Value {
        Value::Array(items.iter().map(|s| Value::String(s.to_string())).collect())
    }

    fn tokenizer_error(m: &Metadata) -> String {
        let e = from_metadata(m).err().expect("should fail");
        assert_eq!(e.kind, ErrorKind::Tokenizer, "{}", e.message);
        e.message
    }

    /// A tiny SentencePiece vocabulary: `▁ab` is reachable only through
    /// `▁a` + `b`, and `!` only through its byte token.
    fn spm() -> Vec<(&'static str, Value)> {
        let tokens = [
            "<unk>",
            "<s>",
            "</s>",
            "<0x21>",
            "\u{2581}",
            "a",
            "b",
            "\u{2581}a",
            "\u{2581}ab",
        ];
        vec![
            ("tokenizer.ggml.model", Value::String("llama".into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            (
                "tokenizer.ggml.scores",
                Value::Array([0., 0., 0., 0., -1., -2., -3., -4., -5.].map(Value::F32).into()),
            ),
            (
                "tokenizer.ggml.token_type",
                Value::Array([2, 3, 3, 6, 1, 1, 1, 1, 1].map(Value::I32).into()),
            ),
            ("tokenizer.ggml.bos_token_id", Value::U32(1)),
            ("tokenizer.ggml.eos_token_id", Value::U32(2)),
            ("tokenizer.ggml.eot_token_id", Value::U32(2)),
            ("tokenizer.chat_template", Value::String("{{ messages }}".into())),
        ]
    }

    #[test]
    fn builds_a_sentencepiece_tokenizer() {
        let v = from_metadata(&meta(spm())).unwrap();
        assert_eq!(
            (v.model.as_str(), v.add_bos_token, v.add_eos_token),
            ("llama", true, false)
        );
        assert_eq!(
            (v.bos_token.as_deref(), v.eos_token.as_deref()),
            (Some("<s>"), Some("</s>"))
        );
        assert_eq!(v.unk_token.as_deref(), Some("<unk>"));
        assert_eq!(v.eos_token_ids, [2]);
        assert_eq!(v.chat_template.as_deref(), Some("{{ messages }}"));

        let enc = v.tokenizer.encode("ab!", true).unwrap();
        assert_eq!(enc.get_ids(), [1, 8, 3]);
        assert_eq!(v.tokenizer.decode(enc.get_ids(), true).unwrap(), "ab!");
        // Control tokens in the text are special tokens.
        assert_eq!(v.tokenizer.encode("a</s>", false).unwrap().get_ids(), [7, 2]);
    }

    #[test]
    fn builds_a_byte_level_bpe_tokenizer() {
        let tokens = ["h", "i", "hi", "\u{120}", "\u{120}hi", "<|end|>", "<tool>", "!"];
        let m = meta(vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String("gpt-2".into())),
            ("tokenizer.ggml.tokens", strings(&tokens)),
            ("tokenizer.ggml.merges", strings(&["h i", "\u{120} hi"])),
            (
                "tokenizer.ggml.token_type",
                Value::Array([1, 1, 1, 1, 1, 3, 4, 1].map(Value::I32).into()),
            ),
            ("tokenizer.ggml.eos_token_id", Value::U32(5)),
        ]);
        let v = from_metadata(&m).unwrap();
        assert!(!v.add_bos_token && v.bos_token.is_none());
        let enc = v.tokenizer.encode("hi hi<|end|>!<tool>", true).unwrap();
        assert_eq!(enc.get_ids(), [2, 4, 5, 7, 6]);
        assert_eq!(v.tokenizer.decode(enc.get_ids(), false).unwrap(), "hi hi<|end|>!<tool>");
        assert_eq!(v.tokenizer.decode(enc.get_ids(), true).unwrap(), "hi hi!<tool>");
    }

    #[test]
    fn llama3_style_pre_tokenizers_add_bos_by_default() {
        let m = meta(vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String("llama-bpe".into())),
            ("tokenizer.ggml.tokens", strings(&["<|begin_of_text|>", "a"])),
            ("tokenizer.ggml.merges", strings(&[])),
            ("tokenizer.ggml.bos_token_id", Value::U32(0)),
        ]);
        let v = from_metadata(&m).unwrap();
        assert!(v.add_bos_token);
        assert_eq!(v.tokenizer.encode("a", true).unwrap().get_ids(), [0, 1]);
    }

    #[test]
    fn missing_tokens_is_a_tokenizer_error() {
        let msg = tokenizer_error(&meta(vec![("general.architecture", Value::String("llama".into()))]));
        assert_eq!(msg, "GGUF has no tokenizer metadata (tokenizer.ggml.tokens)");
    }

    #[test]
    fn unknown_model_and_pre_are_named() {
        let mut kv = spm();
        kv[0].1 = Value::String("rwkv".into());
        let msg = tokenizer_error(&meta(kv));
        assert!(msg.contains("'rwkv'") && msg.contains("gpt2"), "{msg}");

        let m = meta(vec![
            ("tokenizer.ggml.model", Value::String("gpt2".into())),
            ("tokenizer.ggml.pre", Value::String("brand-new".into())),
            ("tokenizer.ggml.tokens", strings(&["a"])),
            ("tokenizer.ggml.merges", strings(&[])),
        ]);
        assert!(tokenizer_error(&m).contains("'brand-new'"));
    }

    #[test]
    fn mismatched_lengths_and_bad_ids_are_errors() {
        let mut kv = spm();
        kv[2].1 = Value::Array(vec![Value::F32(0.0)]);
        assert!(tokenizer_error(&meta(kv)).contains("tokenizer.ggml.scores has 1 entries but there are 9 tokens"));

        let mut kv = spm();
        kv[3].1 = Value::Array(vec![Value::I32(1); 3]);
        assert!(tokenizer_error(&meta(kv)).contains("token_type has 3 entries"));

        let mut kv = spm();
        kv[5].1 = Value::U32(9);
        assert!(tokenizer_error(&meta(kv)).contains("eos_token_id = 9 is out of range"));

        let mut kv = spm();
        kv[1].1 = Value::Array(vec![Value::U8(1)]);
        assert!(tokenizer_error(&meta(kv)).contains("must hold strings"));
    }
}
