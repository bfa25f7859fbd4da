//! The command-trace recorder: every DRAM command the controller commits, with its clock.
//!
//! [`Ddr3`](super::Ddr3) is generic over a [`CommandSink`]. The default, [`NoTrace`], is a
//! zero-sized type whose `record` does nothing and is inlined away, so an untraced model pays
//! nothing; [`CommandTrace`] keeps every command for [`check`](super::check) or inspection.

/// A DRAM command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandKind {
    /// Open a row (ACT).
    Activate,
    /// Read burst (RD).
    Read,
    /// Write burst (WR).
    Write,
    /// Read burst with auto-precharge (RDA): the bank precharges itself once tRTP (and
    /// tRAS) allow.
    ReadAp,
    /// Write burst with auto-precharge (WRA): the bank precharges itself after write
    /// recovery.
    WriteAp,
    /// Close one bank's row (PRE).
    Precharge,
    /// Close every bank (PREA, PRE with A10 high).
    PrechargeAll,
    /// Refresh (REF); all banks must be closed.
    Refresh,
}

impl CommandKind {
    /// JEDEC mnemonic.
    pub fn mnemonic(self) -> &'static str {
        match self {
            CommandKind::Activate => "ACT",
            CommandKind::Read => "RD",
            CommandKind::Write => "WR",
            CommandKind::ReadAp => "RDA",
            CommandKind::WriteAp => "WRA",
            CommandKind::Precharge => "PRE",
            CommandKind::PrechargeAll => "PREA",
            CommandKind::Refresh => "REF",
        }
    }
}

/// One command on the command bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// DRAM clock at which it is issued.
    pub at: u64,
    /// What it is.
    pub kind: CommandKind,
    /// Bank (0 for PREA and REF, which address all banks).
    pub bank: u32,
    /// Row (ACT, RD, WR; 0 otherwise).
    pub row: u64,
    /// Burst index within the row (RD, WR; 0 otherwise).
    pub column: u32,
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "@{} {}", self.at, self.kind.mnemonic())?;
        match self.kind {
            CommandKind::Activate => write!(f, " bank {} row {}", self.bank, self.row),
            CommandKind::Read | CommandKind::Write | CommandKind::ReadAp | CommandKind::WriteAp => {
                write!(
                    f,
                    " bank {} row {} col {}",
                    self.bank, self.row, self.column
                )
            }
            CommandKind::Precharge => write!(f, " bank {}", self.bank),
            _ => Ok(()),
        }
    }
}

/// Where committed commands go.
pub trait CommandSink {
    /// Receives one command, in commit order (not necessarily clock order).
    fn record(&mut self, c: Command);
}

/// Discards commands; costs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTrace;

impl CommandSink for NoTrace {
    #[inline(always)]
    fn record(&mut self, _: Command) {}
}

/// Keeps every command.
#[derive(Debug, Clone, Default)]
pub struct CommandTrace {
    /// The commands in commit order.
    pub commands: Vec<Command>,
}

impl CommandSink for CommandTrace {
    #[inline]
    fn record(&mut self, c: Command) {
        self.commands.push(c);
    }
}

impl CommandTrace {
    /// The commands sorted by clock (ties keep commit order).
    pub fn in_clock_order(&self) -> Vec<Command> {
        let mut v = self.commands.clone();
        v.sort_by_key(|c| c.at);
        v
    }
}
