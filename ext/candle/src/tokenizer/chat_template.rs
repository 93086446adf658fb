//! Chat templates rendered the way transformers' `apply_chat_template` renders
//! them: Jinja2 with `trim_blocks`, `lstrip_blocks`, loop controls, Python
//! string/dict methods, `raise_exception`, `strftime_now`, and a `tojson` that
//! is Python's `json.dumps(ensure_ascii=False)`; the special tokens,
//! `add_generation_prompt`, `tools`, `documents` and any extra keyword are
//! variables. Values print as Python prints them (`None`, `True`).
//!
//! One `minijinja::Environment` per tokenizer, built on first use, holds every
//! template compiled once.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, ErrorKind as JErrorKind, Value};

use super::SpecialTokens;
use crate::err;
use crate::error::Result;

/// The templates a tokenizer carries: a default one and named ones (e.g.
/// `tool_use`), from tokenizer_config.json, chat_template.jinja or GGUF.
#[derive(Clone, Default)]
pub struct ChatTemplates {
    pub default: Option<String>,
    pub named: Vec<(String, String)>,
    env: Arc<OnceLock<std::result::Result<Environment<'static>, String>>>,
}

impl std::fmt::Debug for ChatTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplates")
            .field("default", &self.default.is_some())
            .field("named", &self.named.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .finish()
    }
}

/// What `apply_chat_template` takes besides the messages.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    pub add_generation_prompt: bool,
    /// JSON array of tool definitions, or None.
    pub tools: Option<serde_json::Value>,
    pub documents: Option<serde_json::Value>,
    /// A template name (`tool_use`) or a whole template string.
    pub template: Option<String>,
    /// Extra variables (`enable_thinking`, `date_string`, ...), a JSON object.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

const RAISED: &str = "\u{0}candle-raise:";
const DEFAULT_NAME: &str = "default";

impl ChatTemplates {
    pub fn new(default: Option<String>, named: Vec<(String, String)>) -> Self {
        // A named "default" is the default template.
        let mut default = default;
        let mut rest = Vec::new();
        for (name, t) in named {
            if name == DEFAULT_NAME && default.is_none() {
                default = Some(t);
            } else if name != DEFAULT_NAME {
                rest.push((name, t));
            }
        }
        ChatTemplates { default, named: rest, env: Arc::default() }
    }

    /// tokenizer_config.json's `chat_template`: a string, or a list of
    /// `{"name": ..., "template": ...}`.
    pub fn from_config_value(v: &serde_json::Value) -> Result<Self> {
        match v {
            serde_json::Value::Null => Ok(Self::default()),
            serde_json::Value::String(s) => Ok(Self::new(Some(s.clone()), Vec::new())),
            serde_json::Value::Array(items) => {
                let mut named = Vec::new();
                for it in items {
                    let name = it.get("name").and_then(|n| n.as_str());
                    let tpl = it.get("template").and_then(|t| t.as_str());
                    match (name, tpl) {
                        (Some(n), Some(t)) => named.push((n.to_string(), t.to_string())),
                        _ => return Err(err!(Tokenizer, "chat_template list entries need \"name\" and \"template\" strings")),
                    }
                }
                Ok(Self::new(None, named))
            }
            _ => Err(err!(Tokenizer, "chat_template must be a string or a list of named templates")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.named.is_empty()
    }

    /// Names: "default" first when present.
    pub fn names(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.default.is_some() {
            v.push(DEFAULT_NAME.to_string());
        }
        v.extend(self.named.iter().map(|(n, _)| n.clone()));
        v
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        if name == DEFAULT_NAME {
            return self.default.as_deref();
        }
        self.named.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }

    /// transformers' choice: an explicit name (or a literal template), then
    /// `tool_use` when tools are given, then the default.
    fn select<'a>(&'a self, opts: &'a RenderOptions) -> Result<Selected<'a>> {
        if let Some(t) = &opts.template {
            if self.get(t).is_some() {
                return Ok(Selected::Named(t));
            }
            if t.contains("{{") || t.contains("{%") {
                return Ok(Selected::Literal(t));
            }
            return Err(err!(
                Tokenizer,
                "no chat template named {:?}; this tokenizer has: {}",
                t,
                if self.is_empty() { "none".to_string() } else { self.names().join(", ") }
            ));
        }
        if opts.tools.is_some() && self.get("tool_use").is_some() {
            return Ok(Selected::Named("tool_use"));
        }
        if self.default.is_some() {
            return Ok(Selected::Named(DEFAULT_NAME));
        }
        if self.named.is_empty() {
            return Err(err!(
                Tokenizer,
                "this tokenizer has no chat template (none in tokenizer_config.json, chat_template.jinja or the GGUF metadata); pass template: with a Jinja template string"
            ));
        }
        Err(err!(
            Tokenizer,
            "this tokenizer has several chat templates ({}) and no default; pass template: with one of their names",
            self.names().join(", ")
        ))
    }

    fn env(&self) -> Result<&Environment<'static>> {
        let built = self.env.get_or_init(|| {
            let mut env = new_environment();
            for name in self.names() {
                let src = preprocess(self.get(&name).unwrap_or_default());
                env.add_template_owned(name.clone(), src).map_err(|e| describe(&e, &name))?;
            }
            Ok(env)
        });
        built.as_ref().map_err(|m| err!(Tokenizer, "invalid chat template: {}", m))
    }

    pub fn render(&self, messages: &serde_json::Value, opts: &RenderOptions, specials: &SpecialTokens) -> Result<String> {
        if !messages.is_array() {
            return Err(err!(Argument, "messages must be an Array of Hashes"));
        }
        let ctx = context(messages, opts, specials);
        let out = match self.select(opts)? {
            Selected::Named(name) => {
                let env = self.env()?;
                let tpl = env.get_template(name).map_err(|e| err!(Tokenizer, "{}", describe(&e, name)))?;
                tpl.render(ctx)
            }
            Selected::Literal(src) => {
                let env = new_environment();
                let src = preprocess(src);
                let tpl = env.template_from_str(&src).map_err(|e| err!(Tokenizer, "invalid chat template: {}", describe(&e, "template")))?;
                tpl.render(ctx)
            }
        };
        out.map_err(|e| render_error(&e))
    }
}

enum Selected<'a> {
    Named(&'a str),
    Literal(&'a str),
}

fn context(messages: &serde_json::Value, opts: &RenderOptions, specials: &SpecialTokens) -> Value {
    let mut ctx = serde_json::Map::new();
    for (name, tok) in specials.variables() {
        ctx.insert(name.to_string(), serde_json::Value::String(tok.to_string()));
    }
    if !specials.additional.is_empty() {
        ctx.insert("additional_special_tokens".into(), serde_json::json!(specials.additional));
    }
    // Extra keywords override special tokens, as in transformers.
    for (k, v) in &opts.extra {
        ctx.insert(k.clone(), v.clone());
    }
    ctx.insert("messages".into(), messages.clone());
    ctx.insert("tools".into(), opts.tools.clone().unwrap_or(serde_json::Value::Null));
    ctx.insert("documents".into(), opts.documents.clone().unwrap_or(serde_json::Value::Null));
    ctx.insert("add_generation_prompt".into(), serde_json::Value::Bool(opts.add_generation_prompt));
    Value::from(minijinja::value::Serde(ctx))
}

/// `{% generation %}` / `{% endgeneration %}` (transformers' assistant-mask
/// markers, e.g. SmolLM3) render their body unchanged; minijinja does not know
/// the tag, so it is removed before compiling.
fn preprocess(src: &str) -> String {
    let mut s = src.to_string();
    for tag in ["generation", "endgeneration"] {
        for (open, close) in [("{%-", "-%}"), ("{%-", "%}"), ("{%", "-%}"), ("{%", "%}")] {
            for inner in [format!(" {tag} "), tag.to_string()] {
                s = s.replace(&format!("{open}{inner}{close}"), "");
            }
        }
    }
    s
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("default delimiters are valid");
    env.set_syntax(syntax);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(|out, _state, value| {
        let s = py_str(value);
        out.write_str(&s).map_err(|_| minijinja::Error::new(JErrorKind::WriteFailure, "write failed"))
    });
    env.add_function("raise_exception", |msg: String| -> std::result::Result<Value, minijinja::Error> {
        Err(minijinja::Error::new(JErrorKind::InvalidOperation, format!("{RAISED}{msg}")))
    });
    env.add_function("strftime_now", |fmt: String| -> std::result::Result<Value, minijinja::Error> {
        strftime_now(&fmt).map(Value::from).map_err(|m| minijinja::Error::new(JErrorKind::InvalidOperation, m))
    });
    env.add_filter("tojson", tojson);
    env
}

fn describe(e: &minijinja::Error, name: &str) -> String {
    let mut s = e.detail().map(str::to_string).unwrap_or_else(|| e.kind().to_string());
    if let Some(line) = e.line() {
        s.push_str(&format!(" (template {name:?}, line {line})"));
    }
    s
}

fn render_error(e: &minijinja::Error) -> crate::error::Error {
    // The template's own raise_exception message, possibly wrapped by calls.
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if let Some(i) = text.find(RAISED) {
            let msg = &text[i + RAISED.len()..];
            let msg = msg.split(" (in ").next().unwrap_or(msg);
            return err!(Tokenizer, "chat template error: {}", msg.trim_end());
        }
        cur = err.source();
    }
    err!(Tokenizer, "cannot render chat template: {}", describe(e, "chat"))
}

/// Jinja2's `str()` of a value: Python spellings for None/True/False and
/// Python reprs inside containers.
fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => py_repr(v),
    }
}

fn py_repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => {
            if let Ok(f) = f64::try_from(v.clone()) {
                if v.as_i64().is_none() {
                    return py_float(f);
                }
            }
            v.to_string()
        }
        ValueKind::String => py_str_repr(v.as_str().unwrap_or_default()),
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v.try_iter().map(|it| it.map(|x| py_repr(&x)).collect()).unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            if let Ok(keys) = v.try_iter() {
                for k in keys {
                    let val = v.get_item(&k).unwrap_or_default();
                    parts.push(format!("{}: {}", py_repr(&k), py_repr(&val)));
                }
            }
            format!("{{{}}}", parts.join(", "))
        }
        _ => v.to_string(),
    }
}

fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form outside
/// 1e-4 <= |x| < 1e16.
fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    let sci = format!("{f:e}"); // e.g. "1.5e-5", "1e20"
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

/// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=indent,
/// separators=separators, sort_keys=sort_keys)`.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let indent: Option<Value> = kwargs.get("indent")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let separators: Option<Value> = kwargs.get("separators")?;
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=64).contains(&n) => Some(" ".repeat(n as usize)),
            Some(_) => return Err(minijinja::Error::new(JErrorKind::InvalidOperation, "tojson: indent out of range")),
            None => Some(v.as_str().unwrap_or("").to_string()),
        },
    };
    let (item_sep, key_sep) = match separators {
        Some(s) if !s.is_none() => {
            let a = s.get_item_by_index(0)?;
            let b = s.get_item_by_index(1)?;
            (a.as_str().unwrap_or(",").to_string(), b.as_str().unwrap_or(":").to_string())
        }
        _ => (if indent.is_some() { ",".to_string() } else { ", ".to_string() }, ": ".to_string()),
    };
    let w = JsonWriter { indent, item_sep, key_sep, ensure_ascii: ensure_ascii.unwrap_or(false), sort_keys: sort_keys.unwrap_or(false) };
    let mut out = String::new();
    w.write(&mut out, &value, 0)?;
    Ok(Value::from_safe_string(out))
}

struct JsonWriter {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    ensure_ascii: bool,
    sort_keys: bool,
}

impl JsonWriter {
    fn newline(&self, out: &mut String, depth: usize) {
        if let Some(ind) = &self.indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str(ind);
            }
        }
    }

    fn write(&self, out: &mut String, v: &Value, depth: usize) -> std::result::Result<(), minijinja::Error> {
        if depth > 128 {
            return Err(minijinja::Error::new(JErrorKind::InvalidOperation, "tojson: value nested too deeply"));
        }
        match v.kind() {
            ValueKind::Undefined | ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => {
                if v.as_i64().is_some() || f64::try_from(v.clone()).is_err() {
                    out.push_str(&v.to_string());
                } else {
                    out.push_str(&py_float(f64::try_from(v.clone()).unwrap_or(0.0)));
                }
            }
            ValueKind::String => self.string(out, v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = v.try_iter()?.collect();
                if items.is_empty() {
                    out.push_str("[]");
                    return Ok(());
                }
                out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(out, depth + 1);
                    self.write(out, it, depth + 1)?;
                }
                self.newline(out, depth);
                out.push(']');
            }
            ValueKind::Map => {
                let mut keys: Vec<Value> = v.try_iter()?.collect();
                if keys.is_empty() {
                    out.push_str("{}");
                    return Ok(());
                }
                if self.sort_keys {
                    keys.sort_by_key(|k| k.to_string());
                }
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&self.item_sep);
                    }
                    self.newline(out, depth + 1);
                    match k.as_str() {
                        Some(s) => self.string(out, s),
                        None => self.string(out, &py_str(k)),
                    }
                    out.push_str(&self.key_sep);
                    self.write(out, &v.get_item(k)?, depth + 1)?;
                }
                self.newline(out, depth);
                out.push('}');
            }
            _ => self.string(out, &v.to_string()),
        }
        Ok(())
    }

    fn string(&self, out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c if self.ensure_ascii && (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        let _ = write!(out, "\\u{:04x}", unit);
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// `strftime_now(format)`: the local time, formatted by the C library (as
/// Python's `datetime.now().strftime` does).
fn strftime_now(fmt: &str) -> std::result::Result<String, String> {
    let cfmt = std::ffi::CString::new(fmt).map_err(|_| "strftime_now: format contains a NUL byte".to_string())?;
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return Err("strftime_now: cannot read the local time".into());
        }
        let mut buf = vec![0u8; 256 + fmt.len() * 8];
        let n = libc::strftime(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), cfmt.as_ptr(), &tm);
        buf.truncate(n);
        String::from_utf8(buf).map_err(|_| "strftime_now: result is not UTF-8".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(tpl: &str, messages: serde_json::Value, extra: serde_json::Value) -> Result<String> {
        let t = ChatTemplates::new(Some(tpl.to_string()), vec![]);
        let mut opts = RenderOptions { add_generation_prompt: true, ..Default::default() };
        if let serde_json::Value::Object(m) = extra {
            opts.extra = m;
        }
        let specials = SpecialTokens { bos: Some("<s>".into()), eos: Some("</s>".into()), ..Default::default() };
        t.render(&messages, &opts, &specials)
    }

    #[test]
    fn python_json_and_reprs() {
        let m = serde_json::json!([{"role": "user", "content": "héllo \"x\"", "n": 1.5, "ok": true, "z": null}]);
        let out = render("{{ messages[0] | tojson }}|{{ messages[0].ok }}|{{ messages[0].z }}|{{ [1, 'a'] }}", m.clone(), serde_json::json!({})).unwrap();
        assert_eq!(out, r#"{"role": "user", "content": "héllo \"x\"", "n": 1.5, "ok": true, "z": null}|True|None|[1, 'a']"#);
        let out = render("{{ messages[0] | tojson(indent=2) }}", m, serde_json::json!({})).unwrap();
        assert!(out.starts_with("{\n  \"role\": \"user\",\n"), "{out}");
    }

    #[test]
    fn trims_blocks_loop_controls_and_python_methods() {
        let m = serde_json::json!([{"role": "user", "content": "  a b  "}, {"role": "assistant", "content": "x"}]);
        let tpl = "{% for m in messages %}\n  {% if m.role == 'assistant' %}{% break %}{% endif %}\n[{{ m.content.strip() }}]{{ bos_token }}\n{% endfor %}";
        assert_eq!(render(tpl, m, serde_json::json!({})).unwrap(), "[a b]<s>\n");
    }

    #[test]
    fn negative_slices_and_raise() {
        let m = serde_json::json!([{"role": "user", "content": "1"}, {"role": "user", "content": "2"}]);
        assert_eq!(render("{% for m in messages[::-1] %}{{ m.content }}{% endfor %}", m.clone(), serde_json::json!({})).unwrap(), "21");
        let e = render("{{ raise_exception('Roles must alternate') }}", m, serde_json::json!({})).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Tokenizer);
        assert_eq!(e.message, "chat template error: Roles must alternate");
    }

    #[test]
    fn selection_and_errors() {
        let t = ChatTemplates::from_config_value(&serde_json::json!([
            {"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}
        ]))
        .unwrap();
        let specials = SpecialTokens::default();
        let m = serde_json::json!([]);
        assert_eq!(t.render(&m, &RenderOptions::default(), &specials).unwrap(), "D");
        let tools = RenderOptions { tools: Some(serde_json::json!([])), ..Default::default() };
        assert_eq!(t.render(&m, &tools, &specials).unwrap(), "T");
        let bad = RenderOptions { template: Some("nope".into()), ..Default::default() };
        assert!(t.render(&m, &bad, &specials).unwrap_err().message.contains("default, tool_use"));
        let none = ChatTemplates::default();
        assert!(none.render(&m, &RenderOptions::default(), &specials).unwrap_err().message.contains("no chat template"));
    }

    #[test]
    fn generation_tag_and_strftime() {
        let m = serde_json::json!([]);
        assert_eq!(render("{% generation %}A{% endgeneration %}", m.clone(), serde_json::json!({})).unwrap(), "A");
        let year = render("{{ strftime_now('%Y') }}", m, serde_json::json!({})).unwrap();
        assert_eq!(year.len(), 4);
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1e20), "1e+20");
        assert_eq!(py_float(1.5e-5), "1.5e-05");
        assert_eq!(py_float(123456.789), "123456.789");
    }
}
