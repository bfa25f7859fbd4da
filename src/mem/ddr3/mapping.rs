//! Physical address to DRAM coordinates (bank, row, column).
//!
//! The address is first made relative to the DDR base and divided into bursts (one burst is
//! bus width x burst length bytes: 64 B on the x64 board, 16 B on the x16 one). The burst
//! number is then split into fields, most significant first, according to the board's
//! `memory.controller.address_mapping`:
//!
//! | mapping | fields (high to low) | a sequential stream ... |
//! |---|---|---|
//! | `row-bank-column` | row, bank, column | fills a whole row, then moves to the same row of the next bank |
//! | `bank-row-column` | bank, row, column | fills a row, then the next row of the same bank (conflicts) |
//! | `row-column-bank` | row, column, bank | moves to the next bank every burst |
//!
//! "column" here counts bursts within a row (row size / burst bytes of them).

use crate::config::{AddressMapping, MemoryConfig};

/// Where one burst lives in the DRAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Bank index.
    pub bank: u32,
    /// Row within the bank.
    pub row: u64,
    /// Burst index within the row.
    pub column: u32,
}

/// The address mapping of one board.
#[derive(Debug, Clone)]
pub struct AddressMap {
    base: u64,
    burst_bits: u32,
    column_bits: u32,
    bank_bits: u32,
    rows: u64,
    mapping: AddressMapping,
}

impl AddressMap {
    /// The map for the board's memory (sizes already validated as powers of two).
    pub fn new(m: &MemoryConfig) -> Self {
        let burst = m.burst_bytes();
        let columns = m.row_size.bytes() / burst;
        let rows = (m.capacity.bytes() / (m.row_size.bytes() * m.banks as u64)).max(1);
        Self {
            base: m.base,
            burst_bits: burst.trailing_zeros(),
            column_bits: columns.trailing_zeros(),
            bank_bits: m.banks.trailing_zeros(),
            rows,
            mapping: m.controller.address_mapping,
        }
    }

    /// Bytes per burst.
    #[inline]
    pub fn burst_bytes(&self) -> u64 {
        1 << self.burst_bits
    }

    /// The burst number (relative to the DDR base) that holds byte `addr`. Addresses below
    /// the base wrap around; the backing store refuses them before timing sees them.
    #[inline]
    pub fn burst_of(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.base) >> self.burst_bits
    }

    /// The DRAM coordinates of burst number `burst`.
    #[inline]
    pub fn locate(&self, burst: u64) -> Location {
        let col_mask = (1u64 << self.column_bits) - 1;
        let bank_mask = (1u64 << self.bank_bits) - 1;
        match self.mapping {
            AddressMapping::RowBankColumn => Location {
                column: (burst & col_mask) as u32,
                bank: ((burst >> self.column_bits) & bank_mask) as u32,
                row: burst >> (self.column_bits + self.bank_bits),
            },
            AddressMapping::RowColumnBank => Location {
                bank: (burst & bank_mask) as u32,
                column: ((burst >> self.bank_bits) & col_mask) as u32,
                row: burst >> (self.bank_bits + self.column_bits),
            },
            AddressMapping::BankRowColumn => {
                let above = burst >> self.column_bits;
                Location {
                    column: (burst & col_mask) as u32,
                    row: above % self.rows,
                    bank: ((above / self.rows) & bank_mask) as u32,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_board;

    fn map(mapping: &str) -> AddressMap {
        let b = load_board(
            "innerjib7ea",
            &[format!("memory.controller.address_mapping={mapping}")],
        )
        .unwrap()
        .board;
        AddressMap::new(&b.memory)
    }

    #[test]
    fn fields_by_hand() {
        // x64: 64 B bursts, 8 KiB rows = 128 bursts, 8 banks, 4 GiB = 65536 rows.
        let base = 0x8000_0000u64;
        let m = map("row-bank-column");
        let at = |m: &AddressMap, a: u64| m.locate(m.burst_of(base + a));
        assert_eq!(
            at(&m, 0x40),
            Location {
                bank: 0,
                row: 0,
                column: 1
            }
        );
        assert_eq!(
            at(&m, 0x2000),
            Location {
                bank: 1,
                row: 0,
                column: 0
            }
        );
        assert_eq!(
            at(&m, 0x10000),
            Location {
                bank: 0,
                row: 1,
                column: 0
            }
        );
        let m = map("row-column-bank");
        assert_eq!(
            at(&m, 0x40),
            Location {
                bank: 1,
                row: 0,
                column: 0
            }
        );
        assert_eq!(
            at(&m, 0x200),
            Location {
                bank: 0,
                row: 0,
                column: 1
            }
        );
        assert_eq!(
            at(&m, 0x10000),
            Location {
                bank: 0,
                row: 1,
                column: 0
            }
        );
        let m = map("bank-row-column");
        assert_eq!(
            at(&m, 0x2000),
            Location {
                bank: 0,
                row: 1,
                column: 0
            }
        );
        assert_eq!(
            at(&m, 512 << 20),
            Location {
                bank: 1,
                row: 0,
                column: 0
            }
        );
    }
}
