//! Annealed importance sampling (Neal 2001) of an RBM's partition
//! function, after Salakhutdinov & Murray (ICML 2008), to score RNN-RBM:
//! the likelihood of a frame under its conditional RBM is
//! log p(v) = −F(v) − log Z, and Z is a sum over 2^visible states.
//!
//! Base distribution: the same RBM with W = 0 (and the same biases), whose
//! units are independent, so log Z₀ = Σ softplus(bv) + Σ softplus(bh) and
//! exact samples are free. Intermediate distributions: W scaled by β on a
//! linear schedule β_k = k/K (the geometric path between base and target
//! in the joint space), with the hidden units summed out in the importance
//! weights, log p*_β(v) = bv·v + Σ_j softplus(bh_j + β·(v·W)_j), and one
//! block-Gibbs sweep (h | v, v | h) at each β as the transition. log Z is
//! log Z₀ plus the log-mean-exp of the chains' log weights.
//!
//! The estimate of Z is unbiased, so that of log Z is biased *low* in
//! expectation (Jensen): an NLL built on it is slightly optimistic. More
//! chains and more β steps shrink that bias; `tests` check the estimator
//! against exact enumeration on small RBMs.
//!
//! Plain f32 on the CPU, one frame per rayon task, each frame's chains on
//! their own ChaCha8 stream: the result does not depend on the thread
//! count. Binary states are kept as lists of active units, so v·W and W·h
//! are sums of a few rows, and the exponentials use a branch-free
//! polynomial ([`exp_nonpositive`]) that the compiler vectorises.

use fugue_models::rnn_nade::RbmFrames;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// How hard AIS works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AisConfig {
    /// Independent chains (importance samples) per frame.
    pub chains: usize,
    /// Intermediate distributions (β steps) from W = 0 to the RBM.
    pub betas: usize,
    /// Base seed; frame `i` of a call draws from a stream seeded by it and `i`.
    pub seed: u64,
}

/// e^x for x ≤ 0 (larger inputs are not supported), within a few f32 ulps:
/// Cephes' `expf` range reduction and polynomial, 2^n by exponent bits.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    let x = x.max(-87.0);
    let t = x * std::f32::consts::LOG2_E;
    // Round to nearest for t ≤ 0 with a truncating cast (vectorisable).
    let n = -((0.5 - t) as i32);
    let nf = n as f32;
    let r = x - nf * 0.693_359_4 - nf * -2.121_944_4e-4;
    let z = r * r;
    let y = (((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5)
        * z
        + r
        + 1.0;
    y * f32::from_bits(((n + 127) as u32) << 23)
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// F(v) = −bv·v − Σ_j softplus(bh_j + (v·W)_j) of one frame; `v` is 0/1.
pub fn free_energy(w: &[f32], pitches: usize, hidden: usize, bv: &[f32], bh: &[f32], v: &[f32]) -> f64 {
    let mut x: Vec<f64> = bh.iter().map(|&b| b as f64).collect();
    let mut visible = 0f64;
    for i in (0..pitches).filter(|&i| v[i] > 0.5) {
        visible += bv[i] as f64;
        for (xj, &wij) in x.iter_mut().zip(&w[i * hidden..(i + 1) * hidden]) {
            *xj += wij as f64;
        }
    }
    -visible - x.into_iter().map(softplus).sum::<f64>()
}

/// The exact log Z of one RBM by enumerating its 2^pitches visible states
/// (hidden units summed out); `None` above 24 pitches. For tests.
pub fn exact_log_partition(w: &[f32], pitches: usize, hidden: usize, bv: &[f32], bh: &[f32]) -> Option<f64> {
    if pitches > 24 {
        return None;
    }
    let terms: Vec<f64> = (0..1u64 << pitches)
        .map(|code| {
            let v: Vec<f32> = (0..pitches).map(|i| ((code >> i) & 1) as f32).collect();
            -free_energy(w, pitches, hidden, bv, bh, &v)
        })
        .collect();
    Some(log_sum_exp(&terms))
}

fn log_sum_exp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + x.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}

/// Uniforms in [0, 1) with 24 random bits each.
fn uniforms(rng: &mut ChaCha8Rng, out: &mut [f32]) {
    for u in out {
        *u = (rng.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0);
    }
}

/// Appends to `on` the units i with u_i < sigmoid(a_i); `e` holds e^{−|a_i|}
/// (u < sigmoid(a) ⇔ u·(1 + e) < (1 if a ≥ 0 else e), no division).
fn bernoulli_on(a: &[f32], e: &[f32], u: &[f32], on: &mut Vec<usize>) {
    on.clear();
    for (i, ((&ai, &ei), &ui)) in a.iter().zip(e).zip(u).enumerate() {
        if ui * (1.0 + ei) < if ai >= 0.0 { 1.0 } else { ei } {
            on.push(i);
        }
    }
}

fugue_models::multiversion! {
/// AIS estimate of log Z for one RBM (`w` `[p × h]`, `wt` its transpose),
/// compiled for AVX-512, AVX2+FMA and the baseline and chosen at run time
/// (the same operations in the same order, so the same numbers: Rust
/// never fuses a multiply and an add on its own).
fn log_partition_one(
    w: &[f32],
    wt: &[f32],
    p: usize,
    h: usize,
    bv: &[f32],
    bh: &[f32],
    chains: usize,
    betas: usize,
    rng: &mut ChaCha8Rng,
) -> f64 {
    let log_z0: f64 = bv.iter().chain(bh).map(|&b| softplus(b as f64)).sum();
    let e_bv: Vec<f32> = bv.iter().map(|&b| exp_nonpositive(-b.abs())).collect();
    let (mut x, mut e1, mut ratio, mut linear) = (vec![0f32; h], vec![0f32; h], vec![0f32; h], vec![0f32; h]);
    let mut a1 = vec![0f32; h];
    let (mut y, mut ey, mut s) = (vec![0f32; p], vec![0f32; p], vec![0f32; p]);
    let (mut uh, mut uv) = (vec![0f32; h], vec![0f32; p]);
    let (mut on_v, mut on_h) = (Vec::with_capacity(p), Vec::with_capacity(h));
    let mut log_w = Vec::with_capacity(chains);
    let k_total = betas as f32;
    for _ in 0..chains {
        // An exact sample of the base distribution: v_i ~ Bernoulli(σ(bv_i)).
        uniforms(rng, &mut uv);
        bernoulli_on(bv, &e_bv, &uv, &mut on_v);
        let mut lw = 0f64;
        for k in 1..=betas {
            let (b0, b1) = ((k - 1) as f32 / k_total, k as f32 / k_total);
            x.iter_mut().for_each(|v| *v = 0.0);
            for &i in &on_v {
                for (xj, &wij) in x.iter_mut().zip(&w[i * h..(i + 1) * h]) {
                    *xj += wij;
                }
            }
            // log p*_{β_k}(v) − log p*_{β_{k−1}}(v): the visible terms cancel,
            // Σ_j softplus(a1_j) − softplus(a0_j) = Σ_j (a1⁺ − a0⁺) + ln Π_j (1 + e1_j)/(1 + e0_j).
            // (No reduction inside this loop, so that it vectorises.)
            for j in 0..h {
                let a = bh[j] + b1 * x[j];
                let a0 = bh[j] + b0 * x[j];
                let e = exp_nonpositive(-a.abs());
                let e0 = exp_nonpositive(-a0.abs());
                linear[j] = a.max(0.0) - a0.max(0.0);
                ratio[j] = (1.0 + e) / (1.0 + e0);
                a1[j] = a;
                e1[j] = e;
            }
            // Eight lanes each (vectorised). Each ratio is in [1/2, 2], so a
            // lane's product of at most h/8 factors stays inside f32's range.
            let (mut product, mut sum) = ([1f32; 8], [0f32; 8]);
            let (ratios, linears) = (ratio.chunks_exact(8), linear.chunks_exact(8));
            let rest_product: f64 = ratios.remainder().iter().map(|&r| r as f64).product();
            let rest_sum: f64 = linears.remainder().iter().map(|&r| r as f64).sum();
            for (r, l) in ratios.zip(linears) {
                for k in 0..8 {
                    product[k] *= r[k];
                    sum[k] += l[k];
                }
            }
            let product = product.iter().map(|&q| q as f64).product::<f64>() * rest_product;
            let sum = sum.iter().map(|&q| q as f64).sum::<f64>() + rest_sum;
            lw += sum + product.ln();
            if k == betas {
                break;
            }
            // One Gibbs sweep at β_k: h | v, then v | h.
            uniforms(rng, &mut uh);
            bernoulli_on(&a1, &e1, &uh, &mut on_h);
            s.iter_mut().for_each(|v| *v = 0.0);
            for &j in &on_h {
                for (si, &wij) in s.iter_mut().zip(&wt[j * p..(j + 1) * p]) {
                    *si += wij;
                }
            }
            for i in 0..p {
                y[i] = bv[i] + b1 * s[i];
                ey[i] = exp_nonpositive(-y[i].abs());
            }
            uniforms(rng, &mut uv);
            bernoulli_on(&y, &ey, &uv, &mut on_v);
        }
        log_w.push(lw);
    }
    log_z0 + log_sum_exp(&log_w) - (chains as f64).ln()
}
}

/// AIS estimates of log Z for frames `which` of `rbm`, in parallel.
pub fn log_partition(rbm: &RbmFrames, which: &[usize], config: AisConfig) -> Vec<f64> {
    let (p, h) = (rbm.pitches, rbm.hidden);
    let mut wt = vec![0f32; p * h];
    for i in 0..p {
        for j in 0..h {
            wt[j * p + i] = rbm.w[i * h + j];
        }
    }
    which
        .par_iter()
        .map(|&f| {
            let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ (f as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (bv, bh) = (&rbm.bv[f * p..(f + 1) * p], &rbm.bh[f * h..(f + 1) * h]);
            let (chains, betas) = (config.chains.max(1), config.betas.max(1));
            log_partition_one(&rbm.w, &wt, p, h, bv, bh, chains, betas, &mut rng)
        })
        .collect()
}

/// −log p(v_f) = F(v_f) + log Z_f (nats) of every frame f whose weight is
/// positive, `visible` holding the 0/1 frames row by row; 0 for the others.
pub fn frame_nll(rbm: &RbmFrames, visible: &[f32], weights: &[f32], config: AisConfig) -> Vec<f64> {
    let (p, h) = (rbm.pitches, rbm.hidden);
    let which: Vec<usize> = (0..weights.len()).filter(|&f| weights[f] > 0.0).collect();
    let log_z = log_partition(rbm, &which, config);
    let mut out = vec![0f64; weights.len()];
    for (&f, lz) in which.iter().zip(log_z) {
        let (bv, bh) = (&rbm.bv[f * p..(f + 1) * p], &rbm.bh[f * h..(f + 1) * h]);
        out[f] = free_energy(&rbm.w, p, h, bv, bh, &visible[f * p..(f + 1) * p]) + lz;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn random_rbm(p: usize, h: usize, frames: usize, scale: f32, seed: u64) -> RbmFrames {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut normal = |s: f32| {
            // Box–Muller.
            let (a, b): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
            s * (-2.0 * a.ln()).sqrt() * (std::f32::consts::TAU * b).cos()
        };
        RbmFrames {
            pitches: p,
            hidden: h,
            w: (0..p * h).map(|_| normal(scale)).collect(),
            bv: (0..frames * p).map(|_| normal(1.0) - 0.5).collect(),
            bh: (0..frames * h).map(|_| normal(1.0)).collect(),
        }
    }

    /// Speed at RNN-RBM's size (88 × 150, sparse frames):
    /// `cargo test --release -p fugue-train ais_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn ais_speed() {
        let (p, h, n) = (88, 150, 64);
        let mut rbm = random_rbm(p, h, n, 0.1, 1);
        rbm.bv.iter_mut().for_each(|b| *b -= 3.0);
        let config = AisConfig {
            chains: 100,
            betas: 100,
            seed: 0,
        };
        let which: Vec<usize> = (0..n).collect();
        let t = std::time::Instant::now();
        let z = log_partition(&rbm, &which, config);
        let secs = t.elapsed().as_secs_f64();
        let steps = (n * config.chains * config.betas) as f64;
        eprintln!(
            "{:.3} µs per chain-step ({} threads); log Z[0] {}",
            secs / steps * 1e6,
            rayon::current_num_threads(),
            z[0]
        );
    }

    #[test]
    fn fast_exp_matches_std() {
        for k in 0..=20_000 {
            let x = -(k as f32) * 0.0043;
            let (a, b) = (exp_nonpositive(x), x.exp());
            assert!((a - b).abs() <= 4e-7 * b + 1e-38, "exp({x}) = {a}, std {b}");
        }
    }

    /// F(v) by hand for a 2 × 1 RBM: v = (1, 0), bv = (0.5, −1), bh = 0.25,
    /// W = (1, 2)ᵀ: F = −0.5 − ln(1 + e^{1.25}).
    #[test]
    fn free_energy_by_hand() {
        let f = free_energy(&[1.0, 2.0], 2, 1, &[0.5, -1.0], &[0.25], &[1.0, 0.0]);
        let expected = -0.5 - (1.0 + 1.25f64.exp()).ln();
        assert!((f - expected).abs() < 1e-6, "{f} vs {expected}");
        assert!((f - -2.001_929_08).abs() < 1e-6, "{f}");
    }

    #[test]
    fn exact_log_partition_of_independent_units() {
        // W = 0: Z factorises, log Z = Σ softplus of every bias.
        let (bv, bh) = ([0.3f32, -1.2, 2.0], [0.7f32, -0.1]);
        let exact = exact_log_partition(&[0.0; 6], 3, 2, &bv, &bh).unwrap_or(f64::NAN);
        let sum: f64 = bv.iter().chain(&bh).map(|&b| softplus(b as f64)).sum();
        assert!((exact - sum).abs() < 1e-9, "{exact} vs {sum}");
    }

    /// AIS against enumeration on three 6 × 4 RBMs with N(0, 1) weights and
    /// per-frame biases (the RNN-RBM case): within 0.05 nats each with 200
    /// chains × 1,000 β steps. A wrong importance weight or transition
    /// misses by far more.
    #[test]
    fn ais_matches_exact_log_partition_on_a_small_rbm() {
        let (p, h, n) = (6, 4, 3);
        let rbm = random_rbm(p, h, n, 1.0, 11);
        let config = AisConfig {
            chains: 200,
            betas: 1000,
            seed: 5,
        };
        let est = log_partition(&rbm, &[0, 1, 2], config);
        for (f, e) in est.iter().enumerate() {
            let exact = exact_log_partition(&rbm.w, p, h, &rbm.bv[f * p..(f + 1) * p], &rbm.bh[f * h..(f + 1) * h])
                .unwrap_or(f64::NAN);
            assert!((e - exact).abs() < 0.05, "frame {f}: AIS {e} vs exact {exact}");
        }
        // Seeded: the same numbers again.
        assert_eq!(est, log_partition(&rbm, &[0, 1, 2], config));
    }

    /// Larger weights (std 2) and 12 visible units: a harder target, still
    /// within 0.1 nats with more β steps.
    #[test]
    fn ais_handles_a_peaked_rbm() {
        let (p, h) = (12, 6);
        let rbm = random_rbm(p, h, 1, 2.0, 3);
        let est = log_partition(
            &rbm,
            &[0],
            AisConfig {
                chains: 200,
                betas: 3000,
                seed: 1,
            },
        )[0];
        let exact = exact_log_partition(&rbm.w, p, h, &rbm.bv, &rbm.bh).unwrap_or(f64::NAN);
        assert!((est - exact).abs() < 0.1, "AIS {est} vs exact {exact}");
    }

    #[test]
    fn frame_nll_is_a_distribution_over_a_small_rbm() {
        // exp(−NLL) summed over all 2^p frames is 1 up to AIS's error.
        let (p, h) = (5, 3);
        let rbm = random_rbm(p, h, 1, 1.0, 9);
        let frames: Vec<Vec<f32>> = (0..1u32 << p)
            .map(|c| (0..p).map(|i| ((c >> i) & 1) as f32).collect())
            .collect();
        let mut total = 0f64;
        for v in &frames {
            let nll = frame_nll(
                &rbm,
                v,
                &[1.0],
                AisConfig {
                    chains: 100,
                    betas: 500,
                    seed: 2,
                },
            )[0];
            total += (-nll).exp();
        }
        assert!((total - 1.0).abs() < 0.05, "Σ p(v) = {total}");
    }
}
