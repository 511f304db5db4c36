//! Discrete Laplacians on a uniform grid with spacing `h_a` per axis, as lists of weighted
//! offsets ("taps") that kernels apply row by row. No MPI.
//!
//! Writing `D_a` for the 3-point second difference `(u_{-1} - 2 u_0 + u_{+1}) / h_a^2`:
//!
//! - [`Stencil::Standard`]: `L = sum_a D_a`, the 3/5/7-point Laplacian. Second order.
//! - [`Stencil::Compact`]: `L = sum_a D_a + sum_{a<b} (h_a^2 + h_b^2)/12 D_a D_b +
//!   (h_x^2 h_y^2 + h_x^2 h_z^2 + h_y^2 h_z^2)/90 D_x D_y D_z`: the 9-point (2D) and
//!   27-point (3D) Laplacian, which reads edge and corner neighbours. On a square grid it is
//!   the classical isotropic `[1 4 1; 4 -20 4; 1 4 1] / (6 h^2)` and `[corners 1, edges 3,
//!   faces 14, centre -128] / (30 h^2)`. Second order, with a leading error that does not
//!   depend on direction (isotropic) on square grids.
//! - [`Stencil::Fourth`]: `L = sum_a (-u_{-2} + 16 u_{-1} - 30 u_0 + 16 u_{+1} - u_{+2})
//!   / (12 h_a^2)`, radius 2 (two ghost layers). Fourth order.
//!
//! Every stencil here is symmetric in each axis, so each Fourier mode `exp(i k.x)` (and each
//! product of sines that vanishes on a Dirichlet boundary, for radius-1 stencils) is an
//! eigenvector, with eigenvalue `lambda(theta) = sum_taps w prod_a cos(theta_a d_a)` where
//! `theta_a = k_a h_a` ([`Taps::eigenvalue`]). Kernels use it to know the exact solution of
//! their scheme, and the largest `|lambda|` for their stability limits.

use crate::grid::field::RowStencil;
use crate::grid::stencil::tap_sums_at;
use std::collections::BTreeMap;

/// Which discrete Laplacian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stencil {
    Standard,
    Compact,
    Fourth,
}

impl Stencil {
    pub fn as_str(self) -> &'static str {
        match self {
            Stencil::Standard => "standard",
            Stencil::Compact => "compact",
            Stencil::Fourth => "fourth",
        }
    }

    /// Ghost layers the stencil reads on each side.
    pub fn radius(self) -> usize {
        match self {
            Stencil::Fourth => 2,
            _ => 1,
        }
    }

    /// Order of accuracy in space.
    pub fn order(self) -> usize {
        match self {
            Stencil::Fourth => 4,
            _ => 2,
        }
    }

    /// `5-point`, `27-point`, ...
    pub fn describe(self, ndim: usize) -> String {
        let points = match self {
            Stencil::Standard => 2 * ndim + 1,
            Stencil::Compact => 3usize.pow(ndim as u32),
            Stencil::Fourth => 4 * ndim + 1,
        };
        format!("{points}-point {}", self.as_str())
    }

    /// The taps on a grid of `ndim` axes with spacing `h` per internal axis (the trailing
    /// `ndim` of three).
    pub fn taps(self, ndim: usize, h: [f64; 3]) -> Taps {
        let active: Vec<usize> = (3 - ndim..3).collect();
        let mut w: BTreeMap<[isize; 3], f64> = BTreeMap::new();
        // D_a as taps on axis a
        let second = |a: usize| -> Vec<([isize; 3], f64)> {
            let inv = 1.0 / (h[a] * h[a]);
            [-1isize, 0, 1]
                .iter()
                .map(|&d| {
                    let mut o = [0; 3];
                    o[a] = d;
                    (o, if d == 0 { -2.0 * inv } else { inv })
                })
                .collect()
        };
        // tensor product of tap lists, scaled
        let mut add_product = |axes: &[usize], scale: f64| {
            let mut acc: Vec<([isize; 3], f64)> = vec![([0; 3], scale)];
            for &a in axes {
                acc = acc
                    .iter()
                    .flat_map(|&(o, v)| {
                        second(a)
                            .into_iter()
                            .map(move |(p, x)| ([o[0] + p[0], o[1] + p[1], o[2] + p[2]], v * x))
                    })
                    .collect();
            }
            for (o, v) in acc {
                *w.entry(o).or_insert(0.0) += v;
            }
        };
        match self {
            Stencil::Standard => {
                for &a in &active {
                    add_product(&[a], 1.0);
                }
            }
            Stencil::Compact => {
                for &a in &active {
                    add_product(&[a], 1.0);
                }
                for (i, &a) in active.iter().enumerate() {
                    for &b in &active[i + 1..] {
                        add_product(&[a, b], (h[a] * h[a] + h[b] * h[b]) / 12.0);
                    }
                }
                if ndim == 3 {
                    let h2 = h.map(|x| x * x);
                    let c = (h2[0] * h2[1] + h2[0] * h2[2] + h2[1] * h2[2]) / 90.0;
                    add_product(&active, c);
                }
            }
            Stencil::Fourth => {
                for &a in &active {
                    let inv = 1.0 / (12.0 * h[a] * h[a]);
                    for (d, c) in [
                        (-2isize, -1.0),
                        (-1, 16.0),
                        (0, -30.0),
                        (1, 16.0),
                        (2, -1.0),
                    ] {
                        let mut o = [0; 3];
                        o[a] = d;
                        *w.entry(o).or_insert(0.0) += c * inv;
                    }
                }
            }
        }
        Taps {
            taps: w.into_iter().filter(|&(_, v)| v != 0.0).collect(),
        }
    }
}

impl std::str::FromStr for Stencil {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "standard" => Ok(Stencil::Standard),
            "compact" => Ok(Stencil::Compact),
            "fourth" => Ok(Stencil::Fourth),
            _ => Err(format!(
                "'{s}' is not a stencil (standard, compact or fourth)"
            )),
        }
    }
}

/// A linear stencil: weights at offsets `(di, dj, dk)` from the output cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Taps {
    taps: Vec<([isize; 3], f64)>,
}

impl Taps {
    /// The offsets and weights, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = &([isize; 3], f64)> {
        self.taps.iter()
    }

    /// `out[m] = finish(sum_taps w * level[cell m + offset], level[cell m])`, the taps
    /// summed in their fixed order (so every rank and thread computes the same bits), in
    /// one pass ([`crate::grid::stencil::tap_sums`]).
    #[inline(always)]
    pub fn apply(
        &self,
        input: &RowStencil<'_, f64>,
        level: usize,
        out: &mut [f64],
        finish: impl Fn(f64, f64) -> f64,
    ) {
        let centre = &input.level_row(level, 0, 0, 0)[..out.len()];
        tap_sums_at::<false>(input, level, self.taps.iter().copied(), centre, out, finish);
    }

    /// The eigenvalue for the Fourier mode with phase `theta_a = k_a h_a` per internal axis:
    /// `sum_taps w prod_a cos(theta_a d_a)` (at most 0 for a Laplacian).
    pub fn eigenvalue(&self, theta: [f64; 3]) -> f64 {
        self.taps
            .iter()
            .map(|&(o, w)| {
                w * (0..3)
                    .map(|a| (theta[a] * o[a] as f64).cos())
                    .product::<f64>()
            })
            .sum()
    }

    /// The largest `|eigenvalue|` over all modes. Each stencil here is, per axis, a
    /// monotone function of `sin^2(theta_a / 2)` (multilinear for the compact one), so the
    /// extreme lies at a corner `theta_a in {0, pi}` of the Brillouin zone.
    pub fn spectral_radius(&self, ndim: usize) -> f64 {
        let mut rho: f64 = 0.0;
        for corner in 0..(1usize << ndim) {
            let mut theta = [0.0; 3];
            for (b, t) in theta[3 - ndim..].iter_mut().enumerate() {
                if corner >> b & 1 == 1 {
                    *t = std::f64::consts::PI;
                }
            }
            rho = rho.max(self.eigenvalue(theta).abs());
        }
        rho
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::field::Field;
    use crate::grid::geometry::IndexBox;
    use approx::assert_relative_eq;

    fn weight(t: &Taps, o: [isize; 3]) -> f64 {
        t.iter().find(|x| x.0 == o).map_or(0.0, |x| x.1)
    }

    #[test]
    fn compact_stencils_are_the_classical_ones_on_square_grids() {
        let t = Stencil::Compact.taps(2, [1.0, 1.0, 1.0]);
        assert_eq!(t.iter().count(), 9);
        assert_relative_eq!(weight(&t, [0, 0, 0]), -20.0 / 6.0, epsilon = 1e-15);
        assert_relative_eq!(weight(&t, [0, 1, 0]), 4.0 / 6.0, epsilon = 1e-15);
        assert_relative_eq!(weight(&t, [0, 1, -1]), 1.0 / 6.0, epsilon = 1e-15);
        let t = Stencil::Compact.taps(3, [1.0; 3]);
        assert_eq!(t.iter().count(), 27);
        assert_relative_eq!(weight(&t, [0, 0, 0]), -128.0 / 30.0, epsilon = 1e-14);
        assert_relative_eq!(weight(&t, [1, 0, 0]), 14.0 / 30.0, epsilon = 1e-15);
        assert_relative_eq!(weight(&t, [1, -1, 0]), 3.0 / 30.0, epsilon = 1e-15);
        assert_relative_eq!(weight(&t, [1, 1, -1]), 1.0 / 30.0, epsilon = 1e-15);
        assert_eq!(Stencil::Fourth.taps(3, [1.0; 3]).iter().count(), 13);
        assert_eq!(Stencil::Standard.taps(2, [1.0; 3]).iter().count(), 5);
    }

    /// Applied to a smooth function at a fixed point, each stencil's error falls with its order.
    #[test]
    fn observed_order_of_each_stencil() {
        for (stencil, ndim) in [
            (Stencil::Standard, 2),
            (Stencil::Compact, 2),
            (Stencil::Compact, 3),
            (Stencil::Fourth, 2),
            (Stencil::Fourth, 3),
        ] {
            let error = |n: usize| -> f64 {
                let h = 1.0 / n as f64;
                // unequal spacing on purpose
                let hh: [f64; 3] = std::array::from_fn(|a| {
                    if a >= 3 - ndim {
                        h * (1.0 + 0.25 * a as f64)
                    } else {
                        1.0
                    }
                });
                let taps = stencil.taps(ndim, hh);
                let g = 2;
                let mut size = [1; 3];
                let mut ghost = [0; 3];
                for a in 3 - ndim..3 {
                    size[a] = 1; // one cell, at the fixed point x0
                    ghost[a] = g;
                }
                let u = |x: [f64; 3]| (x[0] + 0.3).sin() * (1.3 * x[1]).cos() * (0.7 * x[2]).exp();
                let factor: f64 = [-1.0, -1.69, 0.49][3 - ndim..].iter().sum();
                let lap_u = |x: [f64; 3]| u(x) * factor;
                let mut f: Field<f64> = Field::new(IndexBox::new([0; 3], size), ghost);
                let x0 = [0.3, 0.2, 0.1];
                let x = |g: [i64; 3]| std::array::from_fn(|a| x0[a] + g[a] as f64 * hh[a]);
                f.fill_with(|g| u(x(g)));
                let levels = [&f];
                let inner = f.interior();
                let mut worst: f64 = 0.0;
                let mut out = vec![0.0; inner.size[2]];
                for i in inner.lo[0]..inner.hi()[0] {
                    for j in inner.lo[1]..inner.hi()[1] {
                        let row = RowStencil::new(&levels, i, j, inner.lo[2], inner.size[2]);
                        taps.apply(&row, 0, &mut out, |lu, _| lu);
                        let g0 = row.global_start();
                        for (m, v) in out.iter().enumerate() {
                            let exact = lap_u(x([g0[0], g0[1], g0[2] + m as i64]));
                            worst = worst.max((v - exact).abs());
                        }
                    }
                }
                worst
            };
            let order = (error(40) / error(80)).log2();
            assert!(
                (order - stencil.order() as f64).abs() < 0.15,
                "{stencil:?} {ndim}D: observed order {order}"
            );
        }
    }

    #[test]
    fn eigenvalues_and_spectral_radius() {
        let h = [1.0, 0.1, 0.1];
        let std2 = Stencil::Standard.taps(2, h);
        assert_relative_eq!(std2.spectral_radius(2), 800.0, max_relative = 1e-14);
        // the fourth-order stencil: (30 + 32 + 2) / 12 per axis at theta = pi
        let f2 = Stencil::Fourth.taps(2, h);
        assert_relative_eq!(
            f2.spectral_radius(2),
            2.0 * 64.0 / 12.0 * 100.0,
            max_relative = 1e-14
        );
        // the 9-point: 16 / (3 h^2)
        let c2 = Stencil::Compact.taps(2, h);
        assert_relative_eq!(c2.spectral_radius(2), 1600.0 / 3.0, max_relative = 1e-14);
        // small theta: every stencil approximates -|k|^2 h^-2 theta^2
        for t in [&std2, &f2, &c2] {
            let theta = [0.0, 1e-3, 2e-3];
            let exact = -(1e-6 + 4e-6) / 0.01;
            assert_relative_eq!(t.eigenvalue(theta), exact, max_relative = 1e-5);
        }
    }
}
