//! The grid geometry and the two separable sine modes that the heat and wave kernels
//! start from and check themselves against. No MPI.
//!
//! Grid: `N_a` points per axis on `[0, 1]`. Dirichlet: the interior vertices
//! `x_i = (i + 1) h`, `h = 1 / (N + 1)`; periodic: `x_i = i h`, `h = 1 / N`.
//!
//! Modes: `phi_m(x) = prod_a sin(k_{m,a} x_a)` with amplitudes `A = (1, 1/2)` and integer
//! multiples `(1, 1, 1)` and `(1, 2, 3)` of `pi` (Dirichlet: `phi` vanishes on the
//! boundary) or `2 pi` (periodic: period 1). Each is an eigenfunction of the Laplacian
//! and an eigenvector of every discrete Laplacian of [`crate::grid::laplacian`], so a kernel
//! knows the exact solution of its PDE and of its scheme as amplitudes times `phi_m`.

use crate::grid::stencil::GlobalIndex;
use std::f64::consts::PI;

/// Boundary condition on every axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// `u` given on the boundary (0 for the sine modes).
    Dirichlet,
    /// The domain wraps around.
    Periodic,
}

impl Boundary {
    pub fn as_str(self) -> &'static str {
        match self {
            Boundary::Dirichlet => "dirichlet",
            Boundary::Periodic => "periodic",
        }
    }
}

impl std::str::FromStr for Boundary {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "dirichlet" => Ok(Boundary::Dirichlet),
            "periodic" => Ok(Boundary::Periodic),
            _ => Err(format!(
                "'{s}' is not a boundary condition (dirichlet or periodic)"
            )),
        }
    }
}

/// Grid spacing per internal axis of a grid of `shape` with `bc` (1 on inactive axes).
pub fn grid_spacing(shape: &[usize], bc: Boundary) -> [f64; 3] {
    let mut h = [1.0; 3];
    for (a, &n) in shape.iter().enumerate() {
        h[3 - shape.len() + a] = match bc {
            Boundary::Dirichlet => 1.0 / (n + 1) as f64,
            Boundary::Periodic => 1.0 / n as f64,
        };
    }
    h
}

/// The two sine modes on one grid, with tables of their factors.
#[derive(Clone, Debug)]
pub struct SineModes {
    ndim: usize,
    bc: Boundary,
    /// Grid spacing per internal axis (1 on inactive axes).
    h: [f64; 3],
    /// Wave vector `k_m` per internal axis (0 on inactive axes).
    k: [[f64; 3]; 2],
    /// `sines[m][a][i] = sin(k_{m,a} x_a(i))` for the grid points of each active axis: the
    /// modes are separable, so filling or checking a field costs table look-ups, not a
    /// sine per cell.
    sines: [[Vec<f64>; 3]; 2],
}

impl SineModes {
    /// Amplitude of each mode at `t = 0`.
    pub const AMPLITUDES: [f64; 2] = [1.0, 0.5];

    pub fn new(shape: &[usize], bc: Boundary) -> SineModes {
        let ndim = shape.len();
        let off = 3 - ndim;
        let base = match bc {
            Boundary::Dirichlet => PI,
            Boundary::Periodic => 2.0 * PI,
        };
        let wave = |m: [f64; 3]| -> [f64; 3] {
            std::array::from_fn(|a| if a >= off { base * m[a] } else { 0.0 })
        };
        let mut modes = SineModes {
            ndim,
            bc,
            h: grid_spacing(shape, bc),
            k: [wave([1.0, 1.0, 1.0]), wave([1.0, 2.0, 3.0])],
            sines: Default::default(),
        };
        modes.sines = std::array::from_fn(|m| {
            std::array::from_fn(|a| {
                let n = if a >= off { shape[a - off] } else { 0 };
                (0..n as i64).map(|i| modes.sine(m, a, i)).collect()
            })
        });
        modes
    }

    /// Grid spacing per internal axis (1 on inactive axes).
    pub fn h(&self) -> [f64; 3] {
        self.h
    }

    /// Wave vector of mode `m` per internal axis.
    pub fn k(&self, m: usize) -> [f64; 3] {
        self.k[m]
    }

    /// `|k_m|^2`.
    pub fn k2(&self, m: usize) -> f64 {
        self.k[m].iter().map(|k| k * k).sum()
    }

    /// Grid spacing on each of the problem's axes.
    pub fn spacing(&self) -> Vec<f64> {
        self.h[3 - self.ndim..].to_vec()
    }

    /// Coordinate of the first grid point on each of the problem's axes.
    pub fn origin(&self) -> Vec<f64> {
        let first = |h: f64| match self.bc {
            Boundary::Dirichlet => h,
            Boundary::Periodic => 0.0,
        };
        self.spacing().into_iter().map(first).collect()
    }

    /// Coordinate of global index `i` on internal axis `a`.
    fn x(&self, a: usize, i: i64) -> f64 {
        match self.bc {
            Boundary::Dirichlet => (i + 1) as f64 * self.h[a],
            Boundary::Periodic => i as f64 * self.h[a],
        }
    }

    /// `sin(k_{m,a} x_a)` at index `i` of internal axis `a`.
    fn sine(&self, m: usize, a: usize, i: i64) -> f64 {
        (self.k[m][a] * self.x(a, i)).sin()
    }

    /// `phi_m` at global index `idx` (from the tables inside the grid, computed in ghosts).
    fn phi(&self, m: usize, idx: GlobalIndex) -> f64 {
        (3 - self.ndim..3)
            .map(|a| match self.sines[m][a].get(idx[a] as usize) {
                Some(&s) if idx[a] >= 0 => s,
                _ => self.sine(m, a, idx[a]),
            })
            .product()
    }

    /// `sum_m amplitudes[m] phi_m` at global index `idx`.
    pub fn superpose(&self, amplitudes: [f64; 2], idx: GlobalIndex) -> f64 {
        (0..2).map(|m| amplitudes[m] * self.phi(m, idx)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_equal_direct_evaluation_inside_and_in_ghosts() {
        let modes = SineModes::new(&[9, 7], Boundary::Dirichlet);
        for i in -1..=9 {
            for j in -1..=7 {
                for m in 0..2 {
                    let direct = modes.sine(m, 1, i) * modes.sine(m, 2, j);
                    assert_eq!(modes.phi(m, [0, i, j]).to_bits(), direct.to_bits());
                }
            }
        }
    }

    #[test]
    fn dirichlet_modes_vanish_on_the_boundary_and_periodic_ones_wrap() {
        let d = SineModes::new(&[9, 7], Boundary::Dirichlet);
        assert!(d.superpose(SineModes::AMPLITUDES, [0, -1, 3]).abs() < 1e-15);
        assert!(d.superpose(SineModes::AMPLITUDES, [0, 4, 7]).abs() < 1e-15);
        let p = SineModes::new(&[10, 8], Boundary::Periodic);
        let (a, b) = (
            p.superpose([1.0, 0.5], [0, -1, 3]),
            p.superpose([1.0, 0.5], [0, 9, 3]),
        );
        assert!((a - b).abs() < 1e-14);
    }
}
