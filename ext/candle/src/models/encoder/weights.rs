//! An encoder checkpoint's tensors by their transformers names, whatever
//! spelling the file uses: a backbone prefix or none (`bert.`, `roberta.`,
//! `distilbert.`, `model.`), and the legacy TensorFlow-era LayerNorm names
//! (`LayerNorm.gamma` / `LayerNorm.beta`). Every tensor's shape is checked
//! against the one config.json implies before it is read, so a wrong or
//! truncated file is an `InvalidModelFileError` naming the tensor, never a
//! panic; the files stay memory-mapped.

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::err;
use crate::error::Result;
use crate::models::safetensors::safetensors_shapes;

pub struct Weights {
    vb: VarBuilder<'static>,
    shapes: HashMap<String, Vec<usize>>,
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
        for f in files {
            for (name, shape) in safetensors_shapes(f)? {
                shapes.insert(name, shape.into_iter().map(|d| d as usize).collect());
            }
        }
        let source = match files {
            [one] => one.display().to_string(),
            many => format!("{} safetensors shards", many.len()),
        };
        // SAFETY: the files are the cache's immutable blobs (or the user's
        // own files); candle keeps the maps alive as long as the tensors.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(files, dtype, device) }
            .map_err(|e| err!(InvalidModelFile, "{}: {}", source, e))?;
        Ok(Weights { vb, shapes, prefix: String::new(), source })
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
        self.vb.get(shape, &actual).map_err(|e| err!(InvalidModelFile, "{}: tensor {actual}: {}", self.source, e))
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
