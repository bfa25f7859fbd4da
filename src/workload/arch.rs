//! The model architecture a manifest describes (llama family), the checks that make it a
//! possible model, and the weight tensors such a model must have.

use serde::{Deserialize, Serialize};

/// Model family. Only the llama family (llama, TinyLlama, Mistral-style dense decoders:
/// pre-norm RMSNorm, rotary embeddings, grouped-query attention, SwiGLU FFN) is modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// GGUF `general.architecture = llama`.
    Llama,
}

/// Rotary position embedding settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rope {
    /// Base of the rotation frequencies (theta), `llama.rope.freq_base`; 10000 for llama 1/2.
    pub freq_base: f64,
    /// How many leading dimensions of each head are rotated, `llama.rope.dimension_count`
    /// (the head size for llama).
    pub dims: u32,
}

/// Hyper-parameters of a llama-family decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// Model family.
    pub family: Family,
    /// Number of transformer blocks (`llama.block_count`).
    pub layers: u32,
    /// Width of the residual stream (`llama.embedding_length`).
    pub hidden_size: u64,
    /// Query heads (`llama.attention.head_count`).
    pub heads: u32,
    /// Key/value heads (`llama.attention.head_count_kv`); fewer than `heads` means
    /// grouped-query attention.
    pub kv_heads: u32,
    /// Inner width of the feed-forward block (`llama.feed_forward_length`).
    pub ffn_size: u64,
    /// Vocabulary size (rows of the token embedding).
    pub vocab_size: u64,
    /// Longest context the model was trained for (`llama.context_length`).
    pub max_context: u64,
    /// Epsilon of RMSNorm (`llama.attention.layer_norm_rms_epsilon`).
    pub rms_eps: f64,
    /// Rotary embedding settings.
    pub rope: Rope,
}

/// A weight the architecture expects: its name, shape (GGML order) and layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedTensor {
    /// GGUF tensor name (`blk.3.attn_q.weight`).
    pub name: String,
    /// Shape, `ne0` first.
    pub shape: Vec<u64>,
    /// Block index, for per-layer weights.
    pub layer: Option<u32>,
    /// Whether a model must have it (`output.weight` may be absent: the output projection
    /// then reuses `token_embd.weight`).
    pub required: bool,
}

/// The per-layer weight names of a llama block, in the order llama.cpp's graph uses them.
pub const LAYER_WEIGHTS: [&str; 9] = [
    "attn_norm",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_norm",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
];

impl Architecture {
    /// Elements per attention head.
    pub fn head_dim(&self) -> u64 {
        self.hidden_size / u64::from(self.heads.max(1))
    }

    /// Width of the K (and V) projection: `head_dim * kv_heads`.
    pub fn kv_dim(&self) -> u64 {
        self.head_dim() * u64::from(self.kv_heads)
    }

    /// Checks the numbers describe a possible model. Errors are `(key, message)` with the key
    /// relative to `architecture`.
    pub fn check(&self) -> Result<(), (String, String)> {
        let fail = |k: &str, m: String| Err((k.to_string(), m));
        for (k, v) in [
            ("layers", u64::from(self.layers)),
            ("hidden_size", self.hidden_size),
            ("heads", u64::from(self.heads)),
            ("kv_heads", u64::from(self.kv_heads)),
            ("ffn_size", self.ffn_size),
            ("vocab_size", self.vocab_size),
            ("max_context", self.max_context),
        ] {
            if v == 0 {
                return fail(k, "must be at least 1".into());
            }
        }
        if !self.hidden_size.is_multiple_of(u64::from(self.heads)) {
            return fail(
                "heads",
                format!(
                    "hidden_size {} is not divisible by {} heads",
                    self.hidden_size, self.heads
                ),
            );
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return fail(
                "kv_heads",
                format!(
                    "{} query heads cannot be shared evenly by {} KV heads",
                    self.heads, self.kv_heads
                ),
            );
        }
        if !(self.rms_eps.is_finite() && self.rms_eps > 0.0 && self.rms_eps < 1.0) {
            return fail(
                "rms_eps",
                format!("must be a small positive number, not {}", self.rms_eps),
            );
        }
        if !(self.rope.freq_base.is_finite() && self.rope.freq_base > 1.0) {
            return fail(
                "rope.freq_base",
                format!(
                    "must be a finite number above 1, not {}",
                    self.rope.freq_base
                ),
            );
        }
        let d = u64::from(self.rope.dims);
        if d == 0 || d % 2 != 0 || d > self.head_dim() {
            return fail(
                "rope.dims",
                format!(
                    "must be even, at least 2 and at most the head size {}, not {d}",
                    self.head_dim()
                ),
            );
        }
        Ok(())
    }

    /// The weights a llama model with these hyper-parameters has, in file order.
    pub fn expected_weights(&self) -> Vec<ExpectedTensor> {
        let h = self.hidden_size;
        let t =
            |name: String, shape: Vec<u64>, layer: Option<u32>, required: bool| ExpectedTensor {
                name,
                shape,
                layer,
                required,
            };
        let mut v = vec![t(
            "token_embd.weight".into(),
            vec![h, self.vocab_size],
            None,
            true,
        )];
        for l in 0..self.layers {
            for w in LAYER_WEIGHTS {
                v.push(t(
                    format!("blk.{l}.{w}.weight"),
                    self.layer_weight_shape(w),
                    Some(l),
                    true,
                ));
            }
        }
        v.push(t("output_norm.weight".into(), vec![h], None, true));
        v.push(t(
            "output.weight".into(),
            vec![h, self.vocab_size],
            None,
            false,
        ));
        v
    }

    /// Shape of per-layer weight `w` (one of [`LAYER_WEIGHTS`]).
    pub fn layer_weight_shape(&self, w: &str) -> Vec<u64> {
        let (h, kv, f) = (self.hidden_size, self.kv_dim(), self.ffn_size);
        match w {
            "attn_norm" | "ffn_norm" => vec![h],
            "attn_q" | "attn_output" => vec![h, h],
            "attn_k" | "attn_v" => vec![h, kv],
            "ffn_gate" | "ffn_up" => vec![h, f],
            "ffn_down" => vec![f, h],
            _ => Vec::new(),
        }
    }

    /// Parameters of one block: 4 attention projections, 3 FFN matrices, 2 norm vectors.
    pub fn params_per_layer(&self) -> u64 {
        let (h, kv, f) = (self.hidden_size, self.kv_dim(), self.ffn_size);
        2 * h * h + 2 * h * kv + 3 * h * f + 2 * h
    }

    /// Total parameters: embedding, blocks, final norm and (unless tied) the output matrix.
    pub fn params(&self, tied_output: bool) -> u64 {
        let embd = self.hidden_size * self.vocab_size;
        let out = if tied_output { 0 } else { embd };
        embd + u64::from(self.layers) * self.params_per_layer() + self.hidden_size + out
    }

    /// Parameters that take part in matrix products for every token: the seven matrices of
    /// each block and the output matrix (the embedding is only looked up).
    pub fn matmul_params(&self) -> u64 {
        let (h, kv, f) = (self.hidden_size, self.kv_dim(), self.ffn_size);
        u64::from(self.layers) * (2 * h * h + 2 * h * kv + 3 * h * f) + h * self.vocab_size
    }
}

/// The block index of a tensor named `blk.N.…`, if it is one.
pub fn layer_of_name(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("blk.")?;
    let (n, tail) = rest.split_once('.')?;
    if tail.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TinyLlama-1.1B's published configuration (config.json of TinyLlama-1.1B-Chat-v1.0).
    pub(crate) fn tinyllama() -> Architecture {
        Architecture {
            family: Family::Llama,
            layers: 22,
            hidden_size: 2048,
            heads: 32,
            kv_heads: 4,
            ffn_size: 5632,
            vocab_size: 32000,
            max_context: 2048,
            rms_eps: 1e-5,
            rope: Rope {
                freq_base: 10000.0,
                dims: 64,
            },
        }
    }

    #[test]
    fn tinyllama_has_1_1_billion_parameters() {
        let a = tinyllama();
        assert!(a.check().is_ok());
        assert_eq!(a.head_dim(), 64);
        assert_eq!(a.kv_dim(), 256);
        // 65,536,000 embedding + 22 x 44,044,288 + 2048 + 65,536,000 output.
        assert_eq!(a.params_per_layer(), 44_044_288);
        assert_eq!(a.params(false), 1_100_048_384);
        assert_eq!(a.matmul_params(), 22 * 44_040_192 + 65_536_000);
        let sum: u64 = a
            .expected_weights()
            .iter()
            .map(|t| t.shape.iter().product::<u64>())
            .sum();
        assert_eq!(sum, a.params(false));
        assert_eq!(a.expected_weights().len(), 1 + 22 * 9 + 2);
    }

    #[test]
    fn impossible_architectures_are_refused_with_the_key() {
        let mut a = tinyllama();
        a.kv_heads = 5;
        assert_eq!(a.check().unwrap_err().0, "kv_heads");
        let mut a = tinyllama();
        a.heads = 30;
        assert_eq!(a.check().unwrap_err().0, "heads");
        let mut a = tinyllama();
        a.rope.dims = 65;
        assert_eq!(a.check().unwrap_err().0, "rope.dims");
        let mut a = tinyllama();
        a.rms_eps = f64::NAN;
        assert_eq!(a.check().unwrap_err().0, "rms_eps");
        let mut a = tinyllama();
        a.layers = 0;
        assert_eq!(a.check().unwrap_err().0, "layers");
    }

    #[test]
    fn layer_numbers_come_from_blk_prefixes() {
        assert_eq!(layer_of_name("blk.12.attn_q.weight"), Some(12));
        assert_eq!(layer_of_name("blk.x.attn_q.weight"), None);
        assert_eq!(layer_of_name("output.weight"), None);
        assert_eq!(layer_of_name("blk.3"), None);
    }
}
