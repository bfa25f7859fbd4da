//! `emulate collective` end to end: every figure checked from the CLI's JSON against a closed
//! form (the ring's strict floor and the alpha-beta estimate, the link's coded and framed
//! rates, the latency chain of small
//! messages), and bad input refused with a clear message and a non-zero exit.

use crate::support::{emulate, emulate_json, json_number as f};

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["collective"];
    a.extend_from_slice(args);
    a.push("--json");
    emulate_json(&a)
}

const MIB16: &str = "16MiB";
/// Board figures (boards/innerjib7ea.yaml): 4 lanes x 1.25 Gbps, 8b/10b, frames of 512 + 8
/// bytes, 200 ns per hop.
const CODED: f64 = 4.0 * 1.25e9 * 0.8 / 8.0;
const GOODPUT: f64 = CODED * 512.0 / 520.0;
const HOP: f64 = 200e-9;

fn alpha_beta_allreduce(n: f64, s: f64, b: f64) -> f64 {
    2.0 * (n - 1.0) * HOP + 2.0 * (n - 1.0) / n * s / b
}

/// The ring's floor for an AllReduce: every link carries 2(n-1)/n S, whose last byte lands a
/// hop latency after it is sent, and a value crosses 2(n-1) hops in sequence.
fn floor_allreduce(n: f64, s: f64, b: f64) -> f64 {
    (2.0 * (n - 1.0) / n * s / b + HOP).max(2.0 * (n - 1.0) * HOP)
}

#[test]
fn large_allreduce_meets_the_alpha_beta_bound_when_the_link_is_the_bottleneck() {
    // At 0.25 Gbps per lane the link (98.5 MB/s) is slower than the cards' reduce kernel,
    // so the alpha-beta bound is the one to meet.
    let b = 4.0 * 0.25e9 * 0.8 / 8.0 * 512.0 / 520.0;
    for n in [2, 4, 8] {
        let cards = n.to_string();
        let v = json(&[
            "allreduce",
            "--cards",
            &cards,
            "--bytes",
            MIB16,
            "--set",
            "intercard.lane_rate=0.25Gbps",
        ]);
        let s = (16u64 << 20) as f64;
        let estimate = alpha_beta_allreduce(n as f64, s, b);
        assert!(
            (f(&v, "alpha_beta_seconds") - estimate).abs() < 1e-12,
            "{v}"
        );
        let t = f(&v, "seconds");
        assert!(
            (t / estimate - 1.0).abs() <= 0.02,
            "n={n}: {t} vs {estimate}"
        );
        assert!((f(&v, "alpha_beta_ratio") - t / estimate).abs() < 1e-12);
        let floor = floor_allreduce(n as f64, s, b);
        assert!((f(&v, "bound_seconds") - floor).abs() < 1e-12, "{v}");
        assert!(t >= floor, "n={n}: {t} below {floor}");
        assert!((f(&v, "ratio") - t / floor).abs() < 1e-12);
        // nccl-tests: algbw = S / t, busbw = algbw x 2(n-1)/n.
        let algbw = s / t;
        assert!((f(&v, "algbw_bytes_per_s") / algbw - 1.0).abs() < 1e-12);
        let busbw = algbw * 2.0 * (n as f64 - 1.0) / n as f64;
        assert!((f(&v, "busbw_bytes_per_s") / busbw - 1.0).abs() < 1e-12);
        // Conservation: 2(n-1) chunks of S/n leave every card.
        assert_eq!(f(&v, "link.payload_bytes"), 2.0 * (n as f64 - 1.0) * s);
        assert_eq!(
            v["result_check"].as_str().unwrap().split(':').next(),
            Some("exact")
        );
    }
}

#[test]
fn large_allreduce_on_the_board_is_bound_by_the_reduce_kernel() {
    // On the board as built the k_eltwise add (one card, one segment) is slower than the
    // link: the reduce term (n-1)/n S / R sets the floor, and the run meets it within 2%.
    for n in [2, 4, 8] {
        let cards = n.to_string();
        let v = json(&["allreduce", "--cards", &cards, "--bytes", MIB16]);
        let s = (16u64 << 20) as f64;
        let nf = n as f64;
        let r = f(&v, "reduce_bytes_per_s");
        let reduce_term = (nf - 1.0) / nf * s / r;
        assert!((f(&v, "reduce_bound_seconds") / reduce_term - 1.0).abs() < 1e-12);
        let link_term = 2.0 * (nf - 1.0) / nf * s / GOODPUT;
        let estimate = 2.0 * (nf - 1.0) * HOP + link_term.max(reduce_term);
        assert!((f(&v, "alpha_beta_with_reduce_seconds") / estimate - 1.0).abs() < 1e-12);
        // The floor: the link's, or the reduce work after the first operand's hop.
        let floor = floor_allreduce(nf, s, GOODPUT).max(HOP + reduce_term);
        assert!((f(&v, "bound_with_reduce_seconds") / floor - 1.0).abs() < 1e-12);
        let t = f(&v, "seconds");
        assert!(t >= floor, "n={n}: {t} below {floor}");
        assert!((f(&v, "ratio_with_reduce") - t / floor).abs() < 1e-12);
        assert!(
            (t / estimate - 1.0).abs() <= 0.02,
            "n={n}: {t} vs {estimate}"
        );
        // The reduce kernels ran: (n-1) segments' worth per card, all of the chunk.
        assert!(f(&v, "reduce.kernels") >= (n * (n - 1)) as f64);
        assert!(f(&v, "reduce.max_card_seconds") >= reduce_term * 0.99);
    }
}

#[test]
fn large_allgather_and_broadcast_meet_their_bounds() {
    for (op, n) in [("allgather", 2), ("allgather", 8), ("broadcast", 4)] {
        let cards = n.to_string();
        let v = json(&[op, "--cards", &cards, "--bytes", MIB16]);
        let (nf, s) = (n as f64, (16u64 << 20) as f64);
        let (estimate, floor) = if op == "broadcast" {
            let b = (nf - 1.0) * HOP + s / GOODPUT;
            (b, b)
        } else {
            let link = (nf - 1.0) / nf * s / GOODPUT;
            ((nf - 1.0) * HOP + link, (link + HOP).max((nf - 1.0) * HOP))
        };
        assert!((f(&v, "alpha_beta_seconds") / estimate - 1.0).abs() < 1e-12);
        assert!((f(&v, "bound_seconds") / floor - 1.0).abs() < 1e-12);
        let t = f(&v, "seconds");
        assert!(t >= floor * (1.0 - 1e-12), "{op} n={n}: {t} below {floor}");
        assert!(
            (t / estimate - 1.0).abs() <= 0.02,
            "{op} n={n}: {t} vs {estimate}"
        );
        assert_eq!(f(&v, "reduce.kernels"), 0.0);
    }
}

#[test]
fn small_messages_are_latency_bound() {
    for n in [2usize, 4, 8] {
        let cards = n.to_string();
        // AllGather of 64 bytes: n-1 hops in sequence, each one frame of 64/n bytes plus 8
        // bytes of framing at 2 ns per byte, plus the hop latency. Exact.
        let v = json(&["allgather", "--cards", &cards, "--bytes", "64"]);
        let chunk = 64 / n as u64;
        let hop = (chunk + 8) as f64 / CODED + HOP;
        let want = (n - 1) as f64 * hop;
        let t = f(&v, "seconds");
        assert!((t - want).abs() < 1e-14, "n={n}: {t} vs {want}");
        let latency = (n - 1) as f64 * HOP;
        assert!(latency / t > 0.5, "n={n}: hop latency {latency} of {t}");
        // AllReduce of 64 bytes: the bandwidth term is negligible; what remains is the hop
        // latencies and the reduce kernels' fixed cost, one per reduce-scatter hop.
        let v = json(&["allreduce", "--cards", &cards, "--bytes", "64"]);
        let t = f(&v, "seconds");
        let bw_term = 2.0 * (n as f64 - 1.0) / n as f64 * 64.0 / GOODPUT;
        assert!(bw_term / t < 0.02, "n={n}: bandwidth term {bw_term} of {t}");
        let per_kernel = f(&v, "reduce.seconds") / f(&v, "reduce.kernels");
        let chain = 2.0 * (n - 1) as f64 * hop + (n - 1) as f64 * per_kernel;
        assert!((t / chain - 1.0).abs() < 1e-9, "n={n}: {t} vs {chain}");
    }
}

#[test]
fn link_payload_rates_follow_coding_and_framing() {
    let v = json(&["allgather", "--cards", "2", "--bytes", "1MiB"]);
    assert_eq!(v["link"]["encoding"], "8b10b");
    assert_eq!(f(&v, "link.coded_bytes_per_s"), 500e6);
    assert!((f(&v, "link.goodput_bytes_per_s") - GOODPUT).abs() < 1e-3);
    // Full frames: the busiest channel delivers exactly the goodput.
    let measured = f(&v, "link.measured_payload_bytes_per_s");
    assert!((measured / GOODPUT - 1.0).abs() < 1e-9, "{measured}");
    assert_eq!(
        f(&v, "link.wire_bytes") - f(&v, "link.payload_bytes"),
        8.0 * f(&v, "link.payload_bytes") / 512.0
    );
    let v = json(&[
        "allgather",
        "--cards",
        "2",
        "--bytes",
        "1MiB",
        "--set",
        "intercard.encoding=64b66b",
    ]);
    let coded = 4.0 * 1.25e9 * 64.0 / 66.0 / 8.0;
    assert!((f(&v, "link.coded_bytes_per_s") - coded).abs() < 1e-3);
    assert!((coded - 606.06e6).abs() < 0.01e6);
    let measured = f(&v, "link.measured_payload_bytes_per_s");
    assert!((measured / (coded * 512.0 / 520.0) - 1.0).abs() < 1e-9);
    // More framing per frame, less payload.
    let v = json(&[
        "allgather",
        "--cards",
        "2",
        "--bytes",
        "1MiB",
        "--set",
        "intercard.frame_overhead=24B",
    ]);
    let goodput = CODED * 512.0 / 536.0;
    assert!((f(&v, "link.goodput_bytes_per_s") - goodput).abs() < 1e-3);
    assert!((f(&v, "link.measured_payload_bytes_per_s") / goodput - 1.0).abs() < 1e-9);
}

#[test]
fn mesh_runs_the_ring_on_its_ring_cables() {
    let ring = json(&["allreduce", "--cards", "4", "--bytes", "64KiB"]);
    let mesh = json(&[
        "allreduce",
        "--cards",
        "4",
        "--bytes",
        "64KiB",
        "--topology",
        "mesh",
    ]);
    assert_eq!(mesh["topology"], "mesh");
    assert_eq!(f(&ring, "seconds"), f(&mesh, "seconds"));
    assert_eq!(f(&mesh, "link.channels_used"), 4.0);
}

#[test]
fn bad_input_is_refused_clearly() {
    for (args, needle) in [
        (vec!["allreduce", "--cards", "0"], "at least 2"),
        (vec!["allsum", "--cards", "2"], "allsum"),
        (vec!["allreduce", "--bytes", "12XB"], "12XB"),
        (
            vec!["allreduce", "--cards", "2", "--bytes", "6"],
            "multiple of 4",
        ),
        (vec!["allreduce", "--cards", "2", "--bytes", "3GiB"], "DDR"),
        (
            vec!["allreduce", "--cards", "2", "--threads", "0"],
            "--threads",
        ),
    ] {
        let mut a = vec!["collective"];
        a.extend_from_slice(&args);
        let out = emulate(&a);
        assert!(!out.status.success(), "{a:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{a:?}: {err}");
        assert!(!err.contains("panicked"), "{a:?}: {err}");
    }
}

#[test]
fn sweeps_can_run_a_collective_in_process() {
    let args: Vec<String> = ["collective", "broadcast", "--cards", "3", "--bytes", "4KiB"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let v = sail_emu::cli::run_json(&args).unwrap();
    let bound = 2.0 * HOP + 4096.0 / GOODPUT;
    assert!((f(&v, "bound_seconds") / bound - 1.0).abs() < 1e-12);
    assert!(f(&v, "seconds") >= bound * (1.0 - 1e-12));
}

#[test]
fn host_threads_do_not_change_any_figure() {
    let mut reports = Vec::new();
    for threads in ["1", "3", "8"] {
        let mut v = json(&[
            "allreduce",
            "--cards",
            "8",
            "--bytes",
            "256KiB",
            "--segment",
            "8KiB",
            "--threads",
            threads,
        ]);
        assert_eq!(v["host"]["threads"].as_u64().unwrap().to_string(), threads);
        v.as_object_mut().unwrap().remove("host");
        // The provenance names the command line, which differs in --threads.
        v.as_object_mut().unwrap().remove("provenance");
        reports.push(v);
    }
    assert!(f(&reports[0], "reduce.cycles") > 0.0);
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
}
