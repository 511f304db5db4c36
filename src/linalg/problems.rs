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
//! **Variable coefficient**: `-div(k grad u) = f` with `k = 1 + (x + y^2 + z^3)/2`, the
//! same `u`, `f = -sum_a (k u_aa + k_a u_a)`. **27-point**: the Poisson problem with the
//! isotropic 27-point operator (the same `b`).
//!
//! **Convection-diffusion**: `-Laplacian(u) + v . grad(u) = f`, the same `u`, so
//! `f` gains `sum_a v_a g'(x_a) prod_{b != a} g(x_b)` with `g'(t) = (1 - t - t^2) e^t`.

use crate::error::{Error, Result};
use crate::grid::geometry::{Decomposition, IndexBox, DIMS};
use crate::io::matrix_market;
use crate::linalg::csr::CsrMatrix;
use crate::linalg::operator::LinearOperator;
use crate::linalg::stencil_op::{Kind, StencilOperator};
use crate::linalg::vector::Split;
use crate::parallel::Parallel;
use std::path::Path;

fn g(t: f64) -> f64 {
    t * (1.0 - t) * t.exp()
}

/// `prod_b g(x_b)` with factor `a` replaced by `factor(x_a)` (a derivative of `g`).
fn product_with(x: &[f64], a: usize, factor: fn(f64) -> f64) -> f64 {
    x.iter()
        .enumerate()
        .map(|(b, &xb)| if b == a { factor(xb) } else { g(xb) })
        .product()
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
            let with = |a: usize, factor: fn(f64) -> f64| product_with(x, a, factor);
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

    /// `b = h^2 f` for `-div(k grad u) = f`: `f = -sum_a (k u_aa + k_a u_a)`.
    pub fn rhs_variable(&self, owned: IndexBox) -> Vec<f64> {
        let h2 = self.h * self.h;
        let active = self.active;
        self.fill(owned, |x| {
            // the internal coordinates (unused axes 0)
            let mut full = [0.0; DIMS];
            let axes: Vec<usize> = (0..DIMS).filter(|&a| active[a]).collect();
            for (i, &a) in axes.iter().enumerate() {
                full[a] = x[i];
            }
            let (k, dk) = (coefficient(full), coefficient_gradient(full));
            let with = |a: usize, factor: fn(f64) -> f64| product_with(x, a, factor);
            let mut f = 0.0;
            for (i, &a) in axes.iter().enumerate() {
                f -= k * with(i, g2) + dk[a] * with(i, g1);
            }
            h2 * f
        })
    }

    /// The exact solution `u` at the unknowns of `owned` (row-major).
    pub fn exact(&self, owned: IndexBox) -> Vec<f64> {
        self.fill(owned, |x| x.iter().map(|&t| g(t)).product())
    }
}

/// A problem ready to solve: the operator, this rank's right-hand side and, where known,
/// the exact solution, and what a solver's set-up may use.
pub struct Problem {
    pub op: Box<dyn LinearOperator>,
    pub b: Vec<f64>,
    /// The solution the error is measured against (this rank's part), and what the error
    /// means.
    pub exact: Option<(Vec<f64>, &'static str)>,
    /// Grid spacing (for viewers; 1 for matrices).
    pub spacing: f64,
    /// `poisson on a 31x31x31 grid (29791 unknowns, h = 1/32)`.
    pub title: String,
}

/// The grid problems: the operator and the coefficient or velocity it has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GridModel {
    /// `-Laplacian u = f`, the 3/5/7-point stencil.
    Poisson,
    /// `-Laplacian u = f`, the isotropic 9/27-point stencil.
    Poisson27,
    /// `-div(k grad u) = f` with `k = 1 + (x_0 + x_1^2 + x_2^3) / 2` (the internal axes,
    /// unused ones 0).
    Variable,
    /// `-Laplacian u + v . grad u = f`, central differences (3D).
    ConvectionDiffusion([f64; DIMS]),
}

/// The coefficient of [`GridModel::Variable`] and its gradient.
fn coefficient(x: [f64; DIMS]) -> f64 {
    1.0 + 0.5 * (x[0] + x[1] * x[1] + x[2] * x[2] * x[2])
}

fn coefficient_gradient(x: [f64; DIMS]) -> [f64; DIMS] {
    [0.5, x[1], 1.5 * x[2] * x[2]]
}

/// The grid problem `model` on `decomposition`'s grid. Collective.
pub fn grid_problem(
    parallel: &Parallel,
    decomposition: &Decomposition,
    model: GridModel,
) -> Result<Problem> {
    let poisson = Poisson::new(decomposition)?;
    let h = poisson.h();
    let (op, name): (Box<dyn LinearOperator>, &str) = match model {
        GridModel::Poisson => (
            Box::new(StencilOperator::new(parallel, decomposition.clone())),
            "poisson",
        ),
        GridModel::Poisson27 => (
            Box::new(StencilOperator::of_kind(
                parallel,
                decomposition.clone(),
                Kind::Compact,
            )),
            "poisson (isotropic 27-point)",
        ),
        GridModel::Variable => (
            Box::new(StencilOperator::of_kind(
                parallel,
                decomposition.clone(),
                Kind::Variable(std::sync::Arc::new(coefficient)),
            )),
            "-div(k grad u) = f",
        ),
        GridModel::ConvectionDiffusion(velocity) => {
            if decomposition.grid().ndim() != 3 {
                return Err(Error::value("size", "convection-diffusion is a 3D problem"));
            }
            (
                Box::new(StencilOperator::convection_diffusion(
                    parallel,
                    decomposition.clone(),
                    velocity,
                    h,
                )),
                "convection-diffusion",
            )
        }
    };
    let owned = decomposition.owned(parallel.rank());
    let grid = decomposition.grid();
    let b = match model {
        GridModel::ConvectionDiffusion(v) => poisson.rhs(owned, v),
        GridModel::Variable => poisson.rhs_variable(owned),
        _ => poisson.rhs(owned, [0.0; DIMS]),
    };
    Ok(Problem {
        op,
        b,
        exact: Some((poisson.exact(owned), "the discretisation error, O(h^2)")),
        spacing: h,
        title: format!(
            "{name} on a {} grid ({} unknowns, h = 1/{})",
            grid.shape_string(),
            grid.cells(),
            (1.0 / h).round()
        ),
    })
}

/// The manufactured solution of a matrix problem: `x*_i = 1 + (i mod 97) / 97`.
fn manufactured(first: u64, len: usize) -> Vec<f64> {
    (0..len as u64)
        .map(|i| 1.0 + ((first + i) % 97) as f64 / 97.0)
        .collect()
}

/// The matrix of Matrix Market file `matrix`, with the right-hand side of file `rhs`, or
/// else `b = A x*` for the manufactured `x*`. Collective.
pub fn matrix_problem(parallel: &Parallel, matrix: &Path, rhs: Option<&Path>) -> Result<Problem> {
    let file = matrix_market::read_coordinate(parallel, matrix)?;
    if file.rows != file.cols {
        return parallel.agree(Err(Error::input(
            matrix,
            0,
            format!(
                "the matrix is {}x{}: a linear system needs a square one",
                file.rows, file.cols
            ),
        )));
    }
    if (file.rows as usize) < parallel.size() {
        return parallel.agree(Err(Error::input(
            matrix,
            0,
            format!(
                "{} rows cannot be split over {} ranks",
                file.rows,
                parallel.size()
            ),
        )));
    }
    let n = file.rows;
    let csr = parallel.agree(CsrMatrix::assemble(
        parallel,
        n,
        &file.entries,
        file.symmetric,
    ))?;
    let mut op: Box<dyn LinearOperator> = Box::new(csr);
    let (first, len) = match op.layout().split() {
        Split::Rows { start, .. } => (*start, op.layout().local_len()),
        Split::Grid(_) => unreachable!("a matrix has a row layout"),
    };
    let (b, exact) = match rhs {
        Some(path) => {
            let all = matrix_market::read_vector(parallel, path, n)?;
            (all[first as usize..first as usize + len].to_vec(), None)
        }
        None => {
            let x = manufactured(first, len);
            let mut b = vec![0.0; len];
            op.apply(&x, &mut b);
            (
                b,
                Some((x, "the solver's error against the manufactured x*")),
            )
        }
    };
    Ok(Problem {
        op,
        b,
        exact,
        spacing: 1.0,
        title: format!(
            "{} ({}x{}, {} entries{}, {})",
            matrix.display(),
            n,
            n,
            file.declared,
            if file.symmetric { ", symmetric" } else { "" },
            if rhs.is_some() {
                "right-hand side from file"
            } else {
                "b = A x*"
            }
        ),
    })
}
