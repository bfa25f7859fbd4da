//! Running independent cards on host threads. Between two synchronisation points each card's
//! work depends on nothing but the card, so the cards are cut into contiguous groups, one
//! thread per group, each group's cards in order: the results do not depend on the thread
//! count.

use anyhow::Result;

/// Runs `f(item, work)` for every item with its work (`work[i]` for `items[i]`) on up to
/// `threads` host threads, and returns the results in item order. The first error reported
/// is the lowest item's, whatever the scheduling.
pub(crate) fn on_threads<T, W, R, F>(
    items: &mut [T],
    work: &[W],
    threads: usize,
    f: F,
) -> Result<Vec<R>>
where
    T: Send,
    W: Sync,
    R: Send,
    F: Fn(&mut T, &W) -> Result<R> + Sync,
{
    let n = items.len().min(work.len());
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return items.iter_mut().zip(work).map(|(t, w)| f(t, w)).collect();
    }
    let per = n.div_ceil(threads);
    let f = &f;
    let groups: Vec<Result<Vec<R>>> = std::thread::scope(|s| {
        let handles: Vec<_> = items[..n]
            .chunks_mut(per)
            .zip(work[..n].chunks(per))
            .map(|(ts, ws)| {
                s.spawn(move || {
                    ts.iter_mut()
                        .zip(ws)
                        .map(|(t, w)| f(t, w))
                        .collect::<Result<Vec<R>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a card thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(n);
    for g in groups {
        out.extend(g?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_on_any_thread_count() {
        for threads in 1..=5 {
            let mut items: Vec<u64> = (0..7).collect();
            let work: Vec<u64> = (10..17).collect();
            let out = on_threads(&mut items, &work, threads, |t, w| {
                *t += 1;
                Ok(*t * w)
            })
            .unwrap();
            assert_eq!(out, (0..7).map(|i| (i + 1) * (i + 10)).collect::<Vec<_>>());
            assert_eq!(items, (1..8).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_lowest_failing_item_is_reported() {
        let mut items = vec![0u8; 6];
        let work: Vec<usize> = (0..6).collect();
        let e = on_threads(&mut items, &work, 3, |_, &w| {
            if w >= 2 {
                anyhow::bail!("item {w}")
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "item 2");
    }
}
