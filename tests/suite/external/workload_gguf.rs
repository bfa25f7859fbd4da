//! The GGUF reader and `emulate manifest from-gguf` against files written by the PyPI `gguf`
//! package (the reference writer), and against corrupt and truncated versions of them.

use crate::support::workload::{describe, emulate, python, stderr, stdout, write_tiny};
use sail_emu::workload::gguf::{read_gguf, Value, ValueType};
use sail_emu::workload::{GgmlType, Manifest, RegionKind};
use serde_json::json;
use std::path::Path;

/// Our value as the JSON describe.py prints for it.
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::U8(x) => json!(x),
        Value::I8(x) => json!(x),
        Value::U16(x) => json!(x),
        Value::I16(x) => json!(x),
        Value::U32(x) => json!(x),
        Value::I32(x) => json!(x),
        Value::F32(x) => json!(f64::from(*x)),
        Value::Bool(x) => json!(x),
        Value::String(x) => json!(x),
        Value::U64(x) => json!(x),
        Value::I64(x) => json!(x),
        Value::F64(x) => json!(x),
        Value::Array(ValueType::Array, items) => {
            // gguf's reader flattens nested arrays; compare the leaves in order.
            fn leaves(v: &Value, out: &mut Vec<serde_json::Value>) {
                match v {
                    Value::Array(_, items) => items.iter().for_each(|i| leaves(i, out)),
                    other => out.push(to_json(other)),
                }
            }
            let mut out = Vec::new();
            items.iter().for_each(|i| leaves(i, &mut out));
            json!({ "nested_array": out })
        }
        Value::Array(_, items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
    }
}

#[test]
fn reader_agrees_with_the_gguf_package_on_every_field_and_tensor() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(&py, dir.path(), "tiny.gguf", &[]);
    let want = describe(&py, &f);
    let g = read_gguf(&f).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(g.version, 3);
    assert_eq!(json!(g.alignment), want["alignment"]);
    let wt = want["tensors"].as_array().unwrap();
    assert_eq!(g.tensors.len(), wt.len());
    assert_eq!(g.tensors.len(), 1 + 2 * 9 + 2);
    for (t, w) in g.tensors.iter().zip(wt) {
        assert_eq!(json!(t.name), w["name"]);
        assert_eq!(json!(t.ggml_type.name()), w["type"], "{}", t.name);
        assert_eq!(json!(t.dims), w["shape"], "{}", t.name);
        assert_eq!(json!(t.bytes), w["bytes"], "{}", t.name);
        assert_eq!(json!(g.data_offset + t.offset), w["offset"], "{}", t.name);
    }
    let wf = want["fields"].as_object().unwrap();
    assert_eq!(g.metadata.len(), wf.len());
    for (k, v) in &g.metadata {
        assert_eq!(&to_json(v), wf.get(k).unwrap_or(&json!(null)), "key {k}");
    }
    // Every value type is present, so each decoder was exercised.
    for (k, want) in [
        ("test.u8", Value::U8(200)),
        ("test.i8", Value::I8(-100)),
        ("test.u16", Value::U16(60000)),
        ("test.i16", Value::I16(-30000)),
        ("test.u32", Value::U32(4_000_000_000)),
        ("test.i32", Value::I32(-2_000_000_000)),
        ("test.f32", Value::F32(0.5)),
        ("test.bool", Value::Bool(true)),
        ("test.string", Value::String("héllo, wörld".into())),
        ("test.u64", Value::U64((1 << 63) + 5)),
        ("test.i64", Value::I64(-(1 << 62))),
        ("test.f64", Value::F64(std::f64::consts::E)),
        (
            "test.array_nested",
            Value::Array(
                ValueType::Array,
                vec![
                    Value::Array(ValueType::I32, vec![Value::I32(1), Value::I32(2)]),
                    Value::Array(ValueType::I32, vec![Value::I32(3)]),
                ],
            ),
        ),
    ] {
        assert_eq!(g.get(k), Some(&want), "{k}");
    }
    match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(ValueType::String, v)) => assert_eq!(v.len(), 320),
        other => panic!("tokens: {other:?}"),
    }
    // The data of the last tensor ends at the end of the file.
    let last = g.tensors.iter().max_by_key(|t| t.offset).unwrap();
    assert_eq!(g.data_offset + last.offset + last.bytes, g.file_size);
}

#[test]
fn from_gguf_reproduces_the_architecture_and_tensor_table() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(&py, dir.path(), "tiny.gguf", &[]);
    let out = dir.path().join("tiny.yaml");
    let o = emulate(&[
        "manifest",
        "from-gguf",
        f.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = Manifest::load(&out).unwrap_or_else(|e| panic!("{e}"));
    let a = &m.architecture;
    assert_eq!(
        (a.layers, a.hidden_size, a.heads, a.kv_heads, a.ffn_size),
        (2, 256, 4, 2, 512)
    );
    assert_eq!((a.vocab_size, a.max_context, a.rope.dims), (320, 256, 64));
    assert_eq!(a.rope.freq_base, 10000.0);
    assert_eq!(a.rms_eps, f64::from(1e-5f32), "stored as f32 by the writer");
    let want = describe(&py, &f);
    let wt = want["tensors"].as_array().unwrap();
    assert_eq!(m.tensors.len(), wt.len());
    for (t, w) in m.tensors.iter().zip(wt) {
        assert_eq!(json!(t.name), w["name"]);
        assert_eq!(json!(t.dtype.name()), w["type"]);
        assert_eq!(json!(t.shape), w["shape"]);
        assert_eq!(json!(t.bytes), w["bytes"]);
        assert_eq!(json!(t.offset), w["offset"]);
        assert_eq!(t.kind, RegionKind::Weight);
    }
    assert_eq!(m.tensor("blk.1.ffn_down.weight").unwrap().layer, Some(1));
    assert_eq!(m.tensor("output.weight").unwrap().layer, None);
    assert_eq!(
        m.tensor("blk.1.attn_output.weight").unwrap().dtype,
        GgmlType::BF16
    );
    // Without -o the same manifest goes to standard output.
    let o = emulate(&["manifest", "from-gguf", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(Manifest::parse(&stdout(&o), "stdout.yaml").unwrap(), m);
}

#[test]
fn vocabulary_comes_from_the_token_list_and_output_may_be_tied() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(
        &py,
        dir.path(),
        "tied.gguf",
        &["--no-vocab-key", "--tied-output", "--seed", "7"],
    );
    let m = sail_emu::workload::import::manifest_from_gguf_file(&f).unwrap();
    assert_eq!(m.architecture.vocab_size, 320);
    assert!(m.tied_output());
    let g = sail_emu::workload::graph::decode(&m, 0, 256, GgmlType::F16).unwrap();
    let out = g.nodes.last().unwrap();
    assert_eq!(out.inputs[0].region, "token_embd.weight");
    assert_eq!(out.kernel, "mul_mat_q4_K");
}

/// Byte offset of the type field of tensor `name`'s table entry (2 dimensions).
fn type_field_of(bytes: &[u8], name: &str) -> usize {
    let mut pat = (name.len() as u64).to_le_bytes().to_vec();
    pat.extend(name.as_bytes());
    let at = bytes
        .windows(pat.len())
        .position(|w| w == pat.as_slice())
        .expect("tensor name in the header");
    let n_dims_at = at + pat.len();
    let n_dims = u32::from_le_bytes(bytes[n_dims_at..n_dims_at + 4].try_into().unwrap());
    n_dims_at + 4 + 8 * n_dims as usize
}

fn run_corrupt(dir: &Path, name: &str, bytes: &[u8], expect: &[&str]) {
    let f = dir.join(name);
    std::fs::write(&f, bytes).unwrap();
    let o = emulate(&["manifest", "from-gguf", f.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "{name}: accepted");
    assert_eq!(o.status.code(), Some(1), "{name}: {err}");
    assert!(!err.contains("panicked"), "{name}: {err}");
    assert!(
        err.contains(name),
        "{name}: the error must name the file: {err}"
    );
    for e in expect {
        assert!(err.contains(e), "{name}: expected `{e}` in: {err}");
    }
    assert!(o.stdout.is_empty(), "{name}: no manifest on failure");
}

#[test]
fn corrupt_and_truncated_files_give_clear_errors_and_exit_1() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(&py, dir.path(), "tiny.gguf", &[]);
    let good = std::fs::read(&f).unwrap();
    let d = dir.path();

    let mut b = good.clone();
    b[0..4].copy_from_slice(b"GGML");
    run_corrupt(
        d,
        "bad-magic.gguf",
        &b,
        &["byte 0", "magic", "not a GGUF file"],
    );

    let mut b = good.clone();
    b[4..8].copy_from_slice(&99u32.to_le_bytes());
    run_corrupt(
        d,
        "bad-version.gguf",
        &b,
        &["byte 4", "unknown GGUF version 99"],
    );

    let mut b = good.clone();
    b[4..8].copy_from_slice(&1u32.to_le_bytes());
    run_corrupt(d, "version-1.gguf", &b, &["version 1", "not supported"]);

    let mut b = good.clone();
    b[8..16].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    run_corrupt(
        d,
        "absurd-tensors.gguf",
        &b,
        &["byte 8", "tensor count", "cannot fit"],
    );

    let mut b = good.clone();
    b[16..24].copy_from_slice(&1_000_000_000u64.to_le_bytes());
    run_corrupt(
        d,
        "absurd-kv.gguf",
        &b,
        &["byte 16", "metadata count", "cannot fit"],
    );

    let mut b = good.clone();
    let at = type_field_of(&b, "blk.0.attn_q.weight");
    b[at..at + 4].copy_from_slice(&5u32.to_le_bytes()); // 4 and 5 were Q4_2/Q4_3, removed
    run_corrupt(
        d,
        "bad-type.gguf",
        &b,
        &[
            &format!("byte {at}"),
            "blk.0.attn_q.weight",
            "unknown GGML type id 5",
        ],
    );

    let mut b = good.clone();
    b[24..32].copy_from_slice(&(1u64 << 50).to_le_bytes());
    run_corrupt(
        d,
        "long-string.gguf",
        &b,
        &[
            "byte 24",
            "metadata entry 0 key length",
            "past the end of the file",
        ],
    );

    // Cut inside the metadata, inside the tensor table, and inside the tensor data.
    let g = read_gguf(&f).unwrap();
    let in_table = type_field_of(&good, "blk.1.ffn_up.weight");
    for (cut, what) in [
        (100usize, "truncated"),
        (in_table, "blk.1.ffn_up.weight"),
        (good.len() - 1, "output.weight"),
        (g.data_offset as usize + 10, "truncated"),
    ] {
        run_corrupt(d, &format!("cut-{cut}.gguf"), &good[..cut], &[what]);
    }

    // An empty file and a missing file.
    run_corrupt(d, "empty.gguf", &[], &["too short"]);
    let o = emulate(&["manifest", "from-gguf", "/nonexistent/x.gguf"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/x.gguf"), "{}", stderr(&o));
}

#[test]
fn a_gguf_that_is_not_llama_or_has_wrong_shapes_is_refused_by_key() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(&py, dir.path(), "tiny.gguf", &[]);
    let good = std::fs::read(&f).unwrap();
    // general.architecture = "llama" -> "gemma" would change the length; "llamb" keeps it.
    let pos = good
        .windows(5)
        .position(|w| w == b"llama")
        .expect("architecture value");
    let mut b = good.clone();
    b[pos..pos + 5].copy_from_slice(b"llamb");
    run_corrupt(
        dir.path(),
        "not-llama.gguf",
        &b,
        &["general.architecture", "llamb", "only the llama family"],
    );
    // Change llama.attention.head_count_kv from 2 to 3: 4 heads cannot share 3 KV heads.
    let key = b"llama.attention.head_count_kv";
    let at = good.windows(key.len()).position(|w| w == key).expect("key") + key.len() + 4;
    let mut b = good.clone();
    b[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
    run_corrupt(
        dir.path(),
        "bad-kv-heads.gguf",
        &b,
        &["llama.attention.head_count_kv", "cannot be shared evenly"],
    );
}

#[test]
fn tensor_types_without_a_kernel_are_refused_naming_file_and_tensor() {
    // Q5_0 and Q4_1 are valid GGUF types that no kernel program implements: the manifest
    // import and a run refuse the file before any step, naming it, the tensor and the types
    // the kernel does implement.
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let f = write_tiny(&py, dir.path(), "q5.gguf", &["--mix", "unsupported"]);
    let name = f.to_str().unwrap();
    for args in [
        vec!["manifest", "from-gguf", name],
        vec!["run", "--weights", name, "--tokens", "1", "--context", "64"],
    ] {
        let o = emulate(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        for want in [
            "q5.gguf",
            "blk.0.attn_q.weight",
            "Q5_0",
            "mul_mat_q5_0",
            "q4_0, q8_0, q4_K, q6_K",
        ] {
            assert!(err.contains(want), "{args:?}: `{want}` not in {err}");
        }
        assert!(!err.contains("step 0"), "refused before any step: {err}");
    }
}

#[test]
fn type_ids_and_block_sizes_agree_with_the_gguf_package() {
    let Some(py) = python() else { return };
    let o = std::process::Command::new(&py)
        .args([
            "-c",
            "import json; from gguf.constants import GGML_QUANT_SIZES as S, GGMLQuantizationType as T\n\
             print(json.dumps({t.name: [t.value, *S[t]] for t in T if t in S}))",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&o.stdout).unwrap();
    for &t in GgmlType::ALL {
        let w = want
            .get(t.name())
            .unwrap_or_else(|| panic!("gguf does not know {}", t.name()));
        assert_eq!(
            w,
            &json!([t.id(), t.block_elems(), t.block_bytes()]),
            "{}",
            t.name()
        );
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use sail_emu::workload::gguf::parse_gguf;
    use std::sync::OnceLock;

    /// The tiny llama file written by the gguf package, once per test run.
    fn reference_bytes() -> Option<&'static [u8]> {
        static BYTES: OnceLock<Option<Vec<u8>>> = OnceLock::new();
        BYTES
            .get_or_init(|| {
                let py = python()?;
                let dir = tempfile::tempdir().unwrap();
                let f = write_tiny(&py, dir.path(), "fuzz.gguf", &[]);
                Some(std::fs::read(f).unwrap())
            })
            .as_deref()
    }

    fn parse(b: &[u8]) -> Result<sail_emu::workload::gguf::GgufFile, String> {
        parse_gguf(std::io::Cursor::new(b), b.len() as u64, "fuzz.gguf").map_err(|e| e.to_string())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Every truncation of a real gguf-package file is an error naming the file.
        #[test]
        fn truncated_reference_files_are_refused(frac in 0.0f64..1.0) {
            let Some(b) = reference_bytes() else { return Ok(()) };
            let cut = (frac * b.len() as f64) as usize;
            let e = parse(&b[..cut]).unwrap_err();
            prop_assert!(e.starts_with("fuzz.gguf: byte "), "{}", e);
        }

        /// Bit flips and overwritten bytes in the header of a real file never panic; when
        /// the result still parses, its tensors lie inside the file.
        #[test]
        fn corrupted_reference_headers_never_panic(
            edits in proptest::collection::vec((0.0f64..1.0, any::<u8>(), any::<bool>()), 1..8)
        ) {
            let Some(b) = reference_bytes() else { return Ok(()) };
            let g = parse(b).unwrap();
            let header = g.data_offset as usize;
            let mut b = b.to_vec();
            for (pos, val, flip) in edits {
                let p = (pos * header as f64) as usize;
                if flip { b[p] ^= 1 << (val % 8) } else { b[p] = val }
            }
            if let Ok(g) = parse(&b) {
                for t in &g.tensors {
                    prop_assert!(g.data_offset + t.offset + t.bytes <= b.len() as u64);
                }
            }
        }
    }
}

#[test]
fn text_reports_print_the_same_figures_as_json() {
    let o = emulate(&[
        "manifest",
        "show",
        "tinyllama-1.1b-q4_k_m",
        "--prompt",
        "512",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&o);
    for want in [
        "parameters: 1100048384",
        "weights:     667.079 MB",
        "Q6_K        186122240 params        152678400 bytes",
        "KV cache:    46.137 MB (44.00 MiB)",
        "activations: 95.553 MB",
        "total:       808.769 MB",
    ] {
        assert!(t.contains(want), "`{want}` not in:\n{t}");
    }
    let o = emulate(&[
        "manifest",
        "graph",
        "tinyllama-1.1b-q4_k_m",
        "--position",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let squeezed: String = stdout(&o).split_whitespace().collect::<Vec<_>>().join(" ");
    let m = sail_emu::workload::load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    let g = sail_emu::workload::graph::decode(&m, 0, 2048, GgmlType::F16).unwrap();
    let mm = g.by_op()[&sail_emu::workload::graph::Op::MulMat];
    for want in [
        format!("{} nodes", g.nodes.len()),
        format!("mul_mat {} {} {}", mm.count, mm.flops, mm.bytes_moved),
        format!("total {} {} {}", g.nodes.len(), g.flops(), g.bytes_moved()),
        "FLOPs per token: 2.0701e9 = 0.9409 x 2 x 1100048384 parameters = 1.0006 x 2 x \
         1034420224 matrix parameters"
            .to_string(),
    ] {
        assert!(squeezed.contains(&want), "`{want}` not in:\n{squeezed}");
    }
    let o = emulate(&["manifest", "list"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("tinyllama-1.1b-q4_k_m            667.1 MB"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("tinyllama-1.1b-q4_0              636.0 MB"),
        "{}",
        stdout(&o)
    );
}
