//! The workload layer: what a model is and what one step of it does.
//!
//! - [`manifest`]: weight manifests (architecture + tensor table), YAML/JSON, validation.
//! - [`dtype`]: GGML element types and their block sizes.
//! - [`arch`]: the llama-family architecture and the weights it implies.
//! - [`regions`]: the region list (weights, KV cache, activations) for a context length,
//!   the input of the memory regimes.
//! - [`gguf`]: a bounds-checked reader of GGUF headers; [`import`] turns one into a manifest.
//! - [`recipe`]: llama.cpp's per-tensor type choice for the shipped Q4_K_M and Q4_0 files.
//! - [`graph`]: the llama decode step and prefill as GGML ops bound to kernel names.
//! - [`kernels`]: the kernel ABI names the graph binds to; [`abi`]: the descriptor bytes a
//!   kernel program reads; [`bind`]: a node's descriptor once its regions have addresses.
//! - [`weights`]: the weight bytes of a run, synthetic from a seed or a GGUF file's tensors.
//!
//! The format is described in doc/manifests.md.

pub mod abi;
pub mod arch;
pub mod bind;
pub mod dtype;
pub mod gguf;
pub mod graph;
pub mod import;
pub mod kernels;
pub mod manifest;
pub mod recipe;
pub mod regions;
pub mod weights;

pub use arch::{Architecture, Family, Rope};
pub use dtype::GgmlType;
pub use manifest::{load_manifest, Manifest, ManifestError, TensorSpec};
pub use regions::{regions, RegionKind, RegionParams, RegionSpec};
