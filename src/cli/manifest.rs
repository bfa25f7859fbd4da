//! `emulate manifest ...`: list, show and convert weight manifests, and print the op graph
//! of a decode or prefill step.

use crate::workload::graph::{self, Graph};
use crate::workload::import::manifest_from_gguf_file;
use crate::workload::manifest::list_manifests;
use crate::workload::regions::{self, RegionParams};
use crate::workload::{load_manifest, GgmlType, Manifest};
use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `emulate manifest <action>`.
#[derive(Args, Debug)]
pub struct ManifestCmd {
    #[command(subcommand)]
    action: ManifestAction,
}

#[derive(Subcommand, Debug)]
enum ManifestAction {
    /// List the shipped manifests.
    List,
    /// Read a GGUF file's header (metadata and tensor table) into a manifest.
    FromGguf {
        /// The .gguf file.
        file: PathBuf,
        /// Write the manifest here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Validate a manifest and print its footprint: weights by type, KV cache, activations.
    Show {
        /// Manifest name (in manifests/) or path.
        manifest: String,
        #[command(flatten)]
        sizes: SizeArgs,
        /// Also list every region.
        #[arg(long)]
        regions: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the op graph of one decode step or of the prefill: ops, kernels, FLOPs, bytes.
    Graph {
        /// Manifest name (in manifests/) or path.
        manifest: String,
        #[command(flatten)]
        sizes: SizeArgs,
        /// Which step.
        #[arg(long, value_enum, default_value_t = Step::Decode)]
        step: Step,
        /// For decode: the position of the token (default: the last position of the context).
        #[arg(long)]
        position: Option<u64>,
        /// Also list every node.
        #[arg(long)]
        nodes: bool,
        /// Print JSON (with every node).
        #[arg(long)]
        json: bool,
    },
}

/// Context and prompt sizes.
#[derive(Args, Debug)]
struct SizeArgs {
    /// Context length (KV cache positions); default: the model's max_context.
    #[arg(long)]
    context: Option<u64>,
    /// Prompt length (prefill tokens).
    #[arg(long, default_value_t = 128)]
    prompt: u64,
    /// KV cache element type (F16, BF16 or F32).
    #[arg(long, default_value = "F16")]
    kv_type: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Step {
    Decode,
    Prefill,
}

impl SizeArgs {
    fn params(&self, m: &Manifest) -> anyhow::Result<RegionParams> {
        let kv_type = GgmlType::from_name(&self.kv_type).with_context(|| {
            format!(
                "--kv-type {}: unknown GGML type (known: {})",
                self.kv_type,
                GgmlType::known_names()
            )
        })?;
        let context = self.context.unwrap_or(m.architecture.max_context);
        let p = RegionParams {
            logits_all: false,
            context,
            prompt: self.prompt.min(context),
            kv_type,
        };
        if self.prompt > context {
            anyhow::bail!(
                "--prompt {} is longer than the context {context}",
                self.prompt
            );
        }
        p.check(m)?;
        Ok(p)
    }
}

pub(super) fn run(cmd: ManifestCmd) -> anyhow::Result<()> {
    match cmd.action {
        ManifestAction::List => {
            let v = list_manifests();
            anyhow::ensure!(!v.is_empty(), "no manifests found (looked in manifests/)");
            for (name, path) in v {
                let line = match Manifest::load(&path) {
                    Ok(m) => format!(
                        "{:>9.1} MB  {}",
                        m.weight_bytes() as f64 / 1e6,
                        m.description
                    ),
                    Err(e) => format!("(invalid: {e})"),
                };
                println!("{name:<28} {line}");
            }
            Ok(())
        }
        ManifestAction::FromGguf { file, output } => {
            let m = manifest_from_gguf_file(&file)?;
            let text = m.to_yaml();
            match output {
                Some(out) => {
                    std::fs::write(&out, text)
                        .with_context(|| format!("writing {}", out.display()))?;
                    eprintln!(
                        "wrote {} ({} tensors, {} weight bytes)",
                        out.display(),
                        m.tensors.len(),
                        m.weight_bytes()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        ManifestAction::Show {
            manifest,
            sizes,
            regions: list,
            json,
        } => {
            let m = load_manifest(&manifest)?;
            let p = sizes.params(&m)?;
            show(&m, &p, list, json)
        }
        ManifestAction::Graph {
            manifest,
            sizes,
            step,
            position,
            nodes,
            json,
        } => {
            let m = load_manifest(&manifest)?;
            let p = sizes.params(&m)?;
            let g = match step {
                Step::Decode => {
                    let pos = position.unwrap_or(p.context - 1);
                    graph::decode(&m, pos, p.context, p.kv_type)?
                }
                Step::Prefill => graph::prefill(&m, p.prompt, p.context, p.kv_type)?,
            };
            print_graph(&m, &g, nodes, json)
        }
    }
}

fn mb(b: u64) -> String {
    format!(
        "{:.3} MB ({:.2} MiB)",
        b as f64 / 1e6,
        b as f64 / (1 << 20) as f64
    )
}

fn show(m: &Manifest, p: &RegionParams, list: bool, json: bool) -> anyhow::Result<()> {
    let regs = regions::regions(m, p)?;
    let (w, kv, act) = regions::totals(&regs);
    let a = &m.architecture;
    if json {
        let by_dtype: serde_json::Map<String, serde_json::Value> = m
            .weight_bytes_by_dtype()
            .into_iter()
            .map(|(t, (b, n))| {
                (
                    t.name().to_string(),
                    serde_json::json!({"bytes": b, "params": n}),
                )
            })
            .collect();
        let v = serde_json::json!({
            "manifest": m.name,
            "architecture": a,
            "params": m.weight_params(),
            "weight_bytes": w,
            "weights_by_dtype": by_dtype,
            "context": p.context,
            "prompt": p.prompt,
            "kv_type": p.kv_type,
            "kv_bytes": kv,
            "activation_bytes": act,
            "total_bytes": w + kv + act,
            "regions": regs,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("manifest {}: {}", m.name, m.description);
    println!(
        "  llama: {} layers, hidden {}, {} heads ({} KV heads, head size {}), FFN {}, vocab {}, \
         max context {}, RoPE base {} over {} dims, rms eps {}",
        a.layers,
        a.hidden_size,
        a.heads,
        a.kv_heads,
        a.head_dim(),
        a.ffn_size,
        a.vocab_size,
        a.max_context,
        a.rope.freq_base,
        a.rope.dims,
        a.rms_eps
    );
    let n = m.weight_params();
    println!(
        "  parameters: {n} ({:.4} B){}",
        n as f64 / 1e9,
        if m.tied_output() {
            ", output tied to the embedding"
        } else {
            ""
        }
    );
    println!("  weights:     {} in {} tensors", mb(w), m.tensors.len());
    for (t, (b, e)) in m.weight_bytes_by_dtype() {
        println!(
            "    {:<6} {:>14} params {:>16} bytes  {:.4} bits/weight",
            t.name(),
            e,
            b,
            b as f64 * 8.0 / e as f64
        );
    }
    println!(
        "  KV cache:    {} ({} context {}, {} regions)",
        mb(kv),
        p.kv_type,
        p.context,
        2 * a.layers
    );
    println!(
        "  activations: {} (prefill of {} tokens, decode at context {})",
        mb(act),
        p.prompt,
        p.context
    );
    println!("  total:       {}", mb(w + kv + act));
    if list {
        for r in &regs {
            let layer = r.layer.map(|l| l.to_string()).unwrap_or_else(|| "-".into());
            println!(
                "    {:<11} {:>4} {:>14}  {}",
                r.kind, layer, r.bytes, r.name
            );
        }
    }
    Ok(())
}

fn print_graph(m: &Manifest, g: &Graph, nodes: bool, json: bool) -> anyhow::Result<()> {
    let per_token = g.flops() as f64 / g.n_tokens as f64;
    let two_n = 2.0 * m.weight_params() as f64;
    if json {
        let by_op: serde_json::Map<String, serde_json::Value> = g
            .by_op()
            .into_iter()
            .map(|(op, t)| {
                (
                    op.ggml_name().to_string(),
                    serde_json::to_value(t).unwrap_or_default(),
                )
            })
            .collect();
        let by_kernel: serde_json::Map<String, serde_json::Value> = g
            .by_kernel()
            .into_iter()
            .map(|(k, t)| (k, serde_json::to_value(t).unwrap_or_default()))
            .collect();
        let v = serde_json::json!({
            "manifest": m.name,
            "n_tokens": g.n_tokens,
            "n_past": g.n_past,
            "context": g.context,
            "kv_type": g.kv_type,
            "flops": g.flops(),
            "flops_per_token": per_token,
            "bytes_moved": g.bytes_moved(),
            "params": m.weight_params(),
            "by_op": by_op,
            "by_kernel": by_kernel,
            "nodes": g.nodes,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "{}: {} token(s) after {} cached positions (KV cache {} x {}), {} nodes",
        m.name,
        g.n_tokens,
        g.n_past,
        g.context,
        g.kv_type,
        g.nodes.len()
    );
    println!(
        "  {:<10} {:>6} {:>18} {:>18}",
        "op", "nodes", "FLOPs", "bytes moved"
    );
    for (op, t) in g.by_op() {
        println!(
            "  {:<10} {:>6} {:>18} {:>18}",
            op.ggml_name(),
            t.count,
            t.flops,
            t.bytes_moved
        );
    }
    println!(
        "  {:<10} {:>6} {:>18} {:>18}",
        "total",
        g.nodes.len(),
        g.flops(),
        g.bytes_moved()
    );
    println!("  kernels:");
    for (k, t) in g.by_kernel() {
        println!("    {:<16} {:>6} nodes {:>18} FLOPs", k, t.count, t.flops);
    }
    let two_mm = 2.0 * m.architecture.matmul_params() as f64;
    println!(
        "  FLOPs per token: {:.4e} = {:.4} x 2 x {} parameters = {:.4} x 2 x {} matrix \
         parameters (all but the embedding table)",
        per_token,
        per_token / two_n,
        m.weight_params(),
        per_token / two_mm,
        m.architecture.matmul_params()
    );
    if nodes {
        for n in &g.nodes {
            let ins: Vec<String> = n
                .inputs
                .iter()
                .map(|o| format!("{}:{}{:?}", o.region, o.dtype, trim(&o.ne)))
                .collect();
            println!(
                "    {:<22} {:<9} {:<14} {} -> {}:{}{:?}  {} FLOPs {} B",
                n.name,
                n.op.ggml_name(),
                n.kernel,
                ins.join(", "),
                n.output.region,
                n.output.dtype,
                trim(&n.output.ne),
                n.flops,
                n.bytes_moved
            );
        }
    }
    Ok(())
}

/// A shape without its trailing 1s.
fn trim(ne: &[u64; 4]) -> Vec<u64> {
    let mut v = ne.to_vec();
    while v.len() > 1 && v.last() == Some(&1) {
        v.pop();
    }
    v
}
