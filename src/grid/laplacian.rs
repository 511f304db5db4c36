//! Discrete Laplacians on a uniform grid with spacing `h_a` per axis, as lists of weighted
//! offsets ("taps") that kernels apply row by row; the compact and fourth-order ones are
//! summed grouped by their symmetry ([`Taps::apply`]), in fewer operations. No MPI.
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
use crate::grid::stencil::{first_line_start, map_row, tap_sums_at, Stores};
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
        let weight = |o: [usize; 3]| w.get(&o.map(|x| x as isize)).copied().unwrap_or(0.0);
        let form = match self {
            Stencil::Compact if ndim >= 2 => Form::Classes(ClassWeights {
                ndim,
                w: std::array::from_fn(|a| {
                    std::array::from_fn(|b| std::array::from_fn(|c| weight([a, b, c])))
                }),
            }),
            Stencil::Fourth => Form::Pairs(PairWeights {
                ndim,
                centre: weight([0; 3]),
                w: std::array::from_fn(|a| {
                    std::array::from_fn(|d| {
                        let mut o = [0; 3];
                        o[a] = d + 1;
                        weight(o)
                    })
                }),
            }),
            _ => Form::Taps,
        };
        Taps {
            taps: w.into_iter().filter(|&(_, v)| v != 0.0).collect(),
            form,
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
    /// How [`Taps::apply`] sums them.
    form: Form,
}

impl Taps {
    /// The offsets and weights, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = &([isize; 3], f64)> {
        self.taps.iter()
    }

    /// `out[m] = finish(L u, level[cell m])` with `L u = sum_taps w * level[cell m + offset]`
    /// summed in the taps' fixed order, in one pass ([`crate::grid::stencil::tap_sums`]);
    /// for the compact stencil in 2D and 3D the same sum grouped by symmetry classes
    /// ([`ClassWeights`]), for the fourth-order one by pairs ([`PairWeights`]). Either way
    /// one fixed expression per cell, so every rank, thread and tile computes the same bits.
    #[inline(always)]
    pub fn apply(
        &self,
        input: &RowStencil<'_, f64>,
        level: usize,
        out: &mut [f64],
        finish: impl Fn(f64, f64) -> f64,
    ) {
        match &self.form {
            Form::Classes(classes) => return classes.apply(input, level, out, finish),
            Form::Pairs(pairs) => return pairs.apply(input, level, out, finish),
            Form::Taps => {}
        }
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

/// How a [`Taps`] list is summed: tap by tap in its order, or grouped by symmetry with
/// fewer operations.
#[derive(Clone, Debug, PartialEq)]
enum Form {
    Taps,
    Classes(ClassWeights),
    Pairs(PairWeights),
}

/// A stencil on the axes alone, symmetric in each (the fourth-order Laplacian): `centre`
/// at the cell, `w[a][d - 1]` at `+-d` on axis `a` (`d` = 1, 2). Summed as
/// `(((centre u + w[a][0] (u(-1) + u(+1))) + w[a][1] (u(-2) + u(+2))) + ...)` over the
/// active axes, slowest first: 13 operations per cell in 2D (the tap sum takes 18), 19 in
/// 3D (26), pointwise over the rows, so through [`map_row`] (streaming stores when the
/// driver asks).
#[derive(Clone, Debug, PartialEq)]
struct PairWeights {
    ndim: usize,
    centre: f64,
    w: [[f64; 2]; 3],
}

impl PairWeights {
    #[inline(always)]
    fn apply(
        &self,
        input: &RowStencil<'_, f64>,
        level: usize,
        out: &mut [f64],
        finish: impl Fn(f64, f64) -> f64,
    ) {
        let n = out.len();
        let row = |o: [isize; 3]| &input.level_row(level, o[0], o[1], o[2])[..n];
        // the rows at -1, +1, -2, +2 on axis a
        let axis = |a: usize| {
            [-1, 1, -2, 2].map(|d| {
                let mut o = [0; 3];
                o[a] = d;
                row(o)
            })
        };
        let (wc, w, stores) = (self.centre, self.w, input.stores());
        let c = row([0; 3]);
        let x2 = axis(2);
        match self.ndim {
            1 => map_row(
                out,
                stores,
                [c, x2[0], x2[1], x2[2], x2[3]],
                |[c, a, b, cc, d]| finish(wc * c + w[2][0] * (a + b) + w[2][1] * (cc + d), c),
            ),
            2 => {
                let x1 = axis(1);
                let rows = [c, x1[0], x1[1], x1[2], x1[3], x2[0], x2[1], x2[2], x2[3]];
                map_row(out, stores, rows, |[c, a, b, cc, d, e, f, g, h]| {
                    let lu = wc * c + w[1][0] * (a + b) + w[1][1] * (cc + d);
                    finish(lu + w[2][0] * (e + f) + w[2][1] * (g + h), c)
                })
            }
            _ => {
                let (x0, x1) = (axis(0), axis(1));
                let rows = [
                    c, x0[0], x0[1], x0[2], x0[3], x1[0], x1[1], x1[2], x1[3], x2[0], x2[1], x2[2],
                    x2[3],
                ];
                map_row(
                    out,
                    stores,
                    rows,
                    |[c, p, q, r, s, a, b, cc, d, e, f, g, h]| {
                        let lu = wc * c + w[0][0] * (p + q) + w[0][1] * (r + s);
                        let lu = lu + w[1][0] * (a + b) + w[1][1] * (cc + d);
                        finish(lu + w[2][0] * (e + f) + w[2][1] * (g + h), c)
                    },
                )
            }
        }
    }
}

/// A radius-1 stencil symmetric in each axis (the compact 9/27-point Laplacian), by classes:
/// `w[a][b][c]` is the weight of every tap at offset `(+-a, +-b, +-c)` (`a` on the slowest
/// axis; 0 in 2D). Summed as the 3x3 cross-section of each column `m` (cells `(i+d0, j+d1, m)`)
/// reduced to four class sums,
///
/// `c = u(0,0)`, `f0 = u(-1,0) + u(1,0)`, `f1 = u(0,-1) + u(0,1)`,
/// `e = (u(-1,-1) + u(-1,1)) + (u(1,-1) + u(1,1))`,
///
/// weighted for the centre column and for the columns either side:
///
/// `G0 = ((w000 c + w100 f0) + w010 f1) + w110 e`, `G1 = ((w001 c + w101 f0) + w011 f1) + w111 e`,
///
/// `L u(m) = (G0(m) + G1(m - 1)) + G1(m + 1)`.
///
/// 21 operations per cell in 3D (the tap sum takes 54) and 9 in 2D (18), with each
/// column's sums made once and used by three cells. The same value as the tap sum up to
/// rounding; one fixed expression, so the same bits everywhere. Each chunk's output goes
/// through [`map_row`], streamed when the driver asks (the chunks then start on a cache
/// line).
#[derive(Clone, Debug, PartialEq)]
struct ClassWeights {
    ndim: usize,
    w: [[[f64; 2]; 2]; 2],
}

/// Cells whose column sums [`ClassWeights::apply`] keeps on the stack at a time (two
/// arrays of `CHUNK + 2`, in the level-1 cache).
const CHUNK: usize = 64;

impl ClassWeights {
    #[inline(always)]
    fn apply(
        &self,
        input: &RowStencil<'_, f64>,
        level: usize,
        out: &mut [f64],
        finish: impl Fn(f64, f64) -> f64,
    ) {
        let n = out.len();
        let w = &self.w;
        let weights = [
            [w[0][0][0], w[1][0][0], w[0][1][0], w[1][1][0]],
            [w[0][0][1], w[1][0][1], w[0][1][1], w[1][1][1]],
        ];
        // rows[3 (d0 + 1) + d1 + 1], widened by one cell: element m is cell m - 1
        let mut rows: [&[f64]; 9] = [&[]; 9];
        for (x, row) in rows.iter_mut().enumerate() {
            let (d0, d1) = (x as isize / 3 - 1, x as isize % 3 - 1);
            if self.ndim == 3 || d0 == 0 {
                *row = &input.level_row_widened(level, d0, d1, 1)[..n + 2];
            }
        }
        if self.ndim == 3 {
            column_sums::<true>(&rows, &weights, out, input.stores(), finish);
        } else {
            column_sums::<false>(&rows, &weights, out, input.stores(), finish);
        }
    }
}

/// [`ClassWeights`] applied to a row: `out[m] = finish((G0(m) + G1(m - 1)) + G1(m + 1),
/// u(m))`, the column sums `G0`, `G1` made [`CHUNK`] cells at a time into arrays on the
/// stack. `rows[3 (d0 + 1) + d1 + 1]` is the row displaced by `(d0, d1)`, widened by one
/// cell at each end (only `d0 = 0` is read unless `THREE_D`).
#[inline(always)]
fn column_sums<const THREE_D: bool>(
    rows: &[&[f64]; 9],
    weights: &[[f64; 4]; 2],
    out: &mut [f64],
    stores: Stores,
    finish: impl Fn(f64, f64) -> f64,
) {
    let n = out.len();
    let mut g = [[0.0; CHUNK + 2]; 2];
    // whole chunks from the first 64-byte boundary when streaming (so that they store
    // whole cache lines); each end one short chunk, the same expression
    let head = match stores {
        Stores::Streaming => first_line_start(out),
        Stores::Cached => 0,
    };
    let body = head + (n - head) / CHUNK * CHUNK;
    if head > 0 {
        column_chunk::<THREE_D>(rows, weights, 0, head, &mut g, out, stores, &finish);
    }
    for m in (head..body).step_by(CHUNK) {
        column_chunk::<THREE_D>(rows, weights, m, CHUNK, &mut g, out, stores, &finish);
    }
    if body < n {
        column_chunk::<THREE_D>(rows, weights, body, n - body, &mut g, out, stores, &finish);
    }
}

/// Cells `m .. m + len` of [`column_sums`] (`len` at most [`CHUNK`]), with the column
/// sums of cells `m - 1 .. m + len + 1` in `g[0]` (`G0`) and `g[1]` (`G1`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn column_chunk<const THREE_D: bool>(
    rows: &[&[f64]; 9],
    weights: &[[f64; 4]; 2],
    m: usize,
    len: usize,
    g: &mut [[f64; CHUNK + 2]; 2],
    out: &mut [f64],
    stores: Stores,
    finish: &impl Fn(f64, f64) -> f64,
) {
    let width = len + 2;
    let s = |x: usize| &rows[x][m..m + width];
    let (c, f1a, f1b) = (s(4), s(3), s(5));
    let [a, b] = weights;
    let [g0, g1] = g;
    let (g0, g1) = (&mut g0[..width], &mut g1[..width]);
    if THREE_D {
        let (f0a, f0b) = (s(1), s(7));
        let (ea, eb, ec, ed) = (s(0), s(2), s(6), s(8));
        for t in 0..width {
            let f0 = f0a[t] + f0b[t];
            let f1 = f1a[t] + f1b[t];
            let e = (ea[t] + eb[t]) + (ec[t] + ed[t]);
            g0[t] = ((a[0] * c[t] + a[1] * f0) + a[2] * f1) + a[3] * e;
            g1[t] = ((b[0] * c[t] + b[1] * f0) + b[2] * f1) + b[3] * e;
        }
    } else {
        for t in 0..width {
            let f1 = f1a[t] + f1b[t];
            g0[t] = a[0] * c[t] + a[2] * f1;
            g1[t] = b[0] * c[t] + b[2] * f1;
        }
    }
    let rows = [&c[1..], &g0[1..], &g1[..], &g1[2..]];
    map_row(&mut out[m..m + len], stores, rows, |[c, g0, g1l, g1r]| {
        finish((g0 + g1l) + g1r, c)
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::field::{test_row_block, test_values, Field};
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
    /// The grouped forms as written in their docs, one cell at a time.
    fn grouped_reference(t: &Taps, u: impl Fn([isize; 3]) -> f64) -> f64 {
        match &t.form {
            Form::Classes(cw) => {
                let w = &cw.w;
                let g = |k: usize, m: isize| {
                    let (d0, d1) = if cw.ndim == 3 { (1, 1) } else { (0, 1) };
                    let c = u([0, 0, m]);
                    let f0 = u([-d0, 0, m]) + u([d0, 0, m]);
                    let f1 = u([0, -d1, m]) + u([0, d1, m]);
                    let e =
                        (u([-d0, -d1, m]) + u([-d0, d1, m])) + (u([d0, -d1, m]) + u([d0, d1, m]));
                    if cw.ndim == 3 {
                        ((w[0][0][k] * c + w[1][0][k] * f0) + w[0][1][k] * f1) + w[1][1][k] * e
                    } else {
                        w[0][0][k] * c + w[0][1][k] * f1
                    }
                };
                (g(0, 0) + g(1, -1)) + g(1, 1)
            }
            Form::Pairs(pw) => {
                let mut lu = pw.centre * u([0; 3]);
                for a in 3 - pw.ndim..3 {
                    for d in [1, 2] {
                        let mut o = [0; 3];
                        o[a] = d;
                        let minus = o.map(|x| -x);
                        lu += pw.w[a][d as usize - 1] * (u(minus) + u(o));
                    }
                }
                lu
            }
            Form::Taps => unreachable!("not a grouped form"),
        }
    }

    #[test]
    fn grouped_forms_are_their_documented_expression_and_the_tap_sum_to_rounding() {
        let mut next = test_values(0x2545_f491_4f6c_dd1du64);
        for (stencil, ndim) in [
            (Stencil::Compact, 2),
            (Stencil::Compact, 3),
            (Stencil::Fourth, 1),
            (Stencil::Fourth, 2),
            (Stencil::Fourth, 3),
        ] {
            let taps = stencil.taps(ndim, [0.7, 1.1, 1.3]);
            assert_ne!(taps.form, Form::Taps, "{stencil:?} {ndim}D");
            let r = stencil.radius();
            // rows of lengths around the chunk size and the 32-cell stored lines, each at
            // several alignments to a cache line (the halo width shifts the row start)
            for len in [1, 2, 7, 31, 33, 63, 64, 65, 66, 129, 200] {
                for pad in [0, 1, 3, 5] {
                    let (f, [i, j, k0]) = test_row_block(ndim, r, len, pad, &mut next);
                    let levels = [&f];
                    for stores in [Stores::Cached, Stores::Streaming] {
                        let row = RowStencil::new(&levels, i, j, k0, len).with_stores(stores);
                        let mut out = vec![f64::NAN; len];
                        taps.apply(&row, 0, &mut out, |lu, c| lu - 0.5 * c);
                        let mut tap_sum = vec![0.0; len];
                        let centre = row.row(0, 0, 0);
                        tap_sums_at::<false>(
                            &row,
                            0,
                            taps.taps.iter().copied(),
                            centre,
                            &mut tap_sum,
                            |lu, _| lu,
                        );
                        for m in 0..len {
                            let u = |o: [isize; 3]| {
                                row.level_row_widened(0, o[0], o[1], r)
                                    [(m as isize + o[2]) as usize + r]
                            };
                            let want = grouped_reference(&taps, u) - 0.5 * centre[m];
                            assert_eq!(
                                out[m].to_bits(),
                                want.to_bits(),
                                "{stencil:?} {ndim}D len {len} pad {pad} cell {m} {stores:?}"
                            );
                            let scale: f64 = taps.iter().map(|(_, w)| w.abs()).sum();
                            assert!(
                                (out[m] + 0.5 * centre[m] - tap_sum[m]).abs() <= 1e-14 * scale,
                                "{stencil:?} {ndim}D: {} vs tap sum {}",
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
