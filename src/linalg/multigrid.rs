//! Geometric multigrid for the symmetric grid operators of [`crate::linalg::stencil_op`]
//! (the 7- and 27-point Laplacians, `-div(k grad u)`): a V-cycle,
//! usable as a preconditioner (for CG: it is symmetric) or, with Richardson, as a solver.
//!
//! **Grids.** Level 0 is the problem's grid of `n` unknowns per axis (`h = 1/(n+1)`); level
//! `l+1` keeps every other vertex (`n -> (n+1)/2 - 1`, so `n + 1` must be even: 127, 63, 31,
//! ... ), down to a grid of at most 64 unknowns, solved exactly by a dense Cholesky
//! factorisation. Each coarse operator is the same stencil rediscretised on its grid (also
//! scaled by its `h^2`; `k` evaluated at the coarse grid's edges).
//!
//! **Transfers.** Restriction is full weighting, `(1/4, 1/2, 1/4)` per axis, times 4 (the
//! ratio of the `h^2` scalings); prolongation is (bi/tri)linear interpolation, its
//! transpose up to a constant, so the V-cycle is a symmetric operator.
//!
//! **Smoothing.** Chebyshev polynomials of degree 4 in `D^-1 A` (four operator applies
//! per smoothing, before and after the coarse correction), on the interval
//! `[beta / 15, beta]` where `beta = 1 + mean_a cos(pi / (n_a + 1))` is the largest
//! eigenvalue of `D^-1 A` (known exactly for this operator). The first smoothing starts
//! from zero. Measured: one V-cycle reduces the residual of the 3D Poisson problem by
//! 0.07 per cycle on 31^3 and 127^3 alike (degree 2: 0.16 to 0.22, cheaper per cycle
//! but over the 0.1 this module promises; degree 3: 0.12).
//!
//! **Ranks.** A coarse level keeps the ranks' process grid, each rank owning the coarse
//! vertices that lie on its fine vertices, so restriction and prolongation read only
//! one ghost layer. Once a coarse grid has at most 32^3 unknowns (`--mg-gather`), or some rank's block would
//! be thinner than 2 vertices, it is gathered onto every rank, and from there down every
//! rank computes the whole (small) levels itself: the same arithmetic in the same order as
//! on one rank. Every value is one fixed expression of its inputs, so the V-cycle's output
//! does not depend on the rank count, bit for bit.

use crate::error::{Error, Result};
use crate::grid::field::Field;
use crate::grid::geometry::{Decomposition, IndexBox, DIMS};
use crate::linalg::operator::Preconditioner;
use crate::linalg::precond::Setup;
use crate::linalg::stencil_op::{GridStencil, Kind};
use crate::parallel::{Comm, Parallel};
use std::time::Duration;

/// Operator applies per smoothing (the Chebyshev polynomial's degree).
pub const DEGREE: usize = 4;
/// The smoother targets the eigenvalues of `D^-1 A` in `[beta / LOWER_FRACTION, beta]`.
const LOWER_FRACTION: f64 = 15.0;
/// Levels at or below this many unknowns are solved exactly.
const DIRECT_MAX: usize = 64;
/// Coarse levels at or below this many unknowns are held whole by every rank (default).
pub const GATHER_MAX: usize = 32 * 32 * 32;

/// One grid of the hierarchy.
struct Level {
    /// The operator on this level (on this rank's block, or on the whole grid).
    stencil: GridStencil,
    /// This level split over the ranks (what a rank computes when restricting to it).
    split: Decomposition,
    /// Whether every rank holds the whole level.
    whole: bool,
    /// `1 / a_ii`, for the smoother.
    inv_diag: Vec<f64>,
    x: Vec<f64>,
    b: Vec<f64>,
    r: Vec<f64>,
    d: Vec<f64>,
    t: Vec<f64>,
}

impl Level {
    fn new(stencil: GridStencil, split: Decomposition, whole: bool) -> Level {
        let n = stencil.len();
        Level {
            inv_diag: stencil.diagonal().iter().map(|a| 1.0 / a).collect(),
            stencil,
            split,
            whole,
            x: vec![0.0; n],
            b: vec![0.0; n],
            r: vec![0.0; n],
            d: vec![0.0; n],
            t: vec![0.0; n],
        }
    }
}

/// The V-cycle and its hierarchy.
pub struct Multigrid {
    levels: Vec<Level>,
    coarsest: Cholesky,
    degree: usize,
    comm: Comm,
}

impl Multigrid {
    /// The registered constructor (`--pc mg`).
    pub fn build(setup: &Setup) -> Result<Box<dyn Preconditioner>> {
        let Some(fine) = setup.op.grid_stencil() else {
            return Err(Error::value(
                "pc",
                "mg needs a grid problem (it coarsens the grid); use jacobi for matrices",
            ));
        };
        if !setup.op.is_symmetric() {
            return Err(Error::value(
                "pc",
                "mg smooths the symmetric Poisson operator; for convection-diffusion use \
                 jacobi (or none) with gmres or bicgstab",
            ));
        }
        Ok(Box::new(Multigrid::new(
            setup.parallel,
            fine.decomposition(),
            fine.kind().clone(),
            DEGREE,
            setup.options.mg_gather_max,
        )?))
    }

    /// The hierarchy for `fine`'s grid, with Chebyshev smoothing of `degree`, coarse levels
    /// of at most `gather_max` unknowns held whole by every rank. Collective.
    pub fn new(
        parallel: &Parallel,
        fine: &Decomposition,
        kind: Kind,
        degree: usize,
        gather_max: usize,
    ) -> Result<Multigrid> {
        let mut levels = vec![Level::new(
            GridStencil::distributed(parallel, fine.clone(), kind.clone()),
            fine.clone(),
            false,
        )];
        loop {
            let last = levels.last().expect("the fine level");
            if last.split.grid().cells() <= DIRECT_MAX {
                break;
            }
            let Some(coarse) = last.split.coarsened() else {
                break;
            };
            let thin = (0..parallel.size()).any(|rank| {
                let b = coarse.owned(rank);
                (0..DIMS).any(|a| coarse.grid().is_active(a) && b.size[a] < 2)
            });
            let whole = last.whole || thin || coarse.grid().cells() <= gather_max;
            let stencil = if whole {
                GridStencil::whole(&coarse, kind.clone())
            } else {
                GridStencil::distributed(parallel, coarse.clone(), kind.clone())
            };
            levels.push(Level::new(stencil, coarse, whole));
        }
        let last = levels.last_mut().expect("the fine level");
        let cells = last.split.grid().cells();
        if cells > DIRECT_MAX {
            return Err(Error::value(
                "pc",
                format!(
                    "mg cannot coarsen the {} grid below {cells} unknowns: each size plus one \
                     must halve down to at most 4 vertices (sizes like 31, 63, 127, 255)",
                    last.split.grid().shape_string()
                ),
            ));
        }
        if !last.whole {
            // a problem small enough to solve directly at once: hold it whole
            let split = last.split.clone();
            levels.push(Level::new(
                GridStencil::whole(&split, kind.clone()),
                split,
                true,
            ));
            // (the copy is gathered by the transfer below as any coarse level is)
        }
        let coarsest = Cholesky::assemble(&mut levels.last_mut().expect("levels").stencil)?;
        Ok(Multigrid {
            levels,
            coarsest,
            degree,
            comm: parallel.duplicate(),
        })
    }

    /// `x_l` from `b_l`: one V-cycle from level `l` down.
    fn cycle(&mut self, l: usize) {
        if l + 1 == self.levels.len() {
            let level = &mut self.levels[l];
            self.coarsest.solve(&level.b, &mut level.x);
            return;
        }
        self.levels[l].x.fill(0.0);
        chebyshev(&mut self.levels[l], self.degree, true);
        residual(&mut self.levels[l]);
        self.restrict(l);
        self.cycle(l + 1);
        self.prolong_add(l);
        chebyshev(&mut self.levels[l], self.degree, false);
    }

    /// `b_{l+1} = 4 R r_l`.
    fn restrict(&mut self, l: usize) {
        let (fine, coarse) = self.levels.split_at_mut(l + 1);
        let (fine, coarse) = (&mut fine[l], &mut coarse[0]);
        if coarse.split.grid() == fine.split.grid() {
            // the whole copy of a level that is solved directly
            let all = self.comm.all_gather_varcount(&fine.r);
            place_blocks(&fine.split, &all, &mut coarse.b);
            return;
        }
        fine.stencil.load(&fine.r);
        let mine = if coarse.whole && !fine.whole {
            coarse.split.owned(self.comm.rank())
        } else {
            coarse.stencil.owned()
        };
        let mut values = vec![0.0; mine.len()];
        full_weighting(fine.stencil.field(), mine, &mut values);
        if coarse.whole && !fine.whole {
            let all = self.comm.all_gather_varcount(&values);
            place_blocks(&coarse.split, &all, &mut coarse.b);
        } else {
            coarse.b = values;
        }
    }

    /// `x_l += P x_{l+1}`.
    fn prolong_add(&mut self, l: usize) {
        let (fine, coarse) = self.levels.split_at_mut(l + 1);
        let (fine, coarse) = (&mut fine[l], &mut coarse[0]);
        if coarse.split.grid() == fine.split.grid() {
            // the whole copy: take this rank's block back
            let mine = fine.stencil.owned();
            let whole = coarse.stencil.owned();
            copy_block(&coarse.x, whole, mine, &mut fine.t);
            for (x, t) in fine.x.iter_mut().zip(&fine.t) {
                *x += t;
            }
            return;
        }
        coarse.stencil.load(&coarse.x);
        interpolate_add(coarse.stencil.field(), fine.stencil.owned(), &mut fine.x);
    }
}

impl Preconditioner for Multigrid {
    fn name(&self) -> &'static str {
        "mg"
    }

    fn apply(&mut self, r: &[f64], z: &mut [f64]) {
        self.levels[0].b.copy_from_slice(r);
        self.cycle(0);
        z.copy_from_slice(&self.levels[0].x);
    }

    fn describe(&self) -> String {
        let grids: Vec<String> = self
            .levels
            .iter()
            .map(|l| {
                let s = l.split.grid().shape_string();
                if l.whole {
                    format!("{s} (whole on each rank)")
                } else {
                    s
                }
            })
            .collect();
        format!(
            "geometric multigrid V-cycle, {} levels: {}; Chebyshev({}) smoothing; Cholesky on the coarsest",
            self.levels.len(),
            grids.join(" > "),
            self.degree
        )
    }

    fn exchange_time(&self) -> Duration {
        self.levels.iter().map(|l| l.stencil.exchange_time()).sum()
    }

    /// Per level of `n` points on this rank (the last, solved directly, aside): `2 degree`
    /// stencil applies (pre-smoothing from zero `degree - 1`, the residual, post-smoothing
    /// `degree`), each 7 flops and 32 bytes a point (read the input, write and read the
    /// ghosted copy, write the output: [`crate::linalg::stencil_op`]), and the Chebyshev
    /// updates (about 6 flops and 48 bytes a point per apply); restriction (54 flops a
    /// coarse point, reading the fine residual once: 8 bytes a fine point) and
    /// prolongation (16 flops and 16 bytes a fine point). Bytes are a lower bound: the
    /// traffic a perfect cache would leave.
    fn cost(&self) -> Option<(f64, f64)> {
        let (mut flops, mut bytes) = (0.0, 0.0);
        let applies = 2.0 * self.degree as f64;
        for l in &self.levels[..self.levels.len() - 1] {
            let n = l.stencil.len() as f64;
            flops += n * (applies * (7.0 + 6.0) + 16.0) + 54.0 * n / 8.0;
            bytes += n * (applies * (32.0 + 48.0) + 16.0 + 8.0);
        }
        Some((flops, bytes))
    }
}

/// Chebyshev smoothing of `A x = b` on `level` (`from_zero`: `x` is zero on entry).
fn chebyshev(level: &mut Level, degree: usize, from_zero: bool) {
    let upper = level.stencil.jacobi_max_eigenvalue();
    let lower = upper / LOWER_FRACTION;
    let theta = (upper + lower) / 2.0;
    let delta = (upper - lower) / 2.0;
    let sigma = theta / delta;
    let mut rho = 1.0 / sigma;
    let Level {
        stencil,
        inv_diag,
        x,
        b,
        r,
        d,
        t,
        ..
    } = level;
    if from_zero {
        r.copy_from_slice(b);
    } else {
        stencil.apply(x, t);
        for ((r, b), t) in r.iter_mut().zip(b.iter()).zip(t.iter()) {
            *r = b - t;
        }
    }
    for ((d, r), inv) in d.iter_mut().zip(r.iter()).zip(inv_diag.iter()) {
        *d = r * inv / theta;
    }
    for k in 1..=degree {
        for (x, d) in x.iter_mut().zip(d.iter()) {
            *x += d;
        }
        if k == degree {
            break;
        }
        stencil.apply(d, t);
        let rho_next = 1.0 / (2.0 * sigma - rho);
        let (c_d, c_r) = (rho_next * rho, 2.0 * rho_next / delta);
        for (((d, r), t), inv) in d
            .iter_mut()
            .zip(r.iter_mut())
            .zip(t.iter())
            .zip(inv_diag.iter())
        {
            *r -= t;
            *d = c_d * *d + c_r * (*r * inv);
        }
        rho = rho_next;
    }
}

/// `r = b - A x` on `level`.
fn residual(level: &mut Level) {
    let Level {
        stencil,
        x,
        b,
        r,
        t,
        ..
    } = level;
    stencil.apply(x, t);
    for ((r, b), t) in r.iter_mut().zip(b.iter()).zip(t.iter()) {
        *r = b - t;
    }
}

/// Full weighting times 4: for each coarse vertex `I` of the global box `coarse`, the
/// weighted sum of the fine residual around fine vertex `2 I + 1` (weights `1/4, 1/2, 1/4`
/// per active axis), summed in a fixed order. `fine` is loaded with ghosts.
fn full_weighting(fine: &Field<f64>, coarse: IndexBox, out: &mut [f64]) {
    let active: [bool; DIMS] = std::array::from_fn(|a| fine.ghost()[a] > 0);
    let offsets = |a: usize| if active[a] { -1i64..=1 } else { 0..=0 };
    let weight = |d: i64| if d == 0 { 0.5 } else { 0.25 };
    let base = local_origin(fine);
    let data = fine.array();
    let mut at = 0;
    for ci in coarse.lo[0]..coarse.hi()[0] {
        for cj in coarse.lo[1]..coarse.hi()[1] {
            for ck in coarse.lo[2]..coarse.hi()[2] {
                let c = [ci, cj, ck].map(|v| v as i64);
                let centre: [i64; DIMS] =
                    std::array::from_fn(|a| if active[a] { 2 * c[a] + 1 } else { c[a] });
                let mut sum = 0.0;
                for di in offsets(0) {
                    for dj in offsets(1) {
                        for dk in offsets(2) {
                            let w = weight(di) * weight(dj) * weight(dk);
                            let idx = [
                                (centre[0] + di - base[0]) as usize,
                                (centre[1] + dj - base[1]) as usize,
                                (centre[2] + dk - base[2]) as usize,
                            ];
                            sum += w * data[idx];
                        }
                    }
                }
                // inactive axes contribute a factor 1/2 each to the weights above
                let unused = (0..DIMS).filter(|&a| !active[a]).count() as i32;
                out[at] = 4.0 * sum * 2f64.powi(unused);
                at += 1;
            }
        }
    }
}

/// The global index of local index 0 of `field`, per axis.
fn local_origin(field: &Field<f64>) -> [i64; DIMS] {
    let (lo, g) = (field.owned().lo, field.ghost());
    std::array::from_fn(|a| lo[a] as i64 - g[a] as i64)
}

/// `x += P c` on the fine global box `fine` (owned, row-major in `x`): linear
/// interpolation per active axis from the loaded coarse field (boundary ghosts are zero).
fn interpolate_add(coarse: &Field<f64>, fine: IndexBox, x: &mut [f64]) {
    let active: [bool; DIMS] = std::array::from_fn(|a| coarse.ghost()[a] > 0);
    let base = local_origin(coarse);
    let data = coarse.array();
    // per axis: the coarse points (global) and weights that fine index i reads
    let taps = |a: usize, i: usize| -> ([i64; 2], [f64; 2], usize) {
        if !active[a] {
            return ([i as i64, 0], [1.0, 0.0], 1);
        }
        let v = i as i64 + 1;
        if v % 2 == 0 {
            ([v / 2 - 1, 0], [1.0, 0.0], 1)
        } else {
            ([(v - 1) / 2 - 1, (v + 1) / 2 - 1], [0.5, 0.5], 2)
        }
    };
    let mut at = 0;
    for i in fine.lo[0]..fine.hi()[0] {
        let (pi, wi, ni) = taps(0, i);
        for j in fine.lo[1]..fine.hi()[1] {
            let (pj, wj, nj) = taps(1, j);
            for k in fine.lo[2]..fine.hi()[2] {
                let (pk, wk, nk) = taps(2, k);
                let mut sum = 0.0;
                for a in 0..ni {
                    for b in 0..nj {
                        for c in 0..nk {
                            let idx = [
                                (pi[a] - base[0]) as usize,
                                (pj[b] - base[1]) as usize,
                                (pk[c] - base[2]) as usize,
                            ];
                            sum += wi[a] * wj[b] * wk[c] * data[idx];
                        }
                    }
                }
                x[at] += sum;
                at += 1;
            }
        }
    }
}

/// Copies from `src` (the row-major values of global box `from`) the values of box
/// `to` (inside `from`) into `dst`, row-major.
fn copy_block(src: &[f64], from: IndexBox, to: IndexBox, dst: &mut [f64]) {
    let mut at = 0;
    for i in to.lo[0]..to.hi()[0] {
        for j in to.lo[1]..to.hi()[1] {
            let start = ((i - from.lo[0]) * from.size[1] + (j - from.lo[1])) * from.size[2]
                + (to.lo[2] - from.lo[2]);
            dst[at..at + to.size[2]].copy_from_slice(&src[start..start + to.size[2]]);
            at += to.size[2];
        }
    }
}

/// Writes the ranks' blocks of `split`, concatenated in rank order in `all`, into the
/// row-major values of the whole grid.
fn place_blocks(split: &Decomposition, all: &[f64], whole: &mut [f64]) {
    let n = split.grid().extents();
    let mut at = 0;
    for rank in 0..split.nranks() {
        let b = split.owned(rank);
        for i in b.lo[0]..b.hi()[0] {
            for j in b.lo[1]..b.hi()[1] {
                let start = (i * n[1] + j) * n[2] + b.lo[2];
                whole[start..start + b.size[2]].copy_from_slice(&all[at..at + b.size[2]]);
                at += b.size[2];
            }
        }
    }
}

/// A dense Cholesky factorisation `A = L L^T` of a small level's operator, for the exact
/// coarsest solve (the same on every rank).
struct Cholesky {
    n: usize,
    l: Vec<f64>,
}

impl Cholesky {
    /// Assembles the operator column by column (`A e_j`) and factors it.
    fn assemble(stencil: &mut GridStencil) -> Result<Cholesky> {
        let n = stencil.len();
        let mut a = vec![0.0; n * n];
        let mut e = vec![0.0; n];
        let mut col = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            stencil.apply(&e, &mut col);
            e[j] = 0.0;
            for i in 0..n {
                a[i * n + j] = col[i];
            }
        }
        for j in 0..n {
            let mut d = a[j * n + j];
            for k in 0..j {
                d -= a[j * n + k] * a[j * n + k];
            }
            if d.is_nan() || d <= 0.0 {
                return Err(Error::value(
                    "pc",
                    "mg: the coarsest operator is not positive definite",
                ));
            }
            let d = d.sqrt();
            a[j * n + j] = d;
            for i in j + 1..n {
                let mut s = a[i * n + j];
                for k in 0..j {
                    s -= a[i * n + k] * a[j * n + k];
                }
                a[i * n + j] = s / d;
            }
        }
        Ok(Cholesky { n, l: a })
    }

    fn solve(&self, b: &[f64], x: &mut [f64]) {
        let (n, l) = (self.n, &self.l);
        for i in 0..n {
            let mut s = b[i];
            for k in 0..i {
                s -= l[i * n + k] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = x[i];
            for k in i + 1..n {
                s -= l[k * n + i] * x[k];
            }
            x[i] = s / l[i * n + i];
        }
    }
}
