//! Which files make a repo's tokenizer, and reading them.
//!
//! From a repo (through `hub::ModelRepo`, one pinned commit): `tokenizer.json`;
//! else `tokenizer.model` (SentencePiece); else `vocab.txt` (BERT WordPiece);
//! else the vocabulary inside the repo's GGUF. Special tokens come from
//! `tokenizer_config.json`, then `special_tokens_map.json`; the chat template
//! from `chat_template.jinja`, else `tokenizer_config.json`, else the GGUF.
//! Files the resolver knows are absent are never requested.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::AddedToken;

use super::chat_template::ChatTemplates;
use super::{gguf_vocab, sentencepiece, HfTokenizer, SpecialTokens, Tokenizer};
use crate::cancel::CancelToken;
use crate::err;
use crate::error::Result;
use crate::hub::repo::summarize;
use crate::hub::{ModelRepo, ProgressSink};

/// The tokenizer files, in the order they are tried.
pub const TOKENIZER_FILES: &[&str] = &["tokenizer.json", "tokenizer.model", "vocab.txt"];

/// Largest JSON side file read (tokenizer_config.json and friends).
const MAX_CONFIG_BYTES: u64 = 64 << 20;

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Which GGUF to read the vocabulary from when the repo has no tokenizer
    /// files (default: `pick_gguf`'s choice).
    pub gguf_file: Option<String>,
}

/// The repo's tokenizer (see the module docs for the order).
pub fn from_repo(repo: &mut ModelRepo, opts: &LoadOptions, progress: &dyn ProgressSink, cancel: &CancelToken) -> Result<Tokenizer> {
    let get = |name: &str| repo.get_optional(name, progress, cancel);
    let mut tokenizer_file = None;
    for name in TOKENIZER_FILES {
        if let Some(p) = get(name)? {
            tokenizer_file = Some((*name, p));
            break;
        }
    }
    let config = get("tokenizer_config.json")?.map(|p| read_json(&p)).transpose()?;
    let specials_map = get("special_tokens_map.json")?.map(|p| read_json(&p)).transpose()?;
    let template_file = get("chat_template.jinja")?.map(|p| read_text(&p)).transpose()?;
    let template_json = match template_file {
        Some(_) => None,
        None => get("chat_template.json")?.map(|p| read_json(&p)).transpose()?,
    };
    let side = SideFiles { config, specials_map, template_file, template_json };
    let desc = repo.describe();

    let Some((name, path)) = tokenizer_file else {
        let gguf = match &opts.gguf_file {
            Some(f) => Some(f.clone()),
            None => repo.pick_gguf(cancel)?,
        };
        let Some(gguf) = gguf else {
            return Err(err!(
                Tokenizer,
                "no tokenizer in {}: looked for {} and a .gguf file; it has: {}",
                desc,
                TOKENIZER_FILES.join(", "),
                summarize(repo.files())
            ));
        };
        let path = repo.get(&gguf, progress, cancel)?;
        let mut t = from_gguf(&path)?;
        t.source = format!("{gguf} from {desc}");
        side.apply(&mut t)?;
        return Ok(t);
    };
    let mut t = match name {
        "tokenizer.json" => from_tokenizer_json(&path)?,
        "tokenizer.model" => {
            let cfg = side.config.as_ref();
            let add_bos = cfg.and_then(|c| c.get("add_bos_token")).and_then(|v| v.as_bool());
            let add_eos = cfg.and_then(|c| c.get("add_eos_token")).and_then(|v| v.as_bool());
            from_sentencepiece_with(&path, add_bos, add_eos)?
        }
        _ => {
            let cfg = side.config.as_ref();
            let lowercase = cfg.and_then(|c| c.get("do_lower_case")).and_then(|v| v.as_bool()).unwrap_or(true);
            let mut specials = SpecialTokens::default();
            if let Some(c) = cfg {
                specials.fill_from(&specials_of(c));
            }
            if let Some(m) = &side.specials_map {
                specials.fill_from(&specials_of(m));
            }
            let chinese = cfg.and_then(|c| c.get("tokenize_chinese_chars")).and_then(|v| v.as_bool()).unwrap_or(true);
            let strip_accents = cfg.and_then(|c| c.get("strip_accents")).and_then(|v| v.as_bool());
            wordpiece(&path, lowercase, chinese, strip_accents, &specials)?
        }
    };
    t.source = format!("{name} from {desc}");
    side.apply(&mut t)?;
    Ok(t)
}

/// tokenizer_config.json, special_tokens_map.json and chat template files.
struct SideFiles {
    config: Option<serde_json::Value>,
    specials_map: Option<serde_json::Value>,
    template_file: Option<String>,
    template_json: Option<serde_json::Value>,
}

impl SideFiles {
    fn apply(&self, t: &mut Tokenizer) -> Result<()> {
        // tokenizer_config.json wins, then special_tokens_map.json, then what
        // the tokenizer file itself said.
        let mut specials = SpecialTokens::default();
        if let Some(c) = &self.config {
            specials.fill_from(&specials_of(c));
        }
        if let Some(m) = &self.specials_map {
            specials.fill_from(&specials_of(m));
        }
        specials.fill_from(&t.specials);
        t.specials = specials;
        if let Some(id) = t.specials.eos.as_deref().and_then(|e| t.hf.token_to_id(e)) {
            if !t.eos_token_ids.contains(&id) {
                t.eos_token_ids.insert(0, id);
            }
        }

        let from_config = match self.config.as_ref().and_then(|c| c.get("chat_template")) {
            Some(v) => Some(ChatTemplates::from_config_value(v)?),
            None => None,
        };
        if let Some(src) = &self.template_file {
            let named = from_config.map(|c| c.named).unwrap_or_default();
            t.chat_templates = ChatTemplates::new(Some(src.clone()), named);
        } else if let Some(v) = self.template_json.as_ref().and_then(|j| j.get("chat_template")) {
            t.chat_templates = ChatTemplates::from_config_value(v)?;
        } else if let Some(c) = from_config {
            if !c.is_empty() {
                t.chat_templates = c;
            }
        }
        Ok(())
    }
}

/// A special token in tokenizer_config.json: "<s>" or {"content": "<s>", ...}.
fn token_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(str::to_string),
        _ => None,
    }
}

fn specials_of(c: &serde_json::Value) -> SpecialTokens {
    let get = |k: &str| c.get(k).and_then(token_string);
    SpecialTokens {
        bos: get("bos_token"),
        eos: get("eos_token"),
        unk: get("unk_token"),
        sep: get("sep_token"),
        pad: get("pad_token"),
        cls: get("cls_token"),
        mask: get("mask_token"),
        // transformers 5 writes the list as `extra_special_tokens`.
        additional: c
            .get("additional_special_tokens")
            .and_then(|a| a.as_array())
            .or_else(|| c.get("extra_special_tokens").and_then(|a| a.as_array()))
            .map(|a| a.iter().filter_map(token_string).collect())
            .unwrap_or_default(),
        extra: c
            .get("extra_special_tokens")
            .and_then(|e| e.as_object())
            .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), token_string(v)?))).collect())
            .unwrap_or_default(),
    }
}

fn read_text(path: &Path) -> Result<String> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_CONFIG_BYTES {
        return Err(err!(Tokenizer, "{} is too large ({} bytes)", path.display(), len));
    }
    let bytes = std::fs::read(path).map_err(|e| err!(Tokenizer, "cannot read {}: {}", path.display(), e))?;
    String::from_utf8(bytes).map_err(|_| err!(Tokenizer, "{} is not valid UTF-8", path.display()))
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    crate::json_file::read_json(path, MAX_CONFIG_BYTES, crate::error::ErrorKind::Tokenizer)
}

fn file_label(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// A `tokenizer.json` (HuggingFace tokenizers format).
pub fn from_tokenizer_json(path: &Path) -> Result<Tokenizer> {
    let text = read_text(path)?;
    let hf = HfTokenizer::from_bytes(text.as_bytes())
        .map_err(|e| err!(Tokenizer, "{} is not a valid tokenizer.json: {}", path.display(), e))?;
    Ok(Tokenizer::new(hf, SpecialTokens::default(), ChatTemplates::default(), file_label(path)))
}

/// A GGUF file's own vocabulary (`tokenizer.ggml.*`) and chat templates.
pub fn from_gguf(path: &Path) -> Result<Tokenizer> {
    let meta = crate::gguf::read_metadata(path)?;
    let v = gguf_vocab::from_metadata(&meta).map_err(|e| err!(Tokenizer, "{}: {}", path.display(), e.message))?;
    let specials = SpecialTokens { bos: v.bos_token, eos: v.eos_token, unk: v.unk_token, pad: v.pad_token, ..Default::default() };
    // Named templates are stored as `tokenizer.chat_template.<name>`.
    let named: Vec<(String, String)> = meta
        .kv
        .iter()
        .filter_map(|(k, val)| {
            let name = k.strip_prefix("tokenizer.chat_template.")?;
            Some((name.to_string(), val.as_str()?.to_string()))
        })
        .collect();
    let mut t = Tokenizer::new(v.tokenizer, specials, ChatTemplates::new(v.chat_template, named), file_label(path));
    for id in v.eos_token_ids {
        if !t.eos_token_ids.contains(&id) {
            t.eos_token_ids.push(id);
        }
    }
    Ok(t)
}

/// A SentencePiece `tokenizer.model` (adds BOS like Llama's tokenizers do).
pub fn from_sentencepiece(path: &Path) -> Result<Tokenizer> {
    from_sentencepiece_with(path, None, None)
}

fn from_sentencepiece_with(path: &Path, add_bos: Option<bool>, add_eos: Option<bool>) -> Result<Tokenizer> {
    let m = sentencepiece::from_file(path)?;
    let mut hf = m.tokenizer;
    let bos = m.bos_token.clone().filter(|_| add_bos.unwrap_or(true));
    let eos = m.eos_token.clone().filter(|_| add_eos.unwrap_or(false));
    if bos.is_some() || eos.is_some() {
        let post = special_template(&hf, bos.as_deref(), eos.as_deref())?;
        hf.with_post_processor(Some(post));
    }
    let specials = SpecialTokens { bos: m.bos_token, eos: m.eos_token, unk: m.unk_token, pad: m.pad_token, ..Default::default() };
    Ok(Tokenizer::new(hf, specials, ChatTemplates::default(), file_label(path)))
}

/// `bos $A eos` / `bos $A eos bos $B eos` (either part optional).
fn special_template(hf: &HfTokenizer, bos: Option<&str>, eos: Option<&str>) -> Result<TemplateProcessing> {
    let mut specials = Vec::new();
    let mut single = Vec::new();
    let mut pair = Vec::new();
    if let Some(b) = bos {
        let id = hf.token_to_id(b).ok_or_else(|| err!(Tokenizer, "bos token {:?} is not in the vocabulary", b))?;
        specials.push((b.to_string(), id));
        single.push(format!("{b}:0"));
        pair.push(format!("{b}:0"));
    }
    single.push("$A:0".to_string());
    pair.push("$A:0".to_string());
    if let Some(e) = eos {
        let id = hf.token_to_id(e).ok_or_else(|| err!(Tokenizer, "eos token {:?} is not in the vocabulary", e))?;
        specials.push((e.to_string(), id));
        single.push(format!("{e}:0"));
        pair.push(format!("{e}:0"));
    }
    if let Some(b) = bos {
        pair.push(format!("{b}:1"));
    }
    pair.push("$B:1".to_string());
    if let Some(e) = eos {
        pair.push(format!("{e}:1"));
    }
    TemplateProcessing::builder()
        .try_single(single.join(" "))
        .and_then(|b| b.try_pair(pair.join(" ")))
        .map_err(|e| err!(Tokenizer, "post-processor: {}", e))?
        .special_tokens(specials)
        .build()
        .map_err(|e| err!(Tokenizer, "post-processor: {}", e))
}

/// A BERT WordPiece tokenizer from `vocab.txt`, as transformers' slow→fast
/// conversion builds it (BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]).
pub fn from_vocab(path: &Path, lowercase: bool) -> Result<Tokenizer> {
    wordpiece(path, lowercase, true, None, &SpecialTokens::default())
}

fn wordpiece(path: &Path, lowercase: bool, chinese: bool, strip_accents: Option<bool>, given: &SpecialTokens) -> Result<Tokenizer> {
    let text = read_text(path)?;
    let mut vocab: HashMap<String, u32> = HashMap::new();
    // One token per line (\n or \r\n, as Python's text mode reads it); a
    // repeated token keeps its last id, as transformers' load_vocab does.
    for (i, tok) in text.lines().enumerate() {
        vocab.insert(tok.to_string(), i as u32);
    }
    if vocab.is_empty() {
        return Err(err!(Tokenizer, "{} is empty", path.display()));
    }
    let pick = |given: &Option<String>, default: &str| given.clone().unwrap_or_else(|| default.to_string());
    let specials = SpecialTokens {
        unk: Some(pick(&given.unk, "[UNK]")),
        sep: Some(pick(&given.sep, "[SEP]")),
        pad: Some(pick(&given.pad, "[PAD]")),
        cls: Some(pick(&given.cls, "[CLS]")),
        mask: Some(pick(&given.mask, "[MASK]")),
        ..given.clone()
    };
    let unk = specials.unk.clone().unwrap_or_default();
    if !vocab.contains_key(&unk) {
        return Err(err!(Tokenizer, "{}: the unknown token {:?} is not in the vocabulary", path.display(), unk));
    }
    let model = WordPiece::builder()
        .vocab(vocab.into_iter().collect::<ahash::AHashMap<String, u32>>())
        .unk_token(unk)
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| err!(Tokenizer, "{}: {}", path.display(), e))?;
    let mut hf = HfTokenizer::new(model);
    hf.with_normalizer(Some(BertNormalizer::new(true, chinese, strip_accents, lowercase)))
        .map_err(|e| err!(Tokenizer, "normalizer: {}", e))?;
    hf.with_pre_tokenizer(Some(BertPreTokenizer));
    hf.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
    let special_list: Vec<AddedToken> = specials
        .named()
        .iter()
        .map(|(_, t)| t.to_string())
        .chain(specials.additional.iter().cloned())
        .filter(|t| hf.token_to_id(t).is_some())
        .map(|t| AddedToken::from(t, true))
        .collect();
    hf.add_special_tokens(special_list).map_err(|e| err!(Tokenizer, "special tokens: {}", e))?;
    let cls = specials.cls.clone().unwrap_or_default();
    let sep = specials.sep.clone().unwrap_or_default();
    if let (Some(cls_id), Some(sep_id)) = (hf.token_to_id(&cls), hf.token_to_id(&sep)) {
        let post = TemplateProcessing::builder()
            .try_single(format!("{cls}:0 $A:0 {sep}:0"))
            .and_then(|b| b.try_pair(format!("{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1")))
            .map_err(|e| err!(Tokenizer, "post-processor: {}", e))?
            .special_tokens(vec![(cls, cls_id), (sep, sep_id)])
            .build()
            .map_err(|e| err!(Tokenizer, "post-processor: {}", e))?;
        hf.with_post_processor(Some(post));
    }
    Ok(Tokenizer::new(hf, specials, ChatTemplates::default(), file_label(path)))
}
