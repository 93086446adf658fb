//! A safe reader for the metadata of GGUF files (versions 2 and 3,
//! little-endian): the key/value pairs and the tensor directory, never the
//! tensor data.
//!
//! GGUF files come from anywhere, so every count and length read from the file
//! is checked against the bytes that remain before anything is allocated, and
//! every failure is an `InvalidModelFile` error naming the file, the byte
//! offset and what was being read. Nothing here panics on bad input.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use crate::err;
use crate::error::Result;

const MAGIC: [u8; 4] = *b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// `GGML_MAX_DIMS`: ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;
/// Arrays of arrays are legal GGUF but unused in practice; the bound keeps a
/// hostile file from recursing deeply.
const MAX_ARRAY_DEPTH: usize = 3;
/// Each array element becomes a 32-byte `Value`, so even a file-size-bounded
/// array of bytes could cost 32 times the file size. Real files hold well
/// under a million elements in total (vocabularies, merges, scores, types).
const MAX_TOTAL_ELEMENTS: u64 = 1 << 24;
/// Upper bound on what is reserved up front for one array; larger arrays
/// grow as their elements are actually read.
const MAX_PREALLOC: usize = 1 << 16;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// Any integer that fits in a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any integer that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v),
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Any number, integers included.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self
                .as_i64()
                .map(|v| v as f64)
                .or_else(|| self.as_u64().map(|v| v as f64)),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The GGUF name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "uint8",
            Value::I8(_) => "int8",
            Value::U16(_) => "uint16",
            Value::I16(_) => "int16",
            Value::U32(_) => "uint32",
            Value::I32(_) => "int32",
            Value::U64(_) => "uint64",
            Value::I64(_) => "int64",
            Value::F32(_) => "float32",
            Value::F64(_) => "float64",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(_) => "array",
        }
    }
}

/// One entry of the tensor directory. `offset` is relative to
/// `Metadata::data_offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub version: u32,
    pub kv: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    /// Absolute file offset where tensor data starts (the end of the
    /// metadata rounded up to `general.alignment`, default 32).
    pub data_offset: u64,
}

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.kv.get(key)
    }

    /// `general.architecture`, e.g. "llama".
    pub fn architecture(&self) -> Option<&str> {
        self.get("general.architecture").and_then(Value::as_str)
    }

    /// The alignment of tensor data (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.get("general.alignment")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_ALIGNMENT)
    }
}

/// Reads the metadata of the GGUF file at `path`; tensor data is not read.
pub fn read_metadata(path: &Path) -> Result<Metadata> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| err!(ModelLoad, "cannot open GGUF file {name}: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| err!(ModelLoad, "cannot read the size of GGUF file {name}: {e}"))?
        .len();
    Parser::new(file, len, name).parse()
}

/// Reads GGUF metadata from `r`, whose total length is `file_len` bytes
/// (counted from the current position, which must be the start of the GGUF
/// data). Errors name the source as "GGUF data".
pub fn read_metadata_from<R: Read + Seek>(r: R, file_len: u64) -> Result<Metadata> {
    Parser::new(r, file_len, "GGUF data".to_string()).parse()
}

/// GGUF value type codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl Type {
    fn from_code(code: u32) -> Option<Type> {
        Some(match code {
            0 => Type::U8,
            1 => Type::I8,
            2 => Type::U16,
            3 => Type::I16,
            4 => Type::U32,
            5 => Type::I32,
            6 => Type::F32,
            7 => Type::Bool,
            8 => Type::String,
            9 => Type::Array,
            10 => Type::U64,
            11 => Type::I64,
            12 => Type::F64,
            _ => return None,
        })
    }

    /// The fewest bytes one value of this type occupies in the file (a
    /// string is at least its length prefix; an array its type and length).
    fn min_size(self) -> u64 {
        match self {
            Type::U8 | Type::I8 | Type::Bool => 1,
            Type::U16 | Type::I16 => 2,
            Type::U32 | Type::I32 | Type::F32 => 4,
            Type::U64 | Type::I64 | Type::F64 | Type::String => 8,
            Type::Array => 12,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Type::U8 => "uint8",
            Type::I8 => "int8",
            Type::U16 => "uint16",
            Type::I16 => "int16",
            Type::U32 => "uint32",
            Type::I32 => "int32",
            Type::F32 => "float32",
            Type::Bool => "bool",
            Type::String => "string",
            Type::Array => "array",
            Type::U64 => "uint64",
            Type::I64 => "int64",
            Type::F64 => "float64",
        }
    }
}

struct Parser<R> {
    r: BufReader<R>,
    /// Bytes consumed so far.
    pos: u64,
    len: u64,
    name: String,
    /// What is being read, for error messages ("key 'x'", "tensor 3 'y'").
    what: String,
    /// Array elements read so far, bounded by `MAX_TOTAL_ELEMENTS`.
    elements: u64,
}

impl<R: Read + Seek> Parser<R> {
    fn new(r: R, len: u64, name: String) -> Self {
        Parser {
            r: BufReader::with_capacity(1 << 16, r),
            pos: 0,
            len,
            name,
            what: "the header".to_string(),
            elements: 0,
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn parse(mut self) -> Result<Metadata> {
        let magic: [u8; 4] = self.bytes()?;
        if magic != MAGIC {
            return Err(err!(
                InvalidModelFile,
                "{}: not a GGUF file (magic {:02x?} = {:?}, expected \"GGUF\")",
                self.name,
                magic,
                String::from_utf8_lossy(&magic)
            ));
        }
        let version = self.u32()?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(err!(
                    InvalidModelFile,
                    "{}: GGUF version 1 is not supported (re-convert the model with a current llama.cpp)",
                    self.name
                ))
            }
            // A big-endian file reads as a byte-swapped small version.
            v if v.swap_bytes() <= 3 => {
                return Err(err!(
                    InvalidModelFile,
                    "{}: big-endian GGUF files are not supported",
                    self.name
                ))
            }
            v => {
                return Err(err!(
                    InvalidModelFile,
                    "{}: unsupported GGUF version {v} (supported: 2, 3)",
                    self.name
                ))
            }
        }
        let tensor_count = self.u64()?;
        let kv_count = self.u64()?;

        // A key/value pair is at least a key length, a type and one byte; a
        // tensor entry at least a name length, n_dims, type and offset.
        self.check_count(kv_count, 8 + 4 + 1, "key/value pairs")?;
        self.check_count(tensor_count, 8 + 4 + 4 + 8, "tensors")?;

        let mut kv = BTreeMap::new();
        for i in 0..kv_count {
            self.what = format!("the key of key/value pair {i}");
            let key = self.string()?;
            self.what = format!("key '{key}'");
            let code = self.u32()?;
            let value = self.value(code, 0)?;
            if kv.insert(key, value).is_some() {
                return Err(err!(InvalidModelFile, "{}: duplicate {}", self.name, self.what));
            }
        }

        let mut tensors = Vec::with_capacity(tensor_count.min(MAX_PREALLOC as u64) as usize);
        for i in 0..tensor_count {
            self.what = format!("the name of tensor {i}");
            let name = self.string()?;
            self.what = format!("tensor {i} '{name}'");
            let n_dims = self.u32()?;
            if n_dims > MAX_DIMS {
                return Err(err!(
                    InvalidModelFile,
                    "{}: {} has {n_dims} dimensions (at most {MAX_DIMS} are allowed)",
                    self.name,
                    self.what
                ));
            }
            let dims = (0..n_dims).map(|_| self.u64()).collect::<Result<Vec<_>>>()?;
            let ggml_type = self.u32()?;
            let offset = self.u64()?;
            tensors.push(TensorInfo {
                name,
                dims,
                ggml_type,
                offset,
            });
        }

        let alignment = match kv.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(Value::U32(a)) if a.is_power_of_two() => u64::from(*a),
            Some(v) => {
                return Err(err!(
                    InvalidModelFile,
                    "{}: general.alignment must be a uint32 power of two, got {v:?}",
                    self.name
                ))
            }
        };
        let data_offset = self.pos.div_ceil(alignment) * alignment;
        Ok(Metadata {
            version,
            kv,
            tensors,
            data_offset,
        })
    }

    /// Fails unless `count` items of at least `min_size` bytes each fit in
    /// the rest of the file.
    fn check_count(&self, count: u64, min_size: u64, what: &str) -> Result<()> {
        let needed = count.saturating_mul(min_size);
        if needed > self.remaining() {
            return Err(err!(
                InvalidModelFile,
                "{}: header claims {count} {what}, which need at least {needed} bytes but only {} remain after byte {}",
                self.name,
                self.remaining(),
                self.pos
            ));
        }
        Ok(())
    }

    fn value(&mut self, code: u32, depth: usize) -> Result<Value> {
        let ty = Type::from_code(code).ok_or_else(|| {
            err!(
                InvalidModelFile,
                "{}: unknown value type {code} at byte {} in {}",
                self.name,
                self.pos - 4,
                self.what
            )
        })?;
        Ok(match ty {
            Type::U8 => Value::U8(u8::from_le_bytes(self.bytes()?)),
            Type::I8 => Value::I8(i8::from_le_bytes(self.bytes()?)),
            Type::U16 => Value::U16(u16::from_le_bytes(self.bytes()?)),
            Type::I16 => Value::I16(i16::from_le_bytes(self.bytes()?)),
            Type::U32 => Value::U32(self.u32()?),
            Type::I32 => Value::I32(i32::from_le_bytes(self.bytes()?)),
            Type::F32 => Value::F32(f32::from_le_bytes(self.bytes()?)),
            Type::Bool => Value::Bool(u8::from_le_bytes(self.bytes()?) != 0),
            Type::String => Value::String(self.string()?),
            Type::U64 => Value::U64(self.u64()?),
            Type::I64 => Value::I64(i64::from_le_bytes(self.bytes()?)),
            Type::F64 => Value::F64(f64::from_le_bytes(self.bytes()?)),
            Type::Array => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(err!(
                        InvalidModelFile,
                        "{}: arrays nested more than {MAX_ARRAY_DEPTH} deep at byte {} in {}",
                        self.name,
                        self.pos,
                        self.what
                    ));
                }
                let elem_code = self.u32()?;
                let elem = Type::from_code(elem_code).ok_or_else(|| {
                    err!(
                        InvalidModelFile,
                        "{}: unknown array element type {elem_code} at byte {} in {}",
                        self.name,
                        self.pos - 4,
                        self.what
                    )
                })?;
                let n = self.u64()?;
                let needed = n.saturating_mul(elem.min_size());
                if needed > self.remaining() {
                    return Err(err!(
                        InvalidModelFile,
                        "{}: array of {n} {} elements at byte {} in {} needs at least {needed} bytes but only {} remain",
                        self.name,
                        elem.name(),
                        self.pos,
                        self.what,
                        self.remaining()
                    ));
                }
                self.elements = self.elements.saturating_add(n);
                if self.elements > MAX_TOTAL_ELEMENTS {
                    return Err(err!(
                        InvalidModelFile,
                        "{}: more than {MAX_TOTAL_ELEMENTS} array elements in the metadata (at {})",
                        self.name,
                        self.what
                    ));
                }
                let mut items = Vec::with_capacity(n.min(MAX_PREALLOC as u64) as usize);
                for _ in 0..n {
                    items.push(self.value(elem_code, depth + 1)?);
                }
                Value::Array(items)
            }
        })
    }

    fn string(&mut self) -> Result<String> {
        let start = self.pos;
        let n = self.u64()?;
        if n > self.remaining() {
            return Err(err!(
                InvalidModelFile,
                "{}: string length {n} at byte {start} in {} exceeds the file size ({} bytes remain)",
                self.name,
                self.what,
                self.remaining()
            ));
        }
        // `n` fits in the file, so on 64-bit targets it fits in memory too;
        // `try_from` only guards 32-bit ones.
        let n = usize::try_from(n).map_err(|_| {
            err!(
                InvalidModelFile,
                "{}: string length {n} in {} is too large",
                self.name,
                self.what
            )
        })?;
        let mut buf = vec![0; n];
        self.fill(&mut buf)?;
        String::from_utf8(buf).map_err(|e| {
            err!(
                InvalidModelFile,
                "{}: invalid UTF-8 in the string at byte {start} in {} ({e})",
                self.name,
                self.what
            )
        })
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buf = [0; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        let truncated = |p: &Self| {
            err!(
                InvalidModelFile,
                "{}: truncated at byte {} while reading {} (the file is {} bytes)",
                p.name,
                p.pos,
                p.what,
                p.len
            )
        };
        if (buf.len() as u64) > self.remaining() {
            return Err(truncated(self));
        }
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(truncated(self)),
            Err(e) => Err(err!(
                InvalidModelFile,
                "{}: read error at byte {}: {e}",
                self.name,
                self.pos
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::io::Cursor;

    /// Builds GGUF bytes by hand.
    #[derive(Default)]
    struct Gguf(Vec<u8>);

    impl Gguf {
        fn header(version: u32, tensors: u64, kvs: u64) -> Self {
            let mut g = Gguf::default();
            g.0.extend_from_slice(b"GGUF");
            g.u32(version).u64(tensors).u64(kvs);
            g
        }
        fn u32(&mut self, v: u32) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn u64(&mut self, v: u64) -> &mut Self {
            self.0.extend_from_slice(&v.to_le_bytes());
            self
        }
        fn str(&mut self, s: &str) -> &mut Self {
            self.u64(s.len() as u64);
            self.0.extend_from_slice(s.as_bytes());
            self
        }
        fn raw(&mut self, b: &[u8]) -> &mut Self {
            self.0.extend_from_slice(b);
            self
        }
        fn read(&self) -> Result<Metadata> {
            read_metadata_from(Cursor::new(&self.0), self.0.len() as u64)
        }
    }

    fn invalid(g: &Gguf) -> String {
        let e = g.read().expect_err("should fail");
        assert_eq!(e.kind, ErrorKind::InvalidModelFile, "{}", e.message);
        e.message
    }

    #[test]
    fn reads_values_tensors_and_alignment() {
        let mut g = Gguf::header(3, 1, 5);
        g.str("general.architecture").u32(8).str("llama");
        g.str("general.alignment").u32(4).u32(64);
        g.str("a.f32").u32(6).raw(&1.5f32.to_le_bytes());
        g.str("a.bool").u32(7).raw(&[1]);
        g.str("tokens").u32(9).u32(8).u64(2).str("a").str("é");
        g.str("blk.0.w").u32(2).u64(4).u64(3).u32(1).u64(0);
        let meta = g.read().unwrap();
        assert_eq!(meta.version, 3);
        assert_eq!(meta.architecture(), Some("llama"));
        assert_eq!(meta.alignment(), 64);
        assert_eq!(meta.get("a.f32").and_then(Value::as_f64), Some(1.5));
        assert_eq!(meta.get("a.bool").and_then(Value::as_bool), Some(true));
        let tokens = meta.get("tokens").and_then(Value::as_array).unwrap();
        assert_eq!(tokens.iter().filter_map(Value::as_str).collect::<Vec<_>>(), ["a", "é"]);
        assert_eq!(
            meta.tensors,
            [TensorInfo {
                name: "blk.0.w".into(),
                dims: vec![4, 3],
                ggml_type: 1,
                offset: 0
            }]
        );
        assert_eq!(meta.data_offset, (g.0.len() as u64).div_ceil(64) * 64);
    }

    #[test]
    fn default_alignment_is_32_and_v2_is_accepted() {
        let mut g = Gguf::header(2, 0, 1);
        g.str("k").u32(0).raw(&[7]);
        let meta = g.read().unwrap();
        assert_eq!(meta.get("k"), Some(&Value::U8(7)));
        assert_eq!(meta.data_offset, 32 + 32);
    }

    #[test]
    fn integer_accessors_convert_only_in_range() {
        assert_eq!(Value::I32(-1).as_u64(), None);
        assert_eq!(Value::I32(5).as_u64(), Some(5));
        assert_eq!(Value::U64(u64::MAX).as_i64(), None);
        assert_eq!(Value::U16(3).as_f64(), Some(3.0));
        assert_eq!(Value::String("x".into()).as_u64(), None);
    }

    #[test]
    fn rejects_bad_magic() {
        let mut g = Gguf::default();
        g.raw(b"GGML").u32(3).u64(0).u64(0);
        assert!(invalid(&g).contains("not a GGUF file"));
    }

    #[test]
    fn rejects_unsupported_versions() {
        assert!(invalid(&Gguf::header(1, 0, 0)).contains("version 1"));
        assert!(invalid(&Gguf::header(4, 0, 0)).contains("unsupported GGUF version 4"));
        assert!(invalid(&Gguf::header(3u32.swap_bytes(), 0, 0)).contains("big-endian"));
    }

    #[test]
    fn rejects_truncated_files() {
        let msg = invalid(&Gguf(b"GG".to_vec()));
        assert!(msg.contains("truncated at byte 0"), "{msg}");

        let mut g = Gguf::header(3, 0, 1);
        g.str("some.key").u32(4).raw(&[1, 2]);
        let msg = invalid(&g);
        assert!(
            msg.contains("truncated at byte") && msg.contains("key 'some.key'"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_counts_larger_than_the_file() {
        let msg = invalid(&Gguf::header(3, 0, u64::MAX));
        assert!(msg.contains("key/value pairs"), "{msg}");
        let msg = invalid(&Gguf::header(3, 1 << 40, 0));
        assert!(msg.contains("tensors"), "{msg}");
    }

    #[test]
    fn rejects_huge_string_lengths() {
        let mut g = Gguf::header(3, 0, 1);
        g.u64(9_000_000_000_000_000_000).raw(b"abcdefghijklmnop");
        let msg = invalid(&g);
        assert!(
            msg.contains("string length 9000000000000000000") && msg.contains("exceeds the file size"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_huge_arrays() {
        // 2^61 uint32 elements: the byte count overflows u64 unless saturated.
        let mut g = Gguf::header(3, 0, 1);
        g.str("arr").u32(9).u32(4).u64(1 << 61).u32(0);
        let msg = invalid(&g);
        assert!(msg.contains("array of 2305843009213693952 uint32 elements"), "{msg}");

        // Strings need at least their 8-byte length each.
        let mut g = Gguf::header(3, 0, 1);
        g.str("arr").u32(9).u32(8).u64(3).u64(0).u64(0);
        assert!(invalid(&g).contains("needs at least 24 bytes"));
    }

    #[test]
    fn rejects_deeply_nested_arrays() {
        let mut g = Gguf::header(3, 0, 1);
        g.str("arr");
        g.u32(9);
        for _ in 0..10 {
            g.u32(9).u64(1);
        }
        g.raw(&[0; 64]);
        assert!(invalid(&g).contains("nested"));
    }

    #[test]
    fn rejects_unknown_types() {
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(13).u64(0);
        assert!(invalid(&g).contains("unknown value type 13"));

        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(9).u32(99).u64(0);
        assert!(invalid(&g).contains("unknown array element type 99"));
    }

    #[test]
    fn rejects_invalid_utf8() {
        let mut g = Gguf::header(3, 0, 1);
        g.str("k").u32(8).u64(2).raw(&[0xff, 0xfe]);
        let msg = invalid(&g);
        assert!(msg.contains("invalid UTF-8") && msg.contains("key 'k'"), "{msg}");
    }

    #[test]
    fn rejects_too_many_dims_and_duplicates() {
        let mut g = Gguf::header(3, 1, 0);
        g.str("t").u32(5).raw(&[0; 64]);
        assert!(invalid(&g).contains("5 dimensions"));

        let mut g = Gguf::header(3, 0, 2);
        g.str("k").u32(0).raw(&[1]);
        g.str("k").u32(0).raw(&[2]);
        assert!(invalid(&g).contains("duplicate key 'k'"));
    }

    #[test]
    fn rejects_bad_alignment() {
        let mut g = Gguf::header(3, 0, 1);
        g.str("general.alignment").u32(4).u32(48);
        assert!(invalid(&g).contains("power of two"));
    }

    #[test]
    fn missing_file_is_a_model_load_error() {
        let e = read_metadata(Path::new("/nonexistent/model.gguf")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ModelLoad);
        assert!(e.message.contains("/nonexistent/model.gguf"));
    }
}
