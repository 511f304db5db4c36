//! Linear advection `du/dt + a . grad(u) = 0` with a constant velocity `a` on the periodic
//! unit square / cube (1 to 3 axes).
//!
//! Grid: `N_a` points per axis, `x_i = i h_a` with `h_a = 1 / N_a`, periodic on every axis.
//! Writing `nu_a = a_a dt / h_a` for the Courant number of axis `a`, `u_{+a}` / `u_{-a}`
//! for the neighbours along axis `a`, and `D0_a`, `D_aa`, `D_ab` for the central first
//! difference, the 3-point second difference and the 4-corner cross difference:
//!
//! - `upwind` (donor cell, unsplit, first order):
//!   `u' = u + sum_a |nu_a| (u_{up(a)} - u)`, `up(a)` the neighbour on the side the flow
//!   comes from (`-a` for `a_a >= 0`, `+a` otherwise). Amplification factor
//!   `G = 1 - sum_a |nu_a| (1 - cos theta_a + i sign(a_a) sin theta_a)`.
//! - `lax-wendroff` (unsplit, multi-dimensional, second order):
//!   `u' = u - dt sum_a a_a D0_a u + dt^2/2 sum_{a,b} a_a a_b D_ab u`, that is
//!   `u' = u - sum_a nu_a/2 (u_{+a} - u_{-a}) + sum_a nu_a^2/2 (u_{+a} - 2 u + u_{-a})`
//!   `+ sum_{a<b} nu_a nu_b/4 (u_{++} - u_{+-} - u_{-+} + u_{--})`, with amplification
//!   factor `G = 1 - i sum_a nu_a sin theta_a - sum_a nu_a^2 (1 - cos theta_a)`
//!   `- sum_{a<b} nu_a nu_b sin theta_a sin theta_b`. The cross terms read the corner
//!   neighbours, which the halo exchange provides.
//!
//! Both are radius 1 and are applied as `u' = u + sum_taps w (u[neighbour] - u)`, so they
//! conserve the discrete mass `sum_cells u h^d` exactly in exact arithmetic: each
//! difference sums to zero over a periodic grid.
//!
//! Stability: both schemes are linear, so mode `exp(i k.x)` is multiplied by `G(theta)`,
//! `theta_a = k_a h_a`, each step; they are stable when `max_theta |G| <= 1`. With the
//! velocity direction fixed, `nu_a = s r_a`, `s = max_a |nu_a|` the CFL number, and the
//! limit `s*` is found numerically once per problem ([`cfl_limit`]): `|G|^2 - 1` is a
//! polynomial of degree 4 in `s` at each `theta`; `s*` is the largest `s` (by bisection)
//! with `max |G| <= 1 + 1e-12` over a dense grid of `theta` (1024 points in 1D, 128^2 in 2D,
//! 32^3 in 3D, `theta = 0` and `pi` included, half of it by the symmetry
//! `G(-theta) = conj G(theta)`), repeated scaled by `4^-j`, `j = 1..4` (near the limit the
//! modes that grow first are long waves), and refined by a local search from the worst
//! grid points. A `dt` above `s* / max_a(|a_a| / h_a)` is refused ([`Error::Unstable`]).
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
//! Accuracy: `O(h + dt)` for upwind, `O(h^2 + dt^2)` for Lax-Wendroff (`dt ~ h`).
//!
//! Time step and run length: the *period* `T` is the smallest `t > 0` with `a_a t` a whole
//! number on every axis (found among `t = m / max|a_a|`, `m <= 1000`; if there is none, `T =
//! 1 / max|a_a|`, the time the fastest component takes to cross the domain, and runs say
//! that they do not end on a whole period). The default time step is `dt = T / n`, `n` the
//! smallest whole number with `dt <= 0.8 dt_limit`, and the default run is `n` steps:
//! exactly one period, after which the exact solution is the initial profile again.
//!
//! Validation: the initial condition is two Fourier modes,
//! `u0 = sin(2 pi sum_a x_a) + 0.5 cos(2 pi kappa . x)` with `kappa = (2)`, `(1, -2)`,
//! `(1, -2, 3)` in 1D, 2D, 3D. Writing each as `Re(c_m exp(i k_m . x))`, the PDE's solution
//! is `u(t) = u0(x - a t) = sum_m Re(c_m exp(-i k_m . a t) exp(i k_m . x))`, and the
//! scheme's is `u^n = sum_m Re(c_m G(k_m h)^n exp(i k_m . x))` (complex `G`). A run
//! validates when it equals the scheme's solution to round-off and hence differs from the
//! translated profile by exactly the scheme's discretisation error. `exp(i k_{m,a} x_a)` is
//! tabulated per axis, so checking a field costs table look-ups, not trigonometry per cell.

use crate::error::{Error, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::geometry::IndexBox;
use crate::grid::stencil::{GlobalIndex, Kernel};
use crate::parallel::exact_sum::ExactSum;
use std::f64::consts::PI;
use std::ops::{Add, Mul, Sub};

/// Which discretisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// First-order donor cell.
    Upwind,
    /// Second-order unsplit Lax-Wendroff.
    LaxWendroff,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Upwind => "upwind",
            Scheme::LaxWendroff => "lax-wendroff",
        }
    }

    /// Order of accuracy (in `h`, with `dt ~ h`).
    pub fn order(self) -> usize {
        match self {
            Scheme::Upwind => 1,
            Scheme::LaxWendroff => 2,
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "upwind" => Ok(Scheme::Upwind),
            "lax-wendroff" | "lw" => Ok(Scheme::LaxWendroff),
            _ => Err(format!("'{s}' is not a scheme (upwind or lax-wendroff)")),
        }
    }
}

/// A complex number (only what the amplification factors need).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Complex {
    pub re: f64,
    pub im: f64,
}

impl Complex {
    pub const ONE: Complex = Complex { re: 1.0, im: 0.0 };

    pub fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }

    /// `exp(i phi)`.
    pub fn cis(phi: f64) -> Complex {
        let (s, c) = phi.sin_cos();
        Complex { re: c, im: s }
    }

    pub fn conj(self) -> Complex {
        Complex::new(self.re, -self.im)
    }

    pub fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }

    pub fn abs(self) -> f64 {
        self.re.hypot(self.im)
    }

    /// `self^n` by repeated squaring.
    pub fn powu(self, mut n: u64) -> Complex {
        let (mut base, mut acc) = (self, Complex::ONE);
        while n > 0 {
            if n & 1 == 1 {
                acc = acc * base;
            }
            base = base * base;
            n >>= 1;
        }
        acc
    }
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex::new(self.re + o.re, self.im + o.im)
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex::new(self.re - o.re, self.im - o.im)
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
}

impl Mul<f64> for Complex {
    type Output = Complex;
    fn mul(self, s: f64) -> Complex {
        Complex::new(self.re * s, self.im * s)
    }
}

/// One neighbour the update reads: `out += weight * (u[offset] - u)`.
#[derive(Clone, Copy, Debug)]
struct Tap {
    offset: [isize; 3],
    weight: f64,
}

/// The scheme's neighbours and weights for Courant numbers `nu` (internal axes, 0 on
/// inactive ones): `u' = u + sum_taps w (u[offset] - u)`, in a fixed order.
fn taps(scheme: Scheme, nu: [f64; 3]) -> Vec<Tap> {
    let unit = |a: usize, d: isize| -> [isize; 3] {
        let mut o = [0; 3];
        o[a] = d;
        o
    };
    let mut t = Vec::new();
    for (a, &nu_a) in nu.iter().enumerate() {
        if nu_a == 0.0 {
            continue;
        }
        match scheme {
            Scheme::Upwind => t.push(Tap {
                offset: unit(a, if nu_a >= 0.0 { -1 } else { 1 }),
                weight: nu_a.abs(),
            }),
            Scheme::LaxWendroff => {
                let half2 = 0.5 * nu_a * nu_a;
                t.push(Tap {
                    offset: unit(a, -1),
                    weight: half2 + 0.5 * nu_a,
                });
                t.push(Tap {
                    offset: unit(a, 1),
                    weight: half2 - 0.5 * nu_a,
                });
            }
        }
    }
    if scheme == Scheme::LaxWendroff {
        for a in 0..3 {
            for b in a + 1..3 {
                let q = 0.25 * nu[a] * nu[b];
                if q == 0.0 {
                    continue;
                }
                for (da, db, sign) in [(1, 1, 1.0), (1, -1, -1.0), (-1, 1, -1.0), (-1, -1, 1.0)] {
                    let mut offset = [0; 3];
                    offset[a] = da;
                    offset[b] = db;
                    t.push(Tap {
                        offset,
                        weight: sign * q,
                    });
                }
            }
        }
    }
    t
}

/// The amplification factor of the update with `taps` for mode `theta` (per internal axis):
/// `G = 1 + sum_taps w (exp(i theta . offset) - 1)`.
fn symbol(taps: &[Tap], theta: [f64; 3]) -> Complex {
    taps.iter().fold(Complex::ONE, |g, t| {
        let phase: f64 = (0..3).map(|a| theta[a] * t.offset[a] as f64).sum();
        g + (Complex::cis(phase) - Complex::ONE) * t.weight
    })
}

/// `G(theta) = 1 + s c1 + s^2 c2` for Courant numbers `nu = s r`: the coefficients `(c1, c2)`.
fn growth_coefficients(scheme: Scheme, r: [f64; 3], theta: [f64; 3]) -> (Complex, Complex) {
    let (sin, cos): ([f64; 3], [f64; 3]) = (theta.map(f64::sin), theta.map(f64::cos));
    match scheme {
        Scheme::Upwind => {
            let mut c1 = Complex::new(0.0, 0.0);
            for a in 0..3 {
                c1 = c1 - Complex::new(r[a].abs() * (1.0 - cos[a]), r[a] * sin[a]);
            }
            (c1, Complex::new(0.0, 0.0))
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
            (Complex::new(0.0, c1), Complex::new(c2, 0.0))
        }
    }
}

/// `|G|^2 - 1 = sum_j p[j] s^(j+1)` for `G = 1 + s c1 + s^2 c2`.
fn growth_polynomial((c1, c2): (Complex, Complex)) -> [f64; 4] {
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

/// The largest `s` in `[0, hi)` with every polynomial's growth within tolerance, by
/// bisection (`hi` must be unstable; infinity if no `s <= 2^40` is).
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

/// The time after which the profile is back where it started: the smallest `t = m /
/// max|a_a|` (`m = 1..=1000`) with `a_a t` a whole number on every axis; `None` if there is
/// none.
pub fn whole_period(velocity: &[f64]) -> Option<f64> {
    let amax = velocity.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    if amax == 0.0 {
        return None;
    }
    (1..=1000).map(|m| m as f64 / amax).find(|&t| {
        velocity
            .iter()
            .all(|a| (a * t - (a * t).round()).abs() <= 1e-9 * (a * t).abs().max(1.0))
    })
}

/// Whether `a_a t` is a whole number on every axis (to 1e-9): the exact solution at time
/// `t` is then the initial profile.
pub fn is_whole_period(velocity: &[f64], t: f64) -> bool {
    velocity
        .iter()
        .all(|a| (a * t - (a * t).round()).abs() <= 1e-9 * (a * t).abs().max(1.0))
}

/// One Fourier mode `Re(c exp(2 pi i kappa . x))` of the initial condition.
#[derive(Clone, Copy, Debug)]
struct Mode {
    c: Complex,
    /// Integer wave numbers per internal axis (0 on inactive axes).
    kappa: [i64; 3],
}

/// Fraction of the stability limit the default time step stays under.
pub const DEFAULT_DT_FRACTION: f64 = 0.8;

/// Linear advection on a periodic grid of `shape` points (1 to 3 axes).
#[derive(Clone, Debug)]
pub struct Advection {
    ndim: usize,
    /// Extents per internal axis (1 on inactive axes).
    n: [usize; 3],
    scheme: Scheme,
    /// Velocity per internal axis (0 on inactive axes).
    a: [f64; 3],
    h: [f64; 3],
    dt: f64,
    /// `max_a |nu_a|` and its stability limit.
    cfl: f64,
    cfl_limit: f64,
    dt_limit: f64,
    period: f64,
    whole_period: bool,
    steps_per_period: u64,
    taps: Vec<Tap>,
    modes: [Mode; 2],
    /// `G(k_m h)` per mode.
    growth: [Complex; 2],
    /// `waves[m][a][i] = exp(2 pi i kappa_{m,a} i / N_a)` for the points of each active
    /// axis: filling or checking a field costs table look-ups.
    waves: [[Vec<Complex>; 3]; 2],
}

impl Advection {
    /// The problem on `shape` points with velocity `velocity` (one per axis) and time step
    /// `dt` (`None`: the default, one period in the fewest steps that keep
    /// `dt <= 0.8 dt_limit`). Refuses a bad velocity and an unstable time step.
    pub fn new(
        shape: &[usize],
        scheme: Scheme,
        velocity: &[f64],
        dt: Option<f64>,
    ) -> Result<Advection> {
        let ndim = shape.len();
        if !(1..=3).contains(&ndim) || shape.contains(&0) {
            return Err(Error::arg("--size", "needs 1 to 3 positive extents"));
        }
        if velocity.len() != ndim {
            return Err(Error::arg(
                "--velocity",
                format!(
                    "has {} components for a {ndim}D grid (give one for every axis, or one for all)",
                    velocity.len()
                ),
            ));
        }
        if let Some(v) = velocity.iter().find(|v| !v.is_finite()) {
            return Err(Error::arg(
                "--velocity",
                format!("{v} is not a finite number"),
            ));
        }
        if velocity.iter().all(|&v| v == 0.0) {
            return Err(Error::arg(
                "--velocity",
                "is zero on every axis: nothing moves, there is no period to run",
            ));
        }
        let off = 3 - ndim;
        let (mut n, mut a, mut h) = ([1usize; 3], [0.0; 3], [1.0; 3]);
        for p in 0..ndim {
            n[off + p] = shape[p];
            a[off + p] = velocity[p];
            h[off + p] = 1.0 / shape[p] as f64;
        }
        // the fastest axis in Courant terms: nu_a = dt |a_a| / h_a
        let speed = (0..3).map(|x| a[x].abs() / h[x]).fold(0.0, f64::max);
        let r: [f64; 3] = std::array::from_fn(|x| a[x] / h[x] / speed);
        let cfl_limit = cfl_limit(scheme, r);
        let dt_limit = cfl_limit / speed;
        let (period, whole_period) = match whole_period(velocity) {
            Some(t) => (t, true),
            None => (
                1.0 / velocity.iter().fold(0.0f64, |m, v| m.max(v.abs())),
                false,
            ),
        };
        let mut steps_per_period =
            (period / (DEFAULT_DT_FRACTION * dt_limit)).ceil().max(1.0) as u64;
        while period / steps_per_period as f64 > DEFAULT_DT_FRACTION * dt_limit {
            steps_per_period += 1;
        }
        let dt = match dt {
            None => period / steps_per_period as f64,
            Some(dt) if !(dt > 0.0 && dt.is_finite()) => {
                return Err(Error::arg("--dt", format!("must be positive, got {dt}")))
            }
            Some(dt) if dt > dt_limit => {
                return Err(Error::Unstable(format!(
                    "--dt {dt:e} is unstable: {} needs dt <= {dt_limit:e} on this grid \
                     (CFL number max|a_a| dt/h_a <= {cfl_limit:.6})",
                    scheme.as_str()
                )))
            }
            Some(dt) => dt,
        };
        let nu: [f64; 3] = std::array::from_fn(|x| a[x] * dt / h[x]);
        let taps = taps(scheme, nu);
        let kappa2 = match ndim {
            1 => [0, 0, 2],
            2 => [0, 1, -2],
            _ => [1, -2, 3],
        };
        let modes = [
            Mode {
                c: Complex::new(0.0, -1.0), // Re(-i exp(i phi)) = sin(phi)
                kappa: std::array::from_fn(|x| i64::from(x >= off)),
            },
            Mode {
                c: Complex::new(0.5, 0.0),
                kappa: kappa2,
            },
        ];
        let growth = modes.map(|m| {
            let theta = std::array::from_fn(|x| 2.0 * PI * m.kappa[x] as f64 * h[x]);
            symbol(&taps, theta)
        });
        let waves = modes.map(|m| {
            std::array::from_fn(|x| {
                if x < off {
                    return Vec::new();
                }
                let nx = n[x] as i64;
                (0..nx)
                    .map(|i| {
                        let j = (m.kappa[x] * i).rem_euclid(nx);
                        Complex::cis(2.0 * PI * j as f64 / nx as f64)
                    })
                    .collect()
            })
        });
        Ok(Advection {
            ndim,
            n,
            scheme,
            a,
            h,
            dt,
            cfl: (0..3).map(|x| nu[x].abs()).fold(0.0, f64::max),
            cfl_limit,
            dt_limit,
            period,
            whole_period,
            steps_per_period,
            taps,
            modes,
            growth,
            waves,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// The largest stable time step on this grid.
    pub fn dt_limit(&self) -> f64 {
        self.dt_limit
    }

    /// `max_a |a_a| dt / h_a` and its stability limit.
    pub fn cfl(&self) -> (f64, f64) {
        (self.cfl, self.cfl_limit)
    }

    /// The period `T` (see the module doc) and whether it is a whole period on every axis
    /// (`false`: no `a_a T` is whole for all axes, `T` is the fastest crossing time).
    pub fn period(&self) -> (f64, bool) {
        (self.period, self.whole_period)
    }

    /// Steps of the default time step in one period: the default run length.
    pub fn steps_per_period(&self) -> u64 {
        self.steps_per_period
    }

    /// The velocity on each of the problem's axes.
    pub fn velocity(&self) -> Vec<f64> {
        self.a[3 - self.ndim..].to_vec()
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.h[3 - self.ndim..].to_vec()
    }

    /// Coordinate of the first grid point on each axis (0: `x_i = i h`).
    pub fn origin(&self) -> Vec<f64> {
        vec![0.0; self.ndim]
    }

    /// `h^d`, the volume of a cell.
    pub fn cell_volume(&self) -> f64 {
        self.h.iter().product()
    }

    /// The amplification factor `G(k_m h)` of each mode of the initial condition.
    pub fn mode_growth(&self) -> [Complex; 2] {
        self.growth
    }

    /// `exp(2 pi i kappa_m . x)` at global index `idx` for each mode (indices taken modulo
    /// the grid: the profile is periodic).
    #[inline]
    fn waves_at(&self, idx: GlobalIndex) -> [Complex; 2] {
        std::array::from_fn(|m| {
            (3 - self.ndim..3).fold(Complex::ONE, |z, x| {
                z * self.waves[m][x][idx[x].rem_euclid(self.n[x] as i64) as usize]
            })
        })
    }

    /// `sum_m Re(amplitudes[m] waves[m])`.
    #[inline]
    fn superpose(amplitudes: &[Complex; 2], waves: &[Complex; 2]) -> f64 {
        (amplitudes[0] * waves[0]).re + (amplitudes[1] * waves[1]).re
    }

    /// Complex amplitudes of the PDE's solution at time `t`: `c_m exp(-2 pi i kappa_m . a t)`
    /// (the phase reduced modulo 1 turn before the trigonometry).
    fn exact_amplitudes(&self, t: f64) -> [Complex; 2] {
        self.modes.map(|m| {
            let turns: f64 = (0..3).map(|x| m.kappa[x] as f64 * self.a[x] * t).sum();
            m.c * Complex::cis(-2.0 * PI * (turns - turns.round()))
        })
    }

    /// Complex amplitudes of the scheme's solution after `step` steps: `c_m G_m^step`.
    fn scheme_amplitudes(&self, step: u64) -> [Complex; 2] {
        std::array::from_fn(|m| self.modes[m].c * self.growth[m].powu(step))
    }

    /// The initial profile `u0(x)` at global index `idx`.
    pub fn initial(&self, idx: GlobalIndex) -> f64 {
        Self::superpose(&self.modes.map(|m| m.c), &self.waves_at(idx))
    }

    /// Exact solution of the PDE (the translated profile) at `idx` and time `t`.
    pub fn analytic(&self, idx: GlobalIndex, t: f64) -> f64 {
        Self::superpose(&self.exact_amplitudes(t), &self.waves_at(idx))
    }

    /// Exact solution of the scheme after `step` steps at `idx`.
    pub fn discrete(&self, idx: GlobalIndex, step: u64) -> f64 {
        Self::superpose(&self.scheme_amplitudes(step), &self.waves_at(idx))
    }

    /// Local maxima over the owned cells of `u` after `step` steps (see [`AdvectionErrors`]).
    pub fn local_errors(&self, u: &Field<f64>, step: u64) -> AdvectionErrors {
        let exact = self.exact_amplitudes(step as f64 * self.dt);
        let scheme = self.scheme_amplitudes(step);
        let initial = self.modes.map(|m| m.c);
        let mut e = AdvectionErrors::default();
        u.for_each_owned(|g, v| {
            let w = self.waves_at(g);
            let (pde, sch) = (Self::superpose(&exact, &w), Self::superpose(&scheme, &w));
            e.vs_exact = e.vs_exact.max((v - pde).abs());
            e.vs_scheme = e.vs_scheme.max((v - sch).abs());
            e.discretisation = e.discretisation.max((sch - pde).abs());
            e.vs_initial = e.vs_initial.max((v - Self::superpose(&initial, &w)).abs());
            if !v.is_finite() {
                e.vs_exact = f64::INFINITY;
                e.vs_scheme = f64::INFINITY;
                e.vs_initial = f64::INFINITY;
            }
        });
        e
    }

    /// The exact sum of `u` over the owned cells (times [`Advection::cell_volume`], once
    /// summed over the ranks: the discrete mass).
    pub fn local_sum(u: &Field<f64>) -> ExactSum {
        u.owned_view().iter().copied().collect()
    }

    /// The exact sum of the initial profile over the global cells `owned`.
    pub fn local_initial_sum(&self, owned: IndexBox) -> ExactSum {
        let mut sum = ExactSum::new();
        let hi = owned.hi();
        for i in owned.lo[0]..hi[0] {
            for j in owned.lo[1]..hi[1] {
                for k in owned.lo[2]..hi[2] {
                    sum.add(self.initial([i as i64, j as i64, k as i64]));
                }
            }
        }
        sum
    }

    /// Round-off allowed after `step` steps: a few ulps of the amplitude per step.
    pub fn roundoff_tolerance(step: u64) -> f64 {
        1e-14 + 16.0 * f64::EPSILON * step as f64
    }
}

/// Maximum errors of an advection solution (see [`Advection::local_errors`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdvectionErrors {
    /// `max |u - u0(x - a t)|`, against the translated profile.
    pub vs_exact: f64,
    /// `max |u - u_scheme|`: round-off only, if the implementation is right.
    pub vs_scheme: f64,
    /// `max |u_scheme - u0(x - a t)|`: the scheme's discretisation error.
    pub discretisation: f64,
    /// `max |u - u0|`, against the initial profile (the exact solution after whole periods).
    pub vs_initial: f64,
}

impl AdvectionErrors {
    /// The solution validates when it equals the scheme's exact solution to round-off, and
    /// so its error against the PDE is the predicted discretisation error.
    pub fn validates(&self, step: u64) -> bool {
        let tol = Advection::roundoff_tolerance(step);
        self.vs_scheme <= tol && self.vs_exact <= self.discretisation + tol
    }
}

impl Kernel for Advection {
    type Value = f64;

    fn name(&self) -> &'static str {
        "advect"
    }

    fn radius(&self) -> usize {
        1
    }

    fn initial_value(&self, _level: usize, idx: GlobalIndex) -> f64 {
        self.initial(idx)
    }

    fn boundary_value(&self, _idx: GlobalIndex) -> f64 {
        // every axis is periodic: no ghost lies past a boundary
        0.0
    }

    #[inline]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        // u' = u + sum_taps w (u[offset] - u), the taps in their fixed order
        let n = out.len();
        let c = &s.row(0, 0, 0)[..n];
        out.fill(0.0);
        for t in &self.taps {
            let r = &s.row(t.offset[0], t.offset[1], t.offset[2])[..n];
            let w = t.weight;
            for m in 0..n {
                out[m] += w * (r[m] - c[m]);
            }
        }
        for m in 0..n {
            out[m] += c[m];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Grid;
    use crate::grid::stencil;
    use crate::parallel::Threads;

    /// Runs `steps` steps on one periodic block whose ghosts are refreshed from the opposite
    /// side before each step.
    fn run_one_block(
        shape: &[usize],
        scheme: Scheme,
        velocity: &[f64],
        steps: u64,
    ) -> (Advection, Field<f64>) {
        let adv = Advection::new(shape, scheme, velocity, None).unwrap();
        let grid = Grid::new(shape, &vec![true; shape.len()]).unwrap();
        let ghost: [usize; 3] = std::array::from_fn(|a| usize::from(grid.is_active(a)));
        let mut u = stencil::initial_block(&adv, &grid, grid.bounds(), ghost, 0);
        let mut next = u.clone();
        let inner = u.interior();
        let threads = Threads::serial();
        for _ in 0..steps {
            u.wrap_periodic();
            stencil::apply_rows(&adv, &[&u], &mut next, &inner, 0, &threads);
            std::mem::swap(&mut u, &mut next);
        }
        (adv, u)
    }

    #[test]
    fn one_block_matches_the_scheme_exactly() {
        let cases: [(&[usize], &[f64]); 6] = [
            (&[40], &[1.0]),
            (&[40], &[-0.7]),
            (&[19, 12], &[1.0, 0.5]),
            (&[16, 20], &[-1.0, 0.25]),
            (&[9, 8, 7], &[1.0, 1.0, 1.0]),
            (&[8, 10, 6], &[0.5, -1.0, 0.75]),
        ];
        for scheme in [Scheme::Upwind, Scheme::LaxWendroff] {
            for (shape, velocity) in cases {
                let steps = 60;
                let (adv, u) = run_one_block(shape, scheme, velocity, steps);
                let e = adv.local_errors(&u, steps);
                assert!(
                    e.validates(steps),
                    "{scheme:?} {shape:?} {velocity:?}: {e:?}"
                );
                assert!(e.vs_scheme < 1e-13, "{scheme:?} {shape:?}: {e:?}");
                assert!(e.discretisation > 1e-6, "{scheme:?} {shape:?}: {e:?}");
            }
        }
    }

    #[test]
    fn one_period_brings_the_profile_back_to_within_the_discretisation_error() {
        for scheme in [Scheme::Upwind, Scheme::LaxWendroff] {
            let adv = Advection::new(&[32, 32], scheme, &[1.0, 0.5], None).unwrap();
            let steps = adv.steps_per_period();
            assert_eq!(adv.period(), (2.0, true));
            let (adv, u) = run_one_block(&[32, 32], scheme, &[1.0, 0.5], steps);
            assert!(is_whole_period(&adv.velocity(), steps as f64 * adv.dt()));
            let e = adv.local_errors(&u, steps);
            assert!(e.validates(steps), "{e:?}");
            assert!((e.vs_initial - e.vs_exact).abs() < 1e-12, "{e:?}");
            assert!(e.vs_initial <= e.discretisation + 1e-12, "{e:?}");
        }
    }

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
            |s: f64, theta: [f64; 3]| symbol(&taps(Scheme::LaxWendroff, [0.0, s, s]), theta).abs();
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

    #[test]
    fn unstable_time_step_is_refused_with_the_limit() {
        let adv = Advection::new(&[64, 64], Scheme::LaxWendroff, &[1.0, 1.0], None).unwrap();
        let limit = adv.dt_limit();
        let err = Advection::new(
            &[64, 64],
            Scheme::LaxWendroff,
            &[1.0, 1.0],
            Some(limit * 1.01),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unstable"), "{err}");
        assert!(err.to_string().contains(&format!("{limit:e}")), "{err}");
        let at_limit = Advection::new(&[64, 64], Scheme::LaxWendroff, &[1.0, 1.0], Some(limit));
        let (cfl, cfl_limit) = at_limit.unwrap().cfl();
        assert!((cfl - cfl_limit).abs() <= 1e-15, "{cfl} {cfl_limit}");
    }

    #[test]
    fn bad_velocities_are_refused() {
        let new = |v: &[f64]| Advection::new(&[8, 8], Scheme::Upwind, v, None);
        for bad in [&[1.0][..], &[1.0, 2.0, 3.0], &[0.0, 0.0], &[f64::NAN, 1.0]] {
            let e = new(bad).unwrap_err();
            assert!(e.to_string().starts_with("--velocity"), "{e}");
        }
        assert!(new(&[0.0, -1.0]).is_ok());
    }

    #[test]
    fn default_time_step_gives_one_period() {
        let adv = Advection::new(&[37, 23], Scheme::LaxWendroff, &[1.0, 0.5], None).unwrap();
        let (t, whole) = adv.period();
        assert!(whole);
        assert_eq!(t, 2.0);
        let n = adv.steps_per_period();
        assert!(adv.dt() <= DEFAULT_DT_FRACTION * adv.dt_limit());
        assert!(t / (n - 1) as f64 > DEFAULT_DT_FRACTION * adv.dt_limit());
        assert!(is_whole_period(&[1.0, 0.5], n as f64 * adv.dt()));
        assert_eq!(whole_period(&[0.4, -0.6]), Some(5.0));
        assert_eq!(whole_period(&[1.0, 0.0, 0.25]), Some(4.0));
        assert_eq!(whole_period(&[1.0, std::f64::consts::SQRT_2]), None);
    }

    #[test]
    fn wave_tables_equal_direct_evaluation() {
        let adv = Advection::new(&[9, 7], Scheme::Upwind, &[1.0, 1.0], None).unwrap();
        for i in -1..=9 {
            for j in -1..=7 {
                let (x, y) = (i as f64 / 9.0, j as f64 / 7.0);
                let direct = (2.0 * PI * (x + y)).sin() + 0.5 * (2.0 * PI * (x - 2.0 * y)).cos();
                assert!((adv.initial([0, i, j]) - direct).abs() < 1e-14);
            }
        }
    }
}
