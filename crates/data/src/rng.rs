//! The seeded randomness of the data layer, kept stable across dependency
//! upgrades: ChaCha8 (whose stream `rand_chacha` keeps value-stable) drives
//! our own uniform draw (multiply-shift of a `u64`, bias below 2^-32 for
//! the ranges used here) and our own Fisher–Yates shuffle, so a seed and a
//! saved batcher state mean the same order next year.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A generator for one purpose: the seed mixed with a stream number (e.g.
/// the epoch), so each epoch's order is independent and recomputable.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// A uniform integer in `0..n` (`n > 0`; 0 when `n == 0`).
pub fn below(r: &mut impl RngCore, n: u64) -> u64 {
    ((u128::from(r.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform integer in `lo..=hi` (`lo` when `hi < lo`).
pub fn between(r: &mut impl RngCore, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    lo + below(r, (hi - lo) as u64 + 1) as i64
}

/// A uniform float in `[0, 1)`.
pub fn unit(r: &mut impl RngCore) -> f64 {
    (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Shuffle in place (Fisher–Yates).
pub fn shuffle<T>(r: &mut impl RngCore, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(r, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| below(&mut rng(7, 1), 1000)).collect();
        let mut r1 = rng(7, 1);
        let mut r2 = rng(7, 2);
        let x: Vec<u64> = (0..8).map(|_| below(&mut r1, 1 << 40)).collect();
        let y: Vec<u64> = (0..8).map(|_| below(&mut r2, 1 << 40)).collect();
        assert_ne!(x, y);
        assert!(a.iter().all(|v| *v < 1000));
        let mut v: Vec<u32> = (0..50).collect();
        shuffle(&mut rng(3, 0), &mut v);
        let mut w: Vec<u32> = (0..50).collect();
        shuffle(&mut rng(3, 0), &mut w);
        assert_eq!(v, w);
        v.sort();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
        assert!((0..1000).all(|_| (-3..=3).contains(&between(&mut r1, -3, 3))));
    }
}
