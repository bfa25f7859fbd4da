//! Where a run's weight bytes come from: synthetic blocks from a seed, or a GGUF file's real
//! tensors (checked against the manifest before a byte is copied).

use super::dtype::GgmlType;
use super::gguf::{read_gguf, GgufFile};
use super::manifest::{Manifest, TensorSpec};
use super::regions::RegionKind;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest piece a tensor is produced in, so huge tensors never sit twice in host memory.
pub const PIECE_BYTES: u64 = 1 << 22;

/// A seeded xorshift64* stream (synthetic weights and token ids).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A stream from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Synthetic bytes of a `dtype` tensor piece of `bytes` bytes (whole blocks): random quants
/// with small finite f16 scales, so every block decodes to finite values; F32/F16 elements
/// uniform in about [-0.5, 0.5).
pub fn synthetic(dtype: GgmlType, bytes: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![0u8; bytes];
    // Whole 8-byte words a fixed-size copy each, then any tail from one more draw.
    let mut words = v.chunks_exact_mut(8);
    for c in &mut words {
        c.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    let tail = words.into_remainder();
    if !tail.is_empty() {
        let r = rng.next_u64().to_le_bytes();
        tail.copy_from_slice(&r[..tail.len()]);
    }
    let small_f16 = |rng: &mut Rng| {
        half::f16::from_f32(0.001 + (rng.next_u64() % 1000) as f32 * 1e-5).to_le_bytes()
    };
    let block = dtype.block_bytes() as usize;
    // Byte offsets of the f16 scale fields in each block.
    let scales: &[usize] = match dtype {
        GgmlType::Q4_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_K => &[0, 2],
        GgmlType::Q6_K => &[208],
        _ => &[],
    };
    match dtype {
        GgmlType::F32 => {
            for c in v.chunks_exact_mut(4) {
                let x = (rng.next_u64() % 1_000_000) as f32 / 1e6 - 0.5;
                c.copy_from_slice(&x.to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for c in v.chunks_exact_mut(2) {
                let x = (rng.next_u64() % 1_000_000) as f32 / 1e6 - 0.5;
                c.copy_from_slice(&half::f16::from_f32(x).to_le_bytes());
            }
        }
        GgmlType::BF16 => {
            for c in v.chunks_exact_mut(2) {
                let x = (rng.next_u64() % 1_000_000) as f32 / 1e6 - 0.5;
                c.copy_from_slice(&half::bf16::from_f32(x).to_le_bytes());
            }
        }
        _ => {
            for b in v.chunks_exact_mut(block) {
                for &o in scales {
                    b[o..o + 2].copy_from_slice(&small_f16(rng));
                }
            }
        }
    }
    v
}

/// Why a GGUF file cannot supply a manifest's weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsError(pub String);

impl std::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WeightsError {}

/// A GGUF file whose tensor table has been checked to hold every weight of a manifest with
/// the same type and shape.
#[derive(Debug)]
pub struct GgufWeights {
    path: PathBuf,
    header: GgufFile,
}

impl GgufWeights {
    /// Reads the header of the GGUF file at `path`.
    pub fn open(path: &Path) -> Result<Self, WeightsError> {
        let header = read_gguf(path).map_err(|e| WeightsError(e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
        })
    }

    /// The parsed header (for building a manifest from the same file).
    pub fn header(&self) -> &GgufFile {
        &self.header
    }

    /// Checks that every weight tensor of `m` is in the file with the same type and shape,
    /// and that its data lies inside the file.
    pub fn check(&self, m: &Manifest) -> Result<(), WeightsError> {
        let file = self.path.display();
        for t in m.tensors.iter().filter(|t| t.kind == RegionKind::Weight) {
            let Some(g) = self.header.tensors.iter().find(|g| g.name == t.name) else {
                return Err(WeightsError(format!(
                    "{file}: has no tensor `{}`, which manifest `{}` needs",
                    t.name, m.name
                )));
            };
            if g.ggml_type != t.dtype || g.dims != t.shape {
                return Err(WeightsError(format!(
                    "{file}: tensor `{}` is {} {:?}, manifest `{}` says {} {:?}",
                    t.name,
                    g.ggml_type.name(),
                    g.dims,
                    m.name,
                    t.dtype.name(),
                    t.shape
                )));
            }
            let end = self.header.data_offset + g.offset + g.bytes;
            if end > self.header.file_size {
                return Err(WeightsError(format!(
                    "{file}: tensor `{}` ends at byte {end}, past the end of the file ({} bytes)",
                    t.name, self.header.file_size
                )));
            }
        }
        Ok(())
    }

    /// Hands the bytes of weight `t` to `sink` in pieces of at most [`PIECE_BYTES`], each
    /// with its offset in the tensor.
    pub fn read_tensor(
        &self,
        t: &TensorSpec,
        sink: &mut dyn FnMut(u64, &[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        use anyhow::Context;
        let file = self.path.display();
        let g = self
            .header
            .tensors
            .iter()
            .find(|g| g.name == t.name)
            .with_context(|| format!("{file}: no tensor `{}`", t.name))?;
        let mut f = File::open(&self.path).with_context(|| format!("open {file}"))?;
        f.seek(SeekFrom::Start(self.header.data_offset + g.offset))
            .with_context(|| format!("{file}: seek to tensor `{}`", t.name))?;
        let mut buf = vec![0u8; PIECE_BYTES.min(g.bytes) as usize];
        let mut off = 0;
        while off < g.bytes {
            let n = PIECE_BYTES.min(g.bytes - off) as usize;
            f.read_exact(&mut buf[..n])
                .with_context(|| format!("{file}: read tensor `{}` at byte {off}", t.name))?;
            sink(off, &buf[..n])?;
            off += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_blocks_decode_to_finite_scales() {
        let mut rng = Rng::new(7);
        let v = synthetic(GgmlType::Q4_K, 144 * 10, &mut rng);
        for b in v.chunks_exact(144) {
            for o in [0, 2] {
                let d = half::f16::from_le_bytes([b[o], b[o + 1]]).to_f32();
                assert!(d.is_finite() && (0.001..0.0111).contains(&d), "{d}");
            }
        }
        let f = synthetic(GgmlType::F32, 400, &mut rng);
        for c in f.chunks_exact(4) {
            let x = f32::from_le_bytes(c.try_into().unwrap());
            assert!((-0.5..0.5).contains(&x));
        }
        // The stream is a function of the seed.
        assert_eq!(
            synthetic(GgmlType::Q6_K, 210, &mut Rng::new(3)),
            synthetic(GgmlType::Q6_K, 210, &mut Rng::new(3))
        );
    }
}
