//! An independent checker of DRAM command traces against the JEDEC DDR3 rules.
//!
//! It shares nothing with the scheduler but the clock figures ([`Ddr3Timing`]): it walks the
//! trace in clock order with its own per-bank state machine and checks every command against
//! every rule that applies to it, reporting each violation with the command and the rule.
//!
//! Rules (one rank, AL = 0, clocks from [`Ddr3Timing`]):
//! - one command per clock on the command bus;
//! - ACT only to a closed bank; RD/WR only to the open row of an open bank;
//! - same bank: ACT-ACT >= tRC, ACT-PRE >= tRAS, PRE-ACT >= tRP, ACT-RD/WR >= tRCD,
//!   RD-PRE >= tRTP, WR-PRE >= WL + BL/2 + tWR;
//! - RDA/WRA are RD/WR whose bank then precharges itself at the earliest clock a PRE could
//!   have gone (tRTP or write recovery after the command, tRAS after the ACT): the bank is
//!   closed from then on, and ACT and REF count tRP from that clock;
//! - any banks: ACT-ACT >= tRRD, at most four ACTs in any tFAW window;
//! - column commands: >= tCCD apart; WR-RD >= WL + BL/2 + tWTR; RD-WR >= RL + tCCD + 2 - WL;
//!   data bursts never overlap on the DQ bus;
//! - REF only with every bank closed and >= tRP after each bank's last PRE; nothing within
//!   tRFC after a REF;
//! - refresh debt: at any clock t, at most 8 of the floor(t / tREFI) refreshes due may be
//!   outstanding (JEDEC allows postponing up to eight).

use super::timing::Ddr3Timing;
use super::trace::{Command, CommandKind};

/// Refreshes JEDEC DDR3 lets a controller postpone.
pub const MAX_POSTPONED_REFRESHES: u64 = 8;

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The offending command.
    pub command: Command,
    /// The rule, as named in the module docs (`tRCD`, `tFAW`, `command bus`, ...).
    pub rule: &'static str,
    /// The numbers.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.command, self.rule, self.detail)
    }
}

/// Counts of what a clean trace contained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceSummary {
    /// ACT commands.
    pub activates: u64,
    /// RD and RDA commands.
    pub reads: u64,
    /// WR and WRA commands.
    pub writes: u64,
    /// PRE commands (PREA counts once) and auto-precharges (RDA, WRA).
    pub precharges: u64,
    /// REF commands.
    pub refreshes: u64,
    /// Clock of the last command.
    pub last: u64,
}

#[derive(Debug, Clone, Default)]
struct BankState {
    open: Option<u64>,
    last_act: Option<u64>,
    last_pre: Option<u64>,
    last_read: Option<u64>,
    last_write: Option<u64>,
}

/// Records a violation when `c` is less than `min` clocks after `earlier`.
fn need(
    v: &mut Vec<Violation>,
    c: &Command,
    rule: &'static str,
    earlier: Option<u64>,
    min: u64,
    what: &str,
) {
    if let Some(e) = earlier {
        if c.at < e + min {
            v.push(Violation {
                command: *c,
                rule,
                detail: format!(
                    "{what}{} clocks after @{e}, needs {min}",
                    c.at - e.min(c.at)
                ),
            });
        }
    }
}

/// Checks `trace` (any order; it is sorted by clock here) for a memory with `banks` banks.
/// `refresh_required` adds the refresh-debt rule (off when the model ran without refresh).
/// Returns the summary, or every violation found.
pub fn check(
    t: &Ddr3Timing,
    banks: u32,
    trace: &[Command],
    refresh_required: bool,
) -> Result<TraceSummary, Vec<Violation>> {
    let mut cmds = trace.to_vec();
    cmds.sort_by_key(|c| c.at);
    let mut bank = vec![BankState::default(); banks as usize];
    let mut v = Vec::new();
    let mut sum = TraceSummary::default();
    let mut acts: Vec<u64> = Vec::new();
    let mut last_at: Option<u64> = None;
    let mut last_col: Option<u64> = None;
    let mut last_rd: Option<u64> = None;
    let mut last_wr: Option<u64> = None;
    let mut data_free = 0u64;
    let mut last_ref: Option<u64> = None;

    for c in &cmds {
        if last_at == Some(c.at) {
            need(&mut v, c, "command bus", last_at, 1, "");
        }
        last_at = Some(c.at);
        need(&mut v, c, "tRFC", last_ref, t.rfc, "");
        if refresh_required {
            let due = c.at / t.refi;
            let done = sum.refreshes + u64::from(c.kind == CommandKind::Refresh);
            if due > done + MAX_POSTPONED_REFRESHES {
                v.push(Violation {
                    command: *c,
                    rule: "refresh debt",
                    detail: format!("{due} refreshes due by now, {done} issued"),
                });
            }
        }
        if c.bank >= banks {
            v.push(Violation {
                command: *c,
                rule: "bank",
                detail: format!("no bank {} in {banks}", c.bank),
            });
            continue;
        }
        let b = c.bank as usize;
        match c.kind {
            CommandKind::Activate => {
                sum.activates += 1;
                if let Some(r) = bank[b].open {
                    v.push(Violation {
                        command: *c,
                        rule: "bank state",
                        detail: format!("ACT to a bank with row {r} open"),
                    });
                }
                need(&mut v, c, "tRC", bank[b].last_act, t.rc, "");
                need(&mut v, c, "tRP", bank[b].last_pre, t.rp, "");
                need(&mut v, c, "tRRD", acts.last().copied(), t.rrd, "");
                if acts.len() >= 4 {
                    need(&mut v, c, "tFAW", Some(acts[acts.len() - 4]), t.faw, "");
                }
                acts.push(c.at);
                bank[b].open = Some(c.row);
                bank[b].last_act = Some(c.at);
            }
            CommandKind::Read | CommandKind::Write | CommandKind::ReadAp | CommandKind::WriteAp => {
                let write = matches!(c.kind, CommandKind::Write | CommandKind::WriteAp);
                if write {
                    sum.writes += 1;
                } else {
                    sum.reads += 1;
                }
                if bank[b].open != Some(c.row) {
                    v.push(Violation {
                        command: *c,
                        rule: "bank state",
                        detail: format!(
                            "column command to row {} while the bank has {:?} open",
                            c.row, bank[b].open
                        ),
                    });
                }
                need(&mut v, c, "tRCD", bank[b].last_act, t.rcd, "");
                need(&mut v, c, "tCCD", last_col, t.ccd, "");
                if write {
                    need(&mut v, c, "RD to WR", last_rd, t.cl + t.ccd + 2 - t.cwl, "");
                } else {
                    need(&mut v, c, "tWTR", last_wr, t.cwl + t.burst + t.wtr, "");
                }
                let start = c.at + if write { t.cwl } else { t.cl };
                if start < data_free {
                    v.push(Violation {
                        command: *c,
                        rule: "data bus",
                        detail: format!("data at {start} overlaps a burst until {data_free}"),
                    });
                }
                data_free = start + t.burst;
                last_col = Some(c.at);
                if write {
                    last_wr = Some(c.at);
                    bank[b].last_write = Some(c.at);
                } else {
                    last_rd = Some(c.at);
                    bank[b].last_read = Some(c.at);
                }
                if matches!(c.kind, CommandKind::ReadAp | CommandKind::WriteAp) {
                    // The bank's own precharge, at the earliest JEDEC allows.
                    sum.precharges += 1;
                    let after = if write { t.cwl + t.burst + t.wr } else { t.rtp };
                    let at = (c.at + after).max(bank[b].last_act.map_or(0, |a| a + t.ras));
                    bank[b].open = None;
                    bank[b].last_pre = Some(at);
                }
            }
            CommandKind::Precharge | CommandKind::PrechargeAll => {
                sum.precharges += 1;
                let all = c.kind == CommandKind::PrechargeAll;
                for (i, s) in bank.iter_mut().enumerate() {
                    if !(all || i == b) || s.open.is_none() {
                        continue;
                    }
                    let what = format!("bank {i}: ");
                    need(&mut v, c, "tRAS", s.last_act, t.ras, &what);
                    need(&mut v, c, "tRTP", s.last_read, t.rtp, &what);
                    need(
                        &mut v,
                        c,
                        "tWR",
                        s.last_write,
                        t.cwl + t.burst + t.wr,
                        &what,
                    );
                    s.open = None;
                    s.last_pre = Some(c.at);
                }
            }
            CommandKind::Refresh => {
                sum.refreshes += 1;
                for (i, s) in bank.iter().enumerate() {
                    if let Some(r) = s.open {
                        v.push(Violation {
                            command: *c,
                            rule: "bank state",
                            detail: format!("REF with bank {i} row {r} open"),
                        });
                    }
                    need(&mut v, c, "tRP", s.last_pre, t.rp, &format!("bank {i}: "));
                }
                last_ref = Some(c.at);
            }
        }
        sum.last = c.at;
    }
    if v.is_empty() {
        Ok(sum)
    } else {
        Err(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    fn timing() -> Ddr3Timing {
        Ddr3Timing::from_config(&load_board("innerjib7ea", &[]).unwrap().board.memory).unwrap()
    }

    fn cmd(at: u64, kind: CommandKind, bank: u32, row: u64) -> Command {
        Command {
            at,
            kind,
            bank,
            row,
            column: 0,
        }
    }

    fn rules(trace: &[Command]) -> Vec<&'static str> {
        match check(&timing(), 8, trace, false) {
            Ok(_) => vec![],
            Err(v) => v.into_iter().map(|x| x.rule).collect(),
        }
    }

    use CommandKind::*;

    #[test]
    fn a_legal_sequence_passes() {
        let t = timing();
        let tr = [
            cmd(0, Activate, 0, 5),
            cmd(t.rcd, Read, 0, 5),
            cmd(t.rcd + 4, Read, 0, 5),
            cmd(t.rrd, Activate, 1, 9),
            cmd(t.rcd + 4 + t.rtp, Precharge, 0, 0),
        ];
        let s = check(&t, 8, &tr, false).unwrap();
        assert_eq!((s.activates, s.reads, s.precharges), (2, 2, 1));
    }

    #[test]
    fn each_rule_is_caught() {
        let t = timing();
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(2, Read, 0, 1)]),
            ["tRCD"]
        );
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(3, Activate, 1, 1)]),
            ["tRRD"]
        );
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(5, Precharge, 0, 0)]),
            ["tRAS"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(6, Precharge, 0, 0),
                cmd(8, Activate, 0, 1)
            ]),
            ["tRP"]
        );
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(3, Read, 0, 2)]),
            ["bank state"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(3, Read, 0, 1),
                cmd(6, Read, 0, 1)
            ]),
            ["tCCD", "data bus"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(3, Write, 0, 1),
                cmd(3 + 12, Read, 0, 1)
            ]),
            ["tWTR"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(3, Read, 0, 1),
                cmd(3 + 6, Write, 0, 1)
            ]),
            ["RD to WR"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(3, Write, 0, 1),
                cmd(3 + 11, Precharge, 0, 0)
            ]),
            ["tWR"]
        );
        assert_eq!(
            rules(&[
                cmd(0, Activate, 0, 1),
                cmd(3, Read, 0, 1),
                cmd(6, Precharge, 0, 0)
            ]),
            ["tRTP"]
        );
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(40, Refresh, 0, 0)]),
            ["bank state"]
        );
        assert_eq!(
            rules(&[cmd(0, Refresh, 0, 0), cmd(t.rfc - 1, Activate, 0, 1)]),
            ["tRFC"]
        );
        assert_eq!(
            rules(&[cmd(0, Activate, 0, 1), cmd(0, Activate, 1, 1)]),
            ["command bus", "tRRD"]
        );
        let mut tight = t;
        tight.faw = 20;
        let acts: Vec<_> = (0..5).map(|i| cmd(i * 4, Activate, i as u32, 0)).collect();
        let v = check(&tight, 8, &acts, false).unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].rule, "tFAW");
        assert_eq!(v[0].command.at, 16);
        // Refresh debt: nine intervals with no REF.
        let late = [cmd(9 * t.refi, Activate, 0, 0)];
        assert_eq!(
            check(&t, 8, &late, true).unwrap_err()[0].rule,
            "refresh debt"
        );
        assert!(check(&t, 8, &[cmd(8 * t.refi, Activate, 0, 0)], true).is_ok());
    }
}
