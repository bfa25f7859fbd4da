//! JEDEC timing of the board's DDR3, converted once to whole DRAM clocks, plus the clock
//! arithmetic between DRAM clocks and simulation [`Time`].

use super::Ddr3Error;
use crate::config::MemoryConfig;
use crate::units::{Duration, Frequency, Time};

/// DDR3 gives these three as "max(ns figure, 4 nCK)".
const MIN_4_CLOCKS: u64 = 4;

/// Every constraint the model and the checker use, in DRAM clocks.
///
/// ns figures from the board round up to whole clocks ([`Frequency::cycles_covering`]);
/// tRRD, tWTR and tRTP are at least 4 clocks, as JEDEC DDR3 requires. tREFI is an interval
/// the controller must not exceed on average, so it rounds down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ddr3Timing {
    /// CAS (read) latency.
    pub cl: u64,
    /// CAS write latency.
    pub cwl: u64,
    /// ACT to RD/WR, same bank.
    pub rcd: u64,
    /// PRE to ACT, same bank.
    pub rp: u64,
    /// ACT to PRE, same bank.
    pub ras: u64,
    /// ACT to ACT, same bank.
    pub rc: u64,
    /// ACT to ACT, different banks.
    pub rrd: u64,
    /// Window that holds at most four ACTs.
    pub faw: u64,
    /// Write recovery: end of write data to PRE.
    pub wr: u64,
    /// End of write data to RD.
    pub wtr: u64,
    /// RD to PRE.
    pub rtp: u64,
    /// Column command to column command.
    pub ccd: u64,
    /// REF to the next command.
    pub rfc: u64,
    /// Refresh interval.
    pub refi: u64,
    /// Clocks one burst occupies the data bus (burst length / 2).
    pub burst: u64,
    /// DRAM clocks per system clock (the PHY ratio).
    pub ratio: u64,
    /// The PHY's read latency (command to the whole burst's data at the controller: the
    /// ECP5 PHY hands a BL8 burst over in one system clock), DRAM clocks.
    pub phy_read: u64,
    /// The PHY's write latency (command to the burst's write data taken from the controller
    /// in one system clock), DRAM clocks.
    pub phy_write: u64,
    /// The controller's own read-to-write turnaround floor (board
    /// `controller.read_to_write`), DRAM clocks; 0: JEDEC's alone. Not a JEDEC rule: the
    /// checker does not hold traces to it.
    pub controller_rtw: u64,
    /// The controller's own write-to-read turnaround floor (`controller.write_to_read`),
    /// DRAM clocks; 0: JEDEC's alone.
    pub controller_wtr: u64,
}

impl Ddr3Timing {
    /// Converts the board's memory timing to clocks, refusing combinations the model cannot
    /// honour (a PHY latency shorter than the CAS latency it contains, tCWL > tCL).
    pub fn from_config(m: &MemoryConfig) -> Result<Self, Ddr3Error> {
        let ck = m.dram_clock;
        let c = |d: Duration| ck.cycles_covering(d);
        let t = &m.timing;
        let ratio = m.phy.ratio as u64;
        let timing = Self {
            cl: t.tCL.count(),
            cwl: t.tCWL.count(),
            rcd: c(t.tRCD),
            rp: c(t.tRP),
            ras: c(t.tRAS),
            rc: c(t.tRC),
            rrd: c(t.tRRD).max(MIN_4_CLOCKS),
            faw: c(t.tFAW),
            wr: c(t.tWR),
            wtr: c(t.tWTR).max(MIN_4_CLOCKS),
            rtp: c(t.tRTP).max(MIN_4_CLOCKS),
            ccd: t.tCCD.count(),
            rfc: c(t.tRFC),
            refi: (t.tREFI.secs() * ck.hz() + 1e-9).floor() as u64,
            burst: (m.burst_length as u64).div_ceil(2),
            ratio,
            phy_read: m.phy.read_latency.count() * ratio,
            phy_write: m.phy.write_latency.count() * ratio,
            controller_rtw: m.controller.read_to_write.count() * ratio,
            controller_wtr: m.controller.write_to_read.count() * ratio,
        };
        let bad = |key: &str, message: String| {
            Err(Ddr3Error::Config {
                key: key.to_string(),
                message,
            })
        };
        if !ratio.is_power_of_two() {
            return bad(
                "memory.phy.ratio",
                format!("the PHY ratio must be 1, 2, 4 or another power of two, not {ratio}"),
            );
        }
        if timing.cl == 0 || timing.cwl == 0 || timing.ccd == 0 {
            return bad(
                "memory.timing.tCL",
                "tCL, tCWL and tCCD must be at least one clock".into(),
            );
        }
        if timing.cwl > timing.cl {
            return bad(
                "memory.timing.tCWL",
                format!("tCWL ({}) cannot exceed tCL ({})", timing.cwl, timing.cl),
            );
        }
        if timing.phy_read < timing.cl + timing.burst {
            return bad(
                "memory.phy.read_latency",
                format!(
                    "{} system clocks = {} DRAM clocks is shorter than the CAS latency and the burst ({} + {} clocks) it includes",
                    m.phy.read_latency.count(),
                    timing.phy_read,
                    timing.cl,
                    timing.burst
                ),
            );
        }
        if timing.phy_write < timing.cwl {
            return bad(
                "memory.phy.write_latency",
                format!(
                    "{} system clocks = {} DRAM clocks is shorter than the CAS write latency ({} clocks)",
                    m.phy.write_latency.count(),
                    timing.phy_write,
                    timing.cwl
                ),
            );
        }
        if timing.refi <= timing.rfc + timing.rp {
            return bad(
                "memory.timing.tREFI",
                format!(
                    "tREFI ({} clocks) leaves no time between refreshes (tRFC {} + tRP {})",
                    timing.refi, timing.rfc, timing.rp
                ),
            );
        }
        Ok(timing)
    }

    /// Minimum clocks from a column command of kind `from` to one of kind `to`
    /// (`true` = write): tCCD between like commands, RL + tCCD + 2 - WL from a read to a write,
    /// WL + burst + tWTR from a write to a read (JEDEC DDR3, one rank, AL = 0), or the
    /// controller's own turnaround where it is longer.
    #[inline]
    pub fn column_gap(&self, from_write: bool, to_write: bool) -> u64 {
        match (from_write, to_write) {
            (false, true) => (self.cl + self.ccd + 2 - self.cwl).max(self.controller_rtw),
            (true, false) => (self.cwl + self.burst + self.wtr).max(self.controller_wtr),
            _ => self.ccd.max(self.burst),
        }
    }

    /// Minimum clocks from a column command to a precharge of its bank: tRTP after a read,
    /// WL + burst + tWR after a write.
    #[inline]
    pub fn column_to_precharge(&self, write: bool) -> u64 {
        if write {
            self.cwl + self.burst + self.wr
        } else {
            self.rtp
        }
    }

    /// Clocks from a column command to its first data on the DQ pins.
    #[inline]
    pub fn data_delay(&self, write: bool) -> u64 {
        if write {
            self.cwl
        } else {
            self.cl
        }
    }

    /// The longest column-to-column gap: how far back an earlier command can constrain.
    pub fn max_column_gap(&self) -> u64 {
        self.column_gap(false, true)
            .max(self.column_gap(true, false))
            .max(self.column_gap(false, false))
    }
}

/// Exact division by a divisor fixed at construction, without a hardware divide: the
/// quotient is estimated from a 64x64-bit multiply by `floor((2^64 - 1) / d)` (never more than
/// two too small) and corrected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Divider {
    d: u64,
    magic: u64,
}

impl Divider {
    fn new(d: u64) -> Self {
        assert!(d > 0, "division by zero");
        Self {
            d,
            magic: u64::MAX / d,
        }
    }

    /// `floor(x / d)`. The estimate is short by less than two: at most two corrections.
    #[inline(always)]
    fn div(&self, x: u64) -> u64 {
        let mut q = ((x as u128 * self.magic as u128) >> 64) as u64;
        let mut r = x - q * self.d;
        while r >= self.d {
            q += 1;
            r -= self.d;
        }
        q
    }

    /// `ceil(x / d)`.
    #[inline(always)]
    fn div_ceil(&self, x: u64) -> u64 {
        let q = self.div(x);
        if q * self.d == x {
            q
        } else {
            q + 1
        }
    }
}

/// Exact conversion between clock cycles of one clock and femtoseconds.
///
/// The period is the fraction `1e15 / hz` fs reduced to lowest terms (`20_000_000 / 3` fs at
/// 150 MHz), so a cycle count converts without accumulated rounding, and a time converted to
/// a cycle and back is stable; the frequency is taken to the nearest whole hertz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockConv {
    /// Period numerator (fs).
    num: u64,
    /// Period denominator.
    den: u64,
    by_num: Divider,
    by_den: Divider,
}

impl ClockConv {
    /// The conversion for clock `f`.
    pub fn new(f: Frequency) -> Self {
        let hz = (f.hz().round() as u64).max(1);
        let fs = 1_000_000_000_000_000u64;
        let g = gcd(fs, hz);
        let (num, den) = (fs / g, hz / g);
        Self {
            num,
            den,
            by_num: Divider::new(num),
            by_den: Divider::new(den),
        }
    }

    /// The start of cycle `c` (rounded down to the femtosecond).
    #[inline]
    pub fn time_of(&self, c: u64) -> Time {
        match c.checked_mul(self.num) {
            Some(x) => Time(self.by_den.div(x)),
            None => Time((c as u128 * self.num as u128 / self.den as u128) as u64),
        }
    }

    /// The first cycle that starts at or after `t`.
    #[inline]
    pub fn cycle_at_or_after(&self, t: Time) -> u64 {
        match t.0.checked_mul(self.den) {
            Some(x) => self.by_num.div_ceil(x),
            None => (t.0 as u128 * self.den as u128).div_ceil(self.num as u128) as u64,
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    #[test]
    fn board_timing_in_clocks_by_hand() {
        // 150 MHz: 6.667 ns per clock.
        let b = load_board("innerjib7ea", &[]).unwrap().board;
        let t = Ddr3Timing::from_config(&b.memory).unwrap();
        assert_eq!((t.cl, t.cwl), (6, 5));
        assert_eq!((t.rcd, t.rp), (3, 3)); // 13.75 / 6.667 = 2.06
        assert_eq!(t.ras, 6); // 35 / 6.667 = 5.25
        assert_eq!(t.rc, 8); // 48.75 / 6.667 = 7.31
        assert_eq!(t.rrd, 4); // 6 ns = 0.9 clocks, at least 4
        assert_eq!(t.faw, 5); // 30 ns = 4.5 clocks
        assert_eq!(t.wr, 3); // 15 ns = 2.25
        assert_eq!((t.wtr, t.rtp), (4, 4)); // 7.5 ns = 1.1, at least 4
        assert_eq!(t.ccd, 4);
        assert_eq!(t.rfc, 39); // 260 / 6.667 = 39.0
        assert_eq!(t.refi, 1170); // 7.8 us / 6.667 ns
        assert_eq!(t.burst, 4);
        assert_eq!((t.phy_read, t.phy_write), (26, 6));
        // JEDEC's turnarounds, then the board's controller floors (LiteDRAM's RTW and WTR
        // states: 14 and 8 system clocks of 2 DRAM clocks), which are longer.
        assert_eq!(t.cl + t.ccd + 2 - t.cwl, 7); // 6 + 4 + 2 - 5
        assert_eq!(t.cwl + t.burst + t.wtr, 13); // 5 + 4 + 4
        assert_eq!((t.controller_rtw, t.controller_wtr), (28, 16));
        assert_eq!(t.column_gap(false, true), 28);
        assert_eq!(t.column_gap(true, false), 16);
        let jedec = load_board(
            "innerjib7ea",
            &[
                "memory.controller.read_to_write=0 cycles".to_string(),
                "memory.controller.write_to_read=0 cycles".to_string(),
            ],
        )
        .unwrap()
        .board;
        let tj = Ddr3Timing::from_config(&jedec.memory).unwrap();
        assert_eq!(
            (tj.column_gap(false, true), tj.column_gap(true, false)),
            (7, 13)
        );
        assert_eq!(t.column_to_precharge(true), 12); // 5 + 4 + 3
        let x16 = load_board("innerjib7ea-x16", &[]).unwrap().board;
        let t16 = Ddr3Timing::from_config(&x16.memory).unwrap();
        assert_eq!((t16.rrd, t16.faw), (4, 6)); // 7.5 ns -> 2 (4 min), 40 ns -> 6
    }

    #[test]
    fn refuses_a_phy_faster_than_cas() {
        let b = load_board(
            "innerjib7ea",
            &["memory.phy.read_latency=2 cycles".to_string()],
        )
        .unwrap()
        .board;
        let e = Ddr3Timing::from_config(&b.memory).unwrap_err().to_string();
        assert!(e.contains("memory.phy.read_latency"), "{e}");
    }

    #[test]
    fn clock_conversion_is_exact() {
        let c = ClockConv::new(Frequency::parse("150 MHz").unwrap());
        assert_eq!(c.time_of(3), Time(20_000_000));
        assert_eq!(c.time_of(1), Time(6_666_666));
        assert_eq!(c.cycle_at_or_after(Time(6_666_666)), 1);
        assert_eq!(c.cycle_at_or_after(Time(6_666_667)), 2);
        assert_eq!(c.cycle_at_or_after(Time(0)), 0);
        // Far beyond u64 products: an hour of simulated time.
        for x in [
            0u64,
            1,
            2,
            3,
            5,
            1 << 40,
            u64::MAX,
            u64::MAX - 1,
            12345678901234567,
        ] {
            for d in [1u64, 2, 3, 7, 20_000_000, 1 << 33, u64::MAX] {
                let dv = Divider::new(d);
                assert_eq!(dv.div(x), x / d, "{x} / {d}");
                assert_eq!(dv.div_ceil(x), x.div_ceil(d), "{x} / {d}");
            }
        }
        let hour = Time(3600 * 1_000_000_000_000_000);
        let cy = c.cycle_at_or_after(hour);
        assert_eq!(cy, 540_000_000_000);
        assert_eq!(c.time_of(cy), hour);
    }
}
