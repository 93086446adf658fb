//! Loads a SentencePiece `tokenizer.model` (a serialized `ModelProto`) as a
//! HuggingFace `tokenizers::Tokenizer` that encodes exactly like the
//! `sentencepiece` library (`SentencePieceProcessor.encode(text)`).
//!
//! The protobuf is parsed by hand: only a handful of fields are needed, and a
//! small bounded reader keeps hostile files from panicking or allocating more
//! than the file itself holds.
//!
//! The pipeline mirrors sentencepiece (normalizer.cc, bpe_model.cc,
//! unigram_model.cc, sentencepiece_processor.cc), which in a few places is
//! not what transformers' `convert_slow_tokenizer.py` builds:
//! - whitespace handling follows the normalizer spec (`remove_extra_whitespaces`
//!   strips and collapses only U+0020, after the charsmap ran), and the dummy
//!   prefix is always added, even when the text already starts with "▁"
//!   (Metaspace would skip it; sentencepiece does not);
//! - the model runs over the whole normalized text, as sentencepiece does; the
//!   text is only split before each "▁" when no piece has "▁" past its first
//!   character, where splitting provably changes nothing;
//! - Unigram: control, unknown, byte and unused pieces are never matched
//!   against text (sentencepiece keeps them out of its trie), and
//!   user-defined pieces get sentencepiece's bonus score `0.1 * (bytes - 1)`;
//! - BPE: merges come from the NORMAL pieces only, ranked by the merged
//!   piece's score (sentencepiece merges the best-scoring adjacent pair);
//! - decoding turns the unknown piece into `unk_surface` (" ⁇ "), like
//!   `SentencePieceProcessor.decode`.
//!
//! Control pieces (`<s>`, `</s>`, `<pad>`, ...) become special added tokens,
//! so `decode(ids, skip_special_tokens = true)` drops them like sentencepiece
//! does; as in every HF fast tokenizer, their literal text in the input is
//! recognised as the special token (sentencepiece would spell it out).
//! No post-processor: the tokenizer never adds BOS/EOS itself.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab as BpeVocab, BPE};
use tokenizers::models::unigram::Unigram;
use tokenizers::models::ModelWrapper;
use tokenizers::normalizers::precompiled::Precompiled;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::{NormalizerWrapper, Prepend, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::error::Result;

/// The model algorithm recorded in `trainer_spec.model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpmType {
    Bpe,
    Unigram,
}

/// A loaded `tokenizer.model`: the equivalent HF tokenizer plus the facts a
/// caller needs to add BOS/EOS or pad itself.
pub struct SentencePieceModel {
    pub tokenizer: Tokenizer,
    pub model_type: SpmType,
    pub bos_token: Option<String>,
    pub eos_token: Option<String>,
    pub unk_token: Option<String>,
    pub pad_token: Option<String>,
    pub byte_fallback: bool,
}

impl std::fmt::Debug for SentencePieceModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentencePieceModel")
            .field("model_type", &self.model_type)
            .field("vocab_size", &self.tokenizer.get_vocab_size(true))
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .field("unk_token", &self.unk_token)
            .field("pad_token", &self.pad_token)
            .field("byte_fallback", &self.byte_fallback)
            .finish()
    }
}

/// Reads and converts a `tokenizer.model` file.
pub fn from_file(path: &Path) -> Result<SentencePieceModel> {
    let bytes = std::fs::read(path).map_err(|e| {
        crate::err!(
            Tokenizer,
            "cannot read SentencePiece model {}: {e}",
            path.display()
        )
    })?;
    from_bytes(&bytes).map_err(|e| crate::err!(Tokenizer, "{} ({})", e.message, path.display()))
}

/// Converts the bytes of a `tokenizer.model`.
pub fn from_bytes(bytes: &[u8]) -> Result<SentencePieceModel> {
    let proto = ModelProto::parse(bytes)?;
    build(&proto)
}

// ---------------------------------------------------------------------------
// Protobuf: the subset of sentencepiece_model.proto that encoding depends on.
// ---------------------------------------------------------------------------

const SPACE_SYMBOL: &str = "\u{2581}";
/// Longest NORMAL piece (in bytes) accepted for BPE merge derivation, which is
/// quadratic in the piece length; sentencepiece trains pieces of <= 16 chars.
const MAX_BPE_PIECE_BYTES: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

#[derive(Debug, Clone)]
struct Piece {
    piece: String,
    score: f32,
    kind: PieceType,
}

#[derive(Debug, Clone)]
struct TrainerSpec {
    model_type: u64,
    byte_fallback: bool,
    treat_whitespace_as_suffix: bool,
    unk_id: i32,
    bos_id: i32,
    eos_id: i32,
    pad_id: i32,
    unk_surface: String,
}

impl Default for TrainerSpec {
    // Defaults from sentencepiece_model.proto.
    fn default() -> Self {
        Self {
            model_type: 1,
            byte_fallback: false,
            treat_whitespace_as_suffix: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            unk_surface: " \u{2047} ".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct NormalizerSpec {
    precompiled_charsmap: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        Self {
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct ModelProto {
    pieces: Vec<Piece>,
    trainer: TrainerSpec,
    normalizer: NormalizerSpec,
}

/// One decoded protobuf field value.
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Bounded protobuf reader over one message: every length is checked against
/// the bytes left, so nothing is allocated or sliced beyond the input.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Which message this is, for error messages.
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }

    fn fail(&self, detail: impl std::fmt::Display) -> crate::error::Error {
        crate::err!(
            Tokenizer,
            "tokenizer.model is not a SentencePiece model: {} at byte {} of {}: {detail}",
            self.what,
            self.pos,
            self.buf.len()
        )
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.fail("truncated varint"));
            };
            self.pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.fail("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let Some(end) = end else {
            return Err(self.fail(format!(
                "field length {n} exceeds the {} bytes left",
                self.buf.len() - self.pos
            )));
        };
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(self.fail("field number 0"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| self.fail("length overflows"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            wt => return Err(self.fail(format!("field {field} wire type {wt}"))),
        };
        Ok(Some((field, value)))
    }
}

impl<'a> Value<'a> {
    fn wire_name(&self) -> &'static str {
        match self {
            Value::Varint(_) => "varint",
            Value::Fixed64 => "fixed64",
            Value::Bytes(_) => "length-delimited",
            Value::Fixed32(_) => "fixed32",
        }
    }
}

fn wrong_type(what: &str, field: u64, v: &Value) -> crate::error::Error {
    crate::err!(
        Tokenizer,
        "tokenizer.model is not a SentencePiece model: {what} field {field} has wire type {}",
        v.wire_name()
    )
}

fn as_bool(what: &str, field: u64, v: &Value) -> Result<bool> {
    match v {
        Value::Varint(x) => Ok(*x != 0),
        _ => Err(wrong_type(what, field, v)),
    }
}

/// int32 fields are varints; negative values are sign-extended to 64 bits.
fn as_i32(what: &str, field: u64, v: &Value) -> Result<i32> {
    match v {
        Value::Varint(x) => Ok(*x as i64 as i32),
        _ => Err(wrong_type(what, field, v)),
    }
}

fn as_bytes<'a>(what: &str, field: u64, v: &Value<'a>) -> Result<&'a [u8]> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(wrong_type(what, field, v)),
    }
}

fn as_string(what: &str, field: u64, v: &Value) -> Result<String> {
    let b = as_bytes(what, field, v)?;
    String::from_utf8(b.to_vec()).map_err(|_| {
        crate::err!(
            Tokenizer,
            "tokenizer.model is not a SentencePiece model: {what} field {field} is not UTF-8"
        )
    })
}

impl ModelProto {
    fn parse(bytes: &[u8]) -> Result<Self> {
        let mut proto = ModelProto::default();
        let mut r = Reader::new(bytes, "ModelProto");
        while let Some((field, v)) = r.next_field()? {
            match field {
                1 => proto
                    .pieces
                    .push(parse_piece(as_bytes("ModelProto", 1, &v)?)?),
                2 => proto.trainer = parse_trainer(as_bytes("ModelProto", 2, &v)?)?,
                3 => proto.normalizer = parse_normalizer(as_bytes("ModelProto", 3, &v)?)?,
                _ => {} // self_test_data, denormalizer_spec, extensions
            }
        }
        if proto.pieces.is_empty() {
            return Err(crate::err!(
                Tokenizer,
                "tokenizer.model is not a SentencePiece model: it has no pieces"
            ));
        }
        Ok(proto)
    }
}

fn parse_piece(buf: &[u8]) -> Result<Piece> {
    const W: &str = "SentencePiece";
    let mut r = Reader::new(buf, W);
    let mut piece = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    while let Some((field, v)) = r.next_field()? {
        match field {
            1 => piece.piece = as_string(W, 1, &v)?,
            2 => match v {
                Value::Fixed32(bits) => piece.score = f32::from_bits(bits),
                _ => return Err(wrong_type(W, 2, &v)),
            },
            3 => {
                piece.kind = match v {
                    Value::Varint(1) => PieceType::Normal,
                    Value::Varint(2) => PieceType::Unknown,
                    Value::Varint(3) => PieceType::Control,
                    Value::Varint(4) => PieceType::UserDefined,
                    Value::Varint(5) => PieceType::Unused,
                    Value::Varint(6) => PieceType::Byte,
                    Value::Varint(t) => {
                        return Err(crate::err!(
                            Tokenizer,
                            "tokenizer.model is not a SentencePiece model: piece type {t}"
                        ))
                    }
                    _ => return Err(wrong_type(W, 3, &v)),
                }
            }
            _ => {}
        }
    }
    Ok(piece)
}

fn parse_trainer(buf: &[u8]) -> Result<TrainerSpec> {
    const W: &str = "TrainerSpec";
    let mut r = Reader::new(buf, W);
    let mut t = TrainerSpec::default();
    while let Some((field, v)) = r.next_field()? {
        match field {
            3 => match v {
                Value::Varint(x) => t.model_type = x,
                _ => return Err(wrong_type(W, 3, &v)),
            },
            24 => t.treat_whitespace_as_suffix = as_bool(W, field, &v)?,
            35 => t.byte_fallback = as_bool(W, field, &v)?,
            40 => t.unk_id = as_i32(W, field, &v)?,
            41 => t.bos_id = as_i32(W, field, &v)?,
            42 => t.eos_id = as_i32(W, field, &v)?,
            43 => t.pad_id = as_i32(W, field, &v)?,
            44 => t.unk_surface = as_string(W, field, &v)?,
            _ => {}
        }
    }
    Ok(t)
}

fn parse_normalizer(buf: &[u8]) -> Result<NormalizerSpec> {
    const W: &str = "NormalizerSpec";
    let mut r = Reader::new(buf, W);
    let mut n = NormalizerSpec::default();
    while let Some((field, v)) = r.next_field()? {
        match field {
            2 => n.precompiled_charsmap = as_bytes(W, field, &v)?.to_vec(),
            3 => n.add_dummy_prefix = as_bool(W, field, &v)?,
            4 => n.remove_extra_whitespaces = as_bool(W, field, &v)?,
            5 => n.escape_whitespaces = as_bool(W, field, &v)?,
            _ => {}
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// Conversion.
// ---------------------------------------------------------------------------

fn tok_err(what: &str, e: impl std::fmt::Display) -> crate::error::Error {
    crate::err!(
        Tokenizer,
        "cannot build the tokenizer from tokenizer.model: {what}: {e}"
    )
}

fn build(proto: &ModelProto) -> Result<SentencePieceModel> {
    let pieces = &proto.pieces;
    let spec = &proto.normalizer;
    let trainer = &proto.trainer;

    let model_type = match trainer.model_type {
        1 => SpmType::Unigram,
        2 => SpmType::Bpe,
        3 => {
            return Err(crate::err!(
                Tokenizer,
                "SentencePiece WORD models are not supported"
            ))
        }
        4 => {
            return Err(crate::err!(
                Tokenizer,
                "SentencePiece CHAR models are not supported"
            ))
        }
        t => {
            return Err(crate::err!(
                Tokenizer,
                "unknown SentencePiece model_type {t}"
            ))
        }
    };
    if trainer.treat_whitespace_as_suffix {
        return Err(crate::err!(
            Tokenizer,
            "SentencePiece models with treat_whitespace_as_suffix are not supported"
        ));
    }

    // Duplicate or empty pieces would silently shift ids in a HF vocab map.
    let mut seen = HashSet::with_capacity(pieces.len());
    for (id, p) in pieces.iter().enumerate() {
        if p.piece.is_empty() {
            return Err(crate::err!(
                Tokenizer,
                "tokenizer.model: piece {id} is empty"
            ));
        }
        if !seen.insert(p.piece.as_str()) {
            return Err(crate::err!(
                Tokenizer,
                "tokenizer.model: piece {:?} is defined twice",
                p.piece
            ));
        }
    }

    let piece_at =
        |id: i32| -> Option<&Piece> { usize::try_from(id).ok().and_then(|i| pieces.get(i)) };
    // sentencepiece requires exactly one UNKNOWN piece; prefer trainer_spec.unk_id.
    let unk_id = match piece_at(trainer.unk_id) {
        Some(p) if p.kind == PieceType::Unknown => trainer.unk_id as usize,
        _ => pieces
            .iter()
            .position(|p| p.kind == PieceType::Unknown)
            .ok_or_else(|| crate::err!(Tokenizer, "tokenizer.model has no unknown piece"))?,
    };
    let unk_piece = pieces[unk_id].piece.clone();
    let token_of = |id: i32| piece_at(id).map(|p| p.piece.clone());

    let user_defined: Vec<&str> = pieces
        .iter()
        .filter(|p| p.kind == PieceType::UserDefined)
        .map(|p| p.piece.as_str())
        .collect();

    let model: ModelWrapper = match model_type {
        SpmType::Unigram => unigram_model(pieces, unk_id, trainer.byte_fallback)?.into(),
        SpmType::Bpe => bpe_model(
            pieces,
            &unk_piece,
            trainer.byte_fallback,
            !user_defined.is_empty(),
        )?
        .into(),
    };
    let mut tokenizer = Tokenizer::new(model);

    tokenizer
        .with_normalizer(Some(normalizer(spec)?))
        .map_err(|e| tok_err("normalizer", e))?;
    tokenizer.with_pre_tokenizer(pre_tokenizer(pieces, spec, &user_defined)?);
    tokenizer.with_decoder(Some(decoder(spec, trainer, &unk_piece)?));

    let control: Vec<AddedToken> = pieces
        .iter()
        .filter(|p| p.kind == PieceType::Control)
        .map(|p| AddedToken::from(p.piece.clone(), true))
        .collect();
    tokenizer
        .add_special_tokens(control)
        .map_err(|e| tok_err("control tokens", e))?;

    Ok(SentencePieceModel {
        tokenizer,
        model_type,
        bos_token: token_of(trainer.bos_id),
        eos_token: token_of(trainer.eos_id),
        unk_token: Some(unk_piece),
        pad_token: token_of(trainer.pad_id),
        byte_fallback: trainer.byte_fallback,
    })
}

fn unigram_model(pieces: &[Piece], unk_id: usize, byte_fallback: bool) -> Result<Unigram> {
    let min_normal = pieces
        .iter()
        .filter(|p| p.kind == PieceType::Normal)
        .map(|p| f64::from(p.score))
        .fold(f64::INFINITY, f64::min);
    if !min_normal.is_finite() {
        return Err(crate::err!(
            Tokenizer,
            "tokenizer.model: Unigram model without finite NORMAL piece scores"
        ));
    }
    // HF's Unigram puts every vocab entry in its trie; sentencepiece only
    // NORMAL and USER_DEFINED ones. A score far below any real path (even one
    // of unknown characters, each `min_normal - 10`) keeps the others
    // (control, unknown, byte, unused) from ever being chosen.
    let never = min_normal - 1.0e6;
    let vocab: Vec<(String, f64)> = pieces
        .iter()
        .map(|p| {
            let score = match p.kind {
                PieceType::Normal => f64::from(p.score),
                // sentencepiece's bonus so user-defined pieces always win.
                PieceType::UserDefined => 0.1 * (p.piece.len() as f64 - 1.0),
                _ => never,
            };
            (p.piece.clone(), score)
        })
        .collect();
    let mut model = Unigram::from(vocab, Some(unk_id), byte_fallback)
        .map_err(|e| tok_err("Unigram model", e))?;
    // HF derives the unknown-character penalty from the lowest score of all
    // entries; sentencepiece from the lowest NORMAL score.
    model.min_score = min_normal;
    Ok(model)
}

fn bpe_model(pieces: &[Piece], unk: &str, byte_fallback: bool, has_user: bool) -> Result<BPE> {
    // sentencepiece BPE repeatedly merges the adjacent pair whose concatenation
    // is the best-scoring NORMAL piece (ties: leftmost). HF BPE merges by
    // rank, so every split of a NORMAL piece into two NORMAL pieces becomes a
    // merge ranked by (score desc, id asc), as transformers'
    // SentencePieceExtractor does.
    let normal: HashMap<&str, usize> = pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == PieceType::Normal)
        .map(|(id, p)| (p.piece.as_str(), id))
        .collect();
    let mut ranked: Vec<(f32, usize, &str, &str)> = Vec::new();
    for (id, p) in pieces.iter().enumerate() {
        if p.kind != PieceType::Normal {
            continue;
        }
        if p.piece.len() > MAX_BPE_PIECE_BYTES {
            return Err(crate::err!(
                Tokenizer,
                "tokenizer.model: BPE piece {id} is {} bytes long (max {MAX_BPE_PIECE_BYTES})",
                p.piece.len()
            ));
        }
        for (split, _) in p.piece.char_indices().skip(1) {
            let (left, right) = p.piece.split_at(split);
            if normal.contains_key(left) && normal.contains_key(right) {
                ranked.push((p.score, id, left, right));
            }
        }
    }
    ranked.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.cmp(b.2))
            .then(a.3.cmp(b.3))
    });
    let merges: Vec<(String, String)> = ranked
        .into_iter()
        .map(|(_, _, l, r)| (l.to_string(), r.to_string()))
        .collect();
    let vocab: BpeVocab = pieces
        .iter()
        .enumerate()
        .map(|(id, p)| (p.piece.clone(), id as u32))
        .collect();
    BPE::builder()
        .vocab_and_merges(vocab, merges)
        .unk_token(unk.to_string())
        .fuse_unk(true)
        .byte_fallback(byte_fallback)
        // User-defined pieces are isolated by the pre-tokenizer and are not
        // reachable by merges: emit a pre-token that is a whole vocab entry as is.
        .ignore_merges(has_user)
        .build()
        .map_err(|e| tok_err("BPE model", e))
}

fn replace(pattern: ReplacePattern, content: &str) -> Result<Replace> {
    Replace::new(pattern, content).map_err(|e| tok_err("replace", e))
}

/// sentencepiece's Normalizer::Normalize: charsmap, then (only U+0020)
/// strip + collapse, escape spaces, dummy prefix (not for empty text).
fn normalizer(spec: &NormalizerSpec) -> Result<NormalizerWrapper> {
    let mut steps: Vec<NormalizerWrapper> = Vec::new();
    if !spec.precompiled_charsmap.is_empty() {
        let pc = Precompiled::from(&spec.precompiled_charsmap)
            .map_err(|e| tok_err("precompiled_charsmap", e))?;
        steps.push(pc.into());
    }
    if spec.remove_extra_whitespaces {
        steps.push(replace(ReplacePattern::Regex(r"\A +| +\z".into()), "")?.into());
        steps.push(replace(ReplacePattern::Regex(" {2,}".into()), " ")?.into());
    }
    let space = if spec.escape_whitespaces {
        SPACE_SYMBOL
    } else {
        " "
    };
    if spec.escape_whitespaces {
        steps.push(replace(ReplacePattern::String(" ".into()), SPACE_SYMBOL)?.into());
    }
    if spec.add_dummy_prefix {
        steps.push(Prepend::new(space.to_string()).into());
    }
    Ok(NormalizerSequence::new(steps).into())
}

/// sentencepiece runs the model over the whole normalized text. Splitting it
/// before each "▁" gives the same result (and lets HF cache per word) when no
/// piece holds "▁" past its first character: no piece then spans a boundary,
/// so neither a BPE merge nor a Unigram node can cross one.
fn pre_tokenizer(
    pieces: &[Piece],
    spec: &NormalizerSpec,
    user_defined: &[&str],
) -> Result<Option<PreTokenizerWrapper>> {
    let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
    let inner_space = pieces.iter().any(|p| {
        matches!(p.kind, PieceType::Normal | PieceType::UserDefined)
            && p.piece.char_indices().skip(1).any(|(_, c)| c == '\u{2581}')
    });
    if spec.escape_whitespaces && !inner_space {
        let split = Split::new(
            SplitPattern::String(SPACE_SYMBOL.into()),
            SplitDelimiterBehavior::MergedWithNext,
            false,
        )
        .map_err(|e| tok_err("whitespace split", e))?;
        steps.push(split.into());
    }
    if !user_defined.is_empty() {
        // sentencepiece emits user-defined pieces whole (longest match first).
        let mut sorted: Vec<&str> = user_defined.to_vec();
        sorted.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let pattern = sorted
            .iter()
            .map(|s| regex_escape(s))
            .collect::<Vec<_>>()
            .join("|");
        let split = Split::new(
            SplitPattern::Regex(pattern),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| tok_err("user-defined split", e))?;
        steps.push(split.into());
    }
    Ok(match steps.len() {
        0 => None,
        1 => steps.pop(),
        _ => Some(PreTokenizerSequence::new(steps).into()),
    })
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Stands in for the unknown piece's surface while leading spaces are stripped:
/// a Unicode noncharacter, reserved for exactly such internal use.
const UNK_PLACEHOLDER: &str = "\u{FDD0}";

/// sentencepiece's decode: "▁" -> " ", byte pieces -> UTF-8, the unknown
/// piece -> unk_surface (" ⁇ "), control pieces -> nothing (they are special
/// tokens here, dropped by `skip_special_tokens`), and leading whitespace of
/// the first pieces dropped: one "▁" with add_dummy_prefix, every leading
/// one with remove_extra_whitespaces (sentencepiece strips one "▁" per piece
/// while the output is still empty). The unknown surface is never stripped,
/// hence the placeholder until after `Strip`.
fn decoder(spec: &NormalizerSpec, trainer: &TrainerSpec, unk: &str) -> Result<DecoderWrapper> {
    let mut steps: Vec<DecoderWrapper> = Vec::new();
    // Per token, before fusing, so a literal "<unk>" spelled by other pieces stays.
    steps.push(replace(ReplacePattern::String(unk.into()), UNK_PLACEHOLDER)?.into());
    if spec.escape_whitespaces {
        steps.push(replace(ReplacePattern::String(SPACE_SYMBOL.into()), " ")?.into());
    }
    if trainer.byte_fallback {
        steps.push(ByteFallback::new().into());
    }
    steps.push(Fuse::new().into());
    if spec.remove_extra_whitespaces {
        steps.push(Strip::new(' ', usize::MAX, 0).into());
    } else if spec.add_dummy_prefix {
        steps.push(Strip::new(' ', 1, 0).into());
    }
    steps.push(
        replace(
            ReplacePattern::String(UNK_PLACEHOLDER.into()),
            &trainer.unk_surface,
        )?
        .into(),
    );
    Ok(DecoderSequence::new(steps).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn field_bytes(field: u64, data: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }

    fn field_varint(field: u64, v: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(v, out);
    }

    fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut p = Vec::new();
        field_bytes(1, text.as_bytes(), &mut p);
        p.push(2 << 3 | 5);
        p.extend_from_slice(&score.to_le_bytes());
        field_varint(3, kind, &mut p);
        p
    }

    /// A tiny valid Unigram model: <unk>, <s>, </s>, ▁, a, b, ▁ab.
    fn tiny_model(model_type: u64) -> Vec<u8> {
        let mut m = Vec::new();
        let pieces = [
            ("<unk>", 0.0, 2),
            ("<s>", 0.0, 3),
            ("</s>", 0.0, 3),
            ("▁", -1.0, 1),
            ("a", -2.0, 1),
            ("b", -3.0, 1),
            ("▁a", -1.5, 1),
            ("▁ab", -0.5, 1),
        ];
        for (t, s, k) in pieces {
            field_bytes(1, &piece(t, s, k), &mut m);
        }
        let mut trainer = Vec::new();
        field_varint(3, model_type, &mut trainer);
        field_bytes(2, &trainer, &mut m);
        m
    }

    fn expect_err(bytes: &[u8], needle: &str) {
        let e = from_bytes(bytes).expect_err("must fail");
        assert_eq!(e.kind, ErrorKind::Tokenizer);
        assert!(
            e.message.contains(needle),
            "{:?} lacks {needle:?}",
            e.message
        );
    }

    #[test]
    fn tiny_models_encode_and_decode() {
        for (t, kind) in [(1, SpmType::Unigram), (2, SpmType::Bpe)] {
            let m = from_bytes(&tiny_model(t)).unwrap();
            assert_eq!(m.model_type, kind);
            assert_eq!(m.bos_token.as_deref(), Some("<s>"));
            assert_eq!(m.eos_token.as_deref(), Some("</s>"));
            assert_eq!(m.unk_token.as_deref(), Some("<unk>"));
            assert_eq!(m.pad_token, None);
            let enc = m.tokenizer.encode("  ab  ba ", false).unwrap();
            assert_eq!(enc.get_ids(), &[7, 3, 5, 4], "model type {t}");
            assert_eq!(m.tokenizer.decode(enc.get_ids(), true).unwrap(), "ab ba");
            let unk = m.tokenizer.encode("ac", false).unwrap();
            assert_eq!(unk.get_ids(), &[6, 0]);
            assert_eq!(m.tokenizer.decode(unk.get_ids(), true).unwrap(), "a ⁇ ");
            // The unknown surface keeps its leading space, as in sentencepiece.
            assert_eq!(m.tokenizer.decode(&[1, 0, 7], true).unwrap(), " ⁇  ab");
            assert!(m.tokenizer.encode("", false).unwrap().get_ids().is_empty());
        }
    }

    #[test]
    fn rejects_empty_and_truncated_input() {
        expect_err(&[], "no pieces");
        let full = tiny_model(1);
        for cut in 1..full.len() {
            // Every strict prefix either fails cleanly or parses (a cut at a
            // field boundary); it must never panic.
            let _ = from_bytes(&full[..cut]);
        }
        expect_err(&full[..full.len() - 1], "exceeds");
    }

    #[test]
    fn rejects_bad_wire_types() {
        expect_err(&[0x0b], "wire type 3"); // field 1, start group
        expect_err(&[0x08, 0x01], "ModelProto field 1 has wire type varint");
        expect_err(&[0x00], "field number 0");
        let mut m = Vec::new();
        field_bytes(1, &[0x15, 0x00], &mut m); // score with 2 of 4 bytes
        expect_err(&m, "exceeds");
    }

    #[test]
    fn rejects_huge_lengths_without_allocating() {
        // field 1, length 2^62: must fail on the bounds check.
        let mut m = vec![0x0a];
        varint(1 << 62, &mut m);
        expect_err(&m, "exceeds");
        let mut m = vec![0x0a];
        varint(u64::MAX, &mut m);
        expect_err(&m, "SentencePiece");
        expect_err(
            &[
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            "varint",
        );
    }

    #[test]
    fn rejects_inconsistent_models() {
        let mut m = Vec::new();
        field_bytes(1, &piece("a", 0.0, 1), &mut m);
        expect_err(&m, "no unknown piece");
        let mut m = tiny_model(1);
        field_bytes(1, &piece("a", 0.0, 1), &mut m);
        expect_err(&m, "defined twice");
        expect_err(&tiny_model(3), "WORD");
        let mut m = Vec::new();
        field_bytes(1, &piece("<unk>", 0.0, 9), &mut m);
        expect_err(&m, "piece type 9");
    }
}
