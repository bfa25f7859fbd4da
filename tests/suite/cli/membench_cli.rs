//! `emulate membench` as a user runs it: the figures it prints (JSON) against the design
//! reference and closed forms, the curve file, the trace check, and refusals of bad input.

use crate::support::emulate;

fn json(args: &[&str]) -> serde_json::Value {
    let out = emulate(args);
    assert!(
        out.status.success(),
        "emulate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no number `{key}` in {v}"))
}

#[test]
fn stream_bandwidth_on_both_boards() {
    let x64 = json(&[
        "membench",
        "--pattern",
        "stream",
        "--bytes",
        "8MiB",
        "--json",
    ]);
    let x16 = json(&[
        "membench",
        "--board",
        "innerjib7ea-x16",
        "--pattern",
        "stream",
        "--bytes",
        "8MiB",
        "--json",
    ]);
    let (a, b) = (num(&x64, "bytes_per_s"), num(&x16, "bytes_per_s"));
    // The design reference: 1.5-2.4 GB/s sustained; the 16-bit board about a quarter.
    assert!((1.5e9..=2.4e9).contains(&a), "{a}");
    assert!((0.24..=0.26).contains(&(b / a)), "{}", b / a);
    assert_eq!(num(&x64, "peak_bytes_per_s"), 2.4e9);
    assert_eq!(num(&x16, "peak_bytes_per_s"), 0.6e9);
    // Little's law: 16 requests of 64 bytes in flight at the measured bandwidth.
    let little = 16.0 * 64.0 / a * 1e9;
    let lat = num(&x64, "mean_latency_ns");
    assert!((lat / little - 1.0).abs() < 0.01, "{lat} vs {little}");
    assert_eq!(x64["board"], "innerjib7ea");
    assert_eq!(x64["requests"], 8 * 1024 * 1024 / 64);
}

#[test]
fn chase_latency_is_the_idle_access_latency() {
    // Closed pages, no refresh: every access is front end, ACT, RD, PHY with the burst:
    // 2 + 2 + 26 = 30 DRAM clocks = 200 ns (tests/suite/api/ddr3_figures.rs derives it).
    let v = json(&[
        "membench",
        "--pattern",
        "chase",
        "--bytes",
        "1MiB",
        "--no-refresh",
        "--set",
        "memory.controller.page_policy=closed",
        "--set",
        "memory.controller.read_time=0 cycles",
        "--set",
        "memory.controller.write_time=0 cycles",
        "--json",
    ]);
    let lat = num(&v, "mean_latency_ns");
    assert!((lat - 200.0).abs() < 0.01, "{lat}");
    // One access at a time: bandwidth is 64 bytes per latency.
    let bw = num(&v, "bytes_per_s");
    assert!((bw - 64.0 / (lat * 1e-9)).abs() / bw < 1e-3, "{bw}");
}

#[test]
fn random_runs_with_a_clean_trace_check() {
    for sched in ["in-order", "fr-fcfs"] {
        let v = json(&[
            "membench",
            "--pattern",
            "random",
            "--bytes",
            "2MiB",
            "--check",
            "--set",
            &format!("memory.controller.scheduler={sched}"),
            "--json",
        ]);
        assert_eq!(v["trace_check"]["violations"], 0, "{sched}");
        let reads = v["trace_check"]["reads"].as_f64().unwrap();
        assert_eq!(reads, 2.0 * 1024.0 * 1024.0 / 64.0);
        assert_eq!(v["stats"]["bursts"]["value"].as_f64(), Some(reads));
        let bw = num(&v, "bytes_per_s");
        assert!(bw > 0.5e9 && bw < 2.4e9, "{sched}: {bw}");
    }
    let text = emulate(&[
        "membench",
        "--pattern",
        "random",
        "--bytes",
        "1MiB",
        "--check",
    ]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("no timing violation"), "{text}");
}

#[test]
fn writes_and_overrides_reach_the_model() {
    let rd = json(&["membench", "--bytes", "2MiB", "--json"]);
    let closed = json(&[
        "membench",
        "--bytes",
        "2MiB",
        "--set",
        "memory.controller.page_policy=closed",
        "--set",
        "memory.controller.read_time=0 cycles",
        "--set",
        "memory.controller.write_time=0 cycles",
        "--json",
    ]);
    // Closed pages cost a stream in one bank ACT + tRCD + tRTP + tRP per burst.
    assert!(num(&closed, "bytes_per_s") < 0.5 * num(&rd, "bytes_per_s"));
    let wr = json(&["membench", "--bytes", "2MiB", "--write", "--json"]);
    assert_eq!(wr["access"], "write");
    assert_eq!(
        wr["stats"]["bytes_written"]["value"].as_f64(),
        Some(2097152.0)
    );
    assert!(num(&wr, "bytes_per_s") > 1.5e9);
}

#[test]
fn curve_file_rises_with_offered_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("curve.csv");
    let p = path.to_str().unwrap();
    let v = json(&[
        "membench",
        "--pattern",
        "random",
        "--bytes",
        "1MiB",
        "--curve",
        p,
        "--json",
    ]);
    let points = v["curve_points"].as_u64().unwrap() as usize;
    let csv = std::fs::read_to_string(&path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("offered_fraction,offered_bytes_per_s,achieved_bytes_per_s,mean_latency_ns,max_latency_ns")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    // The fixed loads from 5% to 120% of peak, plus points refined near saturation.
    assert_eq!(rows.len(), points);
    assert!(points >= 12, "{points}");
    // At 5% load the memory keeps up and latency is the idle latency (about 220 ns); past
    // saturation achieved bandwidth stops growing and latency rises to the queue's worth.
    let (low, high) = (&rows[0], &rows[points - 1]);
    // The last load is 1.2x the saturated bandwidth (KNEE_FRACTIONS), wherever that lies.
    assert!(
        (low[0] - 0.05).abs() < 1e-9 && high[1] > 1.15 * high[2],
        "{low:?} {high:?}"
    );
    assert!((low[2] / low[1] - 1.0).abs() < 0.01, "{low:?}");
    assert!(low[3] > 200.0 && low[3] < 300.0, "{low:?}");
    assert!(high[2] < high[1], "{high:?}");
    assert!(high[3] > 1.5 * low[3], "{high:?}");
    for w in rows.windows(2) {
        assert!(w[1][0] > w[0][0], "offered load not increasing: {w:?}");
        assert!(w[1][3] >= w[0][3] * 0.98, "latency falls: {w:?}");
    }
    // Beyond saturation the latency is the steady state's, not the run's length: a footprint
    // four times larger gives the same saturated latency.
    let long_path = dir.path().join("long.csv");
    json(&[
        "membench",
        "--pattern",
        "random",
        "--bytes",
        "4MiB",
        "--curve",
        long_path.to_str().unwrap(),
        "--json",
    ]);
    let long = std::fs::read_to_string(&long_path).unwrap();
    let last: Vec<f64> = long
        .lines()
        .last()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    assert!(
        (last[3] / high[3] - 1.0).abs() < 0.05,
        "{last:?} vs {high:?}"
    );
    // The resolved board is written next to the result.
    let board = std::fs::read_to_string(format!("{p}.board.yaml")).unwrap();
    assert!(board.contains("name: innerjib7ea"));
}

#[test]
fn bad_input_is_refused_with_a_message() {
    for (args, needle) in [
        (
            vec!["membench", "--pattern", "zigzag"],
            "invalid value 'zigzag'",
        ),
        (
            vec!["membench", "--board", "innerjib7ea-x16", "--bytes", "1GiB"],
            "exceeds the DDR capacity",
        ),
        (vec!["membench", "--bytes", "12 parsecs"], "unknown unit"),
        (vec!["membench", "--bytes", "0"], "more than zero"),
        (
            vec!["membench", "--bytes", "1KiB", "--request-bytes", "4096"],
            "--request-bytes",
        ),
        (
            vec!["membench", "--bytes", "1GiB", "--check"],
            "--check records every DRAM command",
        ),
        (
            vec!["membench", "--set", "memory.phy.read_latency=1 cycles"],
            "memory.phy.read_latency",
        ),
        (vec!["membench", "--board", "nosuchboard"], "no board"),
    ] {
        let out = emulate(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
