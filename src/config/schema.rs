//! The board schema: one struct per section, every field documented with its unit.
//! `deny_unknown_fields` everywhere: a misspelt key is an error, never a silent default.

use crate::units::{BitRate, ByteSize, Cycles, Duration, Frequency, TransferRate};
use serde::{Deserialize, Serialize};

/// One Sail board model, and how many cards of it form the system.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// Short name (`innerjib7ea`), the file stem by convention.
    pub name: String,
    /// One line for `emulate boards`.
    pub description: String,
    /// FPGA part number.
    pub fpga: String,
    /// System (core and controller) clock.
    pub clock: Frequency,
    /// Number of cards in the system.
    pub cards: u32,
    /// How the cards' inter-card links are connected.
    pub topology: Topology,
    /// The RISC-V core.
    pub core: CoreConfig,
    /// The Xpop_matmul matrix unit.
    pub matmul: MatmulConfig,
    /// The on-chip scratchpad.
    pub scratchpad: ScratchpadConfig,
    /// The card's DDR memory.
    pub memory: MemoryConfig,
    /// The inter-card serial link.
    pub intercard: IntercardConfig,
    /// The link to the host.
    pub host_link: HostLinkConfig,
}

/// Card interconnect topology.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Topology {
    /// Each card has one upstream and one downstream neighbour (the connector's wiring).
    Ring,
    /// Every card has a direct link to every other.
    Mesh,
}

/// The RISC-V core.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CoreConfig {
    /// ISA string (`rv64gcv_zfh_xpopmatmul`).
    pub isa: String,
    /// Vector register length in bits (a power of two, 64..=4096).
    pub vlen: u32,
    /// Vector datapath lanes; each lane handles 32 bits per cycle.
    pub vector_lanes: u32,
    /// Result latencies per instruction class, in core cycles.
    pub latency: Latencies,
    /// Extra cycles lost on a taken branch.
    pub branch_taken_penalty: Cycles,
    /// Extra cycles lost on a jump (jal, jalr).
    pub jump_penalty: Cycles,
}

/// Result latency per instruction class, in core cycles (issue to result available).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Latencies {
    /// Integer ALU.
    pub int_alu: Cycles,
    /// Integer multiply.
    pub int_mul: Cycles,
    /// Integer divide and remainder.
    pub int_div: Cycles,
    /// Load hit in the core's load path, before the memory model's time is added.
    pub load: Cycles,
    /// FP add, subtract, compare, min/max, sign injection.
    pub fp_add: Cycles,
    /// FP multiply.
    pub fp_mul: Cycles,
    /// FP fused multiply-add.
    pub fp_fma: Cycles,
    /// FP divide.
    pub fp_div: Cycles,
    /// FP square root.
    pub fp_sqrt: Cycles,
    /// FP conversions and moves between register files.
    pub fp_cvt: Cycles,
    /// Vector integer ALU, per beat group.
    pub vec_alu: Cycles,
    /// Vector integer multiply.
    pub vec_mul: Cycles,
    /// Vector FP add/mul/fma.
    pub vec_fp: Cycles,
    /// Vector FP divide and square root.
    pub vec_fdiv: Cycles,
    /// Vector reductions (added to the per-beat cost, covers the tree).
    pub vec_reduction: Cycles,
    /// Vector permutes (slides, gathers, moves).
    pub vec_permute: Cycles,
}

/// Parameters of the Xpop_matmul unit (see doc/xpop-matmul.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MatmulConfig {
    /// Whether the unit is fitted; without it Xpop_matmul opcodes are illegal.
    pub enabled: bool,
    /// 8-bit integer multiply-accumulates per cycle (quantized formats).
    pub int8_macs_per_cycle: u32,
    /// BF16 multiply-accumulates per cycle (binary64 accumulate).
    pub bf16_macs_per_cycle: u32,
    /// F16 multiply-accumulates per cycle (binary64 accumulate).
    pub f16_macs_per_cycle: u32,
    /// Cycles to fill the pipeline before the first K step.
    pub fill: Cycles,
    /// Cycles to drain results after the last K step.
    pub drain: Cycles,
    /// Bytes of operands the unit can take from memory per cycle.
    pub operand_bytes_per_cycle: u32,
    /// Whether operand buffers are double buffered (streaming overlaps compute).
    pub double_buffered: bool,
    /// FP32 operations per cycle in the block-scale epilogue (each a multiply, an add, or a
    /// multiply followed by a separately rounded add).
    pub epilogue_ops_per_cycle: u32,
    /// Capacity of one weight (A) operand buffer; two when double buffered.
    pub a_buffer: ByteSize,
    /// Capacity of one activation (B) operand buffer; two when double buffered.
    pub b_buffer: ByteSize,
    /// Outputs the accumulator memory holds: the largest tile is this many outputs.
    pub accumulators: u32,
}

/// The on-chip scratchpad.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScratchpadConfig {
    /// Physical base address.
    pub base: u64,
    /// Size.
    pub size: ByteSize,
    /// Access latency in core cycles.
    pub latency: Cycles,
    /// Bytes the scratchpad port moves per core cycle.
    pub port_width: ByteSize,
}

/// Row-buffer management policy of the DDR controller.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PagePolicy {
    /// Leave the row open after an access (hits are cheap, conflicts pay tRP).
    Open,
    /// Every column command precharges its row (RDA/WRA, auto-precharge).
    Closed,
}

/// Request scheduling of the DDR controller queue.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Scheduler {
    /// Requests are served strictly in arrival order.
    InOrder,
    /// First-ready, first-come-first-served: row hits first, then the oldest.
    FrFcfs,
}

/// How a physical address is split into DRAM coordinates, most significant field first.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AddressMapping {
    /// row | bank | column | bus offset: sequential streams stay in one row, then move bank.
    RowBankColumn,
    /// bank | row | column | bus offset: each bank holds a contiguous eighth of memory.
    BankRowColumn,
    /// row | column-high | bank | column-low(burst) | bus offset: consecutive bursts rotate
    /// over banks.
    RowColumnBank,
}

/// The DDR memory of one card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemoryConfig {
    /// Memory type (`DDR3L`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The module fitted.
    pub module: String,
    /// Physical base address of DDR in the card's memory map.
    pub base: u64,
    /// Capacity.
    pub capacity: ByteSize,
    /// Data rate on the DQ pins.
    pub data_rate: TransferRate,
    /// DRAM command clock (half the data rate for DDR).
    pub dram_clock: Frequency,
    /// Data bus width.
    pub bus_width: ByteSize,
    /// Banks per rank.
    pub banks: u32,
    /// Row (page) size across the whole bus.
    pub row_size: ByteSize,
    /// Burst length in transfers.
    pub burst_length: u32,
    /// JEDEC timing.
    pub timing: DdrTiming,
    /// The PHY's fixed latencies.
    pub phy: PhyConfig,
    /// The controller.
    pub controller: ControllerConfig,
    /// Parameters of the kv-swap and weight-stream regimes (doc/memory.md).
    pub regimes: RegimeConfig,
}

/// Parameters of the memory regimes that move data over the host link (doc/memory.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegimeConfig {
    /// kv-swap: the page KV and activation data move in (a power of two).
    pub page_size: ByteSize,
    /// weight-stream: DDR set aside to receive streamed weights.
    pub staging_window: ByteSize,
    /// weight-stream: weight tensors fetched ahead of the one in use (0: on demand only).
    pub prefetch_depth: u32,
}

/// JEDEC DDR3 timing parameters, named as in the standard.
#[allow(non_snake_case)]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DdrTiming {
    /// CAS (read) latency, DRAM clocks.
    pub tCL: Cycles,
    /// CAS write latency, DRAM clocks.
    pub tCWL: Cycles,
    /// Activate to read/write.
    pub tRCD: Duration,
    /// Precharge period.
    pub tRP: Duration,
    /// Activate to precharge.
    pub tRAS: Duration,
    /// Activate to activate, same bank.
    pub tRC: Duration,
    /// Activate to activate, different banks.
    pub tRRD: Duration,
    /// Four-activate window.
    pub tFAW: Duration,
    /// Write recovery.
    pub tWR: Duration,
    /// Write to read turnaround.
    pub tWTR: Duration,
    /// Read to precharge.
    pub tRTP: Duration,
    /// Column to column, DRAM clocks.
    pub tCCD: Cycles,
    /// Refresh cycle time.
    pub tRFC: Duration,
    /// Average refresh interval.
    pub tREFI: Duration,
}

/// The memory PHY (LiteDRAM ECP5DDRPHY).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhyConfig {
    /// DRAM clocks per system clock (2 for the 1:2 PHY).
    pub ratio: u32,
    /// Fixed read latency through the PHY, system clocks.
    pub read_latency: Cycles,
    /// Fixed write latency through the PHY, system clocks.
    pub write_latency: Cycles,
}

/// The memory controller.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ControllerConfig {
    /// Request queue entries.
    pub queue_depth: u32,
    /// Request scheduling.
    pub scheduler: Scheduler,
    /// Row-buffer policy.
    pub page_policy: PagePolicy,
    /// Address mapping.
    pub address_mapping: AddressMapping,
    /// System clocks from a request's arrival at the controller to its entry in the command
    /// queue (port, crossbar and bank-machine registers).
    pub frontend_latency: Cycles,
    /// Posted-write buffer entries, in bursts (0: no buffer, writes are served in arrival
    /// order like reads).
    pub write_buffer: u32,
    /// Buffered writes at which a write batch starts (at most `write_buffer`).
    pub write_high_watermark: u32,
    /// Buffered writes a batch leaves behind (below the high watermark).
    pub write_low_watermark: u32,
    /// More buffered writes than this are drained as soon as the command queue runs empty,
    /// even below the high watermark.
    pub write_idle_drain: u32,
    /// Consecutive row hits a bank may serve ahead of an older request to another row.
    pub row_hit_cap: u32,
    /// Open page, LiteDRAM's multiplexer: once reads have been served this long (system
    /// clocks) since the last write batch, waiting writes get a batch; 0: no such limit
    /// (batches start only at the watermarks, as DRAMsim3's). Set with `write_time`.
    pub read_time: Cycles,
    /// Open page, LiteDRAM's multiplexer: a write batch ends once its column commands have
    /// spanned this long (system clocks); 0: a batch drains down to the low watermark.
    pub write_time: Cycles,
    /// The controller's shortest read-to-write turnaround: system clocks from a read's
    /// column command to the next write's (0: JEDEC's RL + tCCD + 2 - WL alone). LiteDRAM's
    /// multiplexer waits out the PHY's read latency in its RTW state.
    pub read_to_write: Cycles,
    /// The controller's shortest write-to-read turnaround: system clocks from a write's
    /// column command to the next read's (0: JEDEC's WL + BL/2 + tWTR alone). LiteDRAM's
    /// multiplexer waits tWTR + ceil(CWL / ratio) + tCCD system clocks in its WTR state.
    pub write_to_read: Cycles,
    /// One port, one bank at a time: system clocks from the last column command to one bank
    /// before any command to another bank may issue (0: none). LiteDRAM's crossbar admits a
    /// port's command to another bank only once the previous bank has issued all of the
    /// port's, and the command then passes the lookahead FIFO, the cmd_buffer and the bank
    /// FSM.
    pub bank_switch: Cycles,
    /// Closed page: a read's auto-precharge starts only once its burst is out (RDA to ACT
    /// = BL/2 + tRTP + tRP) rather than at JEDEC's earliest (tRTP + tRP after the RDA).
    pub read_auto_precharge_after_burst: bool,
}

/// Line coding on the serial lanes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum Encoding {
    /// 8 payload bits in 10 line bits.
    #[serde(rename = "8b10b")]
    E8b10b,
    /// 64 payload bits in 66 line bits.
    #[serde(rename = "64b66b")]
    E64b66b,
}

impl Encoding {
    /// Payload bits per line bit.
    pub fn efficiency(self) -> f64 {
        match self {
            Encoding::E8b10b => 8.0 / 10.0,
            Encoding::E64b66b => 64.0 / 66.0,
        }
    }
}

/// The inter-card serial link, per direction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntercardConfig {
    /// Lanes per direction.
    pub lanes: u32,
    /// Line rate of one lane.
    pub lane_rate: BitRate,
    /// Line coding.
    pub encoding: Encoding,
    /// Payload bytes per link-layer frame.
    pub frame_payload: ByteSize,
    /// Framing bytes per frame (start/end of frame, header, CRC).
    pub frame_overhead: ByteSize,
    /// Latency of one hop (serialiser, wire, deserialiser, elastic buffer).
    pub hop_latency: Duration,
}

impl IntercardConfig {
    /// Bytes per second per direction after line coding, before framing.
    pub fn payload_bytes_per_s(&self) -> f64 {
        self.lanes as f64 * self.lane_rate.bps() * self.encoding.efficiency() / 8.0
    }
    /// Bytes per second per direction of user data after line coding and framing.
    pub fn goodput_bytes_per_s(&self) -> f64 {
        let p = self.frame_payload.bytes() as f64;
        let o = self.frame_overhead.bytes() as f64;
        self.payload_bytes_per_s() * p / (p + o)
    }
}

/// The link to the host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostLinkConfig {
    /// Link kind (`gbe`).
    pub kind: String,
    /// Line rate.
    pub line_rate: BitRate,
    /// IP MTU.
    pub mtu: ByteSize,
    /// Ethernet preamble and start-of-frame delimiter.
    pub preamble_sfd: ByteSize,
    /// Ethernet header (destination, source, ethertype).
    pub eth_header: ByteSize,
    /// Ethernet frame check sequence.
    pub fcs: ByteSize,
    /// Inter-frame gap.
    pub interframe_gap: ByteSize,
    /// IPv4 header.
    pub ip_header: ByteSize,
    /// UDP header.
    pub udp_header: ByteSize,
    /// Fraction of the framed rate the card's network stack sustains (0..=1).
    pub protocol_efficiency: f64,
    /// Fixed latency of one transfer (stack, switch, wire).
    pub latency: Duration,
}

impl HostLinkConfig {
    /// UDP payload bytes per frame.
    pub fn payload_per_frame(&self) -> u64 {
        self.mtu.bytes() - self.ip_header.bytes() - self.udp_header.bytes()
    }
    /// Bytes on the wire per full frame, including preamble and gap.
    pub fn wire_bytes_per_frame(&self) -> u64 {
        self.mtu.bytes()
            + self.eth_header.bytes()
            + self.fcs.bytes()
            + self.preamble_sfd.bytes()
            + self.interframe_gap.bytes()
    }
    /// Effective payload bytes per second in one direction.
    pub fn effective_bytes_per_s(&self) -> f64 {
        self.line_rate.bps() / 8.0 * self.payload_per_frame() as f64
            / self.wire_bytes_per_frame() as f64
            * self.protocol_efficiency
    }
}

impl MemoryConfig {
    /// Peak DDR bandwidth: bus bytes times transfers per second.
    pub fn peak_bytes_per_s(&self) -> f64 {
        self.bus_width.bytes() as f64 * self.data_rate.per_sec()
    }
    /// Bytes moved by one burst.
    pub fn burst_bytes(&self) -> u64 {
        self.bus_width.bytes() * self.burst_length as u64
    }
}

/// Figures derived from a board from first principles, as `emulate boards show` prints them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DerivedFigures {
    /// DDR peak: bus bytes x transfers/s.
    pub ddr_peak_bytes_per_s: f64,
    /// Inter-card rate per direction after line coding.
    pub intercard_payload_bytes_per_s: f64,
    /// Inter-card user data rate per direction after line coding and framing.
    pub intercard_goodput_bytes_per_s: f64,
    /// Host link effective payload rate per direction.
    pub host_link_bytes_per_s: f64,
    /// Fraction of DRAM time lost to refresh, tRFC / tREFI.
    pub refresh_overhead: f64,
}

impl Board {
    /// The figures derived from this board.
    pub fn derived(&self) -> DerivedFigures {
        DerivedFigures {
            ddr_peak_bytes_per_s: self.memory.peak_bytes_per_s(),
            intercard_payload_bytes_per_s: self.intercard.payload_bytes_per_s(),
            intercard_goodput_bytes_per_s: self.intercard.goodput_bytes_per_s(),
            host_link_bytes_per_s: self.host_link.effective_bytes_per_s(),
            refresh_overhead: self.memory.timing.tRFC.secs() / self.memory.timing.tREFI.secs(),
        }
    }
}
