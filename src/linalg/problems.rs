//! Model problems with known solutions, to check solvers against.
//!
//! **Poisson**: `-Laplacian(u) = f` on the unit square or cube with `u = 0` on the boundary,
//! manufactured solution `u = prod_a g(x_a)`, `g(t) = t (1 - t) e^t` (not an eigenvector of
//! the discrete operator, unlike a product of sines, so a Krylov method cannot converge in
//! one step). With `g'' (t) = -t (t + 3) e^t`, `f = -sum_a g''(x_a) prod_{b != a} g(x_b)`.
//! On the grid of [`crate::linalg::stencil_op`] (`n` unknowns per axis, `h = 1/(n+1)`) the
//! right-hand side is `b_i = h^2 f(x_i)`, matching the `h^2`-scaled operator; the same
//! problem as `scripts/petsc/poisson.c` builds with PETSc.
//!
//! **Convection-diffusion**: `-Laplacian(u) + v . grad(u) = f`, the same `u`, so
//! `f` gains `sum_a v_a g'(x_a) prod_{b != a} g(x_b)` with `g'(t) = (1 - t - t^2) e^t`.

use crate::error::{Error, Result};
use crate::grid::geometry::{Decomposition, IndexBox, DIMS};

fn g(t: f64) -> f64 {
    t * (1.0 - t) * t.exp()
}

fn g1(t: f64) -> f64 {
    (1.0 - t - t * t) * t.exp()
}

fn g2(t: f64) -> f64 {
    -t * (t + 3.0) * t.exp()
}

/// The Poisson model problem on a grid.
pub struct Poisson {
    /// Unknowns per internal axis (1 on unused axes).
    extents: [usize; DIMS],
    active: [bool; DIMS],
    h: f64,
}

impl Poisson {
    /// The problem on `decomposition`'s grid, which must have the same number of unknowns
    /// on every axis (the operator assumes one spacing `h`).
    pub fn new(decomposition: &Decomposition) -> Result<Poisson> {
        let grid = decomposition.grid();
        let extents = grid.extents();
        let active: [bool; DIMS] = std::array::from_fn(|a| grid.is_active(a));
        let sizes: Vec<usize> = (0..DIMS)
            .filter(|&a| active[a])
            .map(|a| extents[a])
            .collect();
        if sizes.iter().any(|&s| s != sizes[0]) {
            return Err(Error::value(
                "size",
                format!(
                    "the Poisson problem needs the same number of unknowns on every axis (one \
                     grid spacing), got {}",
                    grid.shape_string()
                ),
            ));
        }
        if grid.periodic().iter().any(|&p| p) {
            return Err(Error::value(
                "size",
                "the Poisson problem has Dirichlet boundaries",
            ));
        }
        Ok(Poisson {
            extents,
            active,
            h: 1.0 / (sizes[0] + 1) as f64,
        })
    }

    /// The grid spacing.
    pub fn h(&self) -> f64 {
        self.h
    }

    fn coordinates(&self, idx: [usize; DIMS]) -> Vec<f64> {
        (0..DIMS)
            .filter(|&a| self.active[a])
            .map(|a| (idx[a] + 1) as f64 * self.h)
            .collect()
    }

    fn fill(&self, owned: IndexBox, value: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        debug_assert!((0..DIMS).all(|a| owned.hi()[a] <= self.extents[a]));
        let mut out = Vec::with_capacity(owned.len());
        for i in owned.lo[0]..owned.hi()[0] {
            for j in owned.lo[1]..owned.hi()[1] {
                for k in owned.lo[2]..owned.hi()[2] {
                    out.push(value(&self.coordinates([i, j, k])));
                }
            }
        }
        out
    }

    /// `b = h^2 f` on the unknowns of `owned` (row-major), `f = -Laplacian(u) + v . grad u`
    /// for the velocity `v` (zero: the Poisson problem) on the active axes.
    pub fn rhs(&self, owned: IndexBox, velocity: [f64; DIMS]) -> Vec<f64> {
        let h2 = self.h * self.h;
        let v: Vec<f64> = (0..DIMS)
            .filter(|&a| self.active[a])
            .map(|a| velocity[a])
            .collect();
        self.fill(owned, |x| {
            // the product g(x_0) ... g(x_d) with factor a replaced by g'' (or g')
            let with = |a: usize, factor: fn(f64) -> f64| -> f64 {
                x.iter()
                    .enumerate()
                    .map(|(b, &xb)| if b == a { factor(xb) } else { g(xb) })
                    .product()
            };
            let mut f = 0.0;
            for (a, &va) in v.iter().enumerate() {
                f -= with(a, g2);
                if va != 0.0 {
                    f += va * with(a, g1);
                }
            }
            h2 * f
        })
    }

    /// The exact solution `u` at the unknowns of `owned` (row-major).
    pub fn exact(&self, owned: IndexBox) -> Vec<f64> {
        self.fill(owned, |x| x.iter().map(|&t| g(t)).product())
    }
}
