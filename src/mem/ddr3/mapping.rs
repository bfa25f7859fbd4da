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
///
/// Each field is `(burst >> shift) & mask`, with the shifts and masks fixed at construction
/// so locating a burst is branch-free. When the number of rows is not a power of two, the
/// `bank-row-column` split needs a division (`rows_divide`).
#[derive(Debug, Clone)]
pub struct AddressMap {
    base: u64,
    burst_bits: u32,
    column: (u32, u64),
    bank: (u32, u64),
    row: (u32, u64),
    rows_divide: Option<(u32, u64)>,
}

impl AddressMap {
    /// The map for the board's memory (sizes already validated as powers of two).
    pub fn new(m: &MemoryConfig) -> Self {
        let burst = m.burst_bytes();
        let columns = m.row_size.bytes() / burst;
        let rows = (m.capacity.bytes() / (m.row_size.bytes() * m.banks as u64)).max(1);
        let column_bits = columns.trailing_zeros();
        let bank_bits = m.banks.trailing_zeros();
        let mask = |bits: u32| (1u64 << bits) - 1;
        let (column, bank, row, rows_divide) = match m.controller.address_mapping {
            AddressMapping::RowBankColumn => (
                (0, mask(column_bits)),
                (column_bits, mask(bank_bits)),
                (column_bits + bank_bits, u64::MAX),
                None,
            ),
            AddressMapping::RowColumnBank => (
                (bank_bits, mask(column_bits)),
                (0, mask(bank_bits)),
                (bank_bits + column_bits, u64::MAX),
                None,
            ),
            AddressMapping::BankRowColumn if rows.is_power_of_two() => {
                let row_bits = rows.trailing_zeros();
                (
                    (0, mask(column_bits)),
                    (column_bits + row_bits, mask(bank_bits)),
                    (column_bits, mask(row_bits)),
                    None,
                )
            }
            AddressMapping::BankRowColumn => (
                (0, mask(column_bits)),
                (0, mask(bank_bits)),
                (column_bits, u64::MAX),
                Some((column_bits, rows)),
            ),
        };
        Self {
            base: m.base,
            burst_bits: burst.trailing_zeros(),
            column,
            bank,
            row,
            rows_divide,
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
        let field = |(shift, mask): (u32, u64)| (burst >> shift) & mask;
        if let Some((shift, rows)) = self.rows_divide {
            let above = burst >> shift;
            return Location {
                column: field(self.column) as u32,
                row: above % rows,
                bank: ((above / rows) & self.bank.1) as u32,
            };
        }
        Location {
            bank: field(self.bank) as u32,
            row: field(self.row),
            column: field(self.column) as u32,
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

    #[test]
    fn bank_row_column_with_rows_not_a_power_of_two() {
        // 3 GiB: 49152 rows per bank.
        let b = load_board(
            "innerjib7ea",
            &[
                "memory.controller.address_mapping=bank-row-column".to_string(),
                "memory.capacity=3 GiB".to_string(),
            ],
        )
        .unwrap()
        .board;
        let m = AddressMap::new(&b.memory);
        let rows = 49152u64;
        let at = |a: u64| m.locate(m.burst_of(0x8000_0000 + a));
        assert_eq!(
            at(0x2000 * 5 + 64),
            Location {
                bank: 0,
                row: 5,
                column: 1
            }
        );
        assert_eq!(
            at(0x2000 * rows),
            Location {
                bank: 1,
                row: 0,
                column: 0
            }
        );
        assert_eq!(
            at(0x2000 * (3 * rows + 7)),
            Location {
                bank: 3,
                row: 7,
                column: 0
            }
        );
    }
}
