//! The Poisson equation `-Laplacian(u) = f` on the unit square / cube with Dirichlet data
//! `u = g` on the boundary, solved by stationary iterations.
//!
//! Discretisation: the standard 3/5/7-point Laplacian `L` on the interior vertices
//! `x_i = (i + 1) h`, `h = 1 / (N + 1)`; the boundary vertices are the ghost cells and hold
//! `g`. The discrete problem `-L u = f` has a truncation error `tau = O(h^2)`, so the
//! discrete solution is second-order accurate.
//!
//! Iterations (one iteration is one "step" of the driver), with `D = sum_a 2 / h_a^2` the
//! diagonal of `-L` and `N(u)_c = sum_a (u_{c-e_a} + u_{c+e_a}) / h_a^2`:
//! - Jacobi: `u'_c = (f_c + N(u)_c) / D`. Converges for any grid; the error falls by about
//!   `cos(pi h)` per iteration, so `O(N^2)` iterations.
//! - Red-black Gauss-Seidel (`omega = 1`) and SOR: the cells with even `i + j + k` (red)
//!   are relaxed first, from the old black values, then the black cells from the new red
//!   values: `u'_c = u_c + omega ((f_c + N(u)_c) / D - u_c)`. Each colour is one sweep of
//!   the driver with its own ghost exchange ([`Kernel::phases`] = 2); cells of the other
//!   colour are copied. Converges for `0 < omega < 2`; the optimal
//!   `omega = 2 / (1 + sin(pi h))` for the model problem needs `O(N)` iterations.
//!
//! Colours are a function of the GLOBAL index, so the iterates do not depend on the rank
//! count; the residual norm is summed exactly ([`crate::parallel::exact_sum`]), so the stopping test,
//! and hence the iteration count, is the same on every rank count too.
//!
//! Stopping: the residual `r = f + L u` is checked every few iterations (on ghost-filled
//! data), and the iteration stops once `||r||_2 <= rtol ||f||_2` (sums over grid points).
//!
//! Manufactured solution: `u* = A prod_a sin(k_a pi x_a) + H(x)` with `k = (1, 2, 3)` on the
//! trailing axes and `H = exp(kappa x_1) prod_{a > 1} cos(x_a)`, `kappa = sqrt(d - 1)`,
//! which is harmonic (`Laplacian H = 0`); so `f = A pi^2 |k|^2 prod_a sin(k_a pi x_a)` and
//! `g = H` on the boundary (non-zero Dirichlet data).
//!
//! Validation: with the discrete maximum principle and the comparison function
//! `x_1 (1 - x_1) / 2` (for which `-L` is exactly 1), the error of any iterate obeys
//! `max |u - u*| <= (max |tau| + max |r|) / 8`, where `max |tau| <= sum_a h_a^2 / 12
//! max |d^4 u* / dx_a^4|` (bounded analytically below) and `max |r| <= ||r||_2`. A run
//! validates when it converged and its measured error is within this bound.

use crate::error::{Error, Result};
use crate::grid::field::{Field, RowStencil};
use crate::grid::geometry::{Grid, IndexBox};
use crate::grid::stencil::{map_row, GlobalIndex, Kernel, Stores};
use crate::parallel::exact_sum::ExactSum;
use std::f64::consts::PI;

/// The iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    Jacobi,
    /// Red-black Gauss-Seidel (SOR with `omega = 1`).
    GaussSeidel,
    /// Red-black successive over-relaxation.
    Sor,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Jacobi => "jacobi",
            Method::GaussSeidel => "gauss-seidel",
            Method::Sor => "sor",
        }
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "jacobi" => Ok(Method::Jacobi),
            "gauss-seidel" | "gs" => Ok(Method::GaussSeidel),
            "sor" => Ok(Method::Sor),
            _ => Err(format!(
                "'{s}' is not a method (jacobi, gauss-seidel or sor)"
            )),
        }
    }
}

/// Amplitude of the sine part of the manufactured solution.
const AMPLITUDE: f64 = 1.0;
/// Its wave numbers (times pi) on the three internal axes (the trailing `d` are used).
const WAVE_NUMBERS: [f64; 3] = [1.0, 2.0, 3.0];

/// The Poisson problem on a grid of `shape` interior points (1 to 3 axes).
#[derive(Clone, Debug)]
pub struct Poisson {
    ndim: usize,
    method: Method,
    omega: f64,
    /// Grid spacing per internal axis (1 on inactive axes).
    h: [f64; 3],
    /// `1 / h_a^2` on active axes, 0 elsewhere.
    inv_h2: [f64; 3],
    /// `1 / D`, the inverse diagonal of `-L`.
    inv_diag: f64,
    kappa: f64,
    /// `sin(k_a pi x_a(i))` per internal axis for the interior points (1 on inactive axes).
    sines: [Vec<f64>; 3],
    /// `A pi^2 |k|^2`: `f = rhs_scale * prod_a sines[a]`.
    rhs_scale: f64,
}

impl Poisson {
    /// The problem on `shape` with `method`; `omega` only matters for SOR (default: the
    /// optimal value for the model problem, `2 / (1 + sin(pi h_max))`).
    pub fn new(shape: &[usize], method: Method, omega: Option<f64>) -> Result<Poisson> {
        // a grid first: the spacing and the default omega are derived from it
        Grid::new(shape, &vec![false; shape.len()])?;
        let ndim = shape.len();
        let off = 3 - ndim;
        let mut h = [1.0; 3];
        let mut inv_h2 = [0.0; 3];
        for (a, &n) in shape.iter().enumerate() {
            h[off + a] = 1.0 / (n + 1) as f64;
            inv_h2[off + a] = 1.0 / (h[off + a] * h[off + a]);
        }
        let h_max = h[off..].iter().cloned().fold(0.0, f64::max);
        let omega = match method {
            Method::Jacobi | Method::GaussSeidel => 1.0,
            Method::Sor => omega.unwrap_or(2.0 / (1.0 + (PI * h_max).sin())),
        };
        if !(omega > 0.0 && omega < 2.0) {
            return Err(Error::value(
                "omega",
                format!("SOR converges only for 0 < omega < 2, got {omega}"),
            ));
        }
        let k2: f64 = (off..3).map(|a| (WAVE_NUMBERS[a] * PI).powi(2)).sum();
        let mut p = Poisson {
            ndim,
            method,
            omega,
            h,
            inv_h2,
            inv_diag: 1.0 / (2.0 * inv_h2.iter().sum::<f64>()),
            kappa: ((ndim - 1) as f64).sqrt(),
            sines: Default::default(),
            rhs_scale: AMPLITUDE * k2,
        };
        p.sines = std::array::from_fn(|a| {
            if a < off {
                vec![1.0]
            } else {
                (0..shape[a - off] as i64).map(|i| p.sine(a, i)).collect()
            }
        });
        Ok(p)
    }

    pub fn method(&self) -> Method {
        self.method
    }

    pub fn omega(&self) -> f64 {
        self.omega
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.h[3 - self.ndim..].to_vec()
    }

    /// Coordinate of the first interior point on each of the problem's axes.
    pub fn origin(&self) -> Vec<f64> {
        self.spacing()
    }

    /// Coordinate of global index `i` on internal axis `a` (0 and 1 are the boundary).
    fn x(&self, a: usize, i: i64) -> f64 {
        (i + 1) as f64 * self.h[a]
    }

    fn sine(&self, a: usize, i: i64) -> f64 {
        (WAVE_NUMBERS[a] * PI * self.x(a, i)).sin()
    }

    /// The harmonic part `H = exp(kappa x_1) prod_{a>1} cos(x_a)` at `idx`.
    fn harmonic(&self, idx: GlobalIndex) -> f64 {
        let first = 3 - self.ndim;
        (first..3)
            .map(|a| {
                let x = self.x(a, idx[a]);
                if a == first {
                    (self.kappa * x).exp()
                } else {
                    x.cos()
                }
            })
            .product()
    }

    /// The manufactured solution `u*` at global index `idx`.
    pub fn exact(&self, idx: GlobalIndex) -> f64 {
        let sine: f64 = (3 - self.ndim..3).map(|a| self.sine(a, idx[a])).product();
        AMPLITUDE * sine + self.harmonic(idx)
    }

    /// The right-hand side `f` at interior global index `idx` (from the tables).
    #[inline]
    fn rhs(&self, idx: GlobalIndex) -> f64 {
        self.rhs_scale
            * self.sines[0][idx[0] as usize]
            * self.sines[1][idx[1] as usize]
            * self.sines[2][idx[2] as usize]
    }

    /// This rank's share of `||f||_2^2` over the owned cells of `u`'s block.
    pub fn local_rhs_norm2(&self, o: &IndexBox) -> ExactSum {
        let mut sum = ExactSum::new();
        for i in o.lo[0]..o.hi()[0] {
            for j in o.lo[1]..o.hi()[1] {
                for k in o.lo[2]..o.hi()[2] {
                    let f = self.rhs([i as i64, j as i64, k as i64]);
                    sum.add(f * f);
                }
            }
        }
        sum
    }

    /// The local maximum of `|u - u*|` over the owned cells (infinite if `u` is not finite).
    pub fn local_error(&self, u: &Field<f64>) -> f64 {
        let mut e: f64 = 0.0;
        u.for_each_owned(|g, v| {
            // NaN never compares greater: record it explicitly
            let d = if v.is_finite() {
                (v - self.exact(g)).abs()
            } else {
                f64::INFINITY
            };
            e = e.max(d);
        });
        e
    }

    /// An upper bound of `max |tau|`, the truncation error of the 2d+1-point Laplacian on
    /// `u*`: `sum_a h_a^2 / 12 max |d^4 u* / dx_a^4|`, with `|d^4 sine / dx_a^4| <=
    /// A (k_a pi)^4` and `|d^4 H / dx_a^4| <= kappa_a^4 e^kappa` (`kappa_a = kappa` on the
    /// first axis, 1 on the others).
    pub fn truncation_bound(&self) -> f64 {
        let first = 3 - self.ndim;
        (first..3)
            .map(|a| {
                let ka = if a == first { self.kappa } else { 1.0 };
                let d4 = AMPLITUDE * (WAVE_NUMBERS[a] * PI).powi(4) + ka.powi(4) * self.kappa.exp();
                self.h[a] * self.h[a] / 12.0 * d4
            })
            .sum()
    }

    /// The a-priori error bound `(max|tau| + ||r||_2) / 8` for an iterate with residual
    /// norm `residual` (see the module documentation).
    pub fn error_bound(&self, residual: f64) -> f64 {
        (self.truncation_bound() + residual) / 8.0
    }

    /// `(f_c + N(u)_c) / D` for the cells of one row, into `out`, stored as `stores` says.
    #[inline(always)]
    fn relaxed(&self, s: &RowStencil<'_, f64>, out: &mut [f64], stores: Stores) {
        let n = out.len();
        let g = s.global_start();
        let [ix, iy, iz] = self.inv_h2;
        // neighbour sums, innermost axis first, in a fixed order (rows of inactive axes
        // do not exist: a 2D block has no ghost planes to read), then (f + sum) / D, in
        // one pass over the row
        let f0 = self.rhs_scale * self.sines[0][g[0] as usize] * self.sines[1][g[1] as usize];
        let sz = &self.sines[2][g[2] as usize..g[2] as usize + n];
        let inv_diag = self.inv_diag;
        let (w, e) = (&s.row(0, 0, -1)[..n], &s.row(0, 0, 1)[..n]);
        match self.ndim {
            1 => map_row(out, stores, [sz, w, e], |[sz, w, e]| {
                (f0 * sz + iz * (w + e)) * inv_diag
            }),
            2 => {
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                map_row(out, stores, [sz, w, e, so, no], |[sz, w, e, so, no]| {
                    let sum = iz * (w + e) + iy * (so + no);
                    (f0 * sz + sum) * inv_diag
                })
            }
            _ => {
                let (so, no) = (&s.row(0, -1, 0)[..n], &s.row(0, 1, 0)[..n]);
                let (dn, up) = (&s.row(-1, 0, 0)[..n], &s.row(1, 0, 0)[..n]);
                let rows = [sz, w, e, so, no, dn, up];
                map_row(out, stores, rows, |[sz, w, e, so, no, dn, up]| {
                    let sum = iz * (w + e) + iy * (so + no) + ix * (dn + up);
                    (f0 * sz + sum) * inv_diag
                })
            }
        }
    }
}

impl Kernel for Poisson {
    type Value = f64;

    fn name(&self) -> &'static str {
        "poisson"
    }

    fn radius(&self) -> usize {
        1
    }

    fn phases(&self) -> usize {
        match self.method {
            Method::Jacobi => 1,
            _ => 2,
        }
    }

    /// The initial guess: 0 inside (the boundary ghosts hold `g`).
    fn initial_value(&self, _level: usize, _idx: GlobalIndex) -> f64 {
        0.0
    }

    fn boundary_value(&self, idx: GlobalIndex) -> f64 {
        self.harmonic(idx)
    }

    #[inline(always)]
    fn update_row(&self, s: &RowStencil<'_, f64>, out: &mut [f64]) {
        if self.method == Method::Jacobi {
            return self.relaxed(s, out, s.stores());
        }
        // (cached: the row is read again below)
        self.relaxed(s, out, Stores::Cached);
        // red-black: relax the cells of this sweep's colour, copy the others
        let g = s.global_start();
        let colour = (g[0] + g[1] + g[2]) as usize & 1;
        let c = &s.row(0, 0, 0)[..out.len()];
        let omega = self.omega;
        for (m, (y, &u)) in out.iter_mut().zip(c).enumerate() {
            *y = if (colour + m) & 1 == s.phase() {
                if self.method == Method::GaussSeidel {
                    *y
                } else {
                    u + omega * (*y - u)
                }
            } else {
                u
            };
        }
    }

    /// `r_c = f_c + L u_c = D ((f_c + N(u)_c) / D - u_c)`.
    fn residual_row(&self, s: &RowStencil<'_, f64>, sum: &mut ExactSum) {
        let mut relaxed = vec![0.0; s.len()];
        self.relaxed(s, &mut relaxed, Stores::Cached);
        let diag = 1.0 / self.inv_diag;
        for (v, &u) in relaxed.iter().zip(s.row(0, 0, 0)) {
            let r = diag * (v - u);
            sum.add(r * r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Grid;
    use crate::grid::stencil;
    use crate::parallel::Threads;

    /// Iterates on one block until `||r|| <= rtol ||f||`; returns the field, iterations and
    /// the final residual norm.
    fn solve(shape: &[usize], method: Method, rtol: f64) -> (Poisson, Field<f64>, u64, f64) {
        let p = Poisson::new(shape, method, None).unwrap();
        let grid = Grid::new(shape, &vec![false; shape.len()]).unwrap();
        let ghost: [usize; 3] = std::array::from_fn(|a| usize::from(grid.is_active(a)));
        let mut u = stencil::initial_block(&p, &grid, grid.bounds(), ghost, 0);
        let mut next = u.clone();
        let inner = u.interior();
        let threads = Threads::serial();
        let fnorm = p.local_rhs_norm2(&u.owned()).value().sqrt();
        let residual = |u: &Field<f64>| {
            stencil::sum_rows(&[u], &inner, &threads, |row, s| p.residual_row(row, s))
                .value()
                .sqrt()
        };
        for it in 0..100_000u64 {
            let r = residual(&u);
            if r <= rtol * fnorm {
                return (p, u, it, r);
            }
            for phase in 0..p.phases() {
                stencil::apply_rows(
                    &p,
                    &[&u],
                    &mut next,
                    &inner,
                    phase,
                    &threads,
                    Stores::Cached,
                );
                std::mem::swap(&mut u, &mut next);
            }
        }
        panic!("no convergence");
    }

    #[test]
    fn every_method_converges_within_the_error_bound() {
        let mut iterations = Vec::new();
        for method in [Method::Jacobi, Method::GaussSeidel, Method::Sor] {
            let (p, u, it, r) = solve(&[15, 11], method, 1e-10);
            let e = p.local_error(&u);
            assert!(
                e <= p.error_bound(r),
                "{method:?}: error {e} bound {}",
                p.error_bound(r)
            );
            assert!(e > 0.0);
            iterations.push(it);
        }
        // Gauss-Seidel needs about half Jacobi's iterations, SOR far fewer
        assert!(iterations[1] < iterations[0] * 6 / 10, "{iterations:?}");
        assert!(iterations[2] < iterations[1] / 3, "{iterations:?}");
    }

    #[test]
    fn error_falls_at_second_order() {
        let e: Vec<f64> = [7usize, 15, 31]
            .iter()
            .map(|&n| {
                let (p, u, _, _) = solve(&[n, n], Method::Sor, 1e-12);
                p.local_error(&u)
            })
            .collect();
        for w in e.windows(2) {
            let order = (w[0] / w[1]).log2();
            assert!((order - 2.0).abs() < 0.15, "{e:?}");
        }
    }

    #[test]
    fn harmonic_part_is_annihilated_by_the_laplacian() {
        // f + L u* = tau: small, and the boundary data equal u* there
        let p = Poisson::new(&[20, 20, 20], Method::Jacobi, None).unwrap();
        for idx in [[-1, 3, 4], [20, 5, 6], [3, -1, 2]] {
            assert!((p.boundary_value(idx) - p.exact(idx)).abs() < 1e-15);
        }
        assert!(Poisson::new(&[8, 8], Method::Sor, Some(2.0)).is_err());
    }
}
