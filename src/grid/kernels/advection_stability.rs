//! The stability limit of the advection schemes of [`super::advection`]: the largest CFL
//! number at which no Fourier mode grows, found numerically once per problem.
//!
//! Von Neumann analysis. Both schemes are linear with constant coefficients on a periodic
//! grid, so the Fourier modes `u_j = exp(i k . x_j)` are eigenvectors of one step. With
//! `theta_a = k_a h_a` in `[-pi, pi]` on each axis, the update
//! `u'_j = u_j + sum_taps w (u_{j+o} - u_j)` multiplies the mode by its *amplification
//! factor* (`symbol`)
//!
//! `G(theta) = 1 + sum_taps w (exp(i theta . o) - 1)`,
//!
//! and `n` steps by `G^n`. The scheme is stable when no mode grows: `max_theta |G| <= 1`.
//!
//! The limit as a function of one number. With the velocity direction fixed, the Courant
//! numbers are `nu_a = s r_a` (`max_a |r_a| = 1`), so `s = max_a |nu_a|` is the CFL number.
//! The tap weights are polynomials in `s` (degree 1 for upwind, 2 for Lax-Wendroff), so
//! `G = 1 + s c1(theta) + s^2 c2(theta)` (`growth_coefficients`) with
//!
//! - upwind: `c1 = -sum_a (|r_a| (1 - cos theta_a) + i r_a sin theta_a)`, `c2 = 0`;
//! - Lax-Wendroff: `c1 = -i sum_a r_a sin theta_a`,
//!   `c2 = -sum_a r_a^2 (1 - cos theta_a) - sum_{a<b} r_a r_b sin theta_a sin theta_b`;
//!
//! and at each `theta` the growth `|G|^2 - 1` is a polynomial of degree 4 in `s` without
//! constant term (`growth_polynomial`):
//!
//! `|G|^2 - 1 = 2 Re c1 s + (|c1|^2 + 2 Re c2) s^2 + 2 Re(c1 conj c2) s^3 + |c2|^2 s^4`.
//!
//! How [`cfl_limit`] finds the limit `s*`:
//!
//! 1. Sample `theta` on a grid of `m` points per active axis, `theta = -pi + 2 pi j / m`
//!    (`m` = 1024, 128, 32 in 1D, 2D, 3D; `0` and `pi` included), the first active axis on
//!    `[0, pi]` only: `G(-theta) = conj G(theta)` has the same modulus. The grid is repeated
//!    scaled by `4^-j`, `j = 1..4`: near the limit the modes that grow first are long waves
//!    (small `theta`), which the uniform grid samples coarsely.
//! 2. Bisect (`bisect`): `s*` is the largest `s` at which every sample has
//!    `|G| <= 1 + 1e-12`, tested as `|G|^2 - 1 <= 2e-12 + 1e-24`. The bracket is found by
//!    doubling from `s = 1` (infinity if no power of two up to `2^39` is unstable), then
//!    halved until its width is `1e-15` of its upper end.
//! 3. Refine, twice: from the 16 samples that grow most at the current `s*`, a compass search
//!    (`climb`) moves to local maxima of `|G|^2` between the grid points, and `s*` becomes
//!    the smaller of itself and the bisection over those 16 modes.
//!
//! Known results: in 1D both schemes are stable iff `|nu| <= 1` (the bisection gives 1 to
//! 1e-12); upwind in any dimension iff `sum_a |nu_a| <= 1`. Measured with this code for
//! `lax-wendroff` on square grids: `a = (1, 1)` in 2D gives `s* = 0.3535955`, `a = (1, 1, 1)`
//! in 3D gives `s* = 0.1924865`. Both lie just above what look like the exact limits
//! `1/(2 sqrt 2) = 0.3535534` and `1/(3 sqrt 3) = 0.1924501` (the bisection approaches
//! them as the tolerance goes to 0), by 1.2e-4 and 1.9e-4 relative: just past the exact
//! limit only long waves grow, by less than the 1e-12 per step the tolerance allows
//! (harmless: 1e-6 after a million steps). The unsplit scheme is far more restrictive than
//! in 1D, `s* ~ d^(-3/2)` along the diagonal, because of the cross-difference terms.
//!
//! Complex numbers are `num_complex::Complex64`, here and in [`super::advection`]. The
//! operations used evaluate the same expressions as the hand-written type they replaced, so
//! every result is unchanged bit for bit: `+`, `-`, `-=`, `* f64`, `conj`, `norm_sqr`
//! (`re^2 + im^2`), `norm` (`hypot`), `cis` (`(cos, sin)`, as `sin_cos` computed it), `*`
//! (`(ac - bd, ad + bc)`) and `*=` (which sums the imaginary part as `bc + ad`: the same
//! number, floating-point addition is commutative). Integer powers are not `num_complex`'s
//! (see `powu` in [`super::advection`]).

use super::advection::{Scheme, Tap};
use num_complex::Complex64;
use std::f64::consts::PI;

/// The amplification factor of the update with `taps` for mode `theta` (per internal axis):
/// `G = 1 + sum_taps w (exp(i theta . offset) - 1)`.
pub(super) fn symbol(taps: &[Tap], theta: [f64; 3]) -> Complex64 {
    taps.iter().fold(Complex64::ONE, |g, t| {
        let phase: f64 = (0..3).map(|a| theta[a] * t.offset[a] as f64).sum();
        g + (Complex64::cis(phase) - Complex64::ONE) * t.weight
    })
}

/// `G(theta) = 1 + s c1 + s^2 c2` for Courant numbers `nu = s r`: the coefficients `(c1, c2)`.
fn growth_coefficients(scheme: Scheme, r: [f64; 3], theta: [f64; 3]) -> (Complex64, Complex64) {
    let (sin, cos): ([f64; 3], [f64; 3]) = (theta.map(f64::sin), theta.map(f64::cos));
    match scheme {
        Scheme::Upwind => {
            let mut c1 = Complex64::new(0.0, 0.0);
            for a in 0..3 {
                c1 -= Complex64::new(r[a].abs() * (1.0 - cos[a]), r[a] * sin[a]);
            }
            (c1, Complex64::new(0.0, 0.0))
        }
        Scheme::LaxWendroff => {
            let mut c1 = 0.0;
            let mut c2 = 0.0;
            for a in 0..3 {
                c1 -= r[a] * sin[a];
                c2 -= r[a] * r[a] * (1.0 - cos[a]);
                for b in a + 1..3 {
                    c2 -= r[a] * r[b] * sin[a] * sin[b];
                }
            }
            (Complex64::new(0.0, c1), Complex64::new(c2, 0.0))
        }
    }
}

/// `|G|^2 - 1 = sum_j p[j] s^(j+1)` for `G = 1 + s c1 + s^2 c2`.
fn growth_polynomial((c1, c2): (Complex64, Complex64)) -> [f64; 4] {
    [
        2.0 * c1.re,
        c1.norm_sqr() + 2.0 * c2.re,
        2.0 * (c1 * c2.conj()).re,
        c2.norm_sqr(),
    ]
}

#[inline]
fn growth(p: &[f64; 4], s: f64) -> f64 {
    (((p[3] * s + p[2]) * s + p[1]) * s + p[0]) * s
}

/// `|G| <= 1 + 1e-12` written as `|G|^2 - 1 <= GROWTH_TOLERANCE`.
const GROWTH_TOLERANCE: f64 = 2e-12 + 1e-24;

/// The largest `s` with every polynomial's growth within tolerance: doubling from `s = 1`
/// to the first unstable power of two `hi` (infinity if `1, 2, .., 2^39` are all stable),
/// then bisection of `[hi / 2, hi]` (`[0, 1]` if `1` is unstable) to a relative width of
/// `1e-15`, returning the stable end.
fn bisect(polys: &[[f64; 4]]) -> f64 {
    let stable = |s: f64| polys.iter().all(|p| growth(p, s) <= GROWTH_TOLERANCE);
    let (mut lo, mut hi) = (0.0, 1.0);
    while stable(hi) {
        lo = hi;
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    while hi - lo > 1e-15 * hi {
        let mid = 0.5 * (lo + hi);
        if stable(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The grid of modes `theta` is repeated scaled by these factors: near the limit the modes
/// that grow first are long waves (small `theta`), which a uniform grid samples coarsely.
const SCALES: [f64; 5] = [1.0, 0.25, 0.0625, 0.015625, 0.00390625];

/// The CFL limit `s* = max_a |nu_a|` of `scheme` for Courant numbers in the direction `r`
/// (`nu_a = s r_a`, `max_a |r_a| = 1`, zero on inactive axes): the largest `s` with
/// `max_theta |G(theta)| <= 1 + 1e-12` (see the module doc).
pub fn cfl_limit(scheme: Scheme, r: [f64; 3]) -> f64 {
    let active: Vec<usize> = (0..3).filter(|&a| r[a] != 0.0).collect();
    if active.is_empty() {
        return f64::INFINITY;
    }
    let m: usize = match active.len() {
        1 => 1024,
        2 => 128,
        _ => 32,
    };
    let angle = |j: usize| -PI + 2.0 * PI * j as f64 / m as f64;
    // the first active axis covers [0, pi] only: G(-theta) = conj G(theta)
    let counts: Vec<usize> = (0..active.len())
        .map(|i| if i == 0 { m / 2 + 1 } else { m })
        .collect();
    let total: usize = counts.iter().product();
    let mut thetas = Vec::with_capacity(total * SCALES.len());
    for scale in SCALES {
        for flat in 0..total {
            let mut theta = [0.0; 3];
            let mut rest = flat;
            for (i, &a) in active.iter().enumerate().rev() {
                let j = rest % counts[i];
                rest /= counts[i];
                theta[a] = scale * if i == 0 { angle(j + m / 2) } else { angle(j) };
            }
            thetas.push(theta);
        }
    }
    let poly = |theta: [f64; 3]| growth_polynomial(growth_coefficients(scheme, r, theta));
    let polys: Vec<[f64; 4]> = thetas.iter().map(|&t| poly(t)).collect();
    let mut limit = bisect(&polys);
    // The worst mode may lie between grid points: climb from the worst grid points to the
    // local maxima of |G|^2 at the current limit, and bisect again with those modes.
    for _round in 0..2 {
        let mut order: Vec<usize> = (0..thetas.len()).collect();
        let keep = 16.min(order.len());
        order.select_nth_unstable_by(keep - 1, |&i, &j| {
            growth(&polys[j], limit).total_cmp(&growth(&polys[i], limit))
        });
        let refined: Vec<[f64; 4]> = order[..keep]
            .iter()
            .map(|&i| {
                let f = |t: [f64; 3]| growth(&poly(t), limit);
                let step = SCALES[i / total] * 2.0 * PI / m as f64;
                poly(climb(f, thetas[i], &active, step))
            })
            .collect();
        limit = limit.min(bisect(&refined));
    }
    limit
}

/// Compass search for a local maximum of `f` from `start`, moving along the `active` axes
/// with steps from `step` down to 1e-13.
fn climb(
    f: impl Fn([f64; 3]) -> f64,
    start: [f64; 3],
    active: &[usize],
    mut step: f64,
) -> [f64; 3] {
    let (mut x, mut best) = (start, f(start));
    while step > 1e-13 {
        let mut moved = false;
        for &a in active {
            for d in [step, -step] {
                let mut y = x;
                y[a] += d;
                let v = f(y);
                if v > best {
                    (x, best, moved) = (y, v, true);
                }
            }
        }
        if !moved {
            step *= 0.5;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::super::advection::{taps, Advection};
    use super::*;

    #[test]
    fn one_dimensional_limits_are_one() {
        for scheme in [Scheme::Upwind, Scheme::LaxWendroff] {
            for r in [1.0, -1.0] {
                let s = cfl_limit(scheme, [0.0, 0.0, r]);
                assert!((s - 1.0).abs() < 1e-6, "{scheme:?} {r}: {s}");
            }
            let adv = Advection::new(&[50], scheme, &[2.0], None).unwrap();
            assert!((adv.dt_limit() - 1.0 / 100.0).abs() < 1e-8);
        }
    }

    #[test]
    fn multi_dimensional_limits() {
        // upwind: sum_a |nu_a| <= 1
        let s = cfl_limit(Scheme::Upwind, [0.0, 1.0, -0.5]);
        assert!((s - 1.0 / 1.5).abs() < 1e-6, "{s}");
        let s = cfl_limit(Scheme::Upwind, [1.0, 1.0, 1.0]);
        assert!((s - 1.0 / 3.0).abs() < 1e-6, "{s}");
        // unsplit Lax-Wendroff along the diagonal: the bisection's limit lies just above the
        // exact limits 1/(2 sqrt 2) and 1/(3 sqrt 3), by what the 1e-12 tolerance on |G| lets
        // through (see the module doc)
        let s2 = cfl_limit(Scheme::LaxWendroff, [0.0, 1.0, 1.0]);
        let s3 = cfl_limit(Scheme::LaxWendroff, [1.0, 1.0, 1.0]);
        eprintln!("lax-wendroff limits: 2D {s2:.10}, 3D {s3:.10}");
        let (e2, e3) = (0.5 / 2f64.sqrt(), 1.0 / (3.0 * 3f64.sqrt()));
        assert!(s2 >= e2 && s2 <= e2 * (1.0 + 2e-4), "{s2}");
        assert!(s3 >= e3 && s3 <= e3 * (1.0 + 3e-4), "{s3}");
        // and a hair above the exact limit some mode grows, below it none does
        let g =
            |s: f64, theta: [f64; 3]| symbol(&taps(Scheme::LaxWendroff, [0.0, s, s]), theta).norm();
        let worst = |s: f64| {
            (1..200)
                .flat_map(|i| (1..200).map(move |j| [0.0, 0.0157 * i as f64, -0.0157 * j as f64]))
                .chain((1..200).flat_map(|i| {
                    (1..200).map(move |j| [0.0, 0.0157 * i as f64, 0.0157 * j as f64])
                }))
                .map(|t| g(s, t))
                .fold(0.0, f64::max)
        };
        assert!(worst(e2 * 0.999) <= 1.0 + 1e-15);
        assert!(worst(e2 * 1.01) > 1.0 + 1e-12);
    }

    #[test]
    fn growth_polynomial_agrees_with_the_taps() {
        let r = [0.3, -1.0, 0.6];
        for scheme in [Scheme::Upwind, Scheme::LaxWendroff] {
            for (s, theta) in [
                (0.2, [0.3, -1.2, 2.9]),
                (0.17, [PI, 0.5, -0.1]),
                (0.1, [0.0; 3]),
            ] {
                let g = symbol(&taps(scheme, r.map(|x| s * x)), theta);
                let p = growth_polynomial(growth_coefficients(scheme, r, theta));
                assert!(
                    (g.norm_sqr() - 1.0 - growth(&p, s)).abs() < 1e-14,
                    "{scheme:?}"
                );
            }
        }
    }
}
