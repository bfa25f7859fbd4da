//! Where a run's model lives: the manifest and the run's shape checked against it, each
//! card's part of the model (the whole model, a tensor-parallel shard or a pipeline stage),
//! the card's regions and their addresses, and the weight and KV values written into card
//! memory.
//!
//! Every weight tensor is produced whole, once, in region order: read from the GGUF file,
//! or generated from the run's seed. Each card then receives its cut of it. So the synthetic
//! model of a run is the same whatever the card count, and tensor-parallel shards are slices
//! of the one-card model's tensors.

use super::options::{RunOptions, Split, DEFAULT_MANIFEST, MAX_CONTEXT_OVERFLOW};
use crate::mem::regime::RegionId;
use crate::workload::abi::TENSOR_BASE;
use crate::workload::graph::{Node, Shard};
use crate::workload::import::manifest_from_gguf;
use crate::workload::regions::RegionParams;
use crate::workload::weights::{synthetic, GgufWeights, Rng, PIECE_BYTES};
use crate::workload::{load_manifest, GgmlType, Manifest, RegionKind, RegionSpec, TensorSpec};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// The name of the receive area a tensor-parallel card adds for its AllReduces.
pub(super) const ALLREDUCE_RECV: &str = "act.allreduce_recv";

/// Regions with their ids and addresses.
pub(super) struct Placement {
    pub(super) ids: BTreeMap<String, (RegionId, u64, u64)>,
    pub(super) end: u64,
}

impl Placement {
    /// Places `regions` in order from the kernel ABI's tensor base, each on a 4 KiB boundary.
    pub(super) fn new(regions: &[RegionSpec]) -> Self {
        let mut ids = BTreeMap::new();
        let mut at = TENSOR_BASE;
        for (i, r) in regions.iter().enumerate() {
            ids.insert(r.name.clone(), (RegionId(i as u32), at, r.bytes));
            at = (at + r.bytes).next_multiple_of(4096);
        }
        Self { ids, end: at }
    }

    /// The address of region `name`.
    pub(super) fn addr(&self, name: &str) -> Option<u64> {
        self.ids.get(name).map(|p| p.1)
    }
}

/// A run needs at least one prompt token.
pub(super) fn check_prompt(opts: &RunOptions) -> Result<()> {
    if opts.prompt == 0 {
        bail!("--prompt must be at least 1 token");
    }
    Ok(())
}

/// The region parameters of the run's context and prompt, checked against the manifest,
/// with the prompt and decode tokens inside the context.
pub(super) fn run_shape(m: &Manifest, opts: &RunOptions) -> Result<RegionParams> {
    if let Some(past) = opts.past {
        // Activations for one token: the first step is a decode step.
        let mut rp = RegionParams::new(opts.context, 1);
        rp.kv_type = opts.kv_type;
        rp.check(m).map_err(|e| anyhow::anyhow!("{}", e.0))?;
        if past.saturating_add(opts.tokens) > opts.context {
            bail!(
                "--past {past} + --tokens {} exceeds --context {}",
                opts.tokens,
                opts.context
            );
        }
        if opts.tokens == 0 {
            bail!("--past needs at least one decode token (--tokens)");
        }
        return Ok(rp);
    }
    let mut rp = RegionParams::new(opts.context, opts.prompt);
    rp.logits_all = opts.ids.logits_all;
    rp.kv_type = opts.kv_type;
    rp.check(m).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    if opts.prompt.saturating_add(opts.tokens) > opts.context {
        bail!(
            "--prompt {} + --tokens {} exceeds --context {}",
            opts.prompt,
            opts.tokens,
            opts.context
        );
    }
    Ok(rp)
}

/// The run's model: its manifest, the weights file checked against it, and the context it
/// was trained for.
pub(super) struct Model {
    /// The manifest; with `context_overflow` and a context beyond the trained one, its
    /// `max_context` is raised to the context.
    pub(super) manifest: Manifest,
    pub(super) gguf: Option<GgufWeights>,
    /// The manifest's own `max_context` (what RoPE's `n_ctx_orig` takes).
    pub(super) trained_context: u64,
}

/// The run's model (see [`Model`]).
pub(super) fn manifest_of(opts: &RunOptions) -> Result<Model> {
    let gguf = match &opts.weights {
        Some(p) => Some(GgufWeights::open(p)?),
        None => None,
    };
    let m: Manifest = match (&opts.manifest, &gguf) {
        (Some(name), _) => load_manifest(name)?,
        (None, Some(g)) => {
            let path = opts
                .weights
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            manifest_from_gguf(g.header(), &path)?
        }
        (None, None) => load_manifest(DEFAULT_MANIFEST)?,
    };
    if let Some(g) = &gguf {
        g.check(&m)?;
    }
    let mut m = m;
    let trained = m.architecture.max_context;
    if opts.context_overflow && opts.context > trained {
        if opts.context > trained.saturating_mul(MAX_CONTEXT_OVERFLOW) {
            bail!(
                "--context {} is more than {MAX_CONTEXT_OVERFLOW}x the trained context of `{}` ({trained})",
                opts.context,
                m.name
            );
        }
        m.architecture.max_context = opts.context;
    }
    Ok(Model {
        manifest: m,
        gguf,
        trained_context: trained,
    })
}

/// Which bytes of a whole weight tensor one card holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// All of it.
    Whole,
    /// Rows `first..first + count` (GGML's `ne1`: output features), contiguous bytes.
    Rows { first: u64, count: u64 },
    /// Elements `first..first + count` of every row (GGML's `ne0`: input features), whole
    /// blocks.
    Cols { first: u64, count: u64 },
}

impl Cut {
    /// The bytes of this cut of `whole`, the bytes of tensor `t`.
    fn apply(self, t: &TensorSpec, whole: &[u8]) -> Result<Vec<u8>> {
        let ne0 = t.shape.first().copied().unwrap_or(1);
        let rows: u64 = t.shape.iter().skip(1).product();
        let row_bytes = t
            .dtype
            .row_bytes(ne0)
            .with_context(|| format!("`{}`: a row of {ne0} is not whole blocks", t.name))?;
        if whole.len() as u64 != row_bytes * rows {
            bail!(
                "`{}`: {} bytes, expected {} rows of {row_bytes}",
                t.name,
                whole.len(),
                rows
            );
        }
        Ok(match self {
            Cut::Whole => whole.to_vec(),
            Cut::Rows { first, count } => {
                if first + count > rows {
                    bail!("`{}`: rows {first}+{count} of {rows}", t.name);
                }
                whole[(first * row_bytes) as usize..((first + count) * row_bytes) as usize].to_vec()
            }
            Cut::Cols { first, count } => {
                let be = t.dtype.block_elems();
                if !first.is_multiple_of(be) || !count.is_multiple_of(be) || first + count > ne0 {
                    bail!(
                        "`{}` ({}): columns {first}+{count} of {ne0} are not whole blocks of {be}",
                        t.name,
                        t.dtype
                    );
                }
                let bb = t.dtype.block_bytes();
                let (lo, len) = ((first / be * bb) as usize, (count / be * bb) as usize);
                let mut out = Vec::with_capacity(len * rows as usize);
                for row in whole.chunks_exact(row_bytes as usize) {
                    out.extend_from_slice(&row[lo..lo + len]);
                }
                out
            }
        })
    }
}

/// One card's part of the model.
pub(super) struct CardPart {
    /// The model as this card holds it (tensor parallel: the shards' shapes).
    pub(super) manifest: Manifest,
    /// The card's regions, in placement order.
    pub(super) regions: Vec<RegionSpec>,
    /// Tensor parallel: the heads and FFN width it computes.
    pub(super) shard: Option<Shard>,
    /// Pipeline parallel: its first and one-past-last block, and whether it also embeds
    /// (first stage) or runs the output head (last stage).
    pub(super) stage: Option<Stage>,
    /// The weights it holds, with the cut of each.
    pub(super) cuts: BTreeMap<String, Cut>,
}

/// A pipeline stage.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stage {
    pub(super) layers: (u32, u32),
    pub(super) first: bool,
    pub(super) last: bool,
}

impl CardPart {
    /// The shard the card's graphs are built for (the whole model unless tensor parallel).
    pub(super) fn graph_shard(&self) -> Shard {
        self.shard.unwrap_or_else(|| Shard::whole(&self.manifest))
    }

    /// Whether this card runs `node` of a whole-model graph (a pipeline stage runs its
    /// blocks, the first also the embedding, the last the final norm and output head).
    pub(super) fn runs(&self, node: &Node) -> bool {
        match self.stage {
            None => true,
            Some(st) => match node.layer {
                Some(l) => l >= st.layers.0 && l < st.layers.1,
                None if node.name == "inp_embd" => st.first,
                None => st.last,
            },
        }
    }
}

/// Splits `total` into `parts` near-equal runs of whole `unit`s: (first, length).
pub(super) fn split_units(total: u64, unit: u64, parts: usize) -> Result<Vec<(u64, u64)>> {
    let p = parts as u64;
    if unit == 0 || !total.is_multiple_of(unit) || total / unit < p {
        bail!("cannot split {total} into {parts} parts of whole {unit}-element units");
    }
    let units = total / unit;
    Ok((0..p)
        .map(|i| {
            let lo = units * i / p;
            let hi = units * (i + 1) / p;
            (lo * unit, (hi - lo) * unit)
        })
        .collect())
}

/// Each card's part of the model `m`, whose whole regions (for `rp`) are `whole`.
pub(super) fn card_parts(
    m: &Manifest,
    rp: &RegionParams,
    whole: &[RegionSpec],
    opts: &RunOptions,
) -> Result<Vec<CardPart>> {
    let n = opts.cards.count;
    if n == 0 {
        bail!("a run needs at least one card");
    }
    let all_whole = || -> BTreeMap<String, Cut> {
        whole
            .iter()
            .filter(|r| r.kind == RegionKind::Weight)
            .map(|r| (r.name.clone(), Cut::Whole))
            .collect()
    };
    if n == 1 {
        return Ok(vec![CardPart {
            manifest: m.clone(),
            regions: whole.to_vec(),
            shard: None,
            stage: None,
            cuts: all_whole(),
        }]);
    }
    match opts.cards.split {
        Split::Tp => (0..n).map(|r| tp_part(m, rp, r, n, opts.kv_type)).collect(),
        Split::Pp => pp_parts(m, whole, n),
    }
}

/// Card `r` of `n` under tensor parallel: Q, K, V, gate and up split by output rows (whole
/// heads, whole 256-element FFN units), the attention output and down projections by input
/// columns to match, the output head by vocabulary rows; norms and the embedding whole. With
/// fewer KV heads than cards, each KV head is replicated on the cards whose query heads use
/// it.
fn tp_part(m: &Manifest, rp: &RegionParams, r: usize, n: usize, kv: GgmlType) -> Result<CardPart> {
    let a = &m.architecture;
    let (heads, kvh) = (u64::from(a.heads), u64::from(a.kv_heads));
    let nn = n as u64;
    if !heads.is_multiple_of(nn) {
        bail!("tensor parallel over {n} cards needs the {heads} attention heads to divide evenly");
    }
    let hq = heads / nn;
    let (kv_local, kv_first) = if kvh >= nn {
        if !kvh.is_multiple_of(nn) {
            bail!("tensor parallel over {n} cards needs the {kvh} KV heads to divide evenly");
        }
        (kvh / nn, r as u64 * (kvh / nn))
    } else {
        if !nn.is_multiple_of(kvh) {
            bail!(
                "tensor parallel over {n} cards: {kvh} KV heads can be replicated only when they divide the card count"
            );
        }
        // The KV head of this card's query heads (all in one group).
        (1, r as u64 * hq / (heads / kvh))
    };
    if !hq.is_multiple_of(kv_local) {
        bail!("tensor parallel over {n} cards: {hq} query heads per card do not group onto {kv_local} KV heads");
    }
    if m.tensor("output.weight").is_none() {
        bail!(
            "tensor parallel over {n} cards splits the output head by vocabulary rows; `{}` ties it to the embedding, which is not split",
            m.name
        );
    }
    let hd = a.head_dim();
    let (ffn_first, ffn) = split_units(a.ffn_size, 256, n)
        .with_context(|| format!("tensor parallel over {n} cards: FFN {}", a.ffn_size))?[r];
    let (vocab_first, vocab) = split_units(a.vocab_size, 1, n)?[r];
    let shard = Shard {
        heads: hq,
        kv_heads: kv_local,
        ffn,
    };
    let mut out = m.clone();
    let mut cuts = BTreeMap::new();
    for t in &mut out.tensors {
        if t.kind != RegionKind::Weight {
            continue;
        }
        let base = t.name.rsplit_once('.').map_or("", |x| x.0);
        let kind = base.rsplit('.').next().unwrap_or("");
        let rows = |first, count| Cut::Rows { first, count };
        let cols = |first, count| Cut::Cols { first, count };
        let (shape, cut) = match (t.layer.is_some(), kind) {
            (true, "attn_q") => (vec![t.shape[0], hq * hd], rows(r as u64 * hq * hd, hq * hd)),
            (true, "attn_k") | (true, "attn_v") => (
                vec![t.shape[0], kv_local * hd],
                rows(kv_first * hd, kv_local * hd),
            ),
            (true, "attn_output") => (vec![hq * hd, t.shape[1]], cols(r as u64 * hq * hd, hq * hd)),
            (true, "ffn_gate") | (true, "ffn_up") => (vec![t.shape[0], ffn], rows(ffn_first, ffn)),
            (true, "ffn_down") => (vec![ffn, t.shape[1]], cols(ffn_first, ffn)),
            (false, "output") => (vec![t.shape[0], vocab], rows(vocab_first, vocab)),
            _ => {
                cuts.insert(t.name.clone(), Cut::Whole);
                continue;
            }
        };
        t.bytes = t.dtype.tensor_bytes(&shape).map_err(|e| {
            anyhow::anyhow!(
                "tensor parallel over {n} cards: the shard {shape:?} of `{}` ({}) is not whole blocks: {e}",
                t.name,
                t.dtype
            )
        })?;
        t.shape = shape;
        cuts.insert(t.name.clone(), cut);
    }
    let mut regions = crate::workload::regions(&out, rp).map_err(|e| anyhow::anyhow!("{}", e.0))?;
    // The cache holds this card's KV heads only.
    let kv_bytes = kv
        .tensor_bytes(&[kv_local * hd, rp.context])
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for reg in regions.iter_mut().filter(|x| x.kind == RegionKind::Kv) {
        reg.bytes = kv_bytes;
    }
    regions.push(RegionSpec {
        name: ALLREDUCE_RECV.into(),
        kind: RegionKind::Activation,
        bytes: a.hidden_size * rp.prompt.max(1) * 4,
        layer: None,
    });
    Ok(CardPart {
        manifest: out,
        regions,
        shard: Some(shard),
        stage: None,
        cuts,
    })
}

/// The `n` pipeline stages: near-equal contiguous runs of blocks; the first card also holds
/// the embedding, the last the final norm and the output head.
fn pp_parts(m: &Manifest, whole: &[RegionSpec], n: usize) -> Result<Vec<CardPart>> {
    let layers = m.architecture.layers;
    let stages: Vec<(u32, u32)> = split_units(u64::from(layers), 1, n)
        .with_context(|| format!("pipeline parallel: {layers} blocks over {n} cards"))?
        .into_iter()
        .map(|(lo, len)| (lo as u32, (lo + len) as u32))
        .collect();
    let head_weight = if m.tensor("output.weight").is_some() {
        "output.weight"
    } else {
        "token_embd.weight"
    };
    Ok(stages
        .into_iter()
        .enumerate()
        .map(|(r, (l0, l1))| {
            let (first, last) = (r == 0, r + 1 == n);
            let keep = |reg: &RegionSpec| match (reg.kind, reg.layer) {
                (RegionKind::Activation, _) => true,
                (_, Some(l)) => l >= l0 && l < l1,
                (_, None) => {
                    (first && reg.name == "token_embd.weight")
                        || (last && (reg.name == "output_norm.weight" || reg.name == head_weight))
                }
            };
            let regions: Vec<RegionSpec> = whole.iter().filter(|x| keep(x)).cloned().collect();
            let cuts = regions
                .iter()
                .filter(|r| r.kind == RegionKind::Weight)
                .map(|r| (r.name.clone(), Cut::Whole))
                .collect();
            CardPart {
                manifest: m.clone(),
                regions,
                shard: None,
                stage: Some(Stage {
                    layers: (l0, l1),
                    first,
                    last,
                }),
                cuts,
            }
        })
        .collect())
}

/// Where the weight bytes come from: the model, its regions in order, and a GGUF file (else
/// the seeded generator).
pub(super) struct WeightSource<'a> {
    pub(super) model: &'a Manifest,
    pub(super) regions: &'a [RegionSpec],
    pub(super) gguf: Option<&'a GgufWeights>,
}

/// Receives `(card, tensor name, offset in the card's tensor, bytes)`.
pub(super) type WeightSink<'a> = dyn FnMut(usize, &str, u64, &[u8]) -> Result<()> + 'a;

/// Writes the weights: each weight region of the source (in order) `wanted` by name is
/// produced whole (from the GGUF file, else generated from `rng` in pieces of whole blocks)
/// and handed to `write` for every card in `cuts` that holds it, cut for that card. Returns
/// the SHA-256 of the produced bytes when `hash` is set.
pub(super) fn load_weights(
    src: &WeightSource,
    rng: &mut Rng,
    cuts: &[BTreeMap<String, Cut>],
    wanted: &dyn Fn(&str) -> bool,
    hash: bool,
    write: &mut WeightSink,
) -> Result<Option<String>> {
    let (m, whole, gguf) = (src.model, src.regions, src.gguf);
    use sha2::{Digest, Sha256};
    let mut h = hash.then(Sha256::new);
    for r in whole
        .iter()
        .filter(|r| r.kind == RegionKind::Weight && wanted(&r.name))
    {
        let t = m
            .tensor(&r.name)
            .with_context(|| format!("weight region `{}` is not a manifest tensor", r.name))?;
        let holders: Vec<(usize, Cut)> = cuts
            .iter()
            .enumerate()
            .filter_map(|(c, k)| k.get(&r.name).map(|&cut| (c, cut)))
            .collect();
        let keep_whole = holders.iter().any(|&(_, cut)| cut != Cut::Whole);
        let mut buffer = Vec::new();
        let mut piece = |off: u64, bytes: &[u8]| -> Result<()> {
            for &(c, cut) in &holders {
                if cut == Cut::Whole {
                    write(c, &r.name, off, bytes)?;
                }
            }
            if keep_whole {
                buffer.extend_from_slice(bytes);
            }
            if let Some(h) = h.as_mut() {
                h.update(bytes);
            }
            Ok(())
        };
        match gguf {
            Some(g) => g.read_tensor(t, &mut piece)?,
            None => {
                let block = t.dtype.block_bytes();
                let step = PIECE_BYTES / block * block;
                let mut off = 0;
                while off < r.bytes {
                    let n = step.min(r.bytes - off);
                    piece(off, &synthetic(t.dtype, n as usize, rng))?;
                    off += n;
                }
            }
        }
        for &(c, cut) in &holders {
            if cut != Cut::Whole {
                write(c, &r.name, 0, &cut.apply(t, &buffer)?)?;
            }
        }
    }
    Ok(h.map(|h| h.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

/// Writes `bytes` of seeded synthetic values of type `dtype` through `write(offset, bytes)`,
/// in pieces of whole blocks.
pub(super) fn write_synthetic(
    dtype: GgmlType,
    bytes: u64,
    rng: &mut Rng,
    write: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
    let block = dtype.block_bytes();
    let piece = PIECE_BYTES / block * block;
    let mut off = 0;
    while off < bytes {
        let n = piece.min(bytes - off);
        write(off, &synthetic(dtype, n as usize, rng))?;
        off += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(dtype: GgmlType, shape: &[u64]) -> TensorSpec {
        TensorSpec {
            name: "t".into(),
            kind: RegionKind::Weight,
            dtype,
            bytes: dtype.tensor_bytes(shape).unwrap(),
            shape: shape.to_vec(),
            layer: Some(0),
            offset: None,
        }
    }

    #[test]
    fn cuts_take_whole_rows_and_whole_blocks_of_every_row() {
        // Q8_0: 34-byte blocks of 32; 3 rows of 64 elements = 2 blocks per row.
        let t = tensor(GgmlType::Q8_0, &[64, 3]);
        let whole: Vec<u8> = (0..t.bytes).map(|i| i as u8).collect();
        assert_eq!(Cut::Whole.apply(&t, &whole).unwrap(), whole);
        let rows = Cut::Rows { first: 1, count: 2 }.apply(&t, &whole).unwrap();
        assert_eq!(rows, whole[68..].to_vec());
        let cols = Cut::Cols {
            first: 32,
            count: 32,
        }
        .apply(&t, &whole)
        .unwrap();
        let expect: Vec<u8> = (0..3)
            .flat_map(|r| whole[r * 68 + 34..r * 68 + 68].to_vec())
            .collect();
        assert_eq!(cols, expect);
        // Half a block, or past the end, is refused with the tensor's name.
        let e = Cut::Cols {
            first: 16,
            count: 32,
        }
        .apply(&t, &whole)
        .unwrap_err();
        assert!(e.to_string().contains("`t`"), "{e}");
        assert!(Cut::Rows { first: 2, count: 2 }.apply(&t, &whole).is_err());
    }

    #[test]
    fn splits_cover_everything_once_in_whole_units() {
        for (total, unit, parts) in [(5632u64, 256u64, 4usize), (32000, 1, 3), (22, 1, 8)] {
            let s = split_units(total, unit, parts).unwrap();
            let mut next = 0;
            for &(first, len) in &s {
                assert_eq!(first, next);
                assert!(len.is_multiple_of(unit) && len > 0);
                next = first + len;
            }
            assert_eq!(next, total);
        }
        assert!(split_units(512, 256, 4).is_err());
    }
}
