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
//! difference sums to zero over a periodic grid. Upwind sums its taps in order
//! ([`tap_sums_at`]); Lax-Wendroff groups them by axis and pair of axes, one fixed
//! expression for every cell (see [`LaxWendroffGroups`]): per cell 17 operations instead of
//! the taps' 25 in 2D, 33 instead of 55 in 3D.
//!
//! Stability: both schemes are linear, so mode `exp(i k.x)` is multiplied by `G(theta)`,
//! `theta_a = k_a h_a`, each step; they are stable when `max_theta |G| <= 1`. With the
//! velocity direction fixed, `nu_a = s r_a`, the largest stable CFL number `s* = max_a |nu_a|`
//! is found numerically once per problem by
//! [`cfl_limit`](super::advection_stability::cfl_limit) (von Neumann analysis, bisection on a
//! dense grid of modes: see [`super::advection_stability`]). A `dt` above
//! `s* / max_a(|a_a| / h_a)` is refused ([`Error::Unstable`]). In 1D both schemes are stable
//! iff `|nu| <= 1`, upwind in any dimension iff `sum_a |nu_a| <= 1`; unsplit Lax-Wendroff is
//! far more restrictive along the diagonal, `s* ~ d^(-3/2)`.
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

use super::advection_stability::{cfl_limit, symbol};
use crate::error::{Error, Name, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::geometry::{Grid, IndexBox};
use crate::grid::stencil::{map_row, tap_sums_at, GlobalIndex, Kernel, DEFAULT_DT_FRACTION};
use crate::parallel::exact_sum::ExactSum;
// num_complex gives the same bits as the hand-written complex type it replaced: see the
// note at the end of the `advection_stability` module doc.
use num_complex::Complex64;
use std::f64::consts::PI;

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

/// One neighbour the update reads: `out += weight * (u[offset] - u)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tap {
    pub(super) offset: [isize; 3],
    pub(super) weight: f64,
}

/// The scheme's neighbours and weights for Courant numbers `nu` (internal axes, 0 on
/// inactive ones): `u' = u + sum_taps w (u[offset] - u)`, in a fixed order.
pub(super) fn taps(scheme: Scheme, nu: [f64; 3]) -> Vec<Tap> {
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

/// Lax-Wendroff's taps grouped as the update sums them: with `c = u` and the active axes
/// (`nu_a != 0`) in order,
///
/// `u' = (F_first + ... + F_last + C_first + ... + C_last) + c`, summed left to right, where
/// `F_a = w-_a (u_{-a} - c) + w+_a (u_{+a} - c)` (`w-_a = nu_a^2/2 + nu_a/2`,
/// `w+_a = nu_a^2/2 - nu_a/2`) and `C_ab = q_ab ((u_{++} - u_{+-}) - (u_{-+} - u_{--}))`
/// (`q_ab = nu_a nu_b / 4`, the signs those of the offsets along `a` then `b`).
///
/// The same terms as the taps (whose weights it is made from), re-associated: the cross
/// term's four corners share one weight and the centre cancels out of them.
#[derive(Clone, Debug)]
struct LaxWendroffGroups {
    /// Active axes, and the weights of their `-` and `+` neighbours.
    axes: Vec<(usize, f64, f64)>,
    /// Pairs of active axes `a < b` in order, and `q_ab`.
    pairs: Vec<(usize, usize, f64)>,
}

/// The corners of a pair of axes in the order [`LaxWendroffGroups`] reads them.
const CORNERS: [(isize, isize); 4] = [(1, 1), (1, -1), (-1, 1), (-1, -1)];

impl LaxWendroffGroups {
    /// The groups of Lax-Wendroff's `taps` (as [`taps`] makes them).
    fn new(taps: &[Tap]) -> LaxWendroffGroups {
        let mut g = LaxWendroffGroups {
            axes: Vec::new(),
            pairs: Vec::new(),
        };
        let moved = |t: &Tap| (0..3).filter(|&a| t.offset[a] != 0).collect::<Vec<_>>();
        for t in taps {
            match moved(t)[..] {
                [a] if t.offset[a] < 0 => g.axes.push((a, t.weight, 0.0)),
                [a] => {
                    let last = g.axes.last_mut().expect("the - tap comes first");
                    assert_eq!(last.0, a, "the + tap follows the - tap of its axis");
                    last.2 = t.weight;
                }
                [a, b] if t.offset[a] == 1 && t.offset[b] == 1 => g.pairs.push((a, b, t.weight)),
                [a, b] => {
                    let q = g.pairs.last().expect("the ++ corner comes first").2;
                    let sign = (t.offset[a] * t.offset[b]) as f64;
                    assert_eq!(t.weight, sign * q, "a corner's weight is +-q");
                }
                _ => unreachable!("Lax-Wendroff taps move along one or two axes"),
            }
        }
        g
    }

    /// `out` = the update of the row `s` (see the type's doc), for `A` active axes, `P`
    /// pairs and `K = 1 + 2 A + 4 P` rows read (the centre, the faces, the corners).
    #[inline(always)]
    fn apply<const A: usize, const P: usize, const K: usize>(
        &self,
        s: &RowStencil<'_, f64>,
        out: &mut [f64],
    ) {
        assert!(A >= 1 && self.axes.len() == A && self.pairs.len() == P && K == 1 + 2 * A + 4 * P);
        let n = out.len();
        let row = |o: [isize; 3]| &s.row(o[0], o[1], o[2])[..n];
        let shift = |moves: &[(usize, isize)]| {
            let mut o = [0; 3];
            for &(a, d) in moves {
                o[a] = d;
            }
            o
        };
        let mut rows = [row([0; 3]); K];
        let (mut minus, mut plus, mut cross) = ([0.0; A], [0.0; A], [0.0; P]);
        for (x, &(a, wm, wp)) in self.axes.iter().enumerate() {
            rows[1 + 2 * x] = row(shift(&[(a, -1)]));
            rows[2 + 2 * x] = row(shift(&[(a, 1)]));
            (minus[x], plus[x]) = (wm, wp);
        }
        for (p, &(a, b, q)) in self.pairs.iter().enumerate() {
            for (t, &(da, db)) in CORNERS.iter().enumerate() {
                rows[1 + 2 * A + 4 * p + t] = row(shift(&[(a, da), (b, db)]));
            }
            cross[p] = q;
        }
        map_row(out, s.stores(), rows, |u: [f64; K]| {
            let c = u[0];
            let face = |x: usize| minus[x] * (u[1 + 2 * x] - c) + plus[x] * (u[2 + 2 * x] - c);
            let mut sum = face(0);
            for x in 1..A {
                sum += face(x);
            }
            for (p, q) in cross.iter().enumerate() {
                let k = 1 + 2 * A + 4 * p;
                sum += q * ((u[k] - u[k + 1]) - (u[k + 2] - u[k + 3]));
            }
            sum + c
        });
    }
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
    c: Complex64,
    /// Integer wave numbers per internal axis (0 on inactive axes).
    kappa: [i64; 3],
}

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
    /// Lax-Wendroff's taps as its update sums them (`None` for upwind).
    lax_wendroff: Option<LaxWendroffGroups>,
    modes: [Mode; 2],
    /// `G(k_m h)` per mode.
    growth: [Complex64; 2],
    /// `waves[m][a][i] = exp(2 pi i kappa_{m,a} i / N_a)` for the points of each active
    /// axis: filling or checking a field costs table look-ups.
    waves: [[Vec<Complex64>; 3]; 2],
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
        // a grid first: the spacing and the time step are derived from it
        Grid::new(shape, &vec![true; shape.len()])?;
        let ndim = shape.len();
        if velocity.len() != ndim {
            return Err(Error::value(
                "velocity",
                format!(
                    "has {} components for a {ndim}D grid (give one for every axis, or one for all)",
                    velocity.len()
                ),
            ));
        }
        if let Some(v) = velocity.iter().find(|v| !v.is_finite()) {
            return Err(Error::value(
                "velocity",
                format!("{v} is not a finite number"),
            ));
        }
        if velocity.iter().all(|&v| v == 0.0) {
            return Err(Error::value(
                "velocity",
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
        // a velocity so large (or small) that the time step it needs, or the period, is not
        // a usable number would compute nothing and "validate"
        let steps = period / (DEFAULT_DT_FRACTION * dt_limit);
        if !(speed.is_finite() && dt_limit.is_normal() && period.is_normal() && steps < 1e15) {
            return Err(Error::value(
                "velocity",
                format!(
                    "{velocity:?} needs a time step of {dt_limit:e} over a period of \
                     {period:e}: not a computable run; choose a less extreme velocity"
                ),
            ));
        }
        let mut steps_per_period = steps.ceil().max(1.0) as u64;
        while period / steps_per_period as f64 > DEFAULT_DT_FRACTION * dt_limit {
            steps_per_period += 1;
        }
        let dt = match dt {
            None => period / steps_per_period as f64,
            Some(dt) if !(dt > 0.0 && dt.is_finite()) => {
                return Err(Error::value("dt", format!("must be positive, got {dt}")))
            }
            Some(dt) if dt > dt_limit => {
                return Err(Error::Unstable(format!(
                    "{} {dt:e} is unstable: {} needs dt <= {dt_limit:e} on this grid \
                     (CFL number max|a_a| dt/h_a <= {cfl_limit:.6})",
                    Name("dt"),
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
                c: Complex64::new(0.0, -1.0), // Re(-i exp(i phi)) = sin(phi)
                kappa: std::array::from_fn(|x| i64::from(x >= off)),
            },
            Mode {
                c: Complex64::new(0.5, 0.0),
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
                        Complex64::cis(2.0 * PI * j as f64 / nx as f64)
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
            lax_wendroff: (scheme == Scheme::LaxWendroff).then(|| LaxWendroffGroups::new(&taps)),
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
    pub fn mode_growth(&self) -> [Complex64; 2] {
        self.growth
    }

    /// `exp(2 pi i kappa_m . x)` at global index `idx` for each mode (indices taken modulo
    /// the grid: the profile is periodic).
    #[inline]
    fn waves_at(&self, idx: GlobalIndex) -> [Complex64; 2] {
        std::array::from_fn(|m| {
            (3 - self.ndim..3).fold(Complex64::ONE, |z, x| {
                z * self.waves[m][x][idx[x].rem_euclid(self.n[x] as i64) as usize]
            })
        })
    }

    /// `sum_m Re(amplitudes[m] waves[m])`.
    #[inline]
    fn superpose(amplitudes: &[Complex64; 2], waves: &[Complex64; 2]) -> f64 {
        (amplitudes[0] * waves[0]).re + (amplitudes[1] * waves[1]).re
    }

    /// Complex64 amplitudes of the PDE's solution at time `t`: `c_m exp(-2 pi i kappa_m . a t)`
    /// (the phase reduced modulo 1 turn before the trigonometry).
    fn exact_amplitudes(&self, t: f64) -> [Complex64; 2] {
        self.modes.map(|m| {
            let turns: f64 = (0..3).map(|x| m.kappa[x] as f64 * self.a[x] * t).sum();
            m.c * Complex64::cis(-2.0 * PI * (turns - turns.round()))
        })
    }

    /// Complex64 amplitudes of the scheme's solution after `step` steps: `c_m G_m^step`.
    fn scheme_amplitudes(&self, step: u64) -> [Complex64; 2] {
        std::array::from_fn(|m| self.modes[m].c * powu(self.growth[m], step))
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

/// `z^n` by repeated squaring, from `acc = 1`: `acc *= z^(2^b)` for each set bit `b` of `n`,
/// lowest first. Kept explicit rather than `num_complex`'s `powu`, which takes a `u32` (step
/// counts are `u64`) and starts from `z^(2^b0)` instead of `1 * z^(2^b0)`: the product with
/// `1 + 0i` can change the sign of a zero component, and the scheme's solution must stay
/// what it was bit for bit.
fn powu(z: Complex64, mut n: u64) -> Complex64 {
    let (mut base, mut acc) = (z, Complex64::ONE);
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base = base * base;
        n >>= 1;
    }
    acc
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

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        if let Some(g) = &self.lax_wendroff {
            return match g.axes.len() {
                1 => g.apply::<1, 0, 3>(s, out),
                2 => g.apply::<2, 1, 9>(s, out),
                3 => g.apply::<3, 3, 19>(s, out),
                _ => unreachable!("one to three active axes"),
            };
        }
        // upwind: u' = (sum_taps w (u[offset] - u)) + u, the taps in their fixed order, in
        // one pass over the row
        let n = out.len();
        let c = &s.row(0, 0, 0)[..n];
        let taps = self.taps.iter().map(|t| (t.offset, t.weight));
        tap_sums_at::<true>(s, 0, taps, c, out, |sum, c| sum + c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::field::{test_row_block, test_values};
    use crate::grid::geometry::Grid;
    use crate::grid::stencil::{self, Stores};
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
            stencil::apply_rows(&adv, &[&u], &mut next, &inner, 0, &threads, Stores::Cached);
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
    fn lax_wendroff_rows_are_the_grouped_expression_and_the_tap_sum_to_rounding() {
        let mut next = test_values(0x9e37_79b9_7f4a_7c15u64);
        let cases: [(usize, &[f64]); 6] = [
            (1, &[-0.7]),
            (2, &[1.0, 0.5]),
            (2, &[0.0, -1.0]),
            (3, &[0.5, -1.0, 0.75]),
            (3, &[1.0, 0.0, -0.25]),
            (3, &[0.0, 0.0, 1.0]),
        ];
        for (ndim, velocity) in cases {
            let shape = vec![16; ndim];
            let adv = Advection::new(&shape, Scheme::LaxWendroff, velocity, None).unwrap();
            let active = velocity.iter().filter(|&&a| a != 0.0).count();
            let groups = adv.lax_wendroff.as_ref().expect("Lax-Wendroff groups");
            assert_eq!(groups.axes.len(), active, "{velocity:?}");
            assert_eq!(groups.pairs.len(), active * (active - 1) / 2);
            // rows around the 32-cell stored lines, at several alignments to a cache line
            for len in [1, 2, 7, 31, 32, 33, 65, 100] {
                for pad in [0, 1, 3] {
                    // magnitudes 2^-20 to 2^20, so that the rounding of every partial sum
                    // shows in the result
                    let spread = || next() * (40.0 * (next() + 0.5) - 20.0).round().exp2();
                    let (f, [i, j, k0]) = test_row_block(ndim, 1, len, pad, spread);
                    let levels = [&f];
                    for stores in [Stores::Cached, Stores::Streaming] {
                        let row = RowStencil::new(&levels, i, j, k0, len).with_stores(stores);
                        let mut out = vec![f64::NAN; len];
                        adv.update_row(&row, &mut out);
                        let centre = row.row(0, 0, 0);
                        let mut tap_sum = vec![0.0; len];
                        let taps = adv.taps.iter().map(|t| (t.offset, t.weight));
                        tap_sums_at::<true>(&row, 0, taps, centre, &mut tap_sum, |d, c| d + c);
                        for m in 0..len {
                            let u = |o: [isize; 3]| row.row(o[0], o[1], o[2])[m];
                            let c = u([0; 3]);
                            // the documented expression, written out
                            let g = groups;
                            let mut terms = Vec::new();
                            for &(a, wm, wp) in &g.axes {
                                let mut o = [0; 3];
                                o[a] = -1;
                                let minus = u(o);
                                o[a] = 1;
                                terms.push(wm * (minus - c) + wp * (u(o) - c));
                            }
                            for &(a, b, q) in &g.pairs {
                                let corner = |da, db| {
                                    let mut o = [0; 3];
                                    (o[a], o[b]) = (da, db);
                                    u(o)
                                };
                                let (pp, pm) = (corner(1, 1), corner(1, -1));
                                let (mp, mm) = (corner(-1, 1), corner(-1, -1));
                                terms.push(q * ((pp - pm) - (mp - mm)));
                            }
                            let want = terms[1..].iter().fold(terms[0], |s, t| s + t) + c;
                            assert_eq!(
                                out[m].to_bits(),
                                want.to_bits(),
                                "{velocity:?} len {len} pad {pad} cell {m} {stores:?}"
                            );
                            let scale: f64 = adv
                                .taps
                                .iter()
                                .map(|t| t.weight.abs() * (u(t.offset).abs() + c.abs()))
                                .sum();
                            assert!(
                                (out[m] - tap_sum[m]).abs()
                                    <= 1e-15 * scale + f64::EPSILON * c.abs(),
                                "{velocity:?}: {} vs tap sum {}",
                                out[m],
                                tap_sum[m]
                            );
                        }
                    }
                }
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
            assert!(e.to_string().starts_with("velocity"), "{e}");
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
