//! An encoder checkpoint's tensors by their transformers names, whatever
//! spelling the file uses: a backbone prefix or none (`bert.`, `roberta.`,
//! `distilbert.`, `model.`), and the legacy TensorFlow-era LayerNorm names
//! (`LayerNorm.gamma` / `LayerNorm.beta`). Every tensor's shape is checked
//! against the one config.json implies before it is read, so a wrong or
//! truncated file is an `InvalidModelFileError` naming the tensor, never a
//! panic. Tensors are read with positioned reads into their own buffers,
//! not through a mapping of the file: the process then holds the weights
//! once (a mapping's touched pages count in its RSS next to the copy).
//!
//! The exception is an embedding table on the CPU F32 path ([`Table`]): it
//! is used in place from a read-only mapping of the file, so only the pages
//! of the rows a text uses come into memory. For BERT-size vocabularies
//! that is most of the model (all-MiniLM-L6-v2: 45 of 87 MiB).

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use candle_nn::VarBuilder;

use crate::err;
use crate::error::Result;
use crate::models::safetensors::safetensors_shapes;

/// Where a tensor's bytes are: which file, its dtype, absolute byte range.
struct Entry {
    file: usize,
    dtype: DType,
    start: u64,
    end: u64,
}

pub struct Weights {
    vb: VarBuilder<'static>,
    shapes: HashMap<String, Vec<usize>>,
    entries: HashMap<String, Entry>,
    files: Vec<File>,
    /// The backbone's prefix in this file ("" when it has none).
    prefix: String,
    source: String,
}

/// The spellings a canonical name may have in a file, most likely first.
fn spellings(name: &str) -> Vec<String> {
    let mut v = vec![name.to_string()];
    if let Some(stem) = name.strip_suffix("LayerNorm.weight") {
        v.push(format!("{stem}LayerNorm.gamma"));
    } else if let Some(stem) = name.strip_suffix("LayerNorm.bias") {
        v.push(format!("{stem}LayerNorm.beta"));
    }
    v
}

impl Weights {
    pub fn open(files: &[PathBuf], dtype: DType, device: &Device) -> Result<Weights> {
        let mut shapes = HashMap::new();
        let mut entries = HashMap::new();
        let mut handles = Vec::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            for (name, shape) in safetensors_shapes(f)? {
                shapes.insert(name, shape.into_iter().map(|d| d as usize).collect());
            }
            let file = File::open(f).map_err(|e| err!(ModelLoad, "cannot open {}: {}", f.display(), e))?;
            for (name, entry) in entries_of(&file, f, i)? {
                entries.insert(name, entry);
            }
            handles.push(file);
        }
        let source = match files {
            [one] => one.display().to_string(),
            many => format!("{} safetensors shards", many.len()),
        };
        // SAFETY: the files are the cache's immutable blobs (or the user's
        // own files); candle keeps the maps alive as long as the tensors.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(files, dtype, device) }
            .map_err(|e| err!(InvalidModelFile, "{}: {}", source, e))?;
        Ok(Weights { vb, shapes, entries, files: handles, prefix: String::new(), source })
    }

    /// candle's VarBuilder over the same files (for candle-transformers' models).
    pub fn varbuilder(&self) -> VarBuilder<'static> {
        self.vb.clone()
    }

    pub fn dtype(&self) -> DType {
        self.vb.dtype()
    }

    pub fn device(&self) -> &Device {
        self.vb.device()
    }

    /// Picks the backbone prefix: the first of `candidates` under which the
    /// file has `probe`. False when none has it.
    pub fn find_prefix(&mut self, candidates: &[&str], probe: &str) -> bool {
        for p in candidates {
            if self.actual(&format!("{p}{probe}")).is_some() {
                self.prefix = p.to_string();
                return true;
            }
        }
        false
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The name `name` has in the file, if any.
    fn actual(&self, name: &str) -> Option<String> {
        spellings(name).into_iter().find(|n| self.shapes.contains_key(n))
    }

    pub fn has(&self, name: &str) -> bool {
        self.actual(name).is_some()
    }

    pub fn has_backbone(&self, name: &str) -> bool {
        self.has(&format!("{}{name}", self.prefix))
    }

    /// The tensor `name` (a full name: heads live outside the backbone),
    /// which must have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let actual = self.checked(name, shape)?;
        self.read(&actual, shape).map_err(|why| err!(InvalidModelFile, "{}: tensor {actual}: {why}", self.source))
    }

    /// `get` as an F32 table on the host: mapped in place when the file
    /// stores it as little-endian F32 at a 4-byte aligned offset, else read.
    pub fn table(&self, name: &str, shape: &[usize]) -> Result<Table> {
        let actual = self.checked(name, shape)?;
        let e = &self.entries[&actual];
        let count: usize = shape.iter().product();
        if e.dtype == DType::F32 && cfg!(target_endian = "little") && e.start % 4 == 0 && e.end - e.start == count as u64 * 4 {
            // SAFETY: the file is an immutable cache blob (or the user's
            // own file, which they must not truncate while it is loaded);
            // the map is read-only and outlives every slice made from it.
            // (memmap2 aligns the offset down to a page itself.)
            let map = unsafe { memmap2::MmapOptions::new().offset(e.start).len(count * 4).map(&self.files[e.file]) };
            if let Ok(map) = map {
                return Ok(Table::Mapped(map));
            }
        }
        Ok(Table::Owned(super::fast::host_vec(&self.get(name, shape)?)?))
    }

    /// The file's spelling of `name`, whose shape must be `shape`.
    fn checked(&self, name: &str, shape: &[usize]) -> Result<String> {
        let Some(actual) = self.actual(name) else {
            return Err(err!(InvalidModelFile, "{}: has no tensor {name} (config.json implies one)", self.source));
        };
        let have = &self.shapes[&actual];
        if have.as_slice() != shape {
            return Err(err!(
                InvalidModelFile,
                "{}: tensor {actual} has shape {:?}, but config.json implies {:?}",
                self.source,
                have,
                shape
            ));
        }
        Ok(actual)
    }

    /// The tensor's bytes read from its file, in the load dtype, on the device.
    fn read(&self, name: &str, shape: &[usize]) -> std::result::Result<Tensor, String> {
        let e = self.entries.get(name).ok_or("not in the header")?;
        let count: usize = shape.iter().product();
        let want = (count * e.dtype.size_in_bytes()) as u64;
        if e.end - e.start != want {
            return Err(format!("holds {} bytes, but {count} {:?} values take {want}", e.end - e.start, e.dtype));
        }
        let file = &self.files[e.file];
        let t = if e.dtype == DType::F32 {
            // Straight into the tensor's buffer: no second copy of the
            // largest tensor (the word embeddings) at load.
            let mut v = vec![0f32; count];
            // SAFETY: any byte pattern is a valid f32; the length is exact.
            let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut u8, count * 4) };
            file.read_exact_at(bytes, e.start).map_err(|err| format!("cannot read: {err}"))?;
            if cfg!(target_endian = "big") {
                v.iter_mut().for_each(|x| *x = f32::from_bits(x.to_bits().swap_bytes()));
            }
            Tensor::from_vec(v, shape, &Device::Cpu)
        } else {
            let mut bytes = vec![0u8; want as usize];
            file.read_exact_at(&mut bytes, e.start).map_err(|err| format!("cannot read: {err}"))?;
            Tensor::from_raw_buffer(&bytes, e.dtype, shape, &Device::Cpu)
        }
        .map_err(|err| super::nn::one_line(&err))?;
        let t = if t.dtype() == self.vb.dtype() { t } else { t.to_dtype(self.vb.dtype()).map_err(|err| super::nn::one_line(&err))? };
        let device = self.vb.device();
        if device.is_cpu() {
            Ok(t)
        } else {
            t.to_device(device).map_err(|err| super::nn::one_line(&err))
        }
    }

    /// `get` under the backbone prefix.
    pub fn backbone(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        self.get(&format!("{}{name}", self.prefix), shape)
    }

    /// A tensor's shape in the file, under its actual spelling.
    pub fn shape_of(&self, name: &str) -> Option<&[usize]> {
        self.actual(name).map(|a| self.shapes[&a].as_slice())
    }
}

/// An F32 table (embeddings) for the host path.
pub enum Table {
    /// In place in the file: only the pages of rows used are resident.
    Mapped(memmap2::Mmap),
    Owned(Vec<f32>),
}

impl Table {
    pub fn get(&self) -> &[f32] {
        match self {
            // SAFETY: the map starts at a 4-byte aligned file offset (so a
            // 4-byte aligned address) and holds whole f32s (checked when made).
            Table::Mapped(map) => unsafe { std::slice::from_raw_parts(map.as_ptr() as *const f32, map.len() / 4) },
            Table::Owned(v) => v,
        }
    }
}

/// Each tensor's dtype and absolute byte range in a safetensors file whose
/// header `safetensors_shapes` has already bounded and checked.
fn entries_of(file: &File, path: &std::path::Path, index: usize) -> Result<Vec<(String, Entry)>> {
    let bad = |why: String| err!(InvalidModelFile, "{}: {}", path.display(), why);
    let mut n = [0u8; 8];
    file.read_exact_at(&mut n, 0).map_err(|e| bad(e.to_string()))?;
    let header_len = u64::from_le_bytes(n);
    let mut header = vec![0u8; header_len as usize];
    file.read_exact_at(&mut header, 8).map_err(|e| bad(e.to_string()))?;
    let v: Value = serde_json::from_slice(&header).map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let base = 8 + header_len;
    let mut out = Vec::new();
    for (name, t) in v.as_object().into_iter().flatten() {
        if name == "__metadata__" {
            continue;
        }
        let dtype = match t.get("dtype").and_then(|d| d.as_str()) {
            Some("F32") => DType::F32,
            Some("F16") => DType::F16,
            Some("BF16") => DType::BF16,
            Some("F64") => DType::F64,
            // Integer tensors (position_ids buffers and the like) are never weights here.
            _ => continue,
        };
        let offs = t.get("data_offsets").and_then(|o| o.as_array()).ok_or_else(|| bad(format!("tensor {name} has no data_offsets")))?;
        let (Some(a), Some(b)) = (offs.first().and_then(|x| x.as_u64()), offs.get(1).and_then(|x| x.as_u64())) else {
            return Err(bad(format!("tensor {name} has bad data_offsets")));
        };
        if a > b {
            return Err(bad(format!("tensor {name} ends before it starts")));
        }
        out.push((name.clone(), Entry { file: index, dtype, start: base + a, end: base + b }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_layer_norm_names() {
        assert_eq!(spellings("a.LayerNorm.weight"), vec!["a.LayerNorm.weight", "a.LayerNorm.gamma"]);
        assert_eq!(spellings("a.LayerNorm.bias"), vec!["a.LayerNorm.bias", "a.LayerNorm.beta"]);
        assert_eq!(spellings("a.dense.weight"), vec!["a.dense.weight"]);
    }
}
