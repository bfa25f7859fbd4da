//! Memory regimes: where a model's data lives when DDR is too small to hold it all, and what
//! moving it over the host link costs.
//!
//! The workload gives the regions of its manifest ([`RegionSpec`]: name, kind, bytes, layer).
//! [`plan`] chooses a [`Regime`] (or checks the forced one) and reports the numbers behind the
//! choice; [`RegimeState`] then answers, for every tensor access the graph runner makes, when
//! the data is in DDR ([`RegimeState::touch`]), moving pages and weights over one shared
//! [`HostLink`] (one resource per direction).
//!
//! - **resident**: everything in DDR. A footprint over capacity is an error.
//! - **kv-swap**: weights pinned in DDR. KV and activation data share the rest of DDR (the
//!   swap pool) in pages of `memory.regimes.page_size`, replaced by true LRU. A page that has
//!   never been written has no copy anywhere and is allocated without a transfer; a page
//!   evicted dirty is written back to the host (card-to-host direction); a later access to it
//!   fetches it again (host-to-card). A write that covers a whole page does not fetch it.
//! - **weight-stream**: KV and activations resident; weights live in host memory and stream
//!   into a DDR staging window of `memory.regimes.staging_window` bytes, one transfer per
//!   weight region, in the order the graph uses them (the region list's order unless the
//!   runner gives another; cyclic: after the last comes the first of the next step). When a weight region is touched, up to
//!   `memory.regimes.prefetch_depth` following regions are requested (as the window's space
//!   allows), so their transfer overlaps the compute on the current one. A region's space is
//!   released when a later region is touched. Data is usable frame by frame as it arrives. A
//!   weight touched while not staged is fetched on demand (the stage is flushed first).
//! - **auto**: resident if everything fits; else kv-swap if the weights and the working set
//!   fit; else weight-stream.
//!
//! The working set (the kv-swap test) is the largest, over layers, of the KV and activation
//! pages of one layer, plus the pages of KV and activation regions that belong to no layer:
//! what one layer's step needs resident at once.

use crate::config::{Board, HostLinkConfig};
use crate::link::host::{Direction, HostLink, Transfer};
use crate::stats::Stats;
use crate::stats::Unit;
use crate::units::Time;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// What a region holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    /// Model weights (read-only during inference).
    Weight,
    /// The attention key/value cache.
    Kv,
    /// Intermediate tensors.
    Activation,
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionKind::Weight => "weight",
            RegionKind::Kv => "kv",
            RegionKind::Activation => "activation",
        })
    }
}

/// One region of a manifest, as the regimes need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionSpec {
    /// Tensor name (for messages).
    pub name: String,
    /// What it holds.
    pub kind: RegionKind,
    /// Size.
    pub bytes: u64,
    /// The transformer layer it belongs to, if any.
    pub layer: Option<u32>,
}

/// A region, by its index in the list given to [`plan`] and [`RegimeState::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(pub u32);

/// The regime asked for: one of the three, or `auto` to let [`plan`] choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryModelChoice {
    /// Resident if it fits, else kv-swap if the weights and a working set fit, else
    /// weight-stream.
    #[default]
    Auto,
    /// Everything in DDR.
    Resident,
    /// Weights pinned; KV and activations paged over the host link.
    KvSwap,
    /// Weights streamed over the host link into a staging window.
    WeightStream,
}

impl MemoryModelChoice {
    /// Every choice, in the order a user is shown them.
    pub const ALL: [MemoryModelChoice; 4] = [
        MemoryModelChoice::Auto,
        MemoryModelChoice::Resident,
        MemoryModelChoice::KvSwap,
        MemoryModelChoice::WeightStream,
    ];

    /// The choice's name (`auto`, `resident`, `kv-swap`, `weight-stream`).
    pub fn name(self) -> &'static str {
        match self {
            MemoryModelChoice::Auto => "auto",
            MemoryModelChoice::Resident => "resident",
            MemoryModelChoice::KvSwap => "kv-swap",
            MemoryModelChoice::WeightStream => "weight-stream",
        }
    }
}

impl std::str::FromStr for MemoryModelChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.name()).collect();
                format!(
                    "unknown memory regime `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// The regime a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Regime {
    /// Everything in DDR.
    Resident,
    /// Weights pinned; KV and activations paged.
    KvSwap,
    /// Weights streamed.
    WeightStream,
}

impl Regime {
    /// Name as on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Regime::Resident => "resident",
            Regime::KvSwap => "kv-swap",
            Regime::WeightStream => "weight-stream",
        }
    }
}

/// The figures a plan is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RegimeParams {
    /// DDR capacity.
    pub capacity: u64,
    /// DDR kept for other uses (program images, stacks); not available to regions.
    pub reserved: u64,
    /// kv-swap page size (a power of two).
    pub page_size: u64,
    /// weight-stream staging window.
    pub staging_window: u64,
    /// weight-stream prefetch depth, in regions.
    pub prefetch_depth: u32,
}

impl RegimeParams {
    /// The board's figures (`memory.capacity`, `memory.regimes.*`), nothing reserved.
    pub fn from_board(board: &Board) -> Self {
        let r = &board.memory.regimes;
        Self {
            capacity: board.memory.capacity.bytes(),
            reserved: 0,
            page_size: r.page_size.bytes(),
            staging_window: r.staging_window.bytes(),
            prefetch_depth: r.prefetch_depth,
        }
    }

    /// Keeps `bytes` of DDR out of the regions' reach.
    pub fn with_reserved(mut self, bytes: u64) -> Self {
        self.reserved = bytes;
        self
    }

    fn usable(&self) -> u64 {
        self.capacity.saturating_sub(self.reserved)
    }
}

/// Bytes by region kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Footprint {
    /// Weight bytes.
    pub weights: u64,
    /// KV cache bytes.
    pub kv: u64,
    /// Activation bytes.
    pub activations: u64,
}

impl Footprint {
    /// Everything.
    pub fn total(&self) -> u64 {
        self.weights + self.kv + self.activations
    }
}

/// The regime chosen and the numbers behind the choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The regime the run uses.
    pub regime: Regime,
    /// What was asked for.
    pub choice: MemoryModelChoice,
    /// One sentence: why this regime.
    pub reason: String,
    /// Bytes by kind.
    pub footprint: Footprint,
    /// DDR the regions may use (capacity minus reserved).
    pub capacity: u64,
    /// The kv-swap working set (page-rounded), see the module docs.
    pub working_set: u64,
    /// The layer whose step needs the largest working set (None: no layered regions).
    pub working_set_layer: Option<u32>,
    /// kv-swap: DDR left for KV and activation pages once the weights are pinned.
    pub swap_pool: u64,
    /// kv-swap page size.
    pub page_size: u64,
    /// weight-stream: the DDR staging window.
    pub staging_window: u64,
    /// weight-stream: regions fetched ahead.
    pub prefetch_depth: u32,
    /// The largest weight region (it must fit the staging window).
    pub largest_weight: u64,
}

/// Why a plan or an access failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegimeError {
    /// The forced regime cannot hold the manifest.
    #[error("the {regime} memory regime was asked for and cannot hold this: {message}")]
    DoesNotFit {
        /// The regime asked for.
        regime: &'static str,
        /// The numbers.
        message: String,
    },
    /// No regime can hold the manifest.
    #[error("no memory regime can hold this manifest: {0}")]
    NothingFits(String),
    /// A region id beyond the region list.
    #[error("no region {0} (the manifest has {1})")]
    UnknownRegion(u32, usize),
    /// An access outside its region.
    #[error("access of {len} bytes at offset {offset} is outside region `{name}` ({bytes} bytes)")]
    OutOfRegion {
        /// Region name.
        name: String,
        /// Offset of the access.
        offset: u64,
        /// Length of the access.
        len: u64,
        /// Region size.
        bytes: u64,
    },
    /// The region list differs from the one the plan was made for.
    #[error("the regions differ from the planned ones: {0}")]
    RegionMismatch(String),
    /// One access needs more swap pages than the pool has.
    #[error("an access to `{name}` needs {pages} pages at once; the swap pool has {pool}")]
    AccessTooLarge {
        /// Region name.
        name: String,
        /// Pages the access spans.
        pages: u64,
        /// Pages in the pool.
        pool: u64,
    },
}

/// Human size: decimal MB/GB with the exact byte count.
fn size(b: u64) -> String {
    if b >= 1_000_000_000 {
        format!("{:.3} GB ({b} B)", b as f64 / 1e9)
    } else if b >= 1_000_000 {
        format!("{:.3} MB ({b} B)", b as f64 / 1e6)
    } else {
        format!("{b} B")
    }
}

/// Pages of `bytes` bytes, rounded up.
fn pages(bytes: u64, page: u64) -> u64 {
    bytes.div_ceil(page)
}

/// Bytes by kind, the largest weight, and the working set (page-rounded) with its layer.
fn measure(regions: &[RegionSpec], page: u64) -> (Footprint, u64, u64, Option<u32>) {
    let mut f = Footprint::default();
    let mut largest = 0;
    let mut unlayered_pages = 0;
    let mut per_layer: BTreeMap<u32, u64> = BTreeMap::new();
    for r in regions {
        match r.kind {
            RegionKind::Weight => {
                f.weights += r.bytes;
                largest = largest.max(r.bytes);
            }
            RegionKind::Kv | RegionKind::Activation => {
                if r.kind == RegionKind::Kv {
                    f.kv += r.bytes;
                } else {
                    f.activations += r.bytes;
                }
                match r.layer {
                    Some(l) => *per_layer.entry(l).or_default() += pages(r.bytes, page),
                    None => unlayered_pages += pages(r.bytes, page),
                }
            }
        }
    }
    // The first layer with the most pages (BTreeMap order: deterministic).
    let (layer, layer_pages) =
        per_layer.iter().fold(
            (None, 0),
            |(bl, bp), (&l, &p)| {
                if p > bp {
                    (Some(l), p)
                } else {
                    (bl, bp)
                }
            },
        );
    (f, largest, (layer_pages + unlayered_pages) * page, layer)
}

/// Chooses the regime for `regions` (or checks the forced `choice`) on DDR described by
/// `params`.
pub fn plan(
    choice: MemoryModelChoice,
    regions: &[RegionSpec],
    params: &RegimeParams,
) -> Result<Plan, RegimeError> {
    let page = params.page_size.max(1);
    let (footprint, largest_weight, working_set, working_set_layer) = measure(regions, page);
    let cap = params.usable();
    let f = footprint;
    let swap_pool = cap.saturating_sub(f.weights) / page * page;
    let resident_text = || {
        format!(
            "the manifest needs {} (weights {} + kv {} + activations {}) and DDR holds {}",
            size(f.total()),
            size(f.weights),
            size(f.kv),
            size(f.activations),
            size(cap)
        )
    };
    let resident_fits = f.total() <= cap;
    let kv_swap_fits = f.weights + working_set <= cap;
    let kv_swap_text = || {
        format!(
            "weights {} + working set {} ({}) = {} against DDR {}",
            size(f.weights),
            size(working_set),
            match working_set_layer {
                Some(l) => format!("layer {l} plus unlayered KV and activations"),
                None => "unlayered KV and activations".to_string(),
            },
            size(f.weights + working_set),
            size(cap)
        )
    };
    let stream_need = f.kv + f.activations + params.staging_window;
    let stream_fits = stream_need <= cap && largest_weight <= params.staging_window;
    let stream_text = || {
        if largest_weight > params.staging_window {
            let name = regions
                .iter()
                .filter(|r| r.kind == RegionKind::Weight)
                .max_by_key(|r| r.bytes)
                .map(|r| r.name.as_str())
                .unwrap_or("");
            format!(
                "weight region `{name}` ({}) does not fit the staging window {} (memory.regimes.staging_window)",
                size(largest_weight),
                size(params.staging_window)
            )
        } else {
            format!(
                "kv {} + activations {} + staging window {} = {} against DDR {}",
                size(f.kv),
                size(f.activations),
                size(params.staging_window),
                size(stream_need),
                size(cap)
            )
        }
    };
    let base = |regime: Regime, reason: String| Plan {
        regime,
        choice,
        reason,
        footprint: f,
        capacity: cap,
        working_set,
        working_set_layer,
        swap_pool,
        page_size: page,
        staging_window: params.staging_window,
        prefetch_depth: params.prefetch_depth,
        largest_weight,
    };
    let how = if choice == MemoryModelChoice::Auto {
        "chosen by auto"
    } else {
        "forced"
    };
    let resident = || {
        base(
            Regime::Resident,
            format!(
                "resident ({}): {} fits in DDR {}",
                how,
                size(f.total()),
                size(cap)
            ),
        )
    };
    let kv_swap = || {
        base(
            Regime::KvSwap,
            format!(
                "kv-swap ({}): {}; {} of {}-byte pages for KV and activations",
                how,
                kv_swap_text(),
                size(swap_pool),
                page
            ),
        )
    };
    let stream = || {
        base(
            Regime::WeightStream,
            format!(
                "weight-stream ({}): {}; weights {} stream over the host link",
                how,
                stream_text(),
                size(f.weights)
            ),
        )
    };
    let refuse =
        |regime: &'static str, message: String| RegimeError::DoesNotFit { regime, message };
    match choice {
        MemoryModelChoice::Resident if resident_fits => Ok(resident()),
        MemoryModelChoice::Resident => Err(refuse(
            "resident",
            format!(
                "{}: {} over capacity",
                resident_text(),
                size(f.total() - cap)
            ),
        )),
        MemoryModelChoice::KvSwap if kv_swap_fits => Ok(kv_swap()),
        MemoryModelChoice::KvSwap => Err(refuse(
            "kv-swap",
            format!(
                "{}: the weights and one layer's KV and activations do not fit",
                kv_swap_text()
            ),
        )),
        MemoryModelChoice::WeightStream if stream_fits => Ok(stream()),
        MemoryModelChoice::WeightStream => Err(refuse("weight-stream", stream_text())),
        MemoryModelChoice::Auto => {
            if resident_fits {
                Ok(resident())
            } else if kv_swap_fits {
                let mut p = kv_swap();
                p.reason = format!("{} (not resident: {})", p.reason, resident_text());
                Ok(p)
            } else if stream_fits {
                let mut p = stream();
                p.reason = format!("{} (not kv-swap: {})", p.reason, kv_swap_text());
                Ok(p)
            } else {
                Err(RegimeError::NothingFits(format!(
                    "resident: {}; kv-swap: {}; weight-stream: {}",
                    resident_text(),
                    kv_swap_text(),
                    stream_text()
                )))
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "memory regime: {}", self.reason)?;
        writeln!(
            f,
            "  footprint: weights {}, kv {}, activations {}, total {}",
            size(self.footprint.weights),
            size(self.footprint.kv),
            size(self.footprint.activations),
            size(self.footprint.total())
        )?;
        writeln!(f, "  DDR for regions: {}", size(self.capacity))?;
        match self.regime {
            Regime::Resident => Ok(()),
            Regime::KvSwap => writeln!(
                f,
                "  working set {}, swap pool {}, page {} B",
                size(self.working_set),
                size(self.swap_pool),
                self.page_size
            ),
            Regime::WeightStream => writeln!(
                f,
                "  staging window {}, prefetch depth {}, largest weight {}",
                size(self.staging_window),
                self.prefetch_depth,
                size(self.largest_weight)
            ),
        }
    }
}

/// Where a kv-swap page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageLoc {
    /// Never written: no copy anywhere.
    Untouched,
    /// In a DDR frame.
    Ddr,
    /// Only in host memory.
    Host,
}

#[derive(Debug, Clone, Copy)]
struct Page {
    loc: PageLoc,
    dirty: bool,
    /// The host holds a current copy (fetched from it, or written back, and clean since).
    host_copy: bool,
    stamp: u64,
    /// When the page's data is in its frame.
    ready: Time,
}

const NEW_PAGE: Page = Page {
    loc: PageLoc::Untouched,
    dirty: false,
    host_copy: false,
    stamp: 0,
    ready: Time::ZERO,
};

#[derive(Debug, Clone)]
struct KvSwap {
    page: u64,
    pool_pages: u64,
    /// Per region, its pages (empty for weight regions).
    pages: Vec<Vec<Page>>,
    /// Resident pages by last use.
    lru: BTreeMap<u64, (u32, u64)>,
    clock: u64,
}

#[derive(Debug, Clone, Copy)]
struct Staged {
    region: u32,
    transfer: Transfer,
    /// Bytes of the staged copy consumed so far (from offset 0), for the fetched/resident
    /// split.
    consumed: u64,
}

#[derive(Debug, Clone)]
struct WeightStream {
    window: u64,
    depth: u32,
    /// Weight regions in use order.
    order: Vec<u32>,
    /// Position of each region in `order` (None: not a weight).
    position: Vec<Option<usize>>,
    /// In use first, then the prefetched ones, in order.
    staged: VecDeque<Staged>,
    occupied: u64,
}

#[derive(Debug, Clone)]
enum Mode {
    Resident,
    KvSwap(KvSwap),
    WeightStream(WeightStream),
}

#[derive(Debug, Clone, Default)]
struct Counters {
    touches: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
    writebacks: u64,
    prefetches: u64,
    demand_fetches: u64,
    bytes_accessed: u64,
    bytes_fetched: u64,
    bytes_resident: u64,
    stall: Time,
}

/// A run's regime at work: call [`touch`](Self::touch) for every tensor access.
#[derive(Debug, Clone)]
pub struct RegimeState {
    regions: Vec<RegionSpec>,
    regime: Regime,
    mode: Mode,
    link: HostLink,
    c: Counters,
}

impl RegimeState {
    /// The state for `plan`, made from exactly these `regions`, moving data over a host link
    /// with `link`'s figures.
    pub fn new(
        plan: &Plan,
        regions: &[RegionSpec],
        link: &HostLinkConfig,
    ) -> Result<Self, RegimeError> {
        let (f, ..) = measure(regions, plan.page_size);
        if f != plan.footprint {
            return Err(RegimeError::RegionMismatch(format!(
                "planned {:?}, given {:?}",
                plan.footprint, f
            )));
        }
        let mode = match plan.regime {
            Regime::Resident => Mode::Resident,
            Regime::KvSwap => Mode::KvSwap(KvSwap {
                page: plan.page_size,
                pool_pages: plan.swap_pool / plan.page_size,
                pages: regions
                    .iter()
                    .map(|r| match r.kind {
                        RegionKind::Weight => Vec::new(),
                        _ => vec![NEW_PAGE; pages(r.bytes, plan.page_size) as usize],
                    })
                    .collect(),
                lru: BTreeMap::new(),
                clock: 0,
            }),
            Regime::WeightStream => {
                // Default use order: as listed (a manifest lists tensors in graph order);
                // `set_weight_order` gives the exact one.
                let order: Vec<u32> = (0..regions.len() as u32)
                    .filter(|&i| regions[i as usize].kind == RegionKind::Weight)
                    .collect();
                let mut ws = WeightStream {
                    window: plan.staging_window,
                    depth: plan.prefetch_depth,
                    order: Vec::new(),
                    position: Vec::new(),
                    staged: VecDeque::new(),
                    occupied: 0,
                };
                ws.set_order(order, regions.len());
                Mode::WeightStream(ws)
            }
        };
        Ok(Self {
            regions: regions.to_vec(),
            regime: plan.regime,
            mode,
            link: HostLink::new(link),
            c: Counters::default(),
        })
    }

    /// weight-stream: the order the graph uses the weight regions in (one step; it repeats).
    /// Weight regions left out are fetched on demand when touched. Ignored by other regimes.
    pub fn set_weight_order(&mut self, order: &[RegionId]) -> Result<(), RegimeError> {
        for id in order {
            let r = self.region(*id)?;
            if r.kind != RegionKind::Weight {
                return Err(RegimeError::RegionMismatch(format!(
                    "`{}` is not a weight region",
                    r.name
                )));
            }
        }
        let n = self.regions.len();
        if let Mode::WeightStream(ws) = &mut self.mode {
            ws.set_order(order.iter().map(|r| r.0).collect(), n);
        }
        Ok(())
    }

    /// The regime in force.
    pub fn regime(&self) -> Regime {
        self.regime
    }

    /// The host link (shared with any other host traffic of the card).
    pub fn link(&self) -> &HostLink {
        &self.link
    }

    /// The host link, to put other host traffic on the same resource.
    pub fn link_mut(&mut self) -> &mut HostLink {
        &mut self.link
    }

    fn region(&self, id: RegionId) -> Result<&RegionSpec, RegimeError> {
        self.regions
            .get(id.0 as usize)
            .ok_or(RegimeError::UnknownRegion(id.0, self.regions.len()))
    }

    /// The runner accesses `len` bytes at `offset` of region `id` at time `now`; returns when
    /// those bytes are in DDR (never before `now`). Moves pages or weights over the host link
    /// as the regime requires.
    pub fn touch(
        &mut self,
        id: RegionId,
        offset: u64,
        len: u64,
        write: bool,
        now: Time,
    ) -> Result<Time, RegimeError> {
        let r = self.region(id)?;
        if offset.checked_add(len).is_none_or(|end| end > r.bytes) {
            return Err(RegimeError::OutOfRegion {
                name: r.name.clone(),
                offset,
                len,
                bytes: r.bytes,
            });
        }
        let kind = r.kind;
        self.c.touches += 1;
        self.c.bytes_accessed += len;
        let ready = match &mut self.mode {
            Mode::Resident => None,
            Mode::KvSwap(_) if kind == RegionKind::Weight => None,
            Mode::WeightStream(_) if kind != RegionKind::Weight => None,
            Mode::KvSwap(kv) => Some(kv.touch(
                id.0,
                &self.regions[id.0 as usize],
                offset,
                len,
                write,
                now,
                &mut self.link,
                &mut self.c,
            )?),
            Mode::WeightStream(ws) => Some(ws.touch(
                id.0,
                &self.regions,
                offset,
                len,
                now,
                &mut self.link,
                &mut self.c,
            )),
        };
        let ready = match ready {
            None => {
                self.c.hits += 1;
                self.c.bytes_resident += len;
                now
            }
            Some(t) => t.max(now),
        };
        self.c.stall += ready - now;
        Ok(ready)
    }

    /// Counters: `regime.*` and the link's `host_link.*`.
    pub fn stats(&self) -> Stats {
        let mut s = Stats::new();
        let c = &self.c;
        let mut g = Stats::new();
        g.set("touches", c.touches as f64, Unit::Accesses);
        g.set("hits", c.hits as f64, Unit::Accesses);
        g.set("misses", c.misses as f64, Unit::Accesses);
        g.set("evictions", c.evictions as f64, Unit::Pages);
        g.set("writebacks", c.writebacks as f64, Unit::Pages);
        g.set("prefetches", c.prefetches as f64, Unit::Transfers);
        g.set("demand_fetches", c.demand_fetches as f64, Unit::Transfers);
        g.set("bytes_accessed", c.bytes_accessed as f64, Unit::Bytes);
        g.set("bytes_fetched", c.bytes_fetched as f64, Unit::Bytes);
        g.set("bytes_resident", c.bytes_resident as f64, Unit::Bytes);
        g.set("stall_time", c.stall.ns(), Unit::Nanoseconds);
        s.merge_under("regime", &g);
        s.merge_under("host_link", &self.link.stats());
        s
    }

    /// Payload bytes moved over the host link, host to card and card to host.
    pub fn link_bytes(&self) -> (u64, u64) {
        (
            self.link.payload_bytes(Direction::ToCard),
            self.link.payload_bytes(Direction::ToHost),
        )
    }
}

impl KvSwap {
    #[allow(clippy::too_many_arguments)]
    fn touch(
        &mut self,
        region: u32,
        spec: &RegionSpec,
        offset: u64,
        len: u64,
        write: bool,
        now: Time,
        link: &mut HostLink,
        c: &mut Counters,
    ) -> Result<Time, RegimeError> {
        let page = self.page;
        let first = offset / page;
        let last = if len == 0 {
            first
        } else {
            (offset + len - 1) / page
        };
        let span = last - first + 1;
        if span > self.pool_pages {
            return Err(RegimeError::AccessTooLarge {
                name: spec.name.clone(),
                pages: span,
                pool: self.pool_pages,
            });
        }
        let touch_start = self.clock + 1;
        let mut ready = now;
        let mut hit_all = true;
        for p in first..=last {
            let lo = (p * page).max(offset);
            let hi = ((p + 1) * page).min(offset + len).min(spec.bytes);
            let overlap = hi.saturating_sub(lo);
            self.clock += 1;
            let stamp = self.clock;
            let entry = self.pages[region as usize][p as usize];
            match entry.loc {
                PageLoc::Ddr => {
                    self.lru.remove(&entry.stamp);
                    self.lru.insert(stamp, (region, p));
                    let e = &mut self.pages[region as usize][p as usize];
                    e.stamp = stamp;
                    e.dirty |= write;
                    if write {
                        e.host_copy = false;
                    }
                    ready = ready.max(e.ready);
                    c.bytes_resident += overlap;
                }
                loc => {
                    hit_all = false;
                    // A frame: free, or the least recently used page's.
                    let mut frame_free = now;
                    if self.lru.len() as u64 >= self.pool_pages {
                        frame_free = self.evict(touch_start, now, link, c);
                    }
                    let page_len = ((p + 1) * page).min(spec.bytes) - p * page;
                    let whole_page_write = write && overlap == page_len;
                    let (at, host_copy) = if loc == PageLoc::Host && !whole_page_write {
                        let t = link.transfer(Direction::ToCard, page_len, now);
                        c.demand_fetches += 1;
                        c.bytes_fetched += overlap;
                        (t.arrived.max(frame_free), !write)
                    } else {
                        c.bytes_resident += overlap;
                        (frame_free, false)
                    };
                    self.lru.insert(stamp, (region, p));
                    self.pages[region as usize][p as usize] = Page {
                        loc: PageLoc::Ddr,
                        dirty: write,
                        host_copy,
                        stamp,
                        ready: at,
                    };
                    ready = ready.max(at);
                }
            }
        }
        if hit_all {
            c.hits += 1;
        } else {
            c.misses += 1;
        }
        Ok(ready)
    }

    /// Evicts the least recently used page (never one of the current access, whose stamps
    /// are at least `touch_start`); returns when its frame is free.
    fn evict(
        &mut self,
        touch_start: u64,
        now: Time,
        link: &mut HostLink,
        c: &mut Counters,
    ) -> Time {
        let (&stamp, &(region, p)) = self.lru.iter().next().expect("eviction from an empty pool");
        debug_assert!(
            stamp < touch_start,
            "the span check keeps the access's pages"
        );
        self.lru.remove(&stamp);
        c.evictions += 1;
        let e = &mut self.pages[region as usize][p as usize];
        let free = if e.dirty {
            let t = link.transfer(Direction::ToHost, self.page, now.max(e.ready));
            c.writebacks += 1;
            e.host_copy = true;
            // The frame can be reused once its data is on the wire.
            t.wire_done
        } else {
            now
        };
        e.loc = if e.host_copy {
            PageLoc::Host
        } else {
            PageLoc::Untouched
        };
        e.dirty = false;
        free
    }
}

impl WeightStream {
    fn set_order(&mut self, order: Vec<u32>, regions: usize) {
        self.position = vec![None; regions];
        for (i, &r) in order.iter().enumerate() {
            self.position[r as usize] = Some(i);
        }
        self.order = order;
        self.staged.clear();
        self.occupied = 0;
    }

    #[allow(clippy::too_many_arguments)]
    fn touch(
        &mut self,
        region: u32,
        regions: &[RegionSpec],
        offset: u64,
        len: u64,
        now: Time,
        link: &mut HostLink,
        c: &mut Counters,
    ) -> Time {
        let hit = self.staged.iter().position(|s| s.region == region);
        match hit {
            Some(i) => {
                // The runner moved on: release what came before.
                for _ in 0..i {
                    if let Some(s) = self.staged.pop_front() {
                        self.occupied -= regions[s.region as usize].bytes;
                    }
                }
                c.hits += 1;
            }
            None => {
                self.staged.clear();
                self.occupied = 0;
                let bytes = regions[region as usize].bytes;
                let transfer = link.transfer(Direction::ToCard, bytes, now);
                self.staged.push_back(Staged {
                    region,
                    transfer,
                    consumed: 0,
                });
                self.occupied = bytes;
                c.demand_fetches += 1;
                c.misses += 1;
            }
        }
        self.prefetch(region, regions, now, link, c);
        let s = self
            .staged
            .front_mut()
            .expect("the touched region is staged");
        // Bytes beyond what earlier touches of this copy consumed arrive for this one.
        let end = offset + len;
        let fresh = end.saturating_sub(s.consumed.max(offset)).min(len);
        c.bytes_fetched += fresh;
        c.bytes_resident += len - fresh;
        s.consumed = s.consumed.max(end);
        link.arrival_of_prefix(&s.transfer, end)
    }

    /// Requests the regions after the last staged one, up to the depth and the window.
    fn prefetch(
        &mut self,
        current: u32,
        regions: &[RegionSpec],
        now: Time,
        link: &mut HostLink,
        c: &mut Counters,
    ) {
        let n = self.order.len();
        if n == 0 {
            return;
        }
        let Some(mut pos) = self
            .staged
            .back()
            .and_then(|s| self.position[s.region as usize])
            .or(self.position[current as usize])
        else {
            return;
        };
        while self.staged.len() <= self.depth as usize {
            pos = (pos + 1) % n;
            let next = self.order[pos];
            if self.staged.iter().any(|s| s.region == next) {
                return;
            }
            let bytes = regions[next as usize].bytes;
            if self.occupied + bytes > self.window {
                return;
            }
            let transfer = link.transfer(Direction::ToCard, bytes, now);
            self.staged.push_back(Staged {
                region: next,
                transfer,
                consumed: 0,
            });
            self.occupied += bytes;
            c.prefetches += 1;
        }
    }
}
