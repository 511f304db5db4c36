//! The heat equation `du/dt = alpha * Laplacian(u)` on the unit square / cube.
//!
//! Discretisation: explicit forward Euler in time, `u' = u + alpha dt L u`, with one of the
//! discrete Laplacians `L` of [`crate::grid::laplacian`]:
//! - `standard` (FTCS): the 3-, 5- or 7-point stencil,
//!   `u'_c = u_c + sum_a r_a (u_{c-e_a} - 2 u_c + u_{c+e_a})`, `r_a = alpha dt / h_a^2`;
//! - `compact`: the 9-point (2D) or 27-point (3D) Laplacian (edge and corner neighbours);
//! - `fourth`: the fourth-order radius-2 Laplacian (two ghost layers; periodic grids only,
//!   as its outer tap would read past a Dirichlet boundary).
//!
//! Accuracy `O(dt + h^p)` with `p` = 2, 2, 4: second order overall when `dt ~ h^2`. The
//! spatial order `p` shows against the forward-Euler solution of the exact Laplacian
//! (below). Stable when `dt <= 2 / (alpha rho(L))`, `rho(L)` the largest `|eigenvalue|`:
//! for the standard stencil `dt <= 1 / (2 alpha sum_a 1/h_a^2)`, for the 9-point one
//! `dt <= 3 h^2 / (8 alpha)`, for the fourth-order one `dt <= 3 / (16 alpha sum_a 1/h_a^2)`.
//!
//! Grid: `N_a` points per axis.
//! - Dirichlet (`u = 0` on the boundary): the points are the interior vertices
//!   `x_i = (i + 1) h` with `h = 1 / (N + 1)`; ghost cells hold the boundary value 0.
//! - Periodic: `x_i = i h` with `h = 1 / N`.
//!
//! Initial condition: two Fourier modes `u0 = sum_m A_m prod_a sin(k_{m,a} x_a)`, each an
//! eigenfunction of the Laplacian with these boundary conditions, so the exact solution is
//! `u = sum_m A_m exp(-alpha |k_m|^2 t) prod_a sin(k_{m,a} x_a)`. Each mode is also an
//! eigenvector of the discrete operator, so the exact solution of the *scheme* is known too:
//! `u^n = sum_m A_m g_m^n prod_a sin(k_{m,a} x_a)`, with amplification factor
//! `g_m = 1 + alpha dt lambda_h(k_m)` (`= 1 - sum_a 4 r_a sin^2(k_{m,a} h_a / 2)` for the
//! standard stencil). A run checks itself against both. The forward-Euler solution of the
//! exact Laplacian, `A_m (1 - alpha dt |k_m|^2)^n`, differs from the scheme's only by the
//! stencil's error: that difference is the *spatial error*, of order `p`.

use crate::error::{Error, Name, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::kernels::sine_modes::{grid_spacing, SineModes};
use crate::grid::laplacian::{Stencil, Taps};
use crate::grid::stencil::{map_row, GlobalIndex, Kernel};

pub use crate::grid::kernels::sine_modes::Boundary;

/// The heat equation on a grid of `shape` points (1 to 3 axes).
#[derive(Clone, Debug)]
pub struct Heat {
    ndim: usize,
    alpha: f64,
    dt: f64,
    stencil: Stencil,
    /// The Laplacian's weighted offsets (the standard stencil has its own loop).
    taps: Taps,
    /// Grid spacing per internal axis (1 on inactive axes).
    h: [f64; 3],
    /// `alpha dt / h_a^2` per internal axis (0 on inactive axes).
    r: [f64; 3],
    /// The initial condition's two sine modes on this grid.
    modes: SineModes,
}

impl Heat {
    /// The largest stable time step for diffusivity `alpha` on `shape` with `bc`:
    /// `2 / (alpha rho(L))`, `rho(L)` the largest |eigenvalue| of the stencil.
    pub fn stability_limit(shape: &[usize], bc: Boundary, stencil: Stencil, alpha: f64) -> f64 {
        let h = grid_spacing(shape, bc);
        let rho = stencil.taps(shape.len(), h).spectral_radius(shape.len());
        2.0 / (alpha * rho)
    }

    /// The problem on `shape` points with diffusivity `alpha` and time step `dt`.
    /// Refuses a time step above the stability limit.
    pub fn new(
        shape: &[usize],
        bc: Boundary,
        stencil: Stencil,
        alpha: f64,
        dt: f64,
    ) -> Result<Heat> {
        if !(alpha > 0.0 && alpha.is_finite()) {
            return Err(Error::value(
                "alpha",
                format!("must be positive, got {alpha}"),
            ));
        }
        if stencil == Stencil::Fourth && bc == Boundary::Dirichlet {
            return Err(Error::value(
                "stencil",
                format!(
                    "fourth needs {} periodic: its radius-2 taps would read past a Dirichlet boundary",
                    Name("bc")
                ),
            ));
        }
        let limit = Heat::stability_limit(shape, bc, stencil, alpha);
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::value("dt", format!("must be positive, got {dt}")));
        }
        if dt > limit {
            return Err(Error::Unstable(format!(
                "{} {dt:e} is unstable: forward Euler with the {} stencil needs \
                 dt <= 2/(alpha max|eigenvalue|) = {limit:e} on this grid",
                Name("dt"),
                stencil.as_str()
            )));
        }
        let ndim = shape.len();
        let off = 3 - ndim;
        let h = grid_spacing(shape, bc);
        let mut r = [0.0; 3];
        for a in off..3 {
            r[a] = alpha * dt / (h[a] * h[a]);
        }
        Ok(Heat {
            ndim,
            alpha,
            dt,
            stencil,
            taps: stencil.taps(ndim, h),
            h,
            r,
            modes: SineModes::new(shape, bc),
        })
    }

    pub fn dt(&self) -> f64 {
        self.dt
    }

    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.modes.spacing()
    }

    /// Coordinate of the first grid point on each of the problem's axes.
    pub fn origin(&self) -> Vec<f64> {
        self.modes.origin()
    }

    /// Amplitude of each mode in the PDE's solution at time `t`: `A_m exp(-alpha |k_m|^2 t)`.
    fn pde_amplitudes(&self, t: f64) -> [f64; 2] {
        std::array::from_fn(|m| {
            SineModes::AMPLITUDES[m] * (-self.alpha * self.modes.k2(m) * t).exp()
        })
    }

    /// Amplitude of each mode in the scheme's solution after `step` steps: `A_m g_m^step`,
    /// `g_m = 1 + alpha dt lambda_h(k_m)`.
    fn scheme_amplitudes(&self, step: u64) -> [f64; 2] {
        std::array::from_fn(|m| {
            let k = self.modes.k(m);
            let theta = std::array::from_fn(|a| k[a] * self.h[a]);
            let g = 1.0 + self.alpha * self.dt * self.taps.eigenvalue(theta);
            SineModes::AMPLITUDES[m] * g.powi(step as i32)
        })
    }

    /// Amplitude of each mode after `step` forward-Euler steps with the EXACT Laplacian:
    /// `A_m (1 - alpha dt |k_m|^2)^step`. The scheme's solution differs from it only by
    /// the stencil's error.
    fn euler_amplitudes(&self, step: u64) -> [f64; 2] {
        std::array::from_fn(|m| {
            let g = 1.0 - self.alpha * self.dt * self.modes.k2(m);
            SineModes::AMPLITUDES[m] * g.powi(step as i32)
        })
    }

    pub fn stencil(&self) -> Stencil {
        self.stencil
    }

    /// `sum_m amplitudes[m] prod_a sin(k_{m,a} x_a)` at global index `idx`.
    fn superpose(&self, amplitudes: [f64; 2], idx: GlobalIndex) -> f64 {
        self.modes.superpose(amplitudes, idx)
    }

    /// Exact solution of the PDE at global index `idx` and time `t`.
    pub fn analytic(&self, idx: GlobalIndex, t: f64) -> f64 {
        self.superpose(self.pde_amplitudes(t), idx)
    }

    /// Exact solution of the FTCS scheme after `step` steps at global index `idx`.
    pub fn discrete(&self, idx: GlobalIndex, step: u64) -> f64 {
        self.superpose(self.scheme_amplitudes(step), idx)
    }

    /// Local maxima over the owned cells of `u` after `step` steps: the error against the
    /// PDE's solution, against the scheme's exact solution, and the latter's own difference
    /// from the PDE's (the discretisation error the first one should equal).
    pub fn local_errors(&self, u: &Field<f64>, step: u64) -> HeatErrors {
        let pde = self.pde_amplitudes(step as f64 * self.dt);
        let scheme_amplitudes = self.scheme_amplitudes(step);
        let euler = self.euler_amplitudes(step);
        let mut e = HeatErrors::default();
        u.for_each_owned(|g, v| {
            let exact = self.superpose(pde, g);
            let scheme = self.superpose(scheme_amplitudes, g);
            e.vs_analytic = e.vs_analytic.max((v - exact).abs());
            e.vs_scheme = e.vs_scheme.max((v - scheme).abs());
            e.discretisation = e.discretisation.max((scheme - exact).abs());
            e.spatial = e.spatial.max((v - self.superpose(euler, g)).abs());
            // NaN never compares greater: record it explicitly
            if !v.is_finite() {
                e.vs_analytic = f64::INFINITY;
                e.vs_scheme = f64::INFINITY;
                e.spatial = f64::INFINITY;
            }
        });
        e
    }

    /// Round-off allowed after `step` steps: a few ulps of the amplitude per step.
    pub fn roundoff_tolerance(step: u64) -> f64 {
        1e-14 + 16.0 * f64::EPSILON * step as f64
    }
}

/// Maximum errors of a heat solution (see [`Heat::local_errors`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HeatErrors {
    /// `max |u - u_pde|`.
    pub vs_analytic: f64,
    /// `max |u - u_scheme|`: round-off only, if the implementation is right.
    pub vs_scheme: f64,
    /// `max |u_scheme - u_pde|`: the `O(dt + h^p)` truncation error of the scheme.
    pub discretisation: f64,
    /// `max |u - u_euler|` against forward Euler with the exact Laplacian: the `O(h^p)`
    /// error of the stencil alone.
    pub spatial: f64,
}

impl HeatErrors {
    /// The solution validates when it equals the scheme's exact solution to round-off, and
    /// so its error against the PDE is the predicted discretisation error.
    pub fn validates(&self, step: u64) -> bool {
        let tol = Heat::roundoff_tolerance(step);
        self.vs_scheme <= tol && self.vs_analytic <= self.discretisation + tol
    }
}

impl Kernel for Heat {
    type Value = f64;

    fn name(&self) -> &'static str {
        "heat"
    }

    fn radius(&self) -> usize {
        self.stencil.radius()
    }

    fn initial_value(&self, _level: usize, idx: GlobalIndex) -> f64 {
        // the PDE's solution at t = 0 (exp(0) = 1 exactly)
        self.superpose(SineModes::AMPLITUDES, idx)
    }

    fn boundary_value(&self, _idx: GlobalIndex) -> f64 {
        0.0
    }

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        if self.stencil != Stencil::Standard {
            // u + alpha dt (L u), L u in its one fixed expression (laplacian::Taps::apply)
            let adt = self.alpha * self.dt;
            self.taps.apply(s, 0, out, |lu, c| c + adt * lu);
            return;
        }
        let n = out.len();
        let c = &s.row(0, 0, 0)[..n];
        let (w, e) = (&s.row(0, 0, -1)[..n], &s.row(0, 0, 1)[..n]);
        let (rz, stores) = (self.r[2], s.stores());
        match self.ndim {
            1 => map_row(out, stores, [c, w, e], |[c, w, e]| {
                c + rz * (w - 2.0 * c + e)
            }),
            2 => {
                let ry = self.r[1];
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                map_row(out, stores, [c, w, e, so, no], |[c, w, e, so, no]| {
                    c + ry * (so - 2.0 * c + no) + rz * (w - 2.0 * c + e)
                })
            }
            _ => {
                let (rx, ry) = (self.r[0], self.r[1]);
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                let (dn, up) = (&s.row(-1, 0, 0)[..n], &s.row(1, 0, 0)[..n]);
                let rows = [c, w, e, so, no, dn, up];
                map_row(out, stores, rows, |[c, w, e, so, no, dn, up]| {
                    c + rx * (dn - 2.0 * c + up) + ry * (so - 2.0 * c + no) + rz * (w - 2.0 * c + e)
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

    /// Runs `steps` FTCS steps on one Dirichlet block, the ghosts holding the boundary value.
    fn run_one_block(shape: &[usize], steps: u64, dt_fraction: f64) -> (Heat, Field<f64>) {
        run_stencil(
            shape,
            Boundary::Dirichlet,
            Stencil::Standard,
            steps,
            dt_fraction,
        )
    }

    /// Runs `steps` steps on one block of a Dirichlet grid (ghosts hold the boundary value)
    /// or of a periodic grid (ghosts refreshed from the opposite side each step).
    fn run_stencil(
        shape: &[usize],
        bc: Boundary,
        stencil: Stencil,
        steps: u64,
        dt_fraction: f64,
    ) -> (Heat, Field<f64>) {
        let limit = Heat::stability_limit(shape, bc, stencil, 1.0);
        let heat = Heat::new(shape, bc, stencil, 1.0, dt_fraction * limit).unwrap();
        let periodic = vec![bc == Boundary::Periodic; shape.len()];
        let grid = Grid::new(shape, &periodic).unwrap();
        let r = stencil.radius();
        let ghost: [usize; 3] = std::array::from_fn(|a| r * usize::from(grid.is_active(a)));
        let mut u = stencil::initial_block(&heat, &grid, grid.bounds(), ghost, 0);
        let mut next = u.clone();
        let inner = u.interior();
        let threads = Threads::serial();
        for _ in 0..steps {
            if bc == Boundary::Periodic {
                u.wrap_periodic();
            }
            stencil::apply_rows(&heat, &[&u], &mut next, &inner, 0, &threads, Stores::Cached);
            std::mem::swap(&mut u, &mut next);
        }
        (heat, u)
    }

    #[test]
    fn one_block_matches_the_scheme_exactly_1d_2d_3d() {
        for shape in [vec![31], vec![19, 12], vec![9, 8, 7]] {
            let steps = 50;
            let (heat, u) = run_one_block(&shape, steps, 0.9);
            let e = heat.local_errors(&u, steps);
            assert!(e.vs_scheme < 1e-14, "{shape:?}: {e:?}");
            assert!(e.validates(steps), "{shape:?}: {e:?}");
            assert!(e.discretisation > 0.0);
        }
    }

    #[test]
    fn every_stencil_matches_its_scheme_exactly() {
        let cases = [
            (vec![19, 12], Boundary::Dirichlet, Stencil::Compact),
            (vec![9, 8, 7], Boundary::Dirichlet, Stencil::Compact),
            (vec![16, 12], Boundary::Periodic, Stencil::Compact),
            (vec![16, 12], Boundary::Periodic, Stencil::Fourth),
            (vec![8, 10, 12], Boundary::Periodic, Stencil::Fourth),
            (vec![10, 12], Boundary::Periodic, Stencil::Standard),
        ];
        for (shape, bc, stencil) in cases {
            let steps = 40;
            let (heat, u) = run_stencil(&shape, bc, stencil, steps, 0.9);
            let e = heat.local_errors(&u, steps);
            assert!(e.validates(steps), "{shape:?} {bc:?} {stencil:?}: {e:?}");
        }
    }

    #[test]
    fn fourth_order_stencil_needs_a_periodic_grid() {
        let e = Heat::new(&[8, 8], Boundary::Dirichlet, Stencil::Fourth, 1.0, 1e-5).unwrap_err();
        assert!(e.to_string().contains("stencil"), "{e}");
    }

    #[test]
    fn unstable_time_step_is_refused_with_the_limit() {
        let std = Stencil::Standard;
        let limit = Heat::stability_limit(&[63, 63], Boundary::Dirichlet, std, 1.0);
        assert!((limit - 1.0 / (4.0 * 64.0 * 64.0)).abs() < 1e-18);
        let err = Heat::new(&[63, 63], Boundary::Dirichlet, std, 1.0, limit * 1.01).unwrap_err();
        assert!(err.to_string().contains("unstable"), "{err}");
        assert!(err.to_string().contains(&format!("{limit:e}")), "{err}");
        assert!(Heat::new(&[63, 63], Boundary::Dirichlet, std, 1.0, limit).is_ok());
        assert!(Heat::new(&[63, 63], Boundary::Dirichlet, std, -1.0, limit).is_err());
    }

    #[test]
    fn a_wrong_update_does_not_validate() {
        let (heat, mut u) = run_one_block(&[15, 15], 10, 0.5);
        u.array_mut()[[0, 8, 8]] += 1e-9;
        assert!(!heat.local_errors(&u, 10).validates(10));
    }

    #[test]
    fn analytic_and_discrete_agree_at_t0_and_decay() {
        let heat = Heat::new(&[20, 20], Boundary::Periodic, Stencil::Standard, 0.5, 1e-4).unwrap();
        let g = [0, 3, 7];
        assert_eq!(heat.analytic(g, 0.0), heat.discrete(g, 0));
        assert!(heat.analytic(g, 0.1).abs() < heat.analytic(g, 0.0).abs());
    }
}
