//! gemm throughput on the Transformer step's weight-gradient shapes.
use std::time::Instant;
#[allow(clippy::too_many_arguments)]
unsafe fn g(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dcs: isize,
    drs: isize,
    acc: bool,
    l: *const f32,
    lcs: isize,
    lrs: isize,
    r: *const f32,
    rcs: isize,
    rrs: isize,
    par: bool,
) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        dcs,
        drs,
        acc,
        l,
        lcs,
        lrs,
        r,
        rcs,
        rrs,
        1.0,
        1.0,
        false,
        false,
        false,
        if par {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        },
    );
}
fn time(mut f: impl FnMut()) -> f64 {
    let mut ts = Vec::new();
    for it in 0..23 {
        let t = Instant::now();
        f();
        if it >= 3 {
            ts.push(t.elapsed().as_secs_f64());
        }
    }
    ts.sort_by(|a, b| a.total_cmp(b));
    ts[10]
}
fn main() {
    for &(nn, din, dout) in &[
        (2048usize, 256usize, 768usize),
        (2048, 256, 1024),
        (2048, 1024, 256),
        (2048, 256, 256),
        (2048, 256, 310),
    ] {
        let x = vec![0.5f32; nn * din];
        let dy = vec![0.25f32; nn * dout];
        let mut dw = vec![0f32; din * dout];
        let mut dw2 = vec![0f32; din * dout];
        let fl = 2.0 * (nn * din * dout) as f64 / 1e9;
        // A: dW = Xᵀ dY, lhs transposed view.
        let a = time(|| unsafe {
            g(
                din,
                dout,
                nn,
                dw.as_mut_ptr(),
                1,
                dout as isize,
                false,
                x.as_ptr(),
                din as isize,
                1,
                dy.as_ptr(),
                1,
                dout as isize,
                true,
            )
        });
        // B: dWᵀ = dYᵀ X written through swapped strides.
        let b = time(|| unsafe {
            g(
                dout,
                din,
                nn,
                dw.as_mut_ptr(),
                dout as isize,
                1,
                false,
                dy.as_ptr(),
                dout as isize,
                1,
                x.as_ptr(),
                1,
                din as isize,
                true,
            )
        });
        // C: split the rows of X in two, one single-threaded product each, then add.
        let c = time(|| {
            let h = nn / 2;
            let (p0, p1) = (dw.as_mut_ptr() as usize, dw2.as_mut_ptr() as usize);
            rayon::join(
                || unsafe {
                    g(
                        din,
                        dout,
                        h,
                        p0 as *mut f32,
                        1,
                        dout as isize,
                        false,
                        x.as_ptr(),
                        din as isize,
                        1,
                        dy.as_ptr(),
                        1,
                        dout as isize,
                        false,
                    )
                },
                || unsafe {
                    g(
                        din,
                        dout,
                        h,
                        p1 as *mut f32,
                        1,
                        dout as isize,
                        false,
                        x.as_ptr().add(h * din),
                        din as isize,
                        1,
                        dy.as_ptr().add(h * dout),
                        1,
                        dout as isize,
                        false,
                    )
                },
            );
            for (a, b) in dw.iter_mut().zip(&dw2) {
                *a += b;
            }
        });
        // D: forward-like product for reference, X dY-shaped: [N, din] · [din, dout].
        let w = vec![0.1f32; din * dout];
        let mut y = vec![0f32; nn * dout];
        let d = time(|| unsafe {
            g(
                nn,
                dout,
                din,
                y.as_mut_ptr(),
                1,
                dout as isize,
                false,
                x.as_ptr(),
                1,
                din as isize,
                w.as_ptr(),
                1,
                dout as isize,
                true,
            )
        });
        // E: dX = dY Wᵀ: [N, dout] · [dout, din].
        let mut dx = vec![0f32; nn * din];
        let e = time(|| unsafe {
            g(
                nn,
                din,
                dout,
                dx.as_mut_ptr(),
                1,
                din as isize,
                false,
                dy.as_ptr(),
                1,
                dout as isize,
                w.as_ptr(),
                dout as isize,
                1,
                true,
            )
        });
        println!(
            "N{nn} in{din} out{dout}: dW A {:.0}  B {:.0}  C {:.0}  | fwd {:.0}  dX {:.0} GFLOP/s",
            fl / a,
            fl / b,
            fl / c,
            fl / d,
            fl / e
        );
    }
}
