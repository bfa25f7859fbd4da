//! A manifest from a GGUF header: the architecture from the `llama.*` metadata keys, the
//! tensor table as weights with their absolute file offsets.

use super::arch::{layer_of_name, Architecture, Family, Rope};
use super::gguf::{read_gguf, GgufFile, Value};
use super::manifest::{Manifest, TensorSpec};
use super::regions::RegionKind;
use std::fmt;
use std::path::Path;

/// Why a GGUF file could not become a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// The file is not a readable GGUF file.
    Gguf(super::gguf::GgufError),
    /// A metadata key is missing or has the wrong type or value.
    Metadata {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The tensors do not make a valid manifest (wrong shapes for the architecture...).
    Manifest(super::manifest::ManifestError),
    /// A tensor's element type has no kernel that implements it.
    Unsupported {
        /// The file.
        file: String,
        /// Which tensor, node and kernel, and the types the kernel implements.
        message: String,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Gguf(e) => write!(f, "{e}"),
            ImportError::Metadata { file, key, message } => {
                write!(f, "{file}: metadata key `{key}`: {message}")
            }
            ImportError::Manifest(e) => write!(f, "{e}"),
            ImportError::Unsupported { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for ImportError {}

/// Reads the GGUF file at `path` and builds its manifest.
pub fn manifest_from_gguf_file(path: &Path) -> Result<Manifest, ImportError> {
    let g = read_gguf(path).map_err(ImportError::Gguf)?;
    manifest_from_gguf(&g, &path.display().to_string())
}

/// Builds a manifest from a parsed GGUF header (`file` names it in errors).
pub fn manifest_from_gguf(g: &GgufFile, file: &str) -> Result<Manifest, ImportError> {
    let meta_err = |key: &str, message: String| ImportError::Metadata {
        file: file.to_string(),
        key: key.to_string(),
        message,
    };
    let arch_name = g
        .get("general.architecture")
        .ok_or_else(|| meta_err("general.architecture", "missing".into()))?
        .as_str()
        .ok_or_else(|| meta_err("general.architecture", "must be a string".into()))?;
    if arch_name != "llama" {
        return Err(meta_err(
            "general.architecture",
            format!("is `{arch_name}`; only the llama family is modelled"),
        ));
    }
    let p = |k: &str| format!("{arch_name}.{k}");
    let uint = |key: String, required: bool| -> Result<Option<u64>, ImportError> {
        match g.get(&key) {
            None if required => Err(meta_err(&key, "missing".into())),
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                meta_err(
                    &key,
                    format!("must be a non-negative integer, not {}", v.describe()),
                )
            }),
        }
    };
    let float = |key: String| -> Result<Option<f64>, ImportError> {
        match g.get(&key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| meta_err(&key, format!("must be a number, not {}", v.describe()))),
        }
    };
    let to_u32 = |key: String, v: u64| -> Result<u32, ImportError> {
        u32::try_from(v).map_err(|_| meta_err(&key, format!("{v} is too large")))
    };
    let layers_key = p("block_count");
    let layers = to_u32(layers_key.clone(), uint(layers_key, true)?.unwrap_or(0))?;
    let hidden_size = uint(p("embedding_length"), true)?.unwrap_or(0);
    let heads_key = p("attention.head_count");
    let heads = to_u32(heads_key.clone(), uint(heads_key, true)?.unwrap_or(0))?;
    let kv_key = p("attention.head_count_kv");
    let kv_heads = match uint(kv_key.clone(), false)? {
        Some(v) => to_u32(kv_key, v)?,
        None => heads,
    };
    let ffn_size = uint(p("feed_forward_length"), true)?.unwrap_or(0);
    let max_context = uint(p("context_length"), true)?.unwrap_or(0);
    let rms_key = p("attention.layer_norm_rms_epsilon");
    let rms_eps = float(rms_key.clone())?.ok_or_else(|| meta_err(&rms_key, "missing".into()))?;
    let freq_base = float(p("rope.freq_base"))?.unwrap_or(10000.0);
    let head_dim = if heads > 0 {
        hidden_size / u64::from(heads)
    } else {
        0
    };
    let rope_key = p("rope.dimension_count");
    let rope_dims = match uint(rope_key.clone(), false)? {
        Some(v) => to_u32(rope_key, v)?,
        None => u32::try_from(head_dim).unwrap_or(u32::MAX),
    };
    // Vocabulary: the explicit key, else the tokenizer's token list, else the embedding rows.
    let vocab_size = match uint(p("vocab_size"), false)? {
        Some(v) => v,
        None => match g.get("tokenizer.ggml.tokens") {
            Some(Value::Array(_, v)) => v.len() as u64,
            _ => g
                .tensors
                .iter()
                .find(|t| t.name == "token_embd.weight")
                .and_then(|t| t.dims.get(1).copied())
                .ok_or_else(|| {
                    meta_err(
                        &p("vocab_size"),
                        "missing, and there is no tokenizer.ggml.tokens or token_embd.weight \
                         to take it from"
                            .into(),
                    )
                })?,
        },
    };
    let architecture = Architecture {
        family: Family::Llama,
        layers,
        hidden_size,
        heads,
        kv_heads,
        ffn_size,
        vocab_size,
        max_context,
        rms_eps,
        rope: Rope {
            freq_base,
            dims: rope_dims,
        },
    };
    let tensors = g
        .tensors
        .iter()
        .map(|t| TensorSpec {
            name: t.name.clone(),
            kind: RegionKind::Weight,
            dtype: t.ggml_type,
            shape: t.dims.clone(),
            bytes: t.bytes,
            layer: layer_of_name(&t.name),
            offset: Some(g.data_offset + t.offset),
        })
        .collect();
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let general_name = g.get("general.name").and_then(Value::as_str);
    let m = Manifest {
        name: stem,
        description: match general_name {
            Some(n) => format!("{n} (llama, {layers} layers), read from a GGUF header"),
            None => format!("llama, {layers} layers, read from a GGUF header"),
        },
        source: format!(
            "emulate manifest from-gguf {} (GGUF v{}, {} tensors, data at byte {}, alignment {})",
            Path::new(file)
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            g.version,
            g.tensors.len(),
            g.data_offset,
            g.alignment
        ),
        architecture,
        tensors,
    };
    m.validate().map_err(|inv| {
        // Architecture problems are reported against the GGUF key they came from.
        if let Some(k) = inv.key.strip_prefix("architecture.") {
            let gguf_key = match k {
                "layers" => p("block_count"),
                "hidden_size" => p("embedding_length"),
                "heads" => p("attention.head_count"),
                "kv_heads" => p("attention.head_count_kv"),
                "ffn_size" => p("feed_forward_length"),
                "vocab_size" => p("vocab_size"),
                "max_context" => p("context_length"),
                "rms_eps" => p("attention.layer_norm_rms_epsilon"),
                "rope.freq_base" => p("rope.freq_base"),
                "rope.dims" => p("rope.dimension_count"),
                other => other.to_string(),
            };
            return ImportError::Metadata {
                file: file.to_string(),
                key: gguf_key,
                message: inv.message,
            };
        }
        ImportError::Manifest(super::manifest::ManifestError {
            file: file.to_string(),
            line: None,
            tensor: inv.tensor,
            key: inv.key,
            message: inv.message,
        })
    })?;
    // Every tensor type must have a kernel: building one decode step binds every node.
    let one = super::regions::StepShape {
        n_tokens: 1,
        n_past: 0,
    };
    super::graph::build(&m, one, 1, super::dtype::GgmlType::F16).map_err(|e| {
        ImportError::Unsupported {
            file: file.to_string(),
            message: e.0,
        }
    })?;
    Ok(m)
}
