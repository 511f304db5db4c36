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
//! Two more operators ([`Kind`]), both symmetric positive definite and `h^2`-scaled:
//! - the isotropic 27-point (9-point in 2D) Laplacian of [`crate::grid::laplacian`]'s
//!   `compact` stencil, `A u = (128 u_c - 14 sum_faces - 3 sum_edges - sum_corners) / 30`;
//! - `-div(k grad u)` with a variable coefficient `k(x) > 0`: `(A u)_i = sum_a [k_{i+a/2}
//!   (u_i - u_{i+a}) + k_{i-a/2} (u_i - u_{i-a})]`, `k` evaluated at the midpoints of the
//!   grid edges (so coarse grids evaluate the same function at theirs); the diagonal is the
//!   sum of the six edge values, summed in a fixed order.
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

/// A coefficient field `k(x)` (coordinates of the three internal axes, the unused leading
/// ones 0).
pub type Coefficient = std::sync::Arc<dyn Fn([f64; DIMS]) -> f64 + Send + Sync>;

/// Which operator.
#[derive(Clone)]
pub enum Kind {
    /// The 3/5/7-point Laplacian (with central-difference convection, if set later).
    Standard,
    /// The isotropic 9/27-point Laplacian.
    Compact,
    /// `-div(k grad u)`.
    Variable(Coefficient),
}

impl Kind {
    pub fn describe(&self, ndim: usize) -> String {
        match self {
            Kind::Standard => format!("{}-point Laplacian", 2 * ndim + 1),
            Kind::Compact => format!("{}-point isotropic Laplacian", 3usize.pow(ndim as u32)),
            Kind::Variable(_) => format!("{}-point -div(k grad u)", 2 * ndim + 1),
        }
    }
}

/// What the kernel needs besides the input, per kind.
enum Coefficients {
    Standard,
    /// `(offset, weight)` of the `h^2`-scaled operator, in a fixed order.
    Compact(Vec<([isize; 3], f64)>),
    /// Per axis, `k` at the edges of the owned block (`owned + 1` along that axis, the
    /// edge `i` lying between unknowns `i - 1` and `i`), and the diagonal.
    Variable {
        edges: [Vec<f64>; DIMS],
        diagonal: Vec<f64>,
    },
}

/// The stencil on one block: a ghosted copy of the input and the exchange that fills it.
pub struct GridStencil {
    decomposition: Decomposition,
    kind: Kind,
    coefficients: Coefficients,
    /// Convection coefficients `h b_a / 2` per internal axis (zero: the pure Laplacian).
    convection: [f64; DIMS],
    field: Field<f64>,
    /// `None`: the block is the whole grid (a level replicated on every rank).
    halo: Option<HaloExchange<f64>>,
    exchange_time: Duration,
}

impl GridStencil {
    /// The operator `kind` on this rank's block of `decomposition`. Collective.
    pub fn distributed(
        parallel: &Parallel,
        decomposition: Decomposition,
        kind: Kind,
    ) -> GridStencil {
        let owned = decomposition.owned(parallel.rank());
        let field = Field::new(owned, decomposition.ghost_widths(1));
        let halo = HaloExchange::new(parallel, &decomposition, &field);
        GridStencil::build(decomposition, kind, field, Some(halo))
    }

    /// The operator `kind` on the whole of `decomposition`'s grid, held by this rank alone.
    pub fn whole(decomposition: &Decomposition, kind: Kind) -> GridStencil {
        let grid = decomposition.grid().clone();
        let whole = Decomposition::new(grid, 1, None).expect("one block always fits");
        let field = Field::new(whole.owned(0), whole.ghost_widths(1));
        GridStencil::build(whole, kind, field, None)
    }

    fn build(
        decomposition: Decomposition,
        kind: Kind,
        field: Field<f64>,
        halo: Option<HaloExchange<f64>>,
    ) -> GridStencil {
        let grid = decomposition.grid();
        let coefficients = match &kind {
            Kind::Standard => Coefficients::Standard,
            Kind::Compact => {
                let taps = crate::grid::laplacian::Stencil::Compact.taps(grid.ndim(), [1.0; 3]);
                Coefficients::Compact(taps.iter().map(|&(o, w)| (o, -w)).collect())
            }
            Kind::Variable(k) => {
                let n = grid.extents();
                let h: [f64; DIMS] = std::array::from_fn(|a| 1.0 / (n[a] + 1) as f64);
                let active: [bool; DIMS] = std::array::from_fn(|a| grid.is_active(a));
                let owned = field.owned();
                let edges: [Vec<f64>; DIMS] = std::array::from_fn(|a| {
                    if !active[a] {
                        return Vec::new();
                    }
                    let mut size = owned.size;
                    size[a] += 1;
                    let mut out = Vec::with_capacity(size.iter().product());
                    for i in 0..size[0] {
                        for j in 0..size[1] {
                            for l in 0..size[2] {
                                let idx = [i, j, l];
                                let x: [f64; DIMS] = std::array::from_fn(|b| {
                                    if !active[b] {
                                        0.0
                                    } else if b == a {
                                        // edge between unknowns g - 1 and g: x = (g + 1/2) h
                                        (owned.lo[b] + idx[b]) as f64 * h[b] + 0.5 * h[b]
                                    } else {
                                        (owned.lo[b] + idx[b] + 1) as f64 * h[b]
                                    }
                                });
                                out.push(k(x));
                            }
                        }
                    }
                    out
                });
                let diagonal = variable_diagonal(&edges, owned.size, active);
                Coefficients::Variable { edges, diagonal }
            }
        };
        GridStencil {
            decomposition,
            kind,
            coefficients,
            convection: [0.0; DIMS],
            field,
            halo,
            exchange_time: Duration::ZERO,
        }
    }

    /// The operator this stencil applies.
    pub fn kind(&self) -> &Kind {
        &self.kind
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

    /// The diagonal entries of this rank's rows.
    pub fn diagonal(&self) -> Vec<f64> {
        match &self.coefficients {
            Coefficients::Standard => {
                vec![2.0 * self.decomposition.grid().ndim() as f64; self.len()]
            }
            Coefficients::Compact(taps) => {
                let centre = taps.iter().find(|t| t.0 == [0, 0, 0]).map_or(0.0, |t| t.1);
                vec![centre; self.len()]
            }
            Coefficients::Variable { diagonal, .. } => diagonal.clone(),
        }
    }

    /// An upper bound of the eigenvalues of `D^-1 A`: exactly `1 + mean_a cos(pi / (n_a +
    /// 1))` for the standard Laplacian; 2 for the others (Gershgorin: their off-diagonal
    /// entries are negative and sum to minus the diagonal).
    pub fn jacobi_max_eigenvalue(&self) -> f64 {
        if !matches!(self.kind, Kind::Standard) {
            return 2.0;
        }
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
                compute_region(&self.field, &self.coefficients, self.convection, core, y);
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
        compute_region(&self.field, &self.coefficients, self.convection, region, y);
    }

    /// The block's own rows and columns as a matrix (the couplings to other blocks and
    /// to the boundary dropped), columns in increasing order.
    pub fn local_block(&self) -> LocalMatrix {
        let n = self.field.owned().size;
        let active: [bool; DIMS] = std::array::from_fn(|a| self.field.ghost()[a] > 0);
        let diagonal = self.diagonal();
        let index = |p: [usize; DIMS]| (p[0] * n[1] + p[1]) * n[2] + p[2];
        let mut m = LocalMatrix {
            row_ptr: vec![0],
            ..LocalMatrix::default()
        };
        let mut row: Vec<(usize, f64)> = Vec::new();
        for i in 0..n[0] {
            for j in 0..n[1] {
                for k in 0..n[2] {
                    let p = [i, j, k];
                    // (offset, coefficient) of this row
                    let mut taps: Vec<([isize; 3], f64)> = Vec::new();
                    match &self.coefficients {
                        Coefficients::Standard => {
                            taps.push(([0, 0, 0], diagonal[index(p)]));
                            for a in (0..DIMS).filter(|&a| active[a]) {
                                let mut o = [0isize; 3];
                                o[a] = -1;
                                taps.push((o, -1.0 - self.convection[a]));
                                o[a] = 1;
                                taps.push((o, -1.0 + self.convection[a]));
                            }
                        }
                        Coefficients::Compact(t) => taps.extend_from_slice(t),
                        Coefficients::Variable { edges, .. } => {
                            taps.push(([0, 0, 0], diagonal[index(p)]));
                            for a in (0..DIMS).filter(|&a| active[a]) {
                                let mut size = n;
                                size[a] += 1;
                                let at =
                                    |q: [usize; DIMS]| (q[0] * size[1] + q[1]) * size[2] + q[2];
                                let mut hi = p;
                                hi[a] += 1;
                                let mut o = [0isize; 3];
                                o[a] = -1;
                                taps.push((o, -edges[a][at(p)]));
                                o[a] = 1;
                                taps.push((o, -edges[a][at(hi)]));
                            }
                        }
                    }
                    row.clear();
                    for (o, w) in taps {
                        let q: [isize; 3] = std::array::from_fn(|a| p[a] as isize + o[a]);
                        if (0..DIMS).all(|a| q[a] >= 0 && (q[a] as usize) < n[a]) {
                            row.push((index(q.map(|v| v as usize)), w));
                        }
                    }
                    row.sort_by_key(|e| e.0);
                    for &(c, w) in &row {
                        m.cols.push(c);
                        m.values.push(w);
                    }
                    m.row_ptr.push(m.cols.len());
                }
            }
        }
        m
    }

    /// Floating-point operations of one apply (`2 d` adds and a multiply per unknown).
    pub fn flops(&self) -> f64 {
        let per_point = match &self.coefficients {
            Coefficients::Standard => 2 * self.decomposition.grid().ndim() + 1,
            Coefficients::Compact(taps) => 2 * taps.len() - 1,
            Coefficients::Variable { .. } => 4 * self.decomposition.grid().ndim() + 1,
        };
        per_point as f64 * self.len() as f64
    }

    pub fn exchange_time(&self) -> Duration {
        self.exchange_time
    }
}

/// `y = A u` on the local box `region` of the loaded block `field`.
fn compute_region(
    field: &Field<f64>,
    coefficients: &Coefficients,
    convection: [f64; DIMS],
    region: IndexBox,
    y: &mut [f64],
) {
    let f = field;
    match coefficients {
        Coefficients::Standard => compute_standard(f, region, convection, y),
        Coefficients::Compact(taps) => compute_taps(f, taps, region, y),
        Coefficients::Variable { edges, diagonal } => {
            compute_variable(f, edges, diagonal, region, y)
        }
    }
}

/// For each row of `region` (local indices of `field`): the output slice of `y` and the
/// index of the row's first cell in `field`'s array.
fn rows(field: &Field<f64>, region: IndexBox, mut each: impl FnMut(usize, usize, [usize; DIMS])) {
    if region.is_empty() {
        return;
    }
    let shape = field.shape();
    let inside = field.interior();
    let owned = inside.size;
    for i in region.lo[0]..region.hi()[0] {
        for j in region.lo[1]..region.hi()[1] {
            let k = region.lo[2];
            let at = (i * shape[1] + j) * shape[2] + k;
            let out = ((i - inside.lo[0]) * owned[1] + (j - inside.lo[1])) * owned[2]
                + (k - inside.lo[2]);
            each(
                out,
                at,
                [i - inside.lo[0], j - inside.lo[1], k - inside.lo[2]],
            );
        }
    }
}

/// `y = sum_taps w u[offset]`, the taps in their fixed order for every point.
fn compute_taps(field: &Field<f64>, taps: &[([isize; 3], f64)], region: IndexBox, y: &mut [f64]) {
    let shape = field.shape();
    let u = field.as_slice();
    let len = region.size[2];
    let strides = [(shape[1] * shape[2]) as isize, shape[2] as isize, 1isize];
    rows(field, region, |out, at, _| {
        let y = &mut y[out..out + len];
        for (t, &(o, w)) in taps.iter().enumerate() {
            let shift = o[0] * strides[0] + o[1] * strides[1] + o[2] * strides[2];
            let start = (at as isize + shift) as usize;
            let src = &u[start..start + len];
            if t == 0 {
                for (y, x) in y.iter_mut().zip(src) {
                    *y = w * x;
                }
            } else {
                for (y, x) in y.iter_mut().zip(src) {
                    *y += w * x;
                }
            }
        }
    });
}

/// `y = diag u_c - sum_a (k_{-a} u_{-a} + k_{+a} u_{+a})`, axes in order, for
/// `-div(k grad u)`.
fn compute_variable(
    field: &Field<f64>,
    edges: &[Vec<f64>; DIMS],
    diagonal: &[f64],
    region: IndexBox,
    y: &mut [f64],
) {
    let shape = field.shape();
    let owned = field.owned().size;
    let u = field.as_slice();
    let len = region.size[2];
    let strides = [shape[1] * shape[2], shape[2], 1];
    // the edge array of axis a has owned + 1 entries along a
    let edge_index = |a: usize, p: [usize; DIMS]| -> usize {
        let mut size = owned;
        size[a] += 1;
        (p[0] * size[1] + p[1]) * size[2] + p[2]
    };
    rows(field, region, |out, at, p| {
        let y = &mut y[out..out + len];
        for k in 0..len {
            let c = at + k;
            let q = [p[0], p[1], p[2] + k];
            let mut v = diagonal[out + k] * u[c];
            for a in 0..DIMS {
                if edges[a].is_empty() {
                    continue;
                }
                let mut hi = q;
                hi[a] += 1;
                let (lo_k, hi_k) = (edges[a][edge_index(a, q)], edges[a][edge_index(a, hi)]);
                v -= lo_k * u[c - strides[a]];
                v -= hi_k * u[c + strides[a]];
            }
            y[k] = v;
        }
    });
}

/// The diagonal of `-div(k grad u)`: the sum of the edge values around each point, axes
/// in order (low edge, then high edge).
fn variable_diagonal(
    edges: &[Vec<f64>; DIMS],
    owned: [usize; DIMS],
    active: [bool; DIMS],
) -> Vec<f64> {
    let mut out = Vec::with_capacity(owned.iter().product());
    for i in 0..owned[0] {
        for j in 0..owned[1] {
            for l in 0..owned[2] {
                let q = [i, j, l];
                let mut d = 0.0;
                for a in (0..DIMS).filter(|&a| active[a]) {
                    let mut size = owned;
                    size[a] += 1;
                    let at = |p: [usize; DIMS]| (p[0] * size[1] + p[1]) * size[2] + p[2];
                    let mut hi = q;
                    hi[a] += 1;
                    d += edges[a][at(q)];
                    d += edges[a][at(hi)];
                }
                out.push(d);
            }
        }
    }
    out
}

/// `y = A u` for the standard Laplacian (with convection if set) on the local box
/// `region` of the loaded block `field`.
fn compute_standard(field: &Field<f64>, region: IndexBox, convection: [f64; DIMS], y: &mut [f64]) {
    let (u, shape, ghost) = (field.as_slice(), field.shape(), field.ghost());
    let (sj, si) = (shape[2], shape[1] * shape[2]);
    let (axis_i, axis_j) = (ghost[0] > 0, ghost[1] > 0);
    let diag = 2.0 * (1 + usize::from(axis_i) + usize::from(axis_j)) as f64;
    let len = region.size[2];
    rows(field, region, |out, c, _| {
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
    });
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
            stencil: GridStencil::distributed(parallel, decomposition.clone(), Kind::Standard),
            layout: Layout::grid(parallel, decomposition),
        }
    }

    /// The operator `kind` on `decomposition`'s grid. Collective.
    pub fn of_kind(
        parallel: &Parallel,
        decomposition: Decomposition,
        kind: Kind,
    ) -> StencilOperator {
        StencilOperator {
            stencil: GridStencil::distributed(parallel, decomposition.clone(), kind),
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
            stencil: GridStencil::distributed(parallel, decomposition.clone(), Kind::Standard)
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
        Some(self.stencil.diagonal())
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

    fn grid_stencil(&self) -> Option<&GridStencil> {
        Some(&self.stencil)
    }

    fn bytes(&self) -> f64 {
        // read x, write the ghosted copy, read it, write y
        32.0 * self.stencil.len() as f64
    }

    fn exchange_time(&self) -> Duration {
        self.stencil.exchange_time()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::geometry::Grid;

    /// The dense matrix of `stencil` by applying it to each unit vector.
    fn applied(stencil: &mut GridStencil) -> Vec<Vec<f64>> {
        let n = stencil.len();
        let mut columns = Vec::new();
        let mut e = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            let mut y = vec![0.0; n];
            stencil.apply(&e, &mut y);
            e[j] = 0.0;
            columns.push(y);
        }
        // rows
        (0..n)
            .map(|i| (0..n).map(|j| columns[j][i]).collect())
            .collect()
    }

    /// The dense matrix from the formulas, written independently of the kernels.
    fn reference(
        shape: [usize; 3],
        entry: impl Fn([usize; 3], [usize; 3]) -> f64,
    ) -> Vec<Vec<f64>> {
        let points: Vec<[usize; 3]> = (0..shape[0])
            .flat_map(|i| (0..shape[1]).flat_map(move |j| (0..shape[2]).map(move |k| [i, j, k])))
            .collect();
        points
            .iter()
            .map(|&p| points.iter().map(|&q| entry(p, q)).collect())
            .collect()
    }

    fn whole(shape: [usize; 3], kind: Kind) -> GridStencil {
        let grid = Grid::new(&shape, &[false; 3]).unwrap();
        GridStencil::whole(&Decomposition::new(grid, 1, None).unwrap(), kind)
    }

    fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>], what: &str) {
        for (i, (ra, rb)) in a.iter().zip(b).enumerate() {
            for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-14,
                    "{what}: entry ({i}, {j}) is {x}, reference {y}"
                );
            }
        }
    }

    /// The block of a whole-grid stencil is the whole matrix: as assembled by apply.
    fn assert_block_matches(stencil: &GridStencil, dense: &[Vec<f64>], what: &str) {
        let block = stencil.local_block();
        for (i, row) in dense.iter().enumerate() {
            let mut from_block = vec![0.0; row.len()];
            for k in block.row_ptr[i]..block.row_ptr[i + 1] {
                from_block[block.cols[k]] = block.values[k];
            }
            assert_close(
                &[from_block],
                std::slice::from_ref(row),
                &format!("{what} block row {i}"),
            );
            let cols = &block.cols[block.row_ptr[i]..block.row_ptr[i + 1]];
            assert!(
                cols.windows(2).all(|w| w[0] < w[1]),
                "{what}: columns unsorted"
            );
        }
    }

    #[test]
    fn the_seven_point_operator_is_its_formula() {
        let shape = [3, 4, 5];
        let mut s = whole(shape, Kind::Standard);
        let dense = applied(&mut s);
        let want = reference(shape, |p, q| {
            let d: usize = (0..3).map(|a| p[a].abs_diff(q[a])).sum();
            match d {
                0 => 6.0,
                1 => -1.0,
                _ => 0.0,
            }
        });
        assert_close(&dense, &want, "7-point");
        assert_block_matches(&s, &dense, "7-point");
    }

    #[test]
    fn the_27_point_operator_is_its_formula_and_symmetric() {
        let shape = [4, 3, 5];
        let mut s = whole(shape, Kind::Compact);
        let dense = applied(&mut s);
        let want = reference(shape, |p, q| {
            if (0..3).any(|a| p[a].abs_diff(q[a]) > 1) {
                return 0.0;
            }
            match (0..3).filter(|&a| p[a] != q[a]).count() {
                0 => 128.0 / 30.0,
                1 => -14.0 / 30.0,
                2 => -3.0 / 30.0,
                _ => -1.0 / 30.0,
            }
        });
        assert_close(&dense, &want, "27-point");
        assert_block_matches(&s, &dense, "27-point");
        assert_eq!(s.diagonal()[0], 128.0 / 30.0);
    }

    #[test]
    fn the_variable_coefficient_operator_is_its_formula_and_symmetric() {
        let shape = [3, 4, 3];
        let k = |x: [f64; 3]| 1.0 + x[0] + 2.0 * x[1] * x[1] + x[2];
        let mut s = whole(shape, Kind::Variable(std::sync::Arc::new(k)));
        let dense = applied(&mut s);
        let h: [f64; 3] = std::array::from_fn(|a| 1.0 / (shape[a] + 1) as f64);
        let x = |p: [usize; 3]| -> [f64; 3] { std::array::from_fn(|a| (p[a] + 1) as f64 * h[a]) };
        // k at the midpoint of the edge from p along axis a, direction s
        let edge = |p: [usize; 3], a: usize, s: f64| {
            let mut m = x(p);
            m[a] += s * 0.5 * h[a];
            k(m)
        };
        let want = reference(shape, |p, q| {
            let d: Vec<usize> = (0..3).filter(|&a| p[a] != q[a]).collect();
            if p == q {
                (0..3).map(|a| edge(p, a, -1.0) + edge(p, a, 1.0)).sum()
            } else if d.len() == 1 && p[d[0]].abs_diff(q[d[0]]) == 1 {
                let a = d[0];
                -edge(p, a, if q[a] > p[a] { 1.0 } else { -1.0 })
            } else {
                0.0
            }
        });
        assert_close(&dense, &want, "-div(k grad u)");
        assert_block_matches(&s, &dense, "-div(k grad u)");
        for (i, row) in dense.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert_eq!(*v, dense[j][i], "not symmetric at ({i}, {j})");
            }
        }
    }

    #[test]
    fn convection_adds_central_differences() {
        let shape = [3, 3, 4];
        let grid = Grid::new(&shape, &[false; 3]).unwrap();
        let d = Decomposition::new(grid, 1, None).unwrap();
        let h = 0.25;
        let mut s = GridStencil::whole(&d, Kind::Standard).with_convection([4.0, 2.0, 1.0], h);
        let dense = applied(&mut s);
        let c = [4.0 * h / 2.0, 2.0 * h / 2.0, h / 2.0];
        let want = reference(shape, |p, q| {
            let d: Vec<usize> = (0..3).filter(|&a| p[a] != q[a]).collect();
            if p == q {
                6.0
            } else if d.len() == 1 && p[d[0]].abs_diff(q[d[0]]) == 1 {
                let a = d[0];
                if q[a] > p[a] {
                    -1.0 + c[a]
                } else {
                    -1.0 - c[a]
                }
            } else {
                0.0
            }
        });
        assert_close(&dense, &want, "convection-diffusion");
        assert_block_matches(&s, &dense, "convection-diffusion");
        assert!(!s.is_symmetric());
    }
}
