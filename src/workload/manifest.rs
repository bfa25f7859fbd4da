//! Weight manifests: a model's architecture and its tensor table, read from YAML or JSON,
//! validated, and written back as YAML (one line per tensor).
//!
//! Every error names the file, the line when it is known, the tensor and the key.

use super::arch::{layer_of_name, Architecture};
use super::dtype::GgmlType;
use crate::mem::regime::RegionKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Whether `name` is reserved for the regions `workload::regions` derives (activation
/// buffers `act.*`, KV cache `cache_k_l<N>` and `cache_v_l<N>`): a manifest may not use it.
pub fn is_reserved_region_name(name: &str) -> bool {
    let layer_suffix = |p: &str| {
        name.strip_prefix(p)
            .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
    };
    name.starts_with("act.") || layer_suffix("cache_k_l") || layer_suffix("cache_v_l")
}

/// One tensor of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Unique name (GGUF tensor names for weights: `blk.0.attn_q.weight`).
    pub name: String,
    /// What the bytes are: model weights, KV cache or activations.
    pub kind: RegionKind,
    /// GGML element type.
    pub dtype: GgmlType,
    /// Shape in GGML order: `ne0` (the contiguous row length) first.
    pub shape: Vec<u64>,
    /// Size in bytes; must equal what `dtype` needs for `shape`.
    pub bytes: u64,
    /// Transformer block the tensor belongs to (`None` for embedding, final norm, output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<u32>,
    /// Byte offset of the data (in the GGUF file it came from), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl TensorSpec {
    /// Number of elements.
    pub fn elements(&self) -> u64 {
        self.shape.iter().product()
    }
}

/// A weight manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name (`tinyllama-1.1b-q4_k_m`).
    pub name: String,
    /// One line saying what this is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the figures come from (a GGUF file, a quantization rule).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Model hyper-parameters.
    pub architecture: Architecture,
    /// The stored tensors (weights; optionally fixed KV or activation buffers).
    pub tensors: Vec<TensorSpec>,
}

/// A manifest error: where (file, line, tensor, key) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The file the manifest came from.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The tensor concerned, if any.
    pub tensor: Option<String>,
    /// The key (`bytes`, `architecture.heads`), empty when about the whole file.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(t) = &self.tensor {
            write!(f, ": tensor `{t}`")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ManifestError {}

/// A validation failure before the file name and line are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Tensor concerned.
    pub tensor: Option<String>,
    /// Key (relative to the tensor entry, or dotted from the top for architecture keys).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

fn invalid(tensor: Option<&str>, key: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        tensor: tensor.map(str::to_string),
        key: key.to_string(),
        message: message.into(),
    }
}

impl Manifest {
    /// Parses manifest text (JSON when `file` ends in `.json`, YAML otherwise) and validates it.
    pub fn parse(text: &str, file: &str) -> Result<Manifest, ManifestError> {
        let m: Manifest = if file.ends_with(".json") {
            serde_json::from_str(text).map_err(|e| {
                let full = e.to_string();
                let message = match full.rfind(" at line ") {
                    Some(i) => full[..i].to_string(),
                    None => full,
                };
                ManifestError {
                    file: file.into(),
                    line: Some(e.line()),
                    tensor: None,
                    key: String::new(),
                    message,
                }
            })?
        } else {
            serde_yaml::from_str(text).map_err(|e| yaml_error(text, file, &e))?
        };
        m.validate()
            .map_err(|inv| locate_invalid(text, file, inv))?;
        Ok(m)
    }

    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let file = path.display().to_string();
        let bytes = crate::assets::read(path).map_err(|e| ManifestError {
            file: file.clone(),
            line: None,
            tensor: None,
            key: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Manifest::parse(&String::from_utf8_lossy(&bytes), &file)
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorSpec> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Whether the output projection reuses the token embedding (no `output.weight`).
    pub fn tied_output(&self) -> bool {
        self.tensor("output.weight").is_none()
    }

    /// Sum of the bytes of the weight tensors.
    pub fn weight_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.kind == RegionKind::Weight)
            .map(|t| t.bytes)
            .sum()
    }

    /// Number of weight elements (parameters).
    pub fn weight_params(&self) -> u64 {
        self.tensors
            .iter()
            .filter(|t| t.kind == RegionKind::Weight)
            .map(TensorSpec::elements)
            .sum()
    }

    /// Weight bytes and parameter counts by dtype, in dtype order.
    pub fn weight_bytes_by_dtype(&self) -> BTreeMap<GgmlType, (u64, u64)> {
        let mut m = BTreeMap::new();
        for t in self.tensors.iter().filter(|t| t.kind == RegionKind::Weight) {
            let e = m.entry(t.dtype).or_insert((0, 0));
            e.0 += t.bytes;
            e.1 += t.elements();
        }
        m
    }

    /// Checks the manifest: the architecture is possible, every tensor's bytes match its
    /// dtype and shape, names are unique and not reserved, layers agree with names, the
    /// llama weights are all present with the shapes the architecture implies, and given
    /// offsets do not overlap.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() {
            return Err(invalid(None, "name", "must not be empty"));
        }
        let a = &self.architecture;
        a.check()
            .map_err(|(k, m)| invalid(None, &format!("architecture.{k}"), m))?;
        if self.tensors.is_empty() {
            return Err(invalid(None, "tensors", "the manifest lists no tensors"));
        }
        let mut by_name: BTreeMap<&str, &TensorSpec> = BTreeMap::new();
        for t in &self.tensors {
            let n = Some(t.name.as_str());
            if t.name.is_empty() {
                return Err(invalid(None, "name", "a tensor has an empty name"));
            }
            if by_name.insert(&t.name, t).is_some() {
                return Err(invalid(
                    n,
                    "name",
                    "the name is used by more than one tensor",
                ));
            }
            if is_reserved_region_name(&t.name) {
                return Err(invalid(
                    n,
                    "name",
                    "the name is reserved for the derived KV cache and activation regions \
                     (cache_k_l*, cache_v_l*, act.*)",
                ));
            }
            if t.shape.is_empty() || t.shape.len() > 4 {
                return Err(invalid(
                    n,
                    "shape",
                    format!("must have 1 to 4 dimensions, not {}", t.shape.len()),
                ));
            }
            if let Some(i) = t.shape.iter().position(|&d| d == 0) {
                return Err(invalid(n, "shape", format!("dimension {i} is zero")));
            }
            let need = t
                .dtype
                .tensor_bytes(&t.shape)
                .map_err(|m| invalid(n, "shape", m))?;
            if need != t.bytes {
                return Err(invalid(
                    n,
                    "bytes",
                    format!(
                        "is {} but a {} tensor of shape {:?} takes {need} bytes",
                        t.bytes, t.dtype, t.shape
                    ),
                ));
            }
            let from_name = layer_of_name(&t.name);
            match (t.layer, from_name) {
                (Some(l), Some(nl)) if l != nl => {
                    return Err(invalid(
                        n,
                        "layer",
                        format!("is {l} but the name says block {nl}"),
                    ))
                }
                (None, Some(nl)) => {
                    return Err(invalid(
                        n,
                        "layer",
                        format!("missing: the name says block {nl}"),
                    ))
                }
                _ => {}
            }
            if let Some(l) = t.layer {
                if l >= a.layers {
                    return Err(invalid(
                        n,
                        "layer",
                        format!("is {l} but the model has {} layers", a.layers),
                    ));
                }
            }
        }
        for e in a.expected_weights() {
            match by_name.get(e.name.as_str()) {
                None if e.required => {
                    return Err(invalid(
                        Some(&e.name),
                        "tensors",
                        format!(
                            "missing: a llama model with this architecture needs it \
                             (shape {:?})",
                            e.shape
                        ),
                    ))
                }
                None => {}
                Some(t) => {
                    if t.kind != RegionKind::Weight {
                        return Err(invalid(
                            Some(&e.name),
                            "kind",
                            format!("must be weight, not {}", t.kind),
                        ));
                    }
                    if t.shape != e.shape {
                        return Err(invalid(
                            Some(&e.name),
                            "shape",
                            format!(
                                "is {:?} but the architecture implies {:?}",
                                t.shape, e.shape
                            ),
                        ));
                    }
                }
            }
        }
        let mut placed: Vec<(u64, u64, &str)> = self
            .tensors
            .iter()
            .filter_map(|t| t.offset.map(|o| (o, t.bytes, t.name.as_str())))
            .collect();
        placed.sort();
        for w in placed.windows(2) {
            let (o0, b0, n0) = w[0];
            let (o1, _, n1) = w[1];
            let end0 = o0
                .checked_add(b0)
                .ok_or_else(|| invalid(Some(n0), "offset", "offset + bytes overflows 64 bits"))?;
            if end0 > o1 {
                return Err(invalid(
                    Some(n1),
                    "offset",
                    format!("{o1} overlaps tensor `{n0}` (bytes {o0}..{end0})"),
                ));
            }
        }
        Ok(())
    }

    /// The manifest as YAML: the header fields in block style, then one flow-style line per
    /// tensor. [`Manifest::parse`] reads it back to an equal manifest.
    pub fn to_yaml(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!("name: {}\n", yaml_scalar(&self.name)));
        if !self.description.is_empty() {
            s.push_str(&format!(
                "description: {}\n",
                yaml_scalar(&self.description)
            ));
        }
        if !self.source.is_empty() {
            s.push_str(&format!("source: {}\n", yaml_scalar(&self.source)));
        }
        let a = &self.architecture;
        s.push_str("architecture:\n");
        s.push_str("  family: llama\n");
        s.push_str(&format!("  layers: {}\n", a.layers));
        s.push_str(&format!("  hidden_size: {}\n", a.hidden_size));
        s.push_str(&format!("  heads: {}\n", a.heads));
        s.push_str(&format!("  kv_heads: {}\n", a.kv_heads));
        s.push_str(&format!("  ffn_size: {}\n", a.ffn_size));
        s.push_str(&format!("  vocab_size: {}\n", a.vocab_size));
        s.push_str(&format!("  max_context: {}\n", a.max_context));
        s.push_str(&format!("  rms_eps: {}\n", yaml_float(a.rms_eps)));
        s.push_str("  rope:\n");
        s.push_str(&format!(
            "    freq_base: {}\n",
            yaml_float(a.rope.freq_base)
        ));
        s.push_str(&format!("    dims: {}\n", a.rope.dims));
        s.push_str("tensors:\n");
        for t in &self.tensors {
            let shape: Vec<String> = t.shape.iter().map(u64::to_string).collect();
            s.push_str(&format!(
                "  - {{name: {}, kind: {}, dtype: {}, shape: [{}], bytes: {}",
                yaml_scalar(&t.name),
                t.kind,
                t.dtype,
                shape.join(", "),
                t.bytes
            ));
            if let Some(l) = t.layer {
                s.push_str(&format!(", layer: {l}"));
            }
            if let Some(o) = t.offset {
                s.push_str(&format!(", offset: {o}"));
            }
            s.push_str("}\n");
        }
        s
    }
}

/// A string as a YAML scalar: bare when it is plainly safe, JSON-quoted otherwise.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "null" | "on" | "off" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// A float that YAML reads back as the same f64 (always with a `.` or exponent).
fn yaml_float(x: f64) -> String {
    // YAML 1.1 readers (PyYAML) need a `.` in the mantissa: `1.0e-5`, not `1e-5`.
    let s = format!("{x:?}");
    if s.contains("inf") || s.contains("NaN") || s.contains('.') {
        s
    } else if let Some((mant, exp)) = s.split_once('e') {
        format!("{mant}.0e{exp}")
    } else {
        format!("{s}.0")
    }
}

/// Turns a serde_yaml error into a [`ManifestError`] with line, key and (for entries of
/// `tensors`) the tensor's name when it can be read.
fn yaml_error(text: &str, file: &str, e: &serde_yaml::Error) -> ManifestError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_string(),
        None => full.clone(),
    };
    let (key, message) = match message.split_once(": ") {
        Some((p, r)) if !p.contains(' ') => (p.to_string(), r.to_string()),
        _ => (String::new(), message),
    };
    // `tensors[3].dtype` -> the name of tensor 3, from a loose parse of the text.
    let mut tensor = None;
    let mut tensor_index = None;
    let mut short_key = key.clone();
    if let Some(rest) = key.strip_prefix("tensors[") {
        if let Some((idx, tail)) = rest.split_once(']') {
            if let Ok(i) = idx.parse::<usize>() {
                tensor_index = Some(i);
                let tree: Option<serde_yaml::Value> = serde_yaml::from_str(text).ok();
                tensor = tree
                    .as_ref()
                    .and_then(|v| v.get("tensors"))
                    .and_then(|v| v.get(i))
                    .and_then(|v| v.get("name"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                if tensor.is_some() {
                    short_key = tail.trim_start_matches('.').to_string();
                }
            }
        }
    }
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|pat| message.split_once(pat))
        .and_then(|(_, after)| after.split_once('`'))
        .map(|(f, _)| f.to_string());
    if let (Some(f), true) = (field, short_key.is_empty() || tensor.is_none()) {
        short_key = if short_key.is_empty() {
            f
        } else {
            format!("{short_key}.{f}")
        };
    }
    // serde_yaml's path stops at a flow mapping (`tensors[3]`): find the field whose value
    // does not deserialize.
    if short_key.is_empty() {
        if let Some(i) = tensor_index {
            let tree: Option<serde_yaml::Value> = serde_yaml::from_str(text).ok();
            if let Some(entry) = tree.as_ref().and_then(|v| v.get("tensors")?.get(i)) {
                if let Some(k) = failing_tensor_field(entry) {
                    short_key = k;
                }
            }
        }
    }
    ManifestError {
        file: file.into(),
        line: e.location().map(|l| l.line()),
        tensor,
        key: short_key,
        message,
    }
}

/// The first field of a tensor entry whose value does not have the field's type.
fn failing_tensor_field(entry: &serde_yaml::Value) -> Option<String> {
    use serde_yaml::from_value as de;
    let map = entry.as_mapping()?;
    for (k, v) in map {
        let key = k.as_str()?;
        let v = v.clone();
        let ok = match key {
            "name" => de::<String>(v).is_ok(),
            "kind" => de::<RegionKind>(v).is_ok(),
            "dtype" => de::<GgmlType>(v).is_ok(),
            "shape" => de::<Vec<u64>>(v).is_ok(),
            "bytes" => de::<u64>(v).is_ok(),
            "layer" => de::<Option<u32>>(v).is_ok(),
            "offset" => de::<Option<u64>>(v).is_ok(),
            _ => true,
        };
        if !ok {
            return Some(key.to_string());
        }
    }
    None
}

/// Attaches file and line to a validation failure.
fn locate_invalid(text: &str, file: &str, inv: Invalid) -> ManifestError {
    let line = match &inv.tensor {
        Some(t) => line_naming(text, t),
        None => crate::config::line_of_key(text, &inv.key),
    };
    ManifestError {
        file: file.into(),
        line,
        tensor: inv.tensor,
        key: inv.key,
        message: inv.message,
    }
}

/// The first line that holds `name` as a whole word (a tensor entry's name).
fn line_naming(text: &str, name: &str) -> Option<usize> {
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(p) = line[from..].find(name) {
            let s = from + p;
            let e = s + name.len();
            let before = s == 0 || !is_name_byte(line.as_bytes()[s - 1]);
            let after = e >= line.len() || !is_name_byte(line.as_bytes()[e]);
            if before && after {
                return Some(i + 1);
            }
            from = s + 1;
            if from >= line.len() {
                break;
            }
        }
    }
    None
}

/// The manifest names and files (see [`crate::assets`] for where they are looked up),
/// sorted by name.
pub fn list_manifests() -> Vec<(String, PathBuf)> {
    crate::assets::list(crate::assets::Kind::Manifests, &["yaml", "json"])
}

/// Loads a manifest by name (`tinyllama-1.1b-q4_k_m`) or path.
pub fn load_manifest(name_or_path: &str) -> Result<Manifest, ManifestError> {
    let p = Path::new(name_or_path);
    let looks_like_path = name_or_path.contains('/')
        || name_or_path.ends_with(".yaml")
        || name_or_path.ends_with(".json");
    if looks_like_path || p.is_file() {
        return Manifest::load(p);
    }
    if let Some(f) = crate::assets::find(
        crate::assets::Kind::Manifests,
        name_or_path,
        &["yaml", "json"],
    ) {
        return Manifest::load(&f);
    }
    let known: Vec<String> = list_manifests().into_iter().map(|(n, _)| n).collect();
    Err(ManifestError {
        file: name_or_path.into(),
        line: None,
        tensor: None,
        key: String::new(),
        message: format!(
            "no manifest of that name (known: {})",
            if known.is_empty() {
                "none found".to_string()
            } else {
                known.join(", ")
            }
        ),
    })
}
