//! `emulate [run]`: the main job, prefill and decode of a model on the emulated card.

use super::collective::default_threads;
use super::parallel::{self, ParallelChoice};
use super::BoardArgs;
use crate::config::Board;
use crate::experiment::model_run::{self, Progress, ProgressSink, RunOptions, RunReport, TokenIds};
use crate::mem::regime::MemoryModelChoice;
use crate::workload::dtype::GgmlType;
use crate::workload::graph::Attention;
use anyhow::{Context, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Options of the model run.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Memory regime: auto, resident, kv-swap or weight-stream.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<MemoryModelChoice>())]
    pub memory_model: MemoryModelChoice,
    /// Manifest name (manifests/) or path [default: the `--weights` file's own manifest,
    /// else tinyllama-1.1b-q4_k_m].
    #[arg(long)]
    pub manifest: Option<String>,
    /// Run on the real weights of this GGUF file (checked against the manifest) instead of
    /// synthetic weights from the seed.
    #[arg(long, value_name = "FILE.gguf")]
    pub weights: Option<PathBuf>,
    /// KV cache capacity in positions.
    #[arg(long, default_value_t = 512)]
    pub context: u64,
    /// Allow --context beyond the model's trained context (up to 8x), as llama.cpp does with
    /// a warning: the timing is the card's at that length; past the trained length the
    /// values are what the model computes there.
    #[arg(long)]
    pub context_overflow: bool,
    /// Prompt tokens (the prefill), seeded random ids.
    #[arg(long, default_value_t = 8, conflicts_with = "prompt_ids")]
    pub prompt: u64,
    /// The prompt as token ids, comma separated (`1,450,4996`); sets the prompt length.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub prompt_ids: Option<Vec<u32>>,
    /// Feed these ids at the decode steps instead of the argmax (teacher forcing), comma
    /// separated, at least --tokens of them.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub force_ids: Option<Vec<u32>>,
    /// Write every computed logits row to FILE (n_vocab little-endian f32 per row) and its
    /// shape, token ids and positions to FILE.json (doc/run.md).
    #[arg(long, value_name = "FILE")]
    pub logits: Option<PathBuf>,
    /// With --logits: the prefill computes and writes the logits of every prompt position
    /// (llama.cpp's logits_all), not only the last one's.
    #[arg(long, requires = "logits", conflicts_with = "past")]
    pub logits_all: bool,
    /// Decode tokens after the prefill.
    #[arg(long, default_value_t = 4)]
    pub tokens: u64,
    /// Start decoding at position N on a KV cache of N positions filled with synthetic
    /// values, without emulating the prefill (decode timing at a real context length, cheaply;
    /// no TTFT, and the tokens mean nothing even with --weights).
    #[arg(long, value_name = "N", conflicts_with_all = ["prompt", "prompt_ids"])]
    pub past: Option<u64>,
    /// Seed of the synthetic weights and token ids.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time every kernel invocation. By default an invocation whose program, descriptor and
    /// address-steering inputs repeat an earlier one takes that one's measured timing (the
    /// kernels' timing is data independent, so the cycle counts are the same) and computes
    /// its outputs on the functional core.
    #[arg(long)]
    pub exact: bool,
    /// Run quantized matrix products with the RVV kernels instead of the Xpop_matmul unit.
    #[arg(long)]
    pub no_matrix_unit: bool,
    /// Attention: fused (one flash_attn_ext kernel per block, V cache stored by position)
    /// or split (mul_mat, soft_max, mul_mat; V cache transposed), as llama.cpp with and
    /// without flash attention.
    #[arg(long, default_value = "fused", value_parser = parse_attention)]
    pub attention: Attention,
    /// KV cache type: f16 (llama.cpp's default), bf16 or q8_0 (llama.cpp's -ctk/-ctv);
    /// q8_0 needs --attention fused.
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    pub kv_type: GgmlType,
    /// Cycle limit per kernel (a kernel that does not exit by then stops the run).
    #[arg(long, default_value_t = crate::program::DEFAULT_MAX_KERNEL_CYCLES)]
    pub max_kernel_cycles: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the run folder (report.json, stats.csv, board.resolved.yaml, command.txt).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Cards to split the model over (default: the board's `cards`); more than one runs
    /// tensor parallel unless --parallel says otherwise.
    #[arg(long)]
    pub cards: Option<usize>,
    /// How to split over the cards: tp, pp, or auto (the scheduler's rule and both runs).
    #[arg(long, value_enum)]
    pub parallel: Option<ParallelChoice>,
    /// Host threads for the cards of a parallel run (default: the host's cores); emulated
    /// times do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Parses `--kv-type`: the cache types the attention and copy kernels implement.
pub(super) fn parse_kv_type(s: &str) -> Result<GgmlType, String> {
    match GgmlType::from_name(s) {
        Some(t @ (GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8_0)) => Ok(t),
        _ => Err(format!("`{s}` is not a KV cache type (f16, bf16, q8_0)")),
    }
}

/// Parses `--attention`.
pub(super) fn parse_attention(s: &str) -> Result<Attention, String> {
    Attention::from_name(s).ok_or_else(|| format!("`{s}` is not an attention mode (fused, split)"))
}

/// A progress bar on the terminal.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, kernels: u64) {
        self.0.set_length(kernels);
    }
    fn step(&self, label: &str) {
        self.0.set_message(label.to_string());
    }
    fn kernel_done(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn bar() -> ProgressSink {
    use indicatif::{ProgressBar, ProgressStyle};
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} kernels  {elapsed} (eta {eta})  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    ProgressSink(std::sync::Arc::new(Bar(b)))
}

pub(super) fn options(a: &RunArgs, board: &Board, progress: bool) -> Result<RunOptions> {
    Ok(RunOptions {
        manifest: a.manifest.clone(),
        weights: a.weights.clone(),
        context: a.context,
        context_overflow: a.context_overflow,
        prompt: a.prompt_ids.as_ref().map_or(a.prompt, |p| p.len() as u64),
        tokens: a.tokens,
        memory_model: a.memory_model,
        exact: a.exact,
        seed: a.seed,
        matrix_unit: !a.no_matrix_unit,
        attention: a.attention,
        kv_type: a.kv_type,
        past: a.past,
        max_kernel_cycles: a.max_kernel_cycles,
        progress: progress.then(bar),
        ids: TokenIds {
            prompt: a.prompt_ids.clone(),
            forced: a.force_ids.clone(),
            keep_logits: a.logits.is_some(),
            logits_all: a.logits_all,
        },
        cards: parallel::cards(a.cards, a.parallel, default_threads(a.threads)?, board)?,
    })
}

/// Writes the logits rows to `path` (n_vocab little-endian f32 per row) and their
/// description to `path`.json.
fn write_logits(path: &std::path::Path, r: &RunReport) -> Result<()> {
    let n_vocab = r.logits.first().map_or(0, |x| x.values.len());
    let mut bytes = Vec::with_capacity(r.logits.len() * n_vocab * 4);
    for row in &r.logits {
        for v in &row.values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    let meta = serde_json::json!({
        "dtype": "f32",
        "byte_order": "little",
        "shape": [r.logits.len(), n_vocab],
        "positions": r.logits.iter().map(|x| x.position).collect::<Vec<_>>(),
        "tokens": r.logits.iter().map(|x| x.token).collect::<Vec<_>>(),
        "prompt_ids": r.tokens_out.prompt_ids,
        "fed_ids": r.tokens_out.fed_ids,
        "meaningful": r.tokens_out.meaningful,
    });
    let mut j = path.as_os_str().to_owned();
    j.push(".json");
    let j = PathBuf::from(j);
    std::fs::write(&j, serde_json::to_string_pretty(&meta)?)
        .with_context(|| format!("writing {}", j.display()))?;
    Ok(())
}

/// What a run produced: one report, or with `--parallel auto` both splits and the rule.
enum Outcome {
    One(Box<RunReport>),
    Auto(Box<model_run::AutoReport>),
}

fn execute(a: &RunArgs, board: &Board, progress: bool) -> Result<Outcome> {
    let opts = options(a, board, progress)?;
    if a.parallel == Some(ParallelChoice::Auto) {
        return Ok(Outcome::Auto(Box::new(model_run::run_auto(board, &opts)?)));
    }
    let r = model_run::run(board, &opts)?;
    if let Some(p) = &a.logits {
        write_logits(p, &r)?;
    }
    Ok(Outcome::One(Box::new(r)))
}

fn to_json(o: &Outcome) -> Result<serde_json::Value> {
    Ok(match o {
        Outcome::One(r) => serde_json::to_value(r)?,
        Outcome::Auto(r) => serde_json::to_value(r)?,
    })
}

/// The JSON report (the schema in doc/run.md; `--parallel auto` in doc/multicard.md).
pub(super) fn json(a: &RunArgs, common: &BoardArgs) -> Result<serde_json::Value> {
    let loaded = common.load()?;
    to_json(&execute(a, &loaded.board, false)?)
}

pub(super) fn run(a: &RunArgs, common: &BoardArgs) -> Result<()> {
    let loaded = common.load()?;
    let outcome = execute(a, &loaded.board, std::io::stderr().is_terminal())?;
    let mut value = to_json(&outcome)?;
    super::output::finish(&mut value, Some(a.seed), a.out.as_deref(), common)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    match &outcome {
        Outcome::One(r) => print!("{}", text(r, &loaded.board)),
        Outcome::Auto(r) => {
            print!(
                "{}\n{}",
                text(&r.tp, &loaded.board),
                text(&r.pp, &loaded.board)
            );
            println!("\nrule      {}", r.verdict);
        }
    }
    Ok(())
}

fn mb(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The ten-second report.
fn text(r: &RunReport, board: &crate::config::Board) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let f = &r.plan.footprint;
    let _ = writeln!(
        s,
        "board     {} ({}, DDR {} at {:.1} GB/s peak)",
        r.board,
        board.clock,
        board.memory.capacity,
        board.memory.peak_bytes_per_s() / 1e9
    );
    let _ = writeln!(
        s,
        "model     {}: weights {} + KV {} + activations {} = {} of {} usable",
        r.manifest,
        mb(f.weights),
        mb(f.kv),
        mb(f.activations),
        mb(f.total()),
        mb(r.plan.capacity)
    );
    let _ = writeln!(
        s,
        "weights   {}{}",
        r.weights.source,
        r.weights
            .sha256
            .as_ref()
            .map(|h| format!(" (sha256 {} as loaded)", &h[..16]))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "regime    {}: {}", r.regime, r.regime_reason);
    if let Some(t) = r.trained_context {
        let _ = writeln!(
            s,
            "context   {} positions is beyond the model's trained {t} (--context-overflow): the timing holds, the values past {t} are what the model computes there",
            r.context
        );
    }
    let _ = writeln!(
        s,
        "run       context {}, {}, {} decode tokens, {} KV cache, {} attention ({}), matrix products on {}",
        r.context,
        match r.past {
            Some(p) => format!("decode from position {p}"),
            None => format!("prompt {}", r.prompt),
        },
        r.tokens,
        r.kv_type,
        r.attention,
        r.attention_units,
        if r.matrix_unit {
            "the Xpop_matmul unit"
        } else {
            "the vector unit (RVV)"
        }
    );
    match (r.ttft_ms, r.past) {
        (Some(ms), _) => {
            let _ = writeln!(s, "TTFT      {ms:.2} ms (prefill of {} tokens)", r.prompt);
        }
        (None, past) => {
            let _ = writeln!(
                s,
                "TTFT      not emulated: decoding from position {} on a synthetic KV cache (--past)",
                past.unwrap_or(0)
            );
        }
    }
    let _ = writeln!(
        s,
        "decode    {:.2} ms/token = {:.2} tokens/s   bound {:.2} ms/token ({:.2} tokens/s), emulated/bound {:.2}",
        r.decode.ms_per_token, r.decode.tokens_per_s, r.bound.ms_per_token, r.bound.tokens_per_s, r.bound.ratio
    );
    let t = &r.tokens_out;
    let ids = |v: &[u32]| {
        v.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let _ = writeln!(
        s,
        "tokens    prompt [{}] -> generated [{}]{}",
        ids(&t.prompt_ids),
        ids(&t.generated_ids),
        if t.meaningful {
            ""
        } else {
            " (synthetic weights: these ids mean nothing)"
        }
    );
    if let Some(text) = &t.generated_text {
        let _ = writeln!(
            s,
            "text      {:?} -> {:?}",
            t.prompt_text.as_deref().unwrap_or(""),
            text
        );
    }
    let _ = writeln!(
        s,
        "\nper decode token, by op{}       ms   bound ms   ratio   kernels",
        if r.cards > 1 { " (all cards)" } else { "" }
    );
    for (op, v) in &r.by_op {
        let ratio = if v.bound_seconds > 0.0 {
            v.seconds / v.bound_seconds
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "  {op:<22} {:>9.3} {:>10.3} {:>7.2} {:>9}",
            v.seconds * 1e3,
            v.bound_seconds * 1e3,
            ratio,
            v.count
        );
    }
    let (kernels, reused) = r
        .prefill
        .iter()
        .chain(&r.decode.steps)
        .fold((0, 0), |(k, u), st| (k + st.kernels, u + st.reused));
    let _ = writeln!(s, "\nper decode token, by resource (busy ms)");
    for (k, v) in &r.by_resource {
        let _ = writeln!(s, "  {k:<22} {:>9.3}", v * 1e3);
    }
    s.push_str(&parallel::text(r));
    let _ = writeln!(
        s,
        "\nhost      {:.1} s in all, {:.2} s per emulated token; {} of {} kernel runs reused an identical invocation's timing{}",
        r.host_seconds,
        r.host_seconds_per_token,
        reused,
        kernels,
        if reused > 0 { " (--exact runs all)" } else { "" }
    );
    s
}
