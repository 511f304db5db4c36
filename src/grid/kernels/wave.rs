//! The wave equation `u_tt = c^2 Laplacian(u)` on the unit interval, square or cube.
//!
//! Discretisation: the second-order leapfrog scheme in time with the standard 3-, 5- or
//! 7-point Laplacian `L` in space,
//! `u^{n+1}_c = 2 u^n_c - u^{n-1}_c + sum_a r_a (u^n_{c-e_a} - 2 u^n_c + u^n_{c+e_a})`,
//! `r_a = c^2 dt^2 / h_a^2`. Two time levels: `u` (`u^n`, the newest) and `u_prev`
//! (`u^{n-1}`), both stored in checkpoints, so a restart continues bitwise.
//!
//! Stability (CFL): `c^2 dt^2 max|eigenvalue of L| <= 4`, `max|eigenvalue| = sum_a 4/h_a^2`,
//! i.e. the Courant number `c dt sqrt(sum_a 1/h_a^2) <= 1`; a larger `dt` is refused.
//! Accuracy `O(dt^2 + h^2)`: second order overall with `dt ~ h`.
//!
//! Grid and boundaries as for `heat` (see [`crate::grid::kernels::heat`]): Dirichlet (`u = 0`,
//! points `x_i = (i + 1) h`, `h = 1/(N + 1)`, ghosts hold 0) or periodic (`x_i = i h`,
//! `h = 1/N`).
//!
//! Initial condition: two standing waves `u = sum_m A_m cos(omega_m t) prod_a sin(k_{m,a}
//! x_a)`, `A = (1, 0.5)`, wave numbers `(1,1,1)` and `(1,2,3)` times `pi` (Dirichlet) or
//! `2 pi` (periodic), `omega_m = c |k_m|`. Level `u` starts at the exact solution at
//! `t = 0`, level `u_prev` at the exact solution at `t = -dt`.
//!
//! Validation. Each mode is an eigenvector of `L` with eigenvalue `-mu_m`,
//! `mu_m = sum_a 4 sin^2(k_{m,a} h_a / 2) / h_a^2`, so the scheme acts on its amplitude as
//! `a_{n+1} = 2 cos(theta_m) a_n - a_{n-1}`, `cos(theta_m) = 1 - c^2 dt^2 mu_m / 2`, whose
//! solution with `a_0 = 1`, `a_{-1} = cos(omega_m dt)` is
//! `a_n = cos(n theta) + beta sin(n theta)`, `beta = (cos(theta) - cos(omega dt)) / sin(theta)`
//! (from `a_{-1} = cos(theta) - beta sin(theta)`). A run checks that `u` equals this exact
//! solution of the SCHEME to round-off, and that its error against the PDE's solution is
//! the difference between the two (the discretisation error). It also checks the discrete
//! energy that leapfrog conserves exactly in exact arithmetic,
//! `E^{n+1/2} = 1/2 sum_cells ((u^{n+1} - u^n)/dt)^2 h^d
//!            + 1/2 c^2 sum_faces (D+ u^{n+1}) (D+ u^n) h^d`
//! (`D+` the forward difference across a cell face; the faces to the Dirichlet boundary
//! included, periodic faces wrapping), summed exactly ([`Wave::energy_row`]), so its drift
//! is round-off only.

use crate::error::{Error, Name, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::kernels::sine_modes::{grid_spacing, SineModes};
use crate::grid::stencil::{map_row, GlobalIndex, Kernel};
use crate::parallel::exact_sum::ExactSum;

pub use crate::grid::kernels::sine_modes::Boundary;

/// One standing wave of the initial condition.
#[derive(Clone, Copy, Debug)]
struct Mode {
    amplitude: f64,
    /// `omega = c |k|`.
    omega: f64,
    /// The scheme's phase per step `theta` (see the module doc).
    theta: f64,
    /// `beta` of the scheme's solution `cos(n theta) + beta sin(n theta)`.
    beta: f64,
}

/// The wave equation on a grid of `shape` points (1 to 3 axes).
#[derive(Clone, Debug)]
pub struct Wave {
    ndim: usize,
    c: f64,
    dt: f64,
    bc: Boundary,
    /// Extents per internal axis (1 on inactive axes).
    extents: [usize; 3],
    /// Grid spacing per internal axis (1 on inactive axes).
    h: [f64; 3],
    /// `c^2 dt^2 / h_a^2` per internal axis (0 on inactive axes).
    r: [f64; 3],
    /// `c^2 / h_a^2` per internal axis (0 on inactive axes): the face terms of the energy.
    face: [f64; 3],
    /// `h^d`, the cell volume.
    volume: f64,
    modes: [Mode; 2],
    /// Where the modes live: the grid and its sine tables.
    sines: SineModes,
}

impl Wave {
    /// The largest stable time step for speed `c` on `shape` with `bc`:
    /// `1 / (c sqrt(sum_a 1/h_a^2))`.
    pub fn stability_limit(shape: &[usize], bc: Boundary, c: f64) -> f64 {
        let h = grid_spacing(shape, bc);
        let s: f64 = h[3 - shape.len()..].iter().map(|h| 1.0 / (h * h)).sum();
        1.0 / (c * s.sqrt())
    }

    /// The problem on `shape` points with wave speed `c` and time step `dt`. Refuses a
    /// time step above the stability limit.
    pub fn new(shape: &[usize], bc: Boundary, c: f64, dt: f64) -> Result<Wave> {
        if !(c > 0.0 && c.is_finite()) {
            return Err(Error::value("c", format!("must be positive, got {c}")));
        }
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::value("dt", format!("must be positive, got {dt}")));
        }
        let limit = Wave::stability_limit(shape, bc, c);
        if dt > limit {
            return Err(Error::Unstable(format!(
                "{} {dt:e} is unstable: leapfrog needs the Courant number \
                 c dt sqrt(sum 1/h^2) <= 1, i.e. dt <= {limit:e} on this grid",
                Name("dt")
            )));
        }
        let ndim = shape.len();
        let off = 3 - ndim;
        let h = grid_spacing(shape, bc);
        let mut extents = [1; 3];
        extents[off..].copy_from_slice(shape);
        let (mut r, mut face) = ([0.0; 3], [0.0; 3]);
        for a in off..3 {
            r[a] = c * c * dt * dt / (h[a] * h[a]);
            face[a] = c * c / (h[a] * h[a]);
        }
        let volume = h[off..].iter().product();
        let sines = SineModes::new(shape, bc);
        let mode = |m: usize| -> Mode {
            let amplitude = SineModes::AMPLITUDES[m];
            let k = sines.k(m);
            let omega = c * sines.k2(m).sqrt();
            // mu = sum_a 4 sin^2(k h/2)/h^2 without the cancellation of 2 - 2 cos(k h);
            // sin(theta/2) = c dt sqrt(mu) / 2 follows from cos(theta) = 1 - c^2 dt^2 mu / 2
            // and is accurate for small theta, where acos(1 - x) is not.
            let mu: f64 = (off..3)
                .map(|a| {
                    let s = (0.5 * k[a] * h[a]).sin();
                    4.0 * s * s / (h[a] * h[a])
                })
                .sum();
            let theta = 2.0 * (0.5 * c * dt * mu.sqrt()).min(1.0).asin();
            // beta = (cos(theta) - cos(phi)) / sin(theta), phi = omega dt, written as a
            // product of sines so that the difference of two numbers near 1 is not taken
            let phi = omega * dt;
            let beta =
                -2.0 * (0.5 * (theta + phi)).sin() * (0.5 * (theta - phi)).sin() / theta.sin();
            Mode {
                amplitude,
                omega,
                theta,
                beta,
            }
        };
        Ok(Wave {
            ndim,
            c,
            dt,
            bc,
            extents,
            h,
            r,
            face,
            volume,
            modes: [mode(0), mode(1)],
            sines,
        })
    }

    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn c(&self) -> f64 {
        self.c
    }

    /// The Courant number `c dt sqrt(sum_a 1/h_a^2)` (stable up to 1).
    pub fn courant(&self) -> f64 {
        let s: f64 = self.h[3 - self.ndim..].iter().map(|h| 1.0 / (h * h)).sum();
        self.c * self.dt * s.sqrt()
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.sines.spacing()
    }

    /// Coordinate of the first grid point on each of the problem's axes.
    pub fn origin(&self) -> Vec<f64> {
        self.sines.origin()
    }

    /// `sum_m amplitudes[m] prod_a sin(k_{m,a} x_a)` at global index `idx`.
    fn superpose(&self, amplitudes: [f64; 2], idx: GlobalIndex) -> f64 {
        self.sines.superpose(amplitudes, idx)
    }

    /// Amplitude of each mode in the PDE's solution at time `t`: `A_m cos(omega_m t)`.
    fn pde_amplitudes(&self, t: f64) -> [f64; 2] {
        self.modes.map(|m| m.amplitude * (m.omega * t).cos())
    }

    /// Amplitude of each mode in the scheme's solution at step `step` (`-1`: the initial
    /// `u_prev`): `A_m (cos(n theta_m) + beta_m sin(n theta_m))`. Steps 0 and -1 give
    /// exactly the amplitudes of the initial levels.
    fn scheme_amplitudes(&self, step: i64) -> [f64; 2] {
        self.modes.map(|m| match step {
            0 => m.amplitude,
            -1 => m.amplitude * (m.omega * self.dt).cos(),
            n => {
                let phase = n as f64 * m.theta;
                m.amplitude * (phase.cos() + m.beta * phase.sin())
            }
        })
    }

    /// Exact solution of the PDE at global index `idx` and time `t`.
    pub fn analytic(&self, idx: GlobalIndex, t: f64) -> f64 {
        self.superpose(self.pde_amplitudes(t), idx)
    }

    /// Exact solution of the leapfrog scheme after `step` steps at global index `idx`.
    pub fn discrete(&self, idx: GlobalIndex, step: i64) -> f64 {
        self.superpose(self.scheme_amplitudes(step), idx)
    }

    /// Local maxima over the owned cells of `u` after `step` steps: the error against the
    /// PDE's solution, against the scheme's exact solution, and the latter's own difference
    /// from the PDE's (the discretisation error the first one should equal).
    pub fn local_errors(&self, u: &Field<f64>, step: u64) -> WaveErrors {
        let pde = self.pde_amplitudes(step as f64 * self.dt);
        let scheme_amplitudes = self.scheme_amplitudes(step as i64);
        let mut e = WaveErrors::default();
        u.for_each_owned(|g, v| {
            let exact = self.superpose(pde, g);
            let scheme = self.superpose(scheme_amplitudes, g);
            e.vs_analytic = e.vs_analytic.max((v - exact).abs());
            e.vs_scheme = e.vs_scheme.max((v - scheme).abs());
            e.discretisation = e.discretisation.max((scheme - exact).abs());
            // NaN never compares greater: record it explicitly
            if !v.is_finite() {
                e.vs_analytic = f64::INFINITY;
                e.vs_scheme = f64::INFINITY;
            }
        });
        e
    }

    /// The smallest phase per step `theta` of the two modes.
    fn theta_min(&self) -> f64 {
        self.modes[0].theta.min(self.modes[1].theta)
    }

    /// Round-off allowed in `u` after `step` steps. Each step rounds `u^{n+1}` by a few
    /// ulps (`2 u - u_prev + sum_a r_a (...)`: about four roundings of terms up to a few
    /// times `max|u| <= 1.5`). Leapfrog neither damps nor amplifies such an error, but it
    /// acts as a velocity kick `delta / dt`, which a mode of frequency `omega` turns into
    /// an oscillation of amplitude `delta / (omega dt) = delta / theta`; the kicks of the
    /// steps add up at worst linearly (in practice like a random walk). So:
    /// `8 eps (step + 1) 1.5 / theta_min`. Measured on 1D to 3D grids, both boundaries,
    /// Courant numbers 0.5 to 1 and 10 to 5000 steps: 1e-5 to 1.2e-2 of it.
    pub fn roundoff_tolerance(&self, step: u64) -> f64 {
        8.0 * f64::EPSILON * (step + 1) as f64 * 1.5 / self.theta_min()
    }

    /// Round-off allowed in the relative drift of the energy after `step` steps. A
    /// rounding error `delta` in one level changes the velocity `(u^{n+1} - u^n)/dt`,
    /// whose size is about `omega |u|`, by `delta/dt`: a relative change of
    /// `delta / (|u| theta)` of the energy, which the scheme conserves from then on. Each
    /// step adds a few such ulps (linearly at worst), and evaluating the energy costs as
    /// much once more: `8 eps (step + 2) / theta_min`. Measured on the same cases as
    /// [`Wave::roundoff_tolerance`]: at most 1.4e-2 of it.
    pub fn energy_tolerance(&self, step: u64) -> f64 {
        8.0 * f64::EPSILON * (step + 2) as f64 / self.theta_min()
    }

    /// Adds the discrete energy of the cells of one row to `sum`: `levels[0]` of the row's
    /// stencil is `u^{n+1}`, `levels[1]` is `u^n`, both with valid ghosts one layer deep
    /// (ghosts past a Dirichlet edge hold 0). Each cell contributes
    /// `1/2 h^d (((u^{n+1} - u^n)/dt)^2 + c^2 sum_a (D+_a u^{n+1})(D+_a u^n))`, `D+_a` over
    /// its lower face on each axis, plus its upper face where that is the Dirichlet
    /// boundary: every face of the grid is counted once. The sum over cells is exact, so
    /// the total does not depend on how the grid is split.
    pub fn energy_row(&self, s: &RowStencil<'_, f64>, sum: &mut ExactSum) {
        let n = s.len();
        let (new, old) = (&s.level_row(0, 0, 0, 0)[..n], &s.level_row(1, 0, 0, 0)[..n]);
        let g0 = s.global_start();
        let dirichlet = self.bc == Boundary::Dirichlet;
        let half_volume = 0.5 * self.volume;
        for (&a, &b) in new.iter().zip(old) {
            let v = (a - b) / self.dt;
            sum.add(half_volume * v * v);
        }
        for axis in 3 - self.ndim..3 {
            let d: [isize; 3] = std::array::from_fn(|x| isize::from(x == axis));
            let (dm, dp) = (d.map(|x| -x), d);
            let lower = (
                &s.level_row(0, dm[0], dm[1], dm[2])[..n],
                &s.level_row(1, dm[0], dm[1], dm[2])[..n],
            );
            let w = half_volume * self.face[axis];
            for m in 0..n {
                sum.add(w * ((new[m] - lower.0[m]) * (old[m] - lower.1[m])));
            }
            if !dirichlet {
                continue;
            }
            // the upper boundary face of the last cell on this axis
            let last = self.extents[axis] as i64 - 1;
            let upper = (
                &s.level_row(0, dp[0], dp[1], dp[2])[..n],
                &s.level_row(1, dp[0], dp[1], dp[2])[..n],
            );
            for m in 0..n {
                let idx = if axis == 2 {
                    g0[2] + m as i64
                } else {
                    g0[axis]
                };
                if idx == last {
                    sum.add(w * ((upper.0[m] - new[m]) * (upper.1[m] - old[m])));
                }
            }
        }
    }
}

/// Maximum errors of a wave solution (see [`Wave::local_errors`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WaveErrors {
    /// `max |u - u_pde|`.
    pub vs_analytic: f64,
    /// `max |u - u_scheme|`: round-off only, if the implementation is right.
    pub vs_scheme: f64,
    /// `max |u_scheme - u_pde|`: the `O(dt^2 + h^2)` truncation error of the scheme.
    pub discretisation: f64,
}

impl WaveErrors {
    /// The solution validates when it equals the scheme's exact solution to round-off
    /// `tol`, and so its error against the PDE is the predicted discretisation error.
    pub fn validates(&self, tol: f64) -> bool {
        self.vs_scheme <= tol && self.vs_analytic <= self.discretisation + tol
    }
}

impl Kernel for Wave {
    type Value = f64;

    fn name(&self) -> &'static str {
        "wave"
    }

    fn radius(&self) -> usize {
        1
    }

    fn time_levels(&self) -> usize {
        2
    }

    fn initial_value(&self, level: usize, idx: GlobalIndex) -> f64 {
        // level 0: the PDE's solution at t = 0; level 1: at t = -dt
        self.superpose(self.scheme_amplitudes(-(level as i64)), idx)
    }

    fn boundary_value(&self, _idx: GlobalIndex) -> f64 {
        0.0
    }

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        let n = out.len();
        let c = &s.row(0, 0, 0)[..n];
        let p = &s.level_row(1, 0, 0, 0)[..n];
        let (w, e) = (&s.row(0, 0, -1)[..n], &s.row(0, 0, 1)[..n]);
        let (rz, stores) = (self.r[2], s.stores());
        match self.ndim {
            1 => map_row(out, stores, [c, p, w, e], |[c, p, w, e]| {
                2.0 * c - p + rz * (w - 2.0 * c + e)
            }),
            2 => {
                let ry = self.r[1];
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                map_row(out, stores, [c, p, w, e, so, no], |[c, p, w, e, so, no]| {
                    2.0 * c - p + ry * (so - 2.0 * c + no) + rz * (w - 2.0 * c + e)
                })
            }
            _ => {
                let (rx, ry) = (self.r[0], self.r[1]);
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                let (dn, up) = (&s.row(-1, 0, 0)[..n], &s.row(1, 0, 0)[..n]);
                let rows = [c, p, w, e, so, no, dn, up];
                map_row(out, stores, rows, |[c, p, w, e, so, no, dn, up]| {
                    2.0 * c - p
                        + rx * (dn - 2.0 * c + up)
                        + ry * (so - 2.0 * c + no)
                        + rz * (w - 2.0 * c + e)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Grid;
    use crate::grid::stencil::{self, Stores};
    use crate::parallel::Threads;

    /// Runs `steps` leapfrog steps on one block of a Dirichlet grid (ghosts hold the
    /// boundary value) or of a periodic grid (ghosts refreshed from the opposite side each
    /// step). Returns the kernel, the energy of the initial levels and `[u^N, u^{N-1}]`.
    fn run_block(
        shape: &[usize],
        bc: Boundary,
        steps: u64,
        courant: f64,
    ) -> (Wave, f64, [Field<f64>; 2]) {
        let limit = Wave::stability_limit(shape, bc, 1.0);
        let wave = Wave::new(shape, bc, 1.0, courant * limit).unwrap();
        let periodic = vec![bc == Boundary::Periodic; shape.len()];
        let grid = Grid::new(shape, &periodic).unwrap();
        let ghost: [usize; 3] = std::array::from_fn(|a| usize::from(grid.is_active(a)));
        let mut u = stencil::initial_block(&wave, &grid, grid.bounds(), ghost, 0);
        let mut prev = stencil::initial_block(&wave, &grid, grid.bounds(), ghost, 1);
        let e0 = energy(&wave, &mut u, &mut prev);
        let mut next = u.clone();
        let inner = u.interior();
        let threads = Threads::serial();
        for _ in 0..steps {
            if bc == Boundary::Periodic {
                u.wrap_periodic();
            }
            stencil::apply_rows(
                &wave,
                &[&u, &prev],
                &mut next,
                &inner,
                0,
                &threads,
                Stores::Cached,
            );
            // rotate: prev <- u <- next, the old prev becomes scratch
            std::mem::swap(&mut prev, &mut next);
            std::mem::swap(&mut u, &mut prev);
        }
        (wave, e0, [u, prev])
    }

    /// The energy of the levels `(newer, older)` of one block, periodic ghosts filled first.
    fn energy(wave: &Wave, newer: &mut Field<f64>, older: &mut Field<f64>) -> f64 {
        if wave.bc == Boundary::Periodic {
            newer.wrap_periodic();
            older.wrap_periodic();
        }
        let levels = [&*newer, &*older];
        stencil::sum_rows(&levels, &newer.interior(), &Threads::serial(), |r, s| {
            wave.energy_row(r, s)
        })
        .value()
    }

    #[test]
    fn one_block_matches_the_scheme_exactly_1d_2d_3d() {
        for bc in [Boundary::Dirichlet, Boundary::Periodic] {
            for shape in [vec![31], vec![19, 12], vec![9, 8, 7]] {
                let steps = 100;
                let (wave, _, [u, prev]) = run_block(&shape, bc, steps, 0.9);
                let e = wave.local_errors(&u, steps);
                let tol = wave.roundoff_tolerance(steps);
                assert!(
                    e.validates(tol),
                    "{shape:?} {bc:?}: {e:?}, tolerance {tol:e}"
                );
                assert!(
                    e.vs_scheme < tol / 10.0,
                    "{shape:?} {bc:?}: {e:?}, tolerance {tol:e}"
                );
                assert!(e.discretisation > 1e3 * tol, "{shape:?} {bc:?}: {e:?}");
                // the older level is the scheme's solution one step before
                let e_prev = wave.local_errors(&prev, steps - 1);
                assert!(e_prev.vs_scheme < tol, "{shape:?} {bc:?}: {e_prev:?}");
            }
        }
    }

    #[test]
    fn energy_is_conserved_to_round_off_on_a_periodic_block() {
        for shape in [vec![40], vec![24, 20], vec![10, 12, 9]] {
            let steps = 200;
            let (wave, e0, [mut u, mut prev]) = run_block(&shape, Boundary::Periodic, steps, 0.95);
            let e1 = energy(&wave, &mut u, &mut prev);
            let drift = (e1 - e0) / e0;
            let tol = wave.energy_tolerance(steps);
            assert!(e0 > 0.0);
            assert!(
                drift.abs() <= tol / 10.0,
                "{shape:?}: drift {drift:e}, tolerance {tol:e}"
            );
        }
    }

    #[test]
    fn energy_is_conserved_to_round_off_on_a_dirichlet_block() {
        let (wave, e0, [mut u, mut prev]) = run_block(&[19, 12], Boundary::Dirichlet, 200, 1.0);
        let e1 = energy(&wave, &mut u, &mut prev);
        let tol = wave.energy_tolerance(200);
        assert!(((e1 - e0) / e0).abs() <= tol / 10.0, "{e0} {e1} {tol:e}");
    }

    /// The discrete energy approximates the PDE's, `1/2 int (u_t^2 + c^2 |grad u|^2)`,
    /// which for the orthogonal standing waves is `sum_m A_m^2 omega_m^2 / 2 int phi_m^2`
    /// with `int phi_m^2 = 2^-d` (`phi_m` the product of sines): `/ 8` in 2D.
    #[test]
    fn discrete_energy_approximates_the_continuous_one() {
        let shape = [127, 127];
        let (wave, e0, _) = run_block(&shape, Boundary::Dirichlet, 0, 0.5);
        let exact: f64 = wave
            .modes
            .iter()
            .map(|m| m.amplitude * m.amplitude * m.omega * m.omega / 8.0)
            .sum();
        assert!(((e0 - exact) / exact).abs() < 1e-2, "{e0} vs {exact}");
    }

    #[test]
    fn unstable_time_step_is_refused_with_the_limit() {
        let limit = Wave::stability_limit(&[63, 63], Boundary::Dirichlet, 2.0);
        assert!((limit - 1.0 / (2.0 * 64.0 * 2f64.sqrt())).abs() < 1e-15);
        let err = Wave::new(&[63, 63], Boundary::Dirichlet, 2.0, limit * 1.01).unwrap_err();
        assert!(err.to_string().contains("unstable"), "{err}");
        assert!(err.to_string().contains(&format!("{limit:e}")), "{err}");
        let ok = Wave::new(&[63, 63], Boundary::Dirichlet, 2.0, limit).unwrap();
        assert!((ok.courant() - 1.0).abs() < 1e-15);
        assert!(Wave::new(&[63, 63], Boundary::Dirichlet, -1.0, limit).is_err());
        assert!(Wave::new(&[63, 63], Boundary::Dirichlet, 1.0, 0.0).is_err());
    }

    #[test]
    fn a_wrong_update_does_not_validate() {
        let (wave, _, [mut u, _]) = run_block(&[15, 15], Boundary::Dirichlet, 10, 0.5);
        u.array_mut()[[0, 8, 8]] += 1e-9;
        assert!(!wave
            .local_errors(&u, 10)
            .validates(wave.roundoff_tolerance(10)));
    }

    #[test]
    fn scheme_solution_obeys_its_recurrence_and_starts_at_the_initial_levels() {
        let wave = Wave::new(&[20, 20], Boundary::Periodic, 1.0, 0.01).unwrap();
        let g = [0, 3, 7];
        assert_eq!(wave.discrete(g, 0), wave.analytic(g, 0.0));
        assert_eq!(wave.discrete(g, -1), wave.initial_value(1, g));
        assert_eq!(wave.discrete(g, 0), wave.initial_value(0, g));
        for m in wave.modes {
            let a = |n: i64| match n {
                -1 => (m.omega * wave.dt).cos(),
                n => {
                    let p = n as f64 * m.theta;
                    p.cos() + m.beta * p.sin()
                }
            };
            // formula at n = -1 equals the initial amplitude
            let p = -m.theta;
            assert!((p.cos() + m.beta * p.sin() - a(-1)).abs() < 1e-14);
            for n in 0..50 {
                let two_cos = 2.0 * m.theta.cos();
                assert!(
                    (a(n + 1) - (two_cos * a(n) - a(n - 1))).abs() < 1e-13,
                    "n = {n}"
                );
            }
        }
    }
}
