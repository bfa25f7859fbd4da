//! A sorted sliding window: entries ordered by a clock key, removed from the front as time
//! passes, inserted (nearly always at the back) as commands are committed. A `Vec` with a
//! moving head: slice searches, no ring arithmetic.

/// Something ordered by a clock.
pub(super) trait Keyed: Copy {
    fn key(&self) -> u64;
}

impl Keyed for u64 {
    #[inline(always)]
    fn key(&self) -> u64 {
        *self
    }
}

#[derive(Debug, Clone)]
pub(super) struct SortedWindow<T> {
    items: Vec<T>,
    head: usize,
}

impl<T: Keyed> Default for SortedWindow<T> {
    fn default() -> Self {
        Self {
            items: Vec::with_capacity(64),
            head: 0,
        }
    }
}

impl<T: Keyed> SortedWindow<T> {
    /// The live entries, in key order.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        &self.items[self.head..]
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.items.len() - self.head
    }

    #[inline(always)]
    pub fn first(&self) -> Option<&T> {
        self.items.get(self.head)
    }

    #[inline(always)]
    pub fn last(&self) -> Option<&T> {
        if self.head < self.items.len() {
            self.items.last()
        } else {
            None
        }
    }

    /// Index (into [`as_slice`](Self::as_slice)) where an entry with key `k` would go after
    /// every entry with a key at most `k`.
    #[inline(always)]
    pub fn upper_bound(&self, k: u64) -> usize {
        if self.last().is_none_or(|l| l.key() <= k) {
            self.len()
        } else {
            self.as_slice().partition_point(|e| e.key() <= k)
        }
    }

    /// Index of the first entry with a key of at least `k`.
    #[inline(always)]
    pub fn lower_bound(&self, k: u64) -> usize {
        self.as_slice().partition_point(|e| e.key() < k)
    }

    /// Inserts at slice index `pos` (which must keep the order).
    #[inline(always)]
    pub fn insert_at(&mut self, pos: usize, item: T) {
        let at = self.head + pos;
        if at == self.items.len() {
            self.items.push(item);
        } else {
            self.items.insert(at, item);
        }
    }

    /// Removes and returns the last entry.
    #[inline(always)]
    pub fn pop_last(&mut self) -> Option<T> {
        if self.head < self.items.len() {
            self.items.pop()
        } else {
            None
        }
    }

    /// Removes and returns the first entry.
    #[inline(always)]
    pub fn pop_first(&mut self) -> Option<T> {
        let item = *self.items.get(self.head)?;
        self.head += 1;
        if self.head >= 64 && self.head * 2 >= self.items.len() {
            self.items.drain(..self.head);
            self.head = 0;
        }
        Some(item)
    }
}
