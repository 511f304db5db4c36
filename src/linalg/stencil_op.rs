//! Matrix-free grid operators: the negative Laplacian on the interior vertices of a
//! uniform grid with zero Dirichlet data, scaled by `h^2`.
//!
//! The grid has `n_a` unknowns per axis at `x_i = (i + 1) h_a`, `h_a = 1 / (n_a + 1)` (the
//! boundary vertices `0` and `n_a + 1` hold `u = 0` and are not unknowns). The operator is
//! the 3-, 5- or 7-point stencil (1, 2, 3 axes) `(A u)_i = 2 d u_i - sum_{neighbours} u_j`
//! (`d` axes), which is `-h^2` times the standard Laplacian on a cubic grid: symmetric
//! positive definite with eigenvalues `sum_a (2 - 2 cos(k_a pi / (n_a + 1)))`,
//! `k_a = 1..n_a`. Each entry of `A u` is one fixed expression (`2 d u_c - u_{i-1} -
//! u_{i+1} - u_{j-1} - u_{j+1} - u_{k-1} - u_{k+1}`, left to right), so the result does
//! not depend on the decomposition.
//!
//! With convection ([`GridStencil::with_convection`], 3D), central differences add
//! `h^2 b . grad u ~ sum_a (h b_a / 2) (u_{+a} - u_{-a})`: the convection-diffusion
//! operator, non-symmetric, still an M-matrix while the cell Peclet number `|b_a| h / 2`
//! is below 1.
//!
//! [`GridStencil`] is the kernel on one rank's ghosted block (used by multigrid on every
//! level); [`StencilOperator`] is the [`LinearOperator`] a solver sees. The halo exchange
//! overlaps the update of the block's inside, which needs no ghosts.

use crate::grid::field::Field;
use crate::grid::geometry::{Decomposition, IndexBox, DIMS};
use crate::grid::halo::HaloExchange;
use crate::linalg::operator::{LinearOperator, LocalMatrix};
use crate::linalg::vector::Layout;
use crate::parallel::Parallel;
use std::time::{Duration, Instant};

/// The stencil on one block: a ghosted copy of the input and the exchange that fills it.
pub struct GridStencil {
    decomposition: Decomposition,
    /// Convection coefficients `h b_a / 2` per internal axis (zero: the pure Laplacian).
    convection: [f64; DIMS],
    field: Field<f64>,
    /// `None`: the block is the whole grid (a level replicated on every rank).
    halo: Option<HaloExchange<f64>>,
    exchange_time: Duration,
}

impl GridStencil {
    /// The stencil on this rank's block of `decomposition`. Collective.
    pub fn distributed(parallel: &Parallel, decomposition: Decomposition) -> GridStencil {
        let owned = decomposition.owned(parallel.rank());
        let field = Field::new(owned, decomposition.ghost_widths(1));
        let halo = HaloExchange::new(parallel, &decomposition, &field);
        GridStencil {
            decomposition,
            convection: [0.0; DIMS],
            field,
            halo: Some(halo),
            exchange_time: Duration::ZERO,
        }
    }

    /// The stencil on the whole of `decomposition`'s grid, held by this rank alone.
    pub fn whole(decomposition: &Decomposition) -> GridStencil {
        let grid = decomposition.grid().clone();
        let whole = Decomposition::new(grid, 1, None).expect("one block always fits");
        let field = Field::new(whole.owned(0), whole.ghost_widths(1));
        GridStencil {
            decomposition: whole,
            convection: [0.0; DIMS],
            field,
            halo: None,
            exchange_time: Duration::ZERO,
        }
    }

    pub fn decomposition(&self) -> &Decomposition {
        &self.decomposition
    }

    /// Adds central-difference convection by velocity `b` (3D grids): the operator
    /// becomes `h^2 (-Laplacian + b . grad)`, entries `+/- h b_a / 2` at the neighbours
    /// along axis `a`. Not symmetric.
    pub fn with_convection(mut self, velocity: [f64; DIMS], h: f64) -> GridStencil {
        self.convection = velocity.map(|b| h * b / 2.0);
        self
    }

    /// Whether the operator is symmetric (no convection).
    pub fn is_symmetric(&self) -> bool {
        self.convection == [0.0; DIMS]
    }

    /// The block of global unknowns this rank holds.
    pub fn owned(&self) -> IndexBox {
        self.field.owned()
    }

    /// Unknowns on this rank.
    pub fn len(&self) -> usize {
        self.field.owned().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The diagonal entry, `2 d`.
    pub fn diagonal(&self) -> f64 {
        2.0 * self.decomposition.grid().ndim() as f64
    }

    /// The largest eigenvalue of `D^-1 A`: `1 + mean_a cos(pi / (n_a + 1))`.
    pub fn jacobi_max_eigenvalue(&self) -> f64 {
        let grid = self.decomposition.grid();
        let n = grid.extents();
        let active: Vec<usize> = (0..DIMS).filter(|&a| grid.is_active(a)).collect();
        let sum: f64 = active
            .iter()
            .map(|&a| (std::f64::consts::PI / (n[a] + 1) as f64).cos())
            .sum();
        1.0 + sum / active.len() as f64
    }

    /// The ghosted input after the last [`GridStencil::load`] or apply.
    pub fn field(&self) -> &Field<f64> {
        &self.field
    }

    /// Copies `x` (owned entries, row-major) into the ghosted block and fills the ghosts.
    pub fn load(&mut self, x: &[f64]) {
        self.copy_in(x);
        if let Some(halo) = &mut self.halo {
            let t = Instant::now();
            halo.exchange(&mut self.field);
            self.exchange_time += t.elapsed();
        }
    }

    fn copy_in(&mut self, x: &[f64]) {
        assert_eq!(x.len(), self.len(), "vector of another layout");
        let n = self.field.owned().size;
        let mut dst = self.field.owned_view_mut();
        for (row, src) in dst.rows_mut().into_iter().zip(x.chunks_exact(n[2].max(1))) {
            for (d, s) in row.into_iter().zip(src) {
                *d = *s;
            }
        }
    }

    /// `y = A x`, exchanging ghosts while the inside of the block is computed.
    pub fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        assert_eq!(y.len(), self.len(), "vector of another layout");
        self.copy_in(x);
        let inside = self.field.interior();
        let ghost = self.field.ghost();
        match &mut self.halo {
            None => self.compute(inside, y),
            Some(halo) => {
                let t = Instant::now();
                let pending = halo.begin(&self.field);
                self.exchange_time += t.elapsed();
                let core = inside.shrink(ghost);
                let shape = self.field.shape();
                let c = self.convection;
                compute_box(self.field.as_slice(), shape, ghost, inside, core, c, y);
                let t = Instant::now();
                pending.finish(&mut self.field);
                self.exchange_time += t.elapsed();
                for slab in inside.minus(&core) {
                    self.compute(slab, y);
                }
            }
        }
    }

    /// `y = A u` on `region` (local indices) from the loaded block.
    fn compute(&self, region: IndexBox, y: &mut [f64]) {
        let f = &self.field;
        let c = self.convection;
        compute_box(
            f.as_slice(),
            f.shape(),
            f.ghost(),
            f.interior(),
            region,
            c,
            y,
        );
    }

    /// The block's own rows and columns as a matrix (the couplings to other blocks and
    /// to the boundary dropped), columns in increasing order.
    pub fn local_block(&self) -> LocalMatrix {
        let n = self.field.owned().size;
        let active: [bool; DIMS] = std::array::from_fn(|a| self.field.ghost()[a] > 0);
        let [ci, cj, ck] = self.convection;
        let index = |i: usize, j: usize, k: usize| (i * n[1] + j) * n[2] + k;
        let mut m = LocalMatrix {
            row_ptr: vec![0],
            ..LocalMatrix::default()
        };
        for i in 0..n[0] {
            for j in 0..n[1] {
                for k in 0..n[2] {
                    // (offset per axis, coefficient) in increasing column order
                    let taps = [
                        (
                            active[0] && i > 0,
                            index(i.wrapping_sub(1), j, k),
                            -1.0 - ci,
                        ),
                        (
                            active[1] && j > 0,
                            index(i, j.wrapping_sub(1), k),
                            -1.0 - cj,
                        ),
                        (k > 0, index(i, j, k.wrapping_sub(1)), -1.0 - ck),
                        (true, index(i, j, k), self.diagonal()),
                        (k + 1 < n[2], index(i, j, k + 1), -1.0 + ck),
                        (active[1] && j + 1 < n[1], index(i, j + 1, k), -1.0 + cj),
                        (active[0] && i + 1 < n[0], index(i + 1, j, k), -1.0 + ci),
                    ];
                    for (present, col, value) in taps {
                        if present {
                            m.cols.push(col);
                            m.values.push(value);
                        }
                    }
                    m.row_ptr.push(m.cols.len());
                }
            }
        }
        m
    }

    /// Floating-point operations of one apply (`2 d` adds and a multiply per unknown).
    pub fn flops(&self) -> f64 {
        (2 * self.decomposition.grid().ndim() + 1) as f64 * self.len() as f64
    }

    pub fn exchange_time(&self) -> Duration {
        self.exchange_time
    }
}

/// `y = A u` on the local box `region` of a block with local `shape`, `ghost` layers and
/// owned cells `inside` (local indices); `y` holds the owned cells, row-major.
fn compute_box(
    u: &[f64],
    shape: [usize; DIMS],
    ghost: [usize; DIMS],
    inside: IndexBox,
    region: IndexBox,
    convection: [f64; DIMS],
    y: &mut [f64],
) {
    if region.is_empty() {
        return;
    }
    let (sj, si) = (shape[2], shape[1] * shape[2]);
    let owned = inside.size;
    let (axis_i, axis_j) = (ghost[0] > 0, ghost[1] > 0);
    let diag = 2.0 * (1 + usize::from(axis_i) + usize::from(axis_j)) as f64;
    let (k0, len) = (region.lo[2], region.size[2]);
    for i in region.lo[0]..region.hi()[0] {
        for j in region.lo[1]..region.hi()[1] {
            let c = i * si + j * sj + k0;
            let out = ((i - inside.lo[0]) * owned[1] + (j - inside.lo[1])) * owned[2]
                + (k0 - inside.lo[2]);
            let y = &mut y[out..out + len];
            let row = |at: usize| &u[at..at + len];
            let (centre, left, right) = (row(c), row(c - 1), row(c + 1));
            if convection != [0.0; DIMS] {
                let (im, ip, jm, jp) = (row(c - si), row(c + si), row(c - sj), row(c + sj));
                let [ci, cj, ck] = convection;
                for k in 0..len {
                    y[k] = diag * centre[k] - im[k] - ip[k] - jm[k] - jp[k] - left[k] - right[k]
                        + ci * (ip[k] - im[k])
                        + cj * (jp[k] - jm[k])
                        + ck * (right[k] - left[k]);
                }
            } else if axis_i {
                let (im, ip, jm, jp) = (row(c - si), row(c + si), row(c - sj), row(c + sj));
                for k in 0..len {
                    y[k] = diag * centre[k] - im[k] - ip[k] - jm[k] - jp[k] - left[k] - right[k];
                }
            } else if axis_j {
                let (jm, jp) = (row(c - sj), row(c + sj));
                for k in 0..len {
                    y[k] = diag * centre[k] - jm[k] - jp[k] - left[k] - right[k];
                }
            } else {
                for k in 0..len {
                    y[k] = diag * centre[k] - left[k] - right[k];
                }
            }
        }
    }
}

/// The grid operator as a solver sees it.
pub struct StencilOperator {
    layout: Layout,
    stencil: GridStencil,
}

impl StencilOperator {
    /// The operator on `decomposition`'s grid. Collective.
    pub fn new(parallel: &Parallel, decomposition: Decomposition) -> StencilOperator {
        StencilOperator {
            stencil: GridStencil::distributed(parallel, decomposition.clone()),
            layout: Layout::grid(parallel, decomposition),
        }
    }

    /// The convection-diffusion operator `h^2 (-Laplacian + b . grad)` (3D grids; see
    /// [`GridStencil::with_convection`]). Collective.
    pub fn convection_diffusion(
        parallel: &Parallel,
        decomposition: Decomposition,
        velocity: [f64; DIMS],
        h: f64,
    ) -> StencilOperator {
        StencilOperator {
            stencil: GridStencil::distributed(parallel, decomposition.clone())
                .with_convection(velocity, h),
            layout: Layout::grid(parallel, decomposition),
        }
    }

    pub fn stencil(&self) -> &GridStencil {
        &self.stencil
    }
}

impl LinearOperator for StencilOperator {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        self.stencil.apply(x, y);
    }

    fn diagonal(&self) -> Option<Vec<f64>> {
        Some(vec![self.stencil.diagonal(); self.stencil.len()])
    }

    fn flops(&self) -> f64 {
        self.stencil.flops()
    }

    fn is_symmetric(&self) -> bool {
        self.stencil.is_symmetric()
    }

    fn local_block(&self) -> Option<LocalMatrix> {
        Some(self.stencil.local_block())
    }

    fn bytes(&self) -> f64 {
        // read x, write the ghosted copy, read it, write y
        32.0 * self.stencil.len() as f64
    }

    fn exchange_time(&self) -> Duration {
        self.stencil.exchange_time()
    }
}
