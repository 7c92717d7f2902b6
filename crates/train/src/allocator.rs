//! Allocator tuning for processes that train with mimalloc as their global
//! allocator (the `fugue` binary and the speed benchmarks).
//!
//! Why: a training step frees and reallocates the same tens of MB of
//! activations and gradients every step. mimalloc by default hands memory
//! that has been free for a while (1 s in mimalloc 3, counted per page
//! span) back to the kernel, which zeroes it again when a later step
//! touches it. Keeping freed memory mapped made the Transformer step 4–5%
//! faster (A/B, docs/BENCHMARKS.md) and costs nothing a training run would
//! not use again: the process stays at its peak footprint, which the next
//! step reaches anyway.

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, the 16th entry of
/// `mi_option_e` in both the v2 and the v3 headers); `libmimalloc-sys`
/// does not name it.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never return freed memory to the kernel. Only mimalloc's own heap is
/// affected: with another global allocator this changes nothing.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` takes any option index and value; it only
    // writes mimalloc's option table, which is read atomically.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_index_is_mimallocs_purge_delay() {
        // SAFETY (all three): reading or writing an option is always allowed.
        // mimalloc 3's default purge delay is 1,000 ms and no other option
        // defaults to 1,000, so reading it at this index before the change
        // shows the index is the purge delay, not a neighbour.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) }, 1000);
        }
        super::keep_freed_memory();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) }, -1);
    }
}
