//! A look-ahead peak limiter for finished renders.
//!
//! A dense chord or many tracks at once can add up past full scale; clipping
//! that would crackle, and scaling the whole piece down would make the rest
//! too quiet. The limiter instead lowers the gain only around the loud
//! moments: because the whole render is in memory, it can look ahead for
//! free. Per frame it finds the gain that keeps the louder channel under the
//! threshold, ramps down to it linearly over the preceding 2 ms (a backward
//! pass, so the gain is already low when the peak arrives), and recovers
//! exponentially over ~80 ms afterwards (a forward pass). The result never
//! exceeds the threshold and has no hard-clipped edges; audio that never
//! reaches the threshold is left bit-for-bit alone.

/// The ceiling: -1 dBFS, leaving room for the 16-bit conversion and for
/// reconstruction between samples.
pub const THRESHOLD: f32 = 0.891;

/// Limit interleaved audio in place.
pub(crate) fn limit(samples: &mut [f32], channels: usize, sample_rate: u32) {
    let ch = channels.max(1);
    let mut top = 0.0f32;
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
        }
        top = top.max(s.abs());
    }
    if top <= THRESHOLD {
        return;
    }
    let peak = |frame: &[f32]| frame.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    let sr = sample_rate.max(1) as f32;
    let mut gain: Vec<f32> = samples
        .chunks(ch)
        .map(|f| {
            let p = peak(f);
            if p > THRESHOLD {
                // A hair under, so rounding of `x · gain` cannot land above.
                THRESHOLD * (1.0 - 1e-6) / p
            } else {
                1.0
            }
        })
        .collect();
    // Backward: reach each dip by a linear ramp over the attack time.
    let attack_step = 1.0 / (0.002 * sr);
    for i in (0..gain.len().saturating_sub(1)).rev() {
        gain[i] = gain[i].min(gain[i + 1] + attack_step);
    }
    // Forward: recover towards 1 with an 80 ms time constant.
    let release = 1.0 - (-1.0 / (0.08 * sr)).exp();
    let mut g = 1.0f32;
    for x in gain.iter_mut() {
        g = (g + (1.0 - g) * release).min(*x);
        *x = g;
    }
    for (frame, g) in samples.chunks_mut(ch).zip(&gain) {
        for s in frame {
            *s *= g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_parts_are_held_under_the_threshold_and_quiet_ones_kept() {
        let sr = 1000;
        let mut x: Vec<f32> = (0..4000)
            .map(|i| if (2000..2100).contains(&i) { 3.0 } else { 0.5 })
            .collect();
        let before = x.clone();
        limit(&mut x, 2, sr);
        assert!(x.iter().all(|s| s.abs() <= THRESHOLD + 1e-6));
        assert_eq!(&x[..1900], &before[..1900]);
        assert!((x[3999] - 0.5).abs() < 0.01);
        let mut quiet = vec![0.5f32; 100];
        limit(&mut quiet, 2, sr);
        assert!(quiet.iter().all(|&s| s == 0.5));
    }
}
