//! The Allen–Cahn equation `du/dt = eps^2 Laplacian(u) + u - u^3` on the unit square / cube:
//! phase separation, `u = -1` and `u = +1` the two phases, `eps` the width of the interface
//! between them. This file is the worked example of the README's "Write your own kernel".
//!
//! Discretisation: explicit forward Euler with the standard (3/5/7-point) Laplacian,
//! `u'_c = u_c + sum_a r_a (u_{c-e_a} - 2 u_c + u_{c+e_a}) + dt (u_c - u_c^3)`,
//! `r_a = eps^2 dt / h_a^2`. First order in time, second order in space.
//!
//! Grid: `N_a` interior points per axis, `x_i = (i + 1) h`, `h = 1 / (N + 1)`, Dirichlet
//! ghosts holding the flat interface `u*(x) = tanh((x_1 - 1/2) / (sqrt(2) eps))` (`x_1` the
//! first axis), an exact steady state of the PDE: `eps^2 u*'' = u*^3 - u*`.
//! Initial state: that interface bent by `delta(x) = 0.1 prod_{a>1} sin(pi x_a)`,
//! `u0 = tanh((x_1 - 1/2 - delta) / (sqrt(2) eps))`; it relaxes back towards `u*`.
//!
//! Time-step limit: `dt <= 1 / (2 eps^2 sum_a 1/h_a^2 + 2)`. Under it the update is a
//! non-decreasing function of every value it reads while `|u| <= 1`, and maps `+-1` to
//! `+-1`, so the scheme keeps the **discrete maximum principle** `|u| <= 1`. The update
//! is also a gradient step `u' = u - dt grad E(u) / h^d` on the discrete free energy
//! `E(u) = h^d sum_cells (1 - u^2)^2 / 4 + h^d eps^2 / 2 sum_faces ((u_+ - u_-) / h_a)^2`
//! whose Hessian is bounded by `L = 4 eps^2 sum_a 1/h_a^2 + 2` on `|u| <= 1`; as
//! `dt < 2 / L`, **the energy never increases**. A run checks both: they fail for a wrong
//! sign, a wrong coefficient or a missing term.

use crate::error::{Error, Name, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::stencil::{map_row, GlobalIndex, Kernel};
use crate::parallel::exact_sum::ExactSum;
use std::f64::consts::PI;

/// The Allen–Cahn problem on a grid of `shape` points (1 to 3 axes).
#[derive(Clone, Debug)]
pub struct AllenCahn {
    /// First active internal axis (`3 - number of axes`): the interface's normal.
    normal: usize,
    extents: [i64; 3],
    eps: f64,
    dt: f64,
    /// Grid spacing per internal axis (1 on inactive axes).
    h: [f64; 3],
    /// `eps^2 dt / h_a^2` per internal axis (0 on inactive axes).
    r: [f64; 3],
}

impl AllenCahn {
    /// The largest time step keeping the discrete maximum principle (and so the energy
    /// decrease): `1 / (2 eps^2 sum_a 1/h_a^2 + 2)`.
    pub fn stability_limit(shape: &[usize], eps: f64) -> f64 {
        let inverse_h2: f64 = shape.iter().map(|&n| ((n + 1) * (n + 1)) as f64).sum();
        1.0 / (2.0 * eps * eps * inverse_h2 + 2.0)
    }

    /// The problem on `shape` points with interface width `eps` and time step `dt`.
    /// Refuses a time step above the stability limit.
    pub fn new(shape: &[usize], eps: f64, dt: f64) -> Result<AllenCahn> {
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(Error::value("eps", format!("must be positive, got {eps}")));
        }
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(Error::value("dt", format!("must be positive, got {dt}")));
        }
        let limit = AllenCahn::stability_limit(shape, eps);
        if dt > limit {
            return Err(Error::Unstable(format!(
                "{} {dt:e} is unstable: the maximum principle |u| <= 1 needs \
                 dt <= 1/(2 eps^2 sum 1/h^2 + 2) = {limit:e} on this grid",
                Name("dt")
            )));
        }
        let normal = 3 - shape.len();
        let (mut extents, mut h, mut r) = ([1; 3], [1.0; 3], [0.0; 3]);
        for (a, &n) in shape.iter().enumerate() {
            extents[normal + a] = n as i64;
            h[normal + a] = 1.0 / (n + 1) as f64;
            r[normal + a] = eps * eps * dt / (h[normal + a] * h[normal + a]);
        }
        Ok(AllenCahn {
            normal,
            extents,
            eps,
            dt,
            h,
            r,
        })
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.h[self.normal..].to_vec()
    }

    /// Coordinate of the first grid point on each axis.
    pub fn origin(&self) -> Vec<f64> {
        self.spacing()
    }

    /// Coordinate of global index `idx` on internal axis `a`.
    fn x(&self, idx: GlobalIndex, a: usize) -> f64 {
        (idx[a] + 1) as f64 * self.h[a]
    }

    /// `tanh((x_1 - 1/2 - shift) / (sqrt(2) eps))`: an interface at `x_1 = 1/2 + shift`.
    fn interface(&self, idx: GlobalIndex, shift: f64) -> f64 {
        let x1 = self.x(idx, self.normal);
        ((x1 - 0.5 - shift) / (std::f64::consts::SQRT_2 * self.eps)).tanh()
    }

    /// The flat interface `u*`, the steady state the run relaxes towards.
    pub fn steady_state(&self, idx: GlobalIndex) -> f64 {
        self.interface(idx, 0.0)
    }

    /// Local maximum over the owned cells of `|u|` (the maximum principle bounds it by 1)
    /// and of `|u - u*|` (how far the interface is from flat). NaN counts as infinite.
    pub fn local_maxima(&self, u: &Field<f64>) -> (f64, f64) {
        let (mut max_u, mut from_flat) = (0.0f64, 0.0f64);
        u.for_each_owned(|idx, v| {
            max_u = max_u.max(if v.is_nan() { f64::INFINITY } else { v.abs() });
            from_flat = from_flat.max((v - self.steady_state(idx)).abs());
        });
        (max_u, from_flat)
    }

    /// Adds the free energy of the cells of one row (newest level, ghosts filled) to `sum`:
    /// `h^d (1 - u^2)^2 / 4` per cell, plus `h^d eps^2 / 2 ((u_c - u_{c-e_a}) / h_a)^2` for
    /// its lower face on each axis and, on the last cell of an axis, its upper (boundary)
    /// face: each face of the grid counted once, so the exact total does not depend on how
    /// the grid is split.
    pub fn energy_row(&self, s: &RowStencil<'_, f64>, sum: &mut ExactSum) {
        let n = s.len();
        let u = &s.row(0, 0, 0)[..n];
        let volume: f64 = self.h.iter().product();
        for &v in u {
            let w = 1.0 - v * v;
            sum.add(volume * 0.25 * w * w);
        }
        let start = s.global_start();
        for a in self.normal..3 {
            let weight = volume * 0.5 * self.eps * self.eps / (self.h[a] * self.h[a]);
            let (below, above) = (neighbour_row(s, a, -1), neighbour_row(s, a, 1));
            for m in 0..n {
                let d = u[m] - below[m];
                sum.add(weight * d * d);
                let i = if a == 2 {
                    start[2] + m as i64
                } else {
                    start[a]
                };
                if i == self.extents[a] - 1 {
                    let d = above[m] - u[m];
                    sum.add(weight * d * d);
                }
            }
        }
    }

    /// Round-off allowed in a comparison of two energies of size `e`.
    pub fn energy_tolerance(e: f64) -> f64 {
        1e-12 * e.abs()
    }
}

/// The row of `s` one cell away along internal axis `a`, on the side `sign` (-1 or +1).
#[inline(always)]
fn neighbour_row<'a>(s: &'a RowStencil<'_, f64>, a: usize, sign: isize) -> &'a [f64] {
    let d: [isize; 3] = std::array::from_fn(|x| if x == a { sign } else { 0 });
    &s.row(d[0], d[1], d[2])[..s.len()]
}

impl Kernel for AllenCahn {
    type Value = f64;

    fn name(&self) -> &'static str {
        "allen-cahn"
    }

    fn radius(&self) -> usize {
        1
    }

    fn initial_value(&self, _level: usize, idx: GlobalIndex) -> f64 {
        let bend: f64 = (self.normal + 1..3)
            .map(|a| (PI * self.x(idx, a)).sin())
            .product();
        self.interface(idx, 0.1 * bend)
    }

    fn boundary_value(&self, idx: GlobalIndex) -> f64 {
        self.steady_state(idx)
    }

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        // u + dt (u - u^3), then r_a (below - 2u + above) added axis by axis in order, in
        // one pass over the row
        let n = out.len();
        let u = &s.row(0, 0, 0)[..n];
        let (dt, r) = (self.dt, self.r);
        let reaction = |u: f64| u + dt * (u - u * u * u);
        let pair = |a: usize| (neighbour_row(s, a, -1), neighbour_row(s, a, 1));
        let stores = s.stores();
        match self.normal {
            2 => {
                let (w, e) = pair(2);
                map_row(out, stores, [u, w, e], |[u, w, e]| {
                    reaction(u) + r[2] * (w - 2.0 * u + e)
                })
            }
            1 => {
                let ((so, no), (w, e)) = (pair(1), pair(2));
                map_row(out, stores, [u, so, no, w, e], |[u, so, no, w, e]| {
                    reaction(u) + r[1] * (so - 2.0 * u + no) + r[2] * (w - 2.0 * u + e)
                })
            }
            _ => {
                let ((dn, up), (so, no), (w, e)) = (pair(0), pair(1), pair(2));
                let rows = [u, dn, up, so, no, w, e];
                map_row(out, stores, rows, |[u, dn, up, so, no, w, e]| {
                    reaction(u)
                        + r[0] * (dn - 2.0 * u + up)
                        + r[1] * (so - 2.0 * u + no)
                        + r[2] * (w - 2.0 * u + e)
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

    /// `steps` steps on one block (the Dirichlet ghosts hold `u*`), with the energy
    /// after each step.
    fn run(shape: &[usize], dt_fraction: f64, steps: usize) -> (AllenCahn, Field<f64>, Vec<f64>) {
        let ac = AllenCahn::new(
            shape,
            0.05,
            dt_fraction * AllenCahn::stability_limit(shape, 0.05),
        )
        .unwrap();
        let grid = Grid::new(shape, &vec![false; shape.len()]).unwrap();
        let ghost = std::array::from_fn(|a| usize::from(grid.is_active(a)));
        let mut u = stencil::initial_block(&ac, &grid, grid.bounds(), ghost, 0);
        let mut next = u.clone();
        let (inner, threads) = (u.interior(), Threads::serial());
        let energy = |u: &Field<f64>| {
            stencil::sum_rows(&[u], &inner, &threads, |s, sum| ac.energy_row(s, sum)).value()
        };
        let mut energies = vec![energy(&u)];
        for _ in 0..steps {
            stencil::apply_rows(&ac, &[&u], &mut next, &inner, 0, &threads, Stores::Cached);
            std::mem::swap(&mut u, &mut next);
            energies.push(energy(&u));
        }
        (ac, u, energies)
    }

    #[test]
    fn energy_decreases_every_step_and_the_maximum_principle_holds() {
        for shape in [vec![40], vec![33, 27], vec![15, 13, 11]] {
            let (ac, u, energies) = run(&shape, 1.0, 200);
            // without round-off it would fall strictly; near the steady state the
            // change is below the round-off of the energy's terms
            for w in energies.windows(2) {
                let rose = w[1] > w[0] + AllenCahn::energy_tolerance(w[0]);
                assert!(!rose, "{shape:?}: energy rose {} -> {}", w[0], w[1]);
            }
            assert!(energies[200] < energies[0], "{shape:?}");
            let (max_u, _) = ac.local_maxima(&u);
            assert!(max_u <= 1.0, "{shape:?}: max |u| = {max_u}");
        }
    }

    #[test]
    fn the_bent_interface_relaxes_towards_the_flat_one() {
        let (ac, u0, _) = run(&[33, 27], 0.9, 0);
        let (_, u, _) = run(&[33, 27], 0.9, 500);
        assert!(ac.local_maxima(&u).1 < 0.5 * ac.local_maxima(&u0).1);
    }

    #[test]
    fn far_beyond_the_limit_the_maximum_principle_breaks() {
        // the kernel itself does not refuse: new() does; this shows the limit matters
        let shape = [33, 27];
        let limit = AllenCahn::stability_limit(&shape, 0.05);
        let mut ac = AllenCahn::new(&shape, 0.05, limit).unwrap();
        ac.dt *= 3.0;
        ac.r = ac.r.map(|r| 3.0 * r);
        let grid = Grid::new(&shape, &[false, false]).unwrap();
        let mut u = stencil::initial_block(&ac, &grid, grid.bounds(), [0, 1, 1], 0);
        let mut next = u.clone();
        let inner = u.interior();
        for _ in 0..50 {
            stencil::apply_rows(
                &ac,
                &[&u],
                &mut next,
                &inner,
                0,
                &Threads::serial(),
                Stores::Cached,
            );
            std::mem::swap(&mut u, &mut next);
        }
        assert!(ac.local_maxima(&u).0 > 1.0);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let limit = AllenCahn::stability_limit(&[63, 63], 0.05);
        assert!((limit / (1.0 / (2.0 * 0.0025 * 2.0 * 4096.0 + 2.0)) - 1.0).abs() < 1e-14);
        let e = AllenCahn::new(&[63, 63], 0.05, 1.01 * limit).unwrap_err();
        assert!(e.to_string().contains("unstable"), "{e}");
        assert!(AllenCahn::new(&[63, 63], 0.05, limit).is_ok());
        assert!(AllenCahn::new(&[63, 63], 0.0, limit).is_err());
        assert!(AllenCahn::new(&[63, 63], 0.05, -1.0).is_err());
    }

    #[test]
    fn the_flat_interface_solves_the_pde() {
        // eps^2 u'' + u - u^3 = 0 for u = tanh((x - 1/2) / (sqrt(2) eps)), by differences
        let ac = AllenCahn::new(&[999], 0.05, 1e-6).unwrap();
        for i in [300, 480, 500, 520, 700] {
            let u = |i: i64| ac.steady_state([0, 0, i]);
            let h = ac.h[2];
            let lap = (u(i - 1) - 2.0 * u(i) + u(i + 1)) / (h * h);
            let residual = 0.05 * 0.05 * lap + u(i) - u(i).powi(3);
            assert!(residual.abs() < 1e-3, "x index {i}: residual {residual}");
        }
    }
}
