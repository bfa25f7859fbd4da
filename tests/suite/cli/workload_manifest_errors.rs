//! Bad manifests are refused with the file, line, tensor and key named; good ones round-trip
//! through YAML and JSON.

use crate::support::workload::{emulate, stderr};
use sail_emu::workload::{load_manifest, Manifest, ManifestError};

fn shipped_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/tinyllama-1.1b-q4_k_m.yaml"
    ))
    .unwrap()
}

/// The shipped text with `from` (which must occur) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    let t = shipped_text();
    assert!(t.contains(from), "test setup: `{from}` not in the manifest");
    t.replacen(from, to, 1)
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn err(text: &str) -> ManifestError {
    Manifest::parse(text, "bad.yaml").expect_err("must be refused")
}

#[test]
fn the_shipped_manifest_parses_and_round_trips_through_yaml_and_json() {
    let m = load_manifest("tinyllama-1.1b-q4_k_m").unwrap();
    assert_eq!(Manifest::parse(&m.to_yaml(), "again.yaml").unwrap(), m);
    let json = serde_json::to_string_pretty(&m).unwrap();
    assert_eq!(Manifest::parse(&json, "m.json").unwrap(), m);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.json");
    std::fs::write(&p, json).unwrap();
    assert_eq!(Manifest::load(&p).unwrap(), m);
}

#[test]
fn wrong_bytes_name_the_tensor_key_and_line() {
    let t = edited(
        "dtype: Q4_K, shape: [2048, 2048], bytes: 2359296, layer: 0}",
        "dtype: Q4_K, shape: [2048, 2048], bytes: 2359295, layer: 0}",
    );
    let e = err(&t);
    assert_eq!(e.tensor.as_deref(), Some("blk.0.attn_q.weight"));
    assert_eq!(e.key, "bytes");
    assert_eq!(e.line, Some(line_of(&t, "blk.0.attn_q.weight")));
    assert_eq!(
        e.to_string(),
        format!(
            "bad.yaml:{}: tensor `blk.0.attn_q.weight`: key `bytes`: is 2359295 but a Q4_K \
             tensor of shape [2048, 2048] takes 2359296 bytes",
            e.line.unwrap()
        )
    );
}

#[test]
fn each_rule_is_enforced_with_its_key() {
    let cases: Vec<(String, Option<&str>, &str, &str)> = vec![
        (
            edited(
                "name: blk.0.attn_k.weight, kind: weight, dtype: Q4_K",
                "name: blk.0.attn_k.weight, kind: weight, dtype: Q9_K",
            ),
            Some("blk.0.attn_k.weight"),
            "dtype",
            "unknown GGML type `Q9_K`",
        ),
        (
            edited("kv_heads: 4", "kv_heads: 5"),
            None,
            "architecture.kv_heads",
            "cannot be shared evenly",
        ),
        (
            edited("name: blk.0.attn_k.weight", "name: blk.0.attn_q.weight"),
            Some("blk.0.attn_q.weight"),
            "name",
            "more than one tensor",
        ),
        (
            edited(
                "shape: [2048, 256], bytes: 294912, layer: 0}",
                "shape: [2048, 512], bytes: 589824, layer: 0}",
            ),
            Some("blk.0.attn_k.weight"),
            "shape",
            "the architecture implies [2048, 256]",
        ),
        (
            edited(
                "shape: [2048, 2048], bytes: 2359296, layer: 3}",
                "shape: [2048, 2048], bytes: 2359296, layer: 4}",
            ),
            Some("blk.3.attn_q.weight"),
            "layer",
            "the name says block 3",
        ),
        (
            edited(
                "shape: [2048, 256], bytes: 294912, layer: 0}",
                "shape: [2000, 256], bytes: 294912, layer: 0}",
            ),
            Some("blk.0.attn_k.weight"),
            "shape",
            "not a multiple of the Q4_K block size 256",
        ),
        (
            edited(
                "kind: weight, dtype: Q4_K, shape: [2048, 32000]",
                "kind: kv, dtype: Q4_K, shape: [2048, 32000]",
            ),
            Some("token_embd.weight"),
            "kind",
            "must be weight",
        ),
        (
            format!(
                "{}  - {{name: act.x, kind: activation, dtype: F32, shape: [4], bytes: 16}}\n",
                shipped_text()
            ),
            Some("act.x"),
            "name",
            "reserved",
        ),
        (
            edited(
                "  hidden_size: 2048\n",
                "  hidden_size: 2048\n  colour: red\n",
            ),
            None,
            "architecture.colour",
            "unknown field `colour`",
        ),
        (
            edited("bytes: 36864000}", "bytes: 36864000, offest: 0}"),
            Some("token_embd.weight"),
            "offest",
            "unknown field `offest`",
        ),
    ];
    for (text, tensor, key, msg) in cases {
        let e = err(&text);
        assert_eq!(e.tensor.as_deref(), tensor, "{e}");
        assert_eq!(e.key, key, "{e}");
        assert!(e.message.contains(msg), "{e}");
        assert!(e.line.is_some(), "a line for: {e}");
        assert_eq!(e.file, "bad.yaml");
    }
}

#[test]
fn missing_tensors_and_overlapping_offsets_are_refused() {
    let t = shipped_text();
    let without: String = t
        .lines()
        .filter(|l| !l.contains("blk.5.ffn_up.weight"))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = err(&without);
    assert_eq!(e.tensor.as_deref(), Some("blk.5.ffn_up.weight"));
    assert!(e.message.contains("missing"), "{e}");

    let t = edited("bytes: 36864000}", "bytes: 36864000, offset: 0}");
    let t = t.replacen(
        "bytes: 8192, layer: 0}",
        "bytes: 8192, layer: 0, offset: 36863999}",
        1,
    );
    let e = err(&t);
    assert_eq!(e.tensor.as_deref(), Some("blk.0.attn_norm.weight"));
    assert_eq!(e.key, "offset");
    assert!(
        e.message.contains("overlaps tensor `token_embd.weight`"),
        "{e}"
    );
    // Adjacent is fine.
    let ok = t.replacen("offset: 36863999}", "offset: 36864000}", 1);
    Manifest::parse(&ok, "ok.yaml").unwrap();
}

#[test]
fn output_weight_may_be_missing_for_tied_embeddings() {
    let t: String = shipped_text()
        .lines()
        .filter(|l| !l.contains("name: output.weight"))
        .map(|l| format!("{l}\n"))
        .collect();
    let m = Manifest::parse(&t, "tied.yaml").unwrap();
    assert!(m.tied_output());
    assert_eq!(m.weight_params(), 1_100_048_384 - 65_536_000);
}

#[test]
fn the_cli_refuses_a_bad_manifest_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.yaml");
    std::fs::write(&p, edited("heads: 32", "heads: 30")).unwrap();
    for cmd in ["show", "graph"] {
        let o = emulate(&["manifest", cmd, p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1));
        let e = stderr(&o);
        assert!(e.contains("bad.yaml:"), "{e}");
        assert!(e.contains("architecture.heads"), "{e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    let o = emulate(&["manifest", "show", "no-such-manifest"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no manifest of that name"));
    let o = emulate(&[
        "manifest",
        "show",
        "tinyllama-1.1b-q4_0",
        "--context",
        "4096",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("max_context"), "{}", stderr(&o));
}
