//! Causal LMs from Hugging Face checkpoints (`config.json` + safetensors,
//! single or sharded): candle-transformers' full-precision llama (also
//! Mistral without sliding window, SmolLM2, TinyLlama), qwen2, qwen3,
//! gemma3 (text) and phi3.
//!
//! The architecture is `config.json`'s `model_type`. transformers 5 writes
//! some fields differently from what candle-transformers' config structs
//! read (`rope_parameters` instead of `rope_theta`, `layer_types` instead of
//! Gemma 3's `sliding_window_pattern`); `normalize` maps them, and refuses
//! what these models cannot honour (a RoPE scaling they do not implement, a
//! layer pattern they cannot express) instead of loading a model that
//! silently computes something else.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{gemma3, llama, phi3, qwen2, qwen3};
use serde_json::{json, Map, Value};

use crate::err;
use crate::error::{Error, ErrorKind, Result};

/// `config.json` `model_type`s this build can run, with what they cover.
pub const SUPPORTED_CONFIG: &[(&str, &str)] = &[
    ("llama", "Llama 2/3, SmolLM2, TinyLlama"),
    ("mistral", "Mistral without sliding window"),
    ("qwen2", "Qwen2, Qwen2.5"),
    ("qwen3", "Qwen3"),
    ("gemma3_text", "Gemma 3 text models"),
    ("phi3", "Phi-3"),
];

const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// A loaded full-precision model; each keeps its own KV cache.
pub enum FullModel {
    Llama { model: llama::Llama, cache: llama::Cache, config: llama::Config, dtype: DType, device: Device },
    Qwen2(qwen2::ModelForCausalLM),
    Qwen3(qwen3::ModelForCausalLM),
    Gemma3(gemma3::Model),
    Phi3(phi3::Model),
}

pub struct Checkpoint {
    pub model: FullModel,
    /// The family (`model_type`, "gemma3" for "gemma3_text").
    pub architecture: String,
    pub context_length: usize,
    pub dtype: DType,
    /// `eos_token_id` of config.json (an id or a list).
    pub eos_token_ids: Vec<u32>,
}

impl FullModel {
    /// Logits for the last position of `input` (1, seq), which starts at
    /// position `start`; `start == 0` forgets the cache first.
    pub fn forward(&mut self, input: &Tensor, start: usize) -> candle_core::Result<Tensor> {
        if start == 0 {
            self.clear();
        }
        match self {
            FullModel::Llama { model, cache, .. } => model.forward(input, start, cache),
            FullModel::Qwen2(m) => m.forward(input, start),
            FullModel::Qwen3(m) => m.forward(input, start),
            // candle-transformers 0.11.1's Gemma 3 cannot append a
            // multi-token step to its KV cache (its values are not contiguous
            // there): feed the tokens one at a time.
            FullModel::Gemma3(m) => {
                let n = input.dim(1)?;
                let mut last = None;
                for i in 0..n {
                    last = Some(m.forward(&input.narrow(1, i, 1)?, start + i)?);
                }
                last.ok_or_else(|| candle_core::Error::Msg("empty input".into()))
            }
            FullModel::Phi3(m) => m.forward(input, start),
        }
    }

    fn clear(&mut self) {
        match self {
            FullModel::Llama { cache, config, dtype, device, .. } => {
                // Cache::new only fails on a device error, and the same call
                // succeeded at load time on this device.
                if let Ok(c) = llama::Cache::new(true, *dtype, config, device) {
                    *cache = c;
                }
            }
            FullModel::Qwen2(m) => m.clear_kv_cache(),
            FullModel::Qwen3(m) => m.clear_kv_cache(),
            FullModel::Gemma3(m) => m.clear_kv_cache(),
            FullModel::Phi3(m) => m.clear_kv_cache(),
        }
    }
}

/// Reads and size-checks config.json.
pub fn read_config(path: &Path) -> Result<Value> {
    let v = crate::json_file::read_json(path, MAX_CONFIG_BYTES, ErrorKind::InvalidModelFile)?;
    if !v.is_object() {
        return Err(err!(InvalidModelFile, "{}: not a JSON object", path.display()));
    }
    Ok(v)
}

fn supported_list() -> String {
    SUPPORTED_CONFIG.iter().map(|(a, what)| format!("{a} ({what})")).collect::<Vec<_>>().join(", ")
}

/// The checkpoint's own dtype (`dtype`, or transformers 4's `torch_dtype`).
pub fn checkpoint_dtype(config: &Value) -> Option<DType> {
    let s = config.get("dtype").or_else(|| config.get("torch_dtype"))?.as_str()?;
    match s {
        "float32" => Some(DType::F32),
        "float16" => Some(DType::F16),
        "bfloat16" => Some(DType::BF16),
        _ => None,
    }
}

/// The dtype weights load in: the one asked for, else the checkpoint's own
/// where the device computes in it natively. candle's CPU matmul widens
/// BF16 to F32 on every call (it has no BF16 GEMM), so a BF16 checkpoint
/// loads as F32 on the CPU once instead; F16 stays F16.
pub fn load_dtype(config: &Value, wanted: Option<DType>, device: &Device) -> DType {
    if let Some(d) = wanted {
        return d;
    }
    match checkpoint_dtype(config).unwrap_or(DType::F32) {
        DType::BF16 if device.is_cpu() => DType::F32,
        d => d,
    }
}

fn ids_of(v: Option<&Value>) -> Vec<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).into_iter().collect(),
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok())).collect(),
        _ => Vec::new(),
    }
}

/// `eos_token_id` as ids (config.json or generation_config.json).
pub fn eos_ids(config: &Value) -> Vec<u32> {
    ids_of(config.get("eos_token_id"))
}

fn unsupported(path: &Path, why: String) -> Error {
    err!(UnsupportedModel, "{}: {}", path.display(), why)
}

/// Maps transformers 5 field names onto what candle-transformers' configs
/// read and fills the defaults transformers assumes. Errors name the field.
pub fn normalize(path: &Path, model_type: &str, config: &Value) -> Result<Value> {
    let mut c: Map<String, Value> = config.as_object().cloned().unwrap_or_default();
    let get_f = |c: &Map<String, Value>, k: &str| c.get(k).and_then(|v| v.as_f64());
    // Ids come from the tokenizer and generation config, not from here
    // (some models list several; candle's structs want one).
    c.remove("eos_token_id");
    c.remove("bos_token_id");

    // transformers 5: rope_parameters {rope_type, rope_theta, ...}, or per
    // layer type for Gemma 3.
    let rope = c.get("rope_parameters").cloned();
    if let Some(rp) = &rope {
        if let Some(full) = rp.get("full_attention") {
            if let Some(t) = full.get("rope_theta") {
                c.insert("rope_theta".into(), t.clone());
            }
            if let Some(t) = rp.get("sliding_attention").and_then(|s| s.get("rope_theta")) {
                c.insert("rope_local_base_freq".into(), t.clone());
            }
            check_rope_type(path, full)?;
            if let Some(sl) = rp.get("sliding_attention") {
                check_rope_type(path, sl)?;
            }
        } else {
            if let Some(t) = rp.get("rope_theta") {
                c.insert("rope_theta".into(), t.clone());
            }
            let kind = rp.get("rope_type").and_then(|t| t.as_str()).unwrap_or("default");
            match kind {
                "default" => {}
                "llama3" if matches!(model_type, "llama" | "mistral") => {
                    c.insert("rope_scaling".into(), rp.clone());
                }
                other => return Err(unsupported(path, format!("RoPE scaling {other:?} is not supported for {model_type}"))),
            }
        }
    } else if let Some(rs) = c.get("rope_scaling").filter(|v| !v.is_null()) {
        let kind = rs.get("rope_type").or_else(|| rs.get("type")).and_then(|t| t.as_str()).unwrap_or("default");
        let ok = kind == "default" || (kind == "llama3" && matches!(model_type, "llama" | "mistral"));
        if !ok {
            return Err(unsupported(path, format!("RoPE scaling {kind:?} is not supported for {model_type}")));
        }
        if kind == "default" {
            c.insert("rope_scaling".into(), Value::Null);
        }
    }
    let theta = get_f(&c, "rope_theta").unwrap_or(10_000.0);
    c.insert("rope_theta".into(), json!(theta));

    match model_type {
        "llama" | "mistral" => {
            if model_type == "mistral" && c.get("sliding_window").is_some_and(|v| !v.is_null()) {
                let window = c["sliding_window"].as_u64().unwrap_or(0);
                let ctx = c.get("max_position_embeddings").and_then(|v| v.as_u64()).unwrap_or(0);
                if window < ctx {
                    // The llama model attends to every position: cap the context at the window.
                    c.insert("max_position_embeddings".into(), json!(window));
                }
            }
            check_head_dim(path, model_type, &c)?;
        }
        "qwen2" | "qwen3" => {
            let layers = c.get("num_hidden_layers").cloned().unwrap_or(json!(0));
            c.entry("max_window_layers").or_insert(layers);
            c.entry("use_sliding_window").or_insert(json!(false));
            if c.get("sliding_window").is_none_or(|v| v.is_null()) {
                let ctx = c.get("max_position_embeddings").cloned().unwrap_or(json!(32768));
                if model_type == "qwen2" {
                    c.insert("sliding_window".into(), ctx);
                }
            }
            if c.get("use_sliding_window").and_then(|v| v.as_bool()) == Some(true) {
                return Err(unsupported(path, "use_sliding_window: true is not supported".into()));
            }
            c.entry("hidden_act").or_insert(json!("silu"));
            c.entry("tie_word_embeddings").or_insert(json!(false));
            c.entry("attention_bias").or_insert(json!(false));
            if model_type == "qwen3" && c.get("head_dim").is_none() {
                let hidden = c.get("hidden_size").and_then(|v| v.as_u64()).unwrap_or(0);
                let heads = c.get("num_attention_heads").and_then(|v| v.as_u64()).unwrap_or(1).max(1);
                c.insert("head_dim".into(), json!(hidden / heads));
            }
        }
        "gemma3_text" => {
            c.entry("attention_bias").or_insert(json!(false));
            c.entry("hidden_activation").or_insert(json!("gelu_pytorch_tanh"));
            c.entry("rope_local_base_freq").or_insert(json!(10_000.0));
            c.entry("final_logit_softcapping").or_insert(Value::Null);
            c.entry("attn_logit_softcapping").or_insert(Value::Null);
            c.entry("query_pre_attn_scalar").or_insert(json!(256));
            c.entry("sliding_window").or_insert(json!(4096));
            if c.get("sliding_window").is_some_and(|v| v.is_null()) {
                let ctx = c.get("max_position_embeddings").cloned().unwrap_or(json!(131072));
                c.insert("sliding_window".into(), ctx);
            }
            let pattern = match c.get("layer_types").and_then(|v| v.as_array()) {
                Some(types) => gemma3_pattern(path, types)?,
                None => c.get("sliding_window_pattern").and_then(|v| v.as_u64()).unwrap_or(6),
            };
            c.insert("sliding_window_pattern".into(), json!(pattern));
        }
        "phi3" => {
            if let Some(rs) = c.get("rope_scaling").filter(|v| !v.is_null()) {
                if rs.get("type").and_then(|t| t.as_str()) != Some("longrope") {
                    return Err(unsupported(path, format!("phi3 RoPE scaling {rs} is not supported")));
                }
            }
            c.entry("hidden_act").or_insert(json!("silu"));
            check_head_dim(path, model_type, &c)?;
        }
        _ => {}
    }
    Ok(Value::Object(c))
}

/// candle's llama and phi3 derive the head size as hidden_size / heads: a
/// config that says otherwise cannot load correctly.
fn check_head_dim(path: &Path, model_type: &str, c: &Map<String, Value>) -> Result<()> {
    let n = |k: &str| c.get(k).and_then(|v| v.as_u64());
    if let (Some(hd), Some(hidden), Some(heads)) = (n("head_dim"), n("hidden_size"), n("num_attention_heads")) {
        if hd.checked_mul(heads) != Some(hidden) {
            return Err(unsupported(
                path,
                format!("head_dim {hd} × {heads} heads ≠ hidden_size {hidden}; the {model_type} model needs head_dim = hidden_size / heads"),
            ));
        }
    }
    Ok(())
}

fn check_rope_type(path: &Path, rp: &Value) -> Result<()> {
    match rp.get("rope_type").and_then(|t| t.as_str()).unwrap_or("default") {
        "default" => Ok(()),
        other => Err(unsupported(path, format!("RoPE scaling {other:?} is not supported"))),
    }
}

/// candle's Gemma 3 makes layer i global when (i + 1) % pattern == 0; the
/// config's `layer_types` must say exactly that.
fn gemma3_pattern(path: &Path, types: &[Value]) -> Result<u64> {
    let global = |v: &Value| v.as_str() == Some("full_attention");
    let Some(first) = types.iter().position(global) else {
        // No global layer: a pattern longer than the model.
        return Ok(types.len() as u64 + 1);
    };
    let p = first + 1;
    for (i, t) in types.iter().enumerate() {
        if global(t) != ((i + 1) % p == 0) {
            return Err(unsupported(path, format!("Gemma 3 layer_types {types:?} do not repeat every {p} layers")));
        }
    }
    Ok(p as u64)
}

pub(crate) fn parse<T: serde::de::DeserializeOwned>(path: &Path, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| err!(InvalidModelFile, "{}: {}", path.display(), e))
}

/// Loads a checkpoint. `weights` are the safetensors files (memory-mapped).
pub fn load(config_path: &Path, weights: &[PathBuf], wanted: Option<DType>, device: &Device) -> Result<Checkpoint> {
    let raw = read_config(config_path)?;
    let model_type = raw.get("model_type").and_then(|v| v.as_str()).unwrap_or("").to_string();
    if !SUPPORTED_CONFIG.iter().any(|(a, _)| *a == model_type) {
        let named = if model_type.is_empty() { "no model_type".to_string() } else { format!("model_type {model_type:?}") };
        return Err(unsupported(config_path, format!("{named} is not a supported causal LM; supported: {}", supported_list())));
    }
    if let Some(archs) = raw.get("architectures").and_then(|a| a.as_array()) {
        let causal = archs.iter().filter_map(|a| a.as_str()).any(|a| a.ends_with("ForCausalLM"));
        if !archs.is_empty() && !causal {
            return Err(unsupported(config_path, format!("architectures {archs:?} hold no *ForCausalLM head")));
        }
    }
    let dtype = load_dtype(&raw, wanted, device);
    let cfg = normalize(config_path, &model_type, &raw)?;
    let ctx = cfg.get("max_position_embeddings").and_then(|v| v.as_u64()).unwrap_or(4096) as usize;
    let eos_token_ids = eos_ids(&raw);
    let mut shapes = std::collections::HashMap::new();
    for w in weights {
        shapes.extend(safetensors_shapes(w)?);
    }
    // SAFETY: the files are the cache's immutable blobs (or the user's own
    // files); candle keeps the maps alive as long as the tensors.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(weights, dtype, device) }
        .map_err(|e| err!(InvalidModelFile, "{}: {}", describe(weights), e))?;
    let bad = |e: candle_core::Error| err!(InvalidModelFile, "{}: {}", describe(weights), e);
    let model = match model_type.as_str() {
        "llama" | "mistral" => {
            let lc: llama::LlamaConfig = parse(config_path, cfg)?;
            let config = lc.into_config(false);
            // Llama::load unwraps each layer's load (a panic): check every
            // layer tensor against the config first.
            check_llama_layers(&config, &shapes).map_err(|why| err!(InvalidModelFile, "{}: {}", describe(weights), why))?;
            let model = llama::Llama::load(vb, &config).map_err(bad)?;
            let cache = llama::Cache::new(true, dtype, &config, device).map_err(bad)?;
            FullModel::Llama { model, cache, config, dtype, device: device.clone() }
        }
        "qwen2" => FullModel::Qwen2(qwen2::ModelForCausalLM::new(&parse(config_path, cfg)?, vb).map_err(bad)?),
        "qwen3" => FullModel::Qwen3(qwen3::ModelForCausalLM::new(&parse(config_path, cfg)?, vb).map_err(bad)?),
        "gemma3_text" => FullModel::Gemma3(gemma3::Model::new(false, &parse(config_path, cfg)?, vb).map_err(bad)?),
        "phi3" => FullModel::Phi3(phi3::Model::new(&parse(config_path, cfg)?, vb).map_err(bad)?),
        _ => unreachable!("checked against SUPPORTED_CONFIG above"),
    };
    // The family name GGUF uses too ("gemma3", not transformers' "gemma3_text").
    let architecture = model_type.strip_suffix("_text").unwrap_or(&model_type).to_string();
    Ok(Checkpoint { model, architecture, context_length: ctx, dtype, eos_token_ids })
}

fn describe(weights: &[PathBuf]) -> String {
    match weights {
        [one] => one.display().to_string(),
        many => format!("{} safetensors shards in {}", many.len(), many[0].parent().map(|p| p.display().to_string()).unwrap_or_default()),
    }
}

/// Each layer tensor candle's llama loads, with the shape config.json implies.
fn check_llama_layers(c: &llama::Config, shapes: &std::collections::HashMap<String, Vec<u64>>) -> std::result::Result<(), String> {
    let (h, i) = (c.hidden_size as u64, c.intermediate_size as u64);
    let hd = h / (c.num_attention_heads.max(1) as u64);
    let (q, kv) = (c.num_attention_heads as u64 * hd, c.num_key_value_heads as u64 * hd);
    for l in 0..c.num_hidden_layers {
        let p = format!("model.layers.{l}");
        let want: [(&str, Vec<u64>); 9] = [
            ("self_attn.q_proj.weight", vec![q, h]),
            ("self_attn.k_proj.weight", vec![kv, h]),
            ("self_attn.v_proj.weight", vec![kv, h]),
            ("self_attn.o_proj.weight", vec![h, q]),
            ("mlp.gate_proj.weight", vec![i, h]),
            ("mlp.up_proj.weight", vec![i, h]),
            ("mlp.down_proj.weight", vec![h, i]),
            ("input_layernorm.weight", vec![h]),
            ("post_attention_layernorm.weight", vec![h]),
        ];
        for (name, shape) in want {
            let full = format!("{p}.{name}");
            match shapes.get(&full) {
                None => return Err(format!("tensor {full} is missing (config.json says {} layers)", c.num_hidden_layers)),
                Some(s) if *s != shape => {
                    return Err(format!("tensor {full} has shape {s:?}, config.json implies {shape:?}; they do not match"))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Every tensor's shape, from a header that is bounded and whose tensors
/// all lie inside the file, checked before anything is mapped (the
/// safetensors crate checks the same on deserialize; this gives the error a
/// clear name and file).
pub(crate) fn safetensors_shapes(path: &Path) -> Result<Vec<(String, Vec<u64>)>> {
    use std::io::Read;
    const MAX_HEADER: u64 = 100 << 20;
    let bad = |why: String| err!(InvalidModelFile, "{}: {}", path.display(), why);
    let mut f = std::fs::File::open(path).map_err(|e| err!(ModelLoad, "cannot open {}: {}", path.display(), e))?;
    let len = f.metadata().map_err(|e| bad(e.to_string()))?.len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(|_| bad("too short for a safetensors file".into()))?;
    let header_len = u64::from_le_bytes(n);
    if header_len > MAX_HEADER || header_len.saturating_add(8) > len {
        return Err(bad(format!("header length {header_len} does not fit a {len}-byte safetensors file")));
    }
    let mut header = vec![0u8; header_len as usize];
    f.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_slice(&header).map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let data_len = len - 8 - header_len;
    let obj = v.as_object().ok_or_else(|| bad("header is not a JSON object".into()))?;
    let mut shapes = Vec::with_capacity(obj.len());
    for (name, t) in obj {
        if name == "__metadata__" {
            continue;
        }
        let end = t
            .get("data_offsets")
            .and_then(|o| o.as_array())
            .and_then(|o| o.get(1))
            .and_then(|e| e.as_u64())
            .ok_or_else(|| bad(format!("tensor {name} has no data_offsets")))?;
        if end > data_len {
            return Err(bad(format!("tensor {name} ends at byte {end} of a {data_len}-byte data section; the file is truncated")));
        }
        let shape = t.get("shape").and_then(|s| s.as_array()).map(|s| s.iter().filter_map(|d| d.as_u64()).collect());
        shapes.push((name.clone(), shape.unwrap_or_default()));
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("config.json")
    }

    #[test]
    fn transformers_5_rope_parameters_become_rope_theta() {
        let c = json!({"model_type": "qwen3", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
                       "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0}});
        let n = normalize(p(), "qwen3", &c).unwrap();
        assert_eq!(n["rope_theta"], json!(1000000.0));
        assert_eq!(n["head_dim"], json!(16));
        assert_eq!(n["max_window_layers"], json!(2));
    }

    #[test]
    fn unsupported_rope_scaling_is_refused() {
        let c = json!({"rope_parameters": {"rope_type": "yarn", "rope_theta": 1e6, "factor": 4.0}});
        let e = normalize(p(), "qwen2", &c).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::UnsupportedModel);
        let c = json!({"rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0}});
        assert!(normalize(p(), "llama", &c).unwrap()["rope_scaling"].is_object());
    }

    #[test]
    fn gemma3_layer_types_map_to_a_pattern_or_are_refused() {
        let t = |v: &[&str]| v.iter().map(|s| json!(s)).collect::<Vec<_>>();
        let s = "sliding_attention";
        let f = "full_attention";
        assert_eq!(gemma3_pattern(p(), &t(&[s, s, f, s, s, f])).unwrap(), 3);
        assert_eq!(gemma3_pattern(p(), &t(&[s, s])).unwrap(), 3);
        assert!(gemma3_pattern(p(), &t(&[s, f, f])).is_err());
        let c = json!({"layer_types": [s, f], "rope_parameters": {
            "full_attention": {"rope_type": "default", "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}});
        let n = normalize(p(), "gemma3_text", &c).unwrap();
        assert_eq!(n["sliding_window_pattern"], json!(2));
        assert_eq!(n["rope_theta"], json!(1e6));
        assert_eq!(n["rope_local_base_freq"], json!(1e4));
    }

    #[test]
    fn bf16_loads_as_f32_on_the_cpu_unless_asked() {
        let c = json!({"dtype": "bfloat16"});
        assert_eq!(load_dtype(&c, None, &Device::Cpu), DType::F32);
        assert_eq!(load_dtype(&c, Some(DType::BF16), &Device::Cpu), DType::BF16);
        assert_eq!(load_dtype(&json!({"torch_dtype": "float16"}), None, &Device::Cpu), DType::F16);
    }

    #[test]
    fn safetensors_headers_are_bounded_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let header = br#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0u8; 8]);
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(safetensors_shapes(&path).unwrap(), vec![("a".to_string(), vec![2])]);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(safetensors_shapes(&path).unwrap_err().message.contains("truncated"));
        std::fs::write(&path, (1u64 << 40).to_le_bytes()).unwrap();
        assert!(safetensors_shapes(&path).unwrap_err().message.contains("header length"));
    }
}
