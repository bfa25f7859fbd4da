//! Workload-layer speeds: reading a TinyLlama-sized GGUF header, parsing and validating the
//! shipped manifest, deriving the region list, and building the decode and prefill graphs.
//!
//! `cargo bench --bench workload`

use criterion::{criterion_group, criterion_main, Criterion};
use sail_emu::workload::gguf::parse_gguf;
use sail_emu::workload::recipe::{llama_weights, FileType};
use sail_emu::workload::regions::{regions, RegionParams};
use sail_emu::workload::{graph, load_manifest, GgmlType, Manifest};
use std::hint::black_box;

/// The header of a TinyLlama Q4_K_M GGUF as llama.cpp writes it: the llama keys, a
/// 32000-entry tokenizer (tokens, scores, types) and 201 tensor entries. Returns the header
/// bytes and the length of the whole file (header + aligned tensor data).
fn tinyllama_header(m: &Manifest) -> (Vec<u8>, u64) {
    fn s(b: &mut Vec<u8>, x: &str) {
        b.extend((x.len() as u64).to_le_bytes());
        b.extend(x.as_bytes());
    }
    let mut kv = Vec::new();
    let mut n_kv = 0u64;
    let u32kv = |kv: &mut Vec<u8>, k: &str, v: u32| {
        s(kv, k);
        kv.extend(4u32.to_le_bytes());
        kv.extend(v.to_le_bytes());
    };
    s(&mut kv, "general.architecture");
    kv.extend(8u32.to_le_bytes());
    s(&mut kv, "llama");
    n_kv += 1;
    let a = &m.architecture;
    for (k, v) in [
        ("llama.block_count", a.layers),
        ("llama.embedding_length", a.hidden_size as u32),
        ("llama.attention.head_count", a.heads),
        ("llama.attention.head_count_kv", a.kv_heads),
        ("llama.feed_forward_length", a.ffn_size as u32),
        ("llama.context_length", a.max_context as u32),
    ] {
        u32kv(&mut kv, k, v);
        n_kv += 1;
    }
    s(&mut kv, "llama.attention.layer_norm_rms_epsilon");
    kv.extend(6u32.to_le_bytes());
    kv.extend(1e-5f32.to_le_bytes());
    n_kv += 1;
    s(&mut kv, "tokenizer.ggml.tokens");
    kv.extend(9u32.to_le_bytes());
    kv.extend(8u32.to_le_bytes());
    kv.extend(32000u64.to_le_bytes());
    for i in 0..32000 {
        s(&mut kv, &format!("tok{i}"));
    }
    s(&mut kv, "tokenizer.ggml.scores");
    kv.extend(9u32.to_le_bytes());
    kv.extend(6u32.to_le_bytes());
    kv.extend(32000u64.to_le_bytes());
    for i in 0..32000 {
        kv.extend((-(i as f32)).to_le_bytes());
    }
    n_kv += 2;
    let mut infos = Vec::new();
    let mut off = 0u64;
    for t in &m.tensors {
        s(&mut infos, &t.name);
        infos.extend((t.shape.len() as u32).to_le_bytes());
        for d in &t.shape {
            infos.extend(d.to_le_bytes());
        }
        infos.extend(t.dtype.id().to_le_bytes());
        infos.extend(off.to_le_bytes());
        off = (off + t.bytes).div_ceil(32) * 32;
    }
    let mut f = b"GGUF".to_vec();
    f.extend(3u32.to_le_bytes());
    f.extend((m.tensors.len() as u64).to_le_bytes());
    f.extend(n_kv.to_le_bytes());
    f.extend(kv);
    f.extend(infos);
    let data = (f.len() as u64).div_ceil(32) * 32;
    (f, data + off)
}

fn benches(c: &mut Criterion) {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/tinyllama-1.1b-q4_k_m.yaml"
    ))
    .unwrap();
    let (header, len) = tinyllama_header(&Manifest {
        tensors: llama_weights(&m.architecture, FileType::MostlyQ4KM),
        ..m.clone()
    });
    assert_eq!(
        parse_gguf(std::io::Cursor::new(&header), len, "bench.gguf")
            .unwrap()
            .tensors
            .len(),
        201
    );
    c.bench_function("gguf_header_tinyllama_32k_vocab", |b| {
        b.iter(|| parse_gguf(std::io::Cursor::new(black_box(&header)), len, "bench.gguf").unwrap())
    });
    c.bench_function("manifest_parse_validate_tinyllama", |b| {
        b.iter(|| Manifest::parse(black_box(&text), "m.yaml").unwrap())
    });
    c.bench_function("regions_tinyllama_ctx2048", |b| {
        b.iter(|| regions(black_box(&m), &RegionParams::new(2048, 512)).unwrap())
    });
    c.bench_function("graph_decode_tinyllama", |b| {
        b.iter(|| graph::decode(black_box(&m), 2047, 2048, GgmlType::F16).unwrap())
    });
    c.bench_function("graph_prefill512_tinyllama", |b| {
        b.iter(|| graph::prefill(black_box(&m), 512, 2048, GgmlType::F16).unwrap())
    });
}

criterion_group!(workload, benches);
criterion_main!(workload);
