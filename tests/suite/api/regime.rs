//! Memory regimes: the choice and its numbers, the errors of forced regimes that cannot
//! hold, and the closed forms of each regime at run time: a resident run moves nothing over
//! the host link; streaming W bytes of weights takes at least W / link rate; bytes fetched
//! plus bytes resident equals bytes accessed; kv-swap replaces pages by true LRU.

use sail_emu::config::{load_board, Board};
use sail_emu::link::host::HostLink;
use sail_emu::mem::regime::{
    plan, MemoryModelChoice, Plan, Regime, RegimeError, RegimeParams, RegimeState, RegionId,
    RegionKind, RegionSpec,
};
use sail_emu::units::Time;

fn board(name: &str, sets: &[&str]) -> Board {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load_board(name, &sets).unwrap().board
}

fn region(name: &str, kind: RegionKind, bytes: u64, layer: Option<u32>) -> RegionSpec {
    RegionSpec {
        name: name.into(),
        kind,
        bytes,
        layer,
    }
}

/// A TinyLlama-1.1B-shaped manifest: Q4_K weights (144 bytes per 256), a Q6_K output
/// (210 per 256), an f16 KV cache of `ctx` tokens, f32 activations. About 0.64 GB of weights.
fn tinyllama(ctx: u64) -> Vec<RegionSpec> {
    use RegionKind::*;
    let q4k = |n: u64| n / 256 * 144;
    let mut v = vec![region("token_embd", Weight, q4k(32000 * 2048), None)];
    for l in 0..22u32 {
        let w = |name: &str, n: u64| region(&format!("blk.{l}.{name}"), Weight, q4k(n), Some(l));
        v.push(w("attn_q", 2048 * 2048));
        v.push(w("attn_k", 256 * 2048));
        v.push(w("attn_v", 256 * 2048));
        v.push(w("attn_output", 2048 * 2048));
        v.push(w("ffn_gate", 5632 * 2048));
        v.push(w("ffn_up", 5632 * 2048));
        v.push(w("ffn_down", 5632 * 2048));
        v.push(region(
            &format!("blk.{l}.k_cache"),
            Kv,
            256 * ctx * 2,
            Some(l),
        ));
        v.push(region(
            &format!("blk.{l}.v_cache"),
            Kv,
            256 * ctx * 2,
            Some(l),
        ));
        v.push(region(
            &format!("blk.{l}.ffn_act"),
            Activation,
            5632 * 4,
            Some(l),
        ));
    }
    v.push(region("output", Weight, 32000 * 2048 / 256 * 210, None));
    v.push(region("logits", Activation, 32000 * 4, None));
    v
}

fn weights(regions: &[RegionSpec]) -> u64 {
    regions
        .iter()
        .filter(|r| r.kind == RegionKind::Weight)
        .map(|r| r.bytes)
        .sum()
}

#[test]
fn auto_picks_resident_on_4gib_and_weight_stream_on_512mib() {
    let m = tinyllama(2048);
    let w = weights(&m);
    assert!((600e6..700e6).contains(&(w as f64)), "{w}");
    let big = board("innerjib7ea", &[]);
    let p = plan(MemoryModelChoice::Auto, &m, &RegimeParams::from_board(&big)).unwrap();
    assert_eq!(p.regime, Regime::Resident);
    assert!(
        p.reason.contains("resident (chosen by auto)"),
        "{}",
        p.reason
    );
    assert_eq!(p.footprint.weights, w);
    assert_eq!(p.footprint.kv, 22 * 2 * 256 * 2048 * 2);

    let small = board("innerjib7ea-x16", &[]);
    let p = plan(
        MemoryModelChoice::Auto,
        &m,
        &RegimeParams::from_board(&small),
    )
    .unwrap();
    assert_eq!(p.regime, Regime::WeightStream);
    // The reasons name why the cheaper regimes were passed over.
    assert!(p.reason.contains("not kv-swap"), "{}", p.reason);
    assert!(p.to_string().contains("staging window"), "{p}");
    // The working set: one layer's KV (2 x 1 MiB) and activations (one 64 KiB page) plus
    // the unlayered logits (two 64 KiB pages).
    assert_eq!(p.working_set, 2 * (1 << 20) + 65536 + 2 * 65536);
    assert_eq!(p.working_set_layer, Some(0));
}

#[test]
fn auto_picks_kv_swap_when_weights_and_a_layer_fit() {
    // A long context: 22 x 2 x 256 x 32768 x 2 = 738 MB of KV; weights 0.64 GB fit in 1 GiB.
    let m = tinyllama(32768);
    let b = board("innerjib7ea", &["memory.capacity=1 GiB"]);
    let p = plan(MemoryModelChoice::Auto, &m, &RegimeParams::from_board(&b)).unwrap();
    assert_eq!(p.regime, Regime::KvSwap, "{}", p.reason);
    assert_eq!(p.swap_pool, ((1u64 << 30) - weights(&m)) / 65536 * 65536);
    assert!(p.reason.contains("not resident"), "{}", p.reason);
}

#[test]
fn forced_regimes_that_cannot_hold_say_so_with_the_numbers() {
    let m = tinyllama(2048);
    let small = board("innerjib7ea-x16", &[]);
    let params = RegimeParams::from_board(&small);
    let e = plan(MemoryModelChoice::Resident, &m, &params).unwrap_err();
    let text = e.to_string();
    assert!(matches!(
        e,
        RegimeError::DoesNotFit {
            regime: "resident",
            ..
        }
    ));
    assert!(text.contains("over capacity"), "{text}");
    assert!(text.contains(&format!("({} B)", 512u64 << 20)), "{text}");
    let total: u64 = m.iter().map(|r| r.bytes).sum();
    assert!(text.contains(&format!("({total} B)")), "{text}");
    let e = plan(MemoryModelChoice::KvSwap, &m, &params)
        .unwrap_err()
        .to_string();
    assert!(e.contains("kv-swap") && e.contains("working set"), "{e}");
    // A staging window smaller than the largest weight (the 53.76 MB output matrix).
    let tiny_window = RegimeParams {
        staging_window: 32 << 20,
        ..params
    };
    let e = plan(MemoryModelChoice::WeightStream, &m, &tiny_window)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`output`") && e.contains("staging_window"),
        "{e}"
    );
    // Nothing fits at all.
    let nothing = RegimeParams {
        capacity: 64 << 20,
        ..params
    };
    let e = plan(MemoryModelChoice::Auto, &m, &nothing).unwrap_err();
    assert!(matches!(e, RegimeError::NothingFits(_)), "{e}");
    // Reserved DDR counts against the regions.
    let big = RegimeParams::from_board(&board("innerjib7ea", &[]));
    assert!(plan(MemoryModelChoice::Resident, &m, &big).is_ok());
    assert!(plan(
        MemoryModelChoice::Resident,
        &m,
        &big.with_reserved((4 << 30) - (600 << 20))
    )
    .is_err());
}

/// One decode step: every weight region read whole, in order, with `compute(bytes)` of
/// work after each; each layer's KV appended to (one 64-byte write) and read.
fn decode_step(
    st: &mut RegimeState,
    m: &[RegionSpec],
    start: Time,
    compute: impl Fn(u64) -> Time,
) -> (Time, u64) {
    let mut now = start;
    let mut accessed = 0;
    for (i, r) in m.iter().enumerate() {
        let id = RegionId(i as u32);
        match r.kind {
            RegionKind::Weight => {
                now = st.touch(id, 0, r.bytes, false, now).unwrap() + compute(r.bytes);
                accessed += r.bytes;
            }
            RegionKind::Kv => {
                now = st.touch(id, 0, 64, true, now).unwrap();
                now = st.touch(id, 0, r.bytes, false, now).unwrap();
                accessed += 64 + r.bytes;
            }
            RegionKind::Activation => {
                now = st.touch(id, 0, r.bytes, true, now).unwrap();
                accessed += r.bytes;
            }
        }
    }
    (now, accessed)
}

#[test]
fn resident_moves_nothing_over_the_host_link() {
    let m = tinyllama(2048);
    let b = board("innerjib7ea", &[]);
    let p = plan(
        MemoryModelChoice::Resident,
        &m,
        &RegimeParams::from_board(&b),
    )
    .unwrap();
    let mut st = RegimeState::new(&p, &m, &b.host_link).unwrap();
    let (end, accessed) = decode_step(&mut st, &m, Time(5), |_| Time::ZERO);
    assert_eq!(end, Time(5));
    assert_eq!(st.link_bytes(), (0, 0));
    let s = st.stats();
    assert_eq!(s.get("regime.bytes_resident"), Some(accessed as f64));
    assert_eq!(s.get("regime.bytes_fetched"), Some(0.0));
    assert_eq!(s.get("regime.bytes_accessed"), Some(accessed as f64));
    assert_eq!(s.get("regime.stall_time"), Some(0.0));
    assert_eq!(s.get("host_link.to_card.transfers"), Some(0.0));
}

fn stream_state(b: &Board, m: &[RegionSpec], depth: u32) -> (Plan, RegimeState) {
    let params = RegimeParams {
        prefetch_depth: depth,
        ..RegimeParams::from_board(b)
    };
    let p = plan(MemoryModelChoice::WeightStream, m, &params).unwrap();
    let st = RegimeState::new(&p, m, &b.host_link).unwrap();
    (p, st)
}

#[test]
fn streaming_w_bytes_takes_at_least_w_over_the_link_rate() {
    let m = tinyllama(2048);
    let b = board("innerjib7ea-x16", &[]);
    let w = weights(&m);
    let rate = b.host_link.effective_bytes_per_s();
    let link = HostLink::new(&b.host_link);
    for depth in [0, 2, 8] {
        let (_, mut st) = stream_state(&b, &m, depth);
        let (end, accessed) = decode_step(&mut st, &m, Time::ZERO, |_| Time::ZERO);
        let floor = w as f64 / rate;
        assert!(
            end.secs() >= floor,
            "depth {depth}: {} < {floor}",
            end.secs()
        );
        // With no compute the link never idles after the first request: the run is the
        // weights' wire time plus one latency per demand fetch at most.
        let demand = st.stats().get("regime.demand_fetches").unwrap();
        let bound = link.wire_time(w).secs() * 1.001 + demand * link.latency().secs();
        assert!(
            end.secs() <= bound,
            "depth {depth}: {} > {bound}",
            end.secs()
        );
        // Conservation: every weight byte crossed the link once for this step, the rest was
        // resident. The link may also carry the next step's first weights (prefetched at the
        // end of this one), at most `depth` regions.
        let (to_card, to_host) = st.link_bytes();
        assert_eq!(to_host, 0);
        let largest = m.iter().map(|r| r.bytes).max().unwrap();
        assert!(
            to_card >= w && to_card <= w + depth as u64 * largest,
            "{to_card}"
        );
        let s = st.stats();
        assert_eq!(s.get("regime.bytes_fetched"), Some(w as f64));
        assert_eq!(
            s.get("regime.bytes_fetched").unwrap() + s.get("regime.bytes_resident").unwrap(),
            accessed as f64
        );
        assert_eq!(s.get("regime.bytes_accessed"), Some(accessed as f64));
    }
}

#[test]
fn prefetch_overlaps_streaming_with_compute() {
    let m = tinyllama(2048);
    let b = board("innerjib7ea-x16", &[]);
    let link = HostLink::new(&b.host_link);
    let w = weights(&m);
    let stream_time = link.wire_time(w);
    // Compute on each weight takes exactly as long as streaming it.
    let compute = |bytes: u64| link.wire_time(bytes);
    let (_, mut none) = stream_state(&b, &m, 0);
    let (serial, _) = decode_step(&mut none, &m, Time::ZERO, compute);
    // Deep prefetch (window-limited) hides all compute but the last tensor's: the stream
    // time plus the output matrix's compute (the ideal overlap), give or take latencies.
    let (_, mut ahead) = stream_state(&b, &m, 16);
    let (overlapped, _) = decode_step(&mut ahead, &m, Time::ZERO, compute);
    let last = m
        .iter()
        .rfind(|r| r.kind == RegionKind::Weight)
        .unwrap()
        .bytes;
    let ideal = stream_time + link.wire_time(last);
    assert!(overlapped >= ideal, "{overlapped:?} < {ideal:?}");
    assert!(
        overlapped <= ideal + link.latency() * 4,
        "{overlapped:?} vs {ideal:?}"
    );
    // Shallow prefetch sits in between: the link idles behind large tensors.
    let (_, mut shallow) = stream_state(&b, &m, 2);
    let (between, _) = decode_step(&mut shallow, &m, Time::ZERO, compute);
    assert!(between > overlapped && between < serial, "{between:?}");
    let s = ahead.stats();
    assert!(s.get("regime.prefetches").unwrap() > 100.0);
    assert!(s.get("regime.stall_time").unwrap() < none.stats().get("regime.stall_time").unwrap());
    // A second step streams everything again (the window holds no weights across steps):
    // exactly twice the weights have been consumed.
    let (_, _) = decode_step(&mut ahead, &m, overlapped, compute);
    assert_eq!(
        ahead.stats().get("regime.bytes_fetched"),
        Some(2.0 * w as f64)
    );
    assert!(ahead.link_bytes().0 >= 2 * w);
}

#[test]
fn weights_arrive_frame_by_frame() {
    let m = vec![region("w", RegionKind::Weight, 1472 * 1000, None)];
    let b = board("innerjib7ea", &[]);
    let (_, mut st) = stream_state(&b, &m, 2);
    let link = HostLink::new(&b.host_link);
    let first = st.touch(RegionId(0), 0, 1472, false, Time::ZERO).unwrap();
    assert_eq!(first, link.wire_time(1472) + link.latency());
    let all = st
        .touch(RegionId(0), 0, 1472 * 1000, false, Time::ZERO)
        .unwrap();
    assert_eq!(all, link.wire_time(1472 * 1000) + link.latency());
    // The second touch re-read the first frame: 1472 bytes resident, the rest fetched.
    let s = st.stats();
    assert_eq!(s.get("regime.bytes_resident"), Some(1472.0));
    assert_eq!(s.get("regime.bytes_fetched"), Some(1472.0 * 1000.0));
}

fn kv_state(pool_pages: u64) -> (Board, Vec<RegionSpec>, RegimeState) {
    let b = board("innerjib7ea", &[]);
    let page = b.memory.regimes.page_size.bytes();
    // Weights fill DDR but for `pool_pages` pages; one KV region of 8 pages.
    let cap = b.memory.capacity.bytes();
    let m = vec![
        region("w", RegionKind::Weight, cap - pool_pages * page, None),
        region("kv", RegionKind::Kv, 8 * page, Some(0)),
    ];
    let p = plan(MemoryModelChoice::KvSwap, &m, &RegimeParams::from_board(&b)).unwrap();
    assert_eq!(p.swap_pool, pool_pages * page);
    let st = RegimeState::new(&p, &m, &b.host_link).unwrap();
    (b, m, st)
}

#[test]
fn kv_swap_fresh_pages_need_no_transfer() {
    // The working set of the KV region is 8 pages: kv-swap needs a pool of 8.
    let (b, _, mut st) = kv_state(8);
    let page = b.memory.regimes.page_size.bytes();
    let kv = RegionId(1);
    let touch = |st: &mut RegimeState, p: u64, write: bool| {
        st.touch(kv, p * page, page, write, Time::ZERO).unwrap()
    };
    // Write all 8 pages: never written before, they have no copy to fetch.
    for p in 0..8 {
        assert_eq!(touch(&mut st, p, true), Time::ZERO);
    }
    assert_eq!(st.link_bytes(), (0, 0));
    // The pool is full and every page is resident: a hit.
    touch(&mut st, 0, false);
    let s = st.stats();
    assert_eq!(s.get("regime.evictions"), Some(0.0));
    assert_eq!(s.get("regime.hits"), Some(1.0));
}

#[test]
fn kv_swap_lru_order_fetches_and_writebacks() {
    // A pool of 8 pages; three layers of 4 KV pages each (working set 4 pages).
    let b = board("innerjib7ea", &[]);
    let page = b.memory.regimes.page_size.bytes();
    let cap = b.memory.capacity.bytes();
    let m = vec![
        region("w", RegionKind::Weight, cap - 8 * page, None),
        region("kv0", RegionKind::Kv, 4 * page, Some(0)),
        region("kv1", RegionKind::Kv, 4 * page, Some(1)),
        region("kv2", RegionKind::Kv, 4 * page, Some(2)),
    ];
    let p = plan(MemoryModelChoice::KvSwap, &m, &RegimeParams::from_board(&b)).unwrap();
    assert_eq!(p.working_set, 4 * page);
    let mut st = RegimeState::new(&p, &m, &b.host_link).unwrap();
    let link = HostLink::new(&b.host_link);
    let pg = |st: &mut RegimeState, r: u32, i: u64, write: bool, now: Time| {
        st.touch(RegionId(r), i * page, page, write, now).unwrap()
    };
    // Fill the pool: kv0 pages 0..4 written, kv1 pages 0..4 written (8 frames).
    for i in 0..4 {
        pg(&mut st, 1, i, true, Time::ZERO);
        pg(&mut st, 2, i, true, Time::ZERO);
    }
    // Touch kv0 page 0 again: it becomes the most recent; kv1 page 0 is now the LRU.
    pg(&mut st, 1, 0, false, Time::ZERO);
    // A new page (kv2 page 0, fresh write) evicts the LRU: kv1 page 0, dirty -> written back.
    let t = pg(&mut st, 3, 0, true, Time::ZERO);
    assert_eq!(st.link_bytes(), (0, page));
    // The fresh page may use the frame once the write-back has left it.
    assert_eq!(t, link.wire_time(page));
    // kv0 page 0 is still resident (it was used after kv1 page 0): a hit.
    let before = st.stats().get("regime.evictions").unwrap();
    pg(&mut st, 1, 0, false, t);
    assert_eq!(st.stats().get("regime.evictions").unwrap(), before);
    // kv1 page 0 comes back over the link: a fetch of one page, evicting the LRU (kv0
    // page 1, dirty: another write-back).
    let back = pg(&mut st, 2, 0, false, t);
    assert_eq!(st.link_bytes(), (page, 2 * page));
    assert!(back >= t + link.wire_time(page) + link.latency());
    let s = st.stats();
    assert_eq!(s.get("regime.writebacks"), Some(2.0));
    assert_eq!(s.get("regime.evictions"), Some(2.0));
    assert_eq!(s.get("regime.demand_fetches"), Some(1.0));
    // Conservation with page-sized touches: fetched bytes are exactly the fetches' payload.
    assert_eq!(s.get("regime.bytes_fetched"), Some(page as f64));
    assert_eq!(
        s.get("regime.bytes_fetched").unwrap() + s.get("regime.bytes_resident").unwrap(),
        s.get("regime.bytes_accessed").unwrap()
    );
    assert!(s.get("regime.stall_time").unwrap() > 0.0);
    // The weights are pinned: touching them moves nothing.
    let before = st.link_bytes();
    assert_eq!(
        st.touch(RegionId(0), 0, 1 << 20, false, Time(7)).unwrap(),
        Time(7)
    );
    assert_eq!(st.link_bytes(), before);
}

#[test]
fn kv_swap_cyclic_sweep_larger_than_the_pool_misses_every_time() {
    // LRU's signature: sweeping N > pool pages in a cycle misses on every access.
    let b = board("innerjib7ea", &[]);
    let page = b.memory.regimes.page_size.bytes();
    let cap = b.memory.capacity.bytes();
    let m = vec![
        region("w", RegionKind::Weight, cap - 4 * page, None),
        region("a", RegionKind::Activation, 2 * page, Some(0)),
        region("b", RegionKind::Activation, 2 * page, Some(0)),
        region("c", RegionKind::Activation, 2 * page, Some(1)),
    ];
    let p = plan(MemoryModelChoice::KvSwap, &m, &RegimeParams::from_board(&b)).unwrap();
    let mut st = RegimeState::new(&p, &m, &b.host_link).unwrap();
    let mut now = Time::ZERO;
    for round in 0..5 {
        for r in 1..=3u32 {
            now = st.touch(RegionId(r), 0, 2 * page, round == 0, now).unwrap();
        }
    }
    let s = st.stats();
    // 3 regions x 5 rounds, all misses (the first round allocates, later rounds fetch).
    assert_eq!(s.get("regime.misses"), Some(15.0));
    assert_eq!(s.get("regime.hits"), Some(0.0));
    // Rounds 1-4 fetch 2 pages per access.
    assert_eq!(st.link_bytes().0, 4 * 3 * 2 * page);
    // Each page written in round 0 is written back once, later evictions are clean.
    assert_eq!(st.link_bytes().1, 3 * 2 * page);
}

#[test]
fn bad_accesses_are_errors() {
    let m = tinyllama(2048);
    let b = board("innerjib7ea", &[]);
    let p = plan(MemoryModelChoice::Auto, &m, &RegimeParams::from_board(&b)).unwrap();
    let mut st = RegimeState::new(&p, &m, &b.host_link).unwrap();
    let e = st
        .touch(RegionId(0), m[0].bytes - 10, 11, false, Time::ZERO)
        .unwrap_err();
    assert!(e.to_string().contains("token_embd"), "{e}");
    assert!(st.touch(RegionId(9999), 0, 1, false, Time::ZERO).is_err());
    assert!(RegimeState::new(&p, &m[1..], &b.host_link).is_err());
}

#[test]
fn choice_parses_from_its_name() {
    for (text, want) in [
        ("auto", MemoryModelChoice::Auto),
        ("resident", MemoryModelChoice::Resident),
        ("kv-swap", MemoryModelChoice::KvSwap),
        ("weight-stream", MemoryModelChoice::WeightStream),
    ] {
        assert_eq!(text.parse::<MemoryModelChoice>(), Ok(want));
        assert_eq!(want.name(), text);
    }
    let err = "swap".parse::<MemoryModelChoice>().unwrap_err();
    assert!(
        err.contains("`swap`") && err.contains("weight-stream"),
        "{err}"
    );
    assert_eq!(MemoryModelChoice::ALL.len(), 4);
}
