//! Distributed matrix products by SUMMA (van de Geijn and Watts, 1997):
//! `C = alpha op(A) op(B) + beta C` on a 2D process grid, `op` the identity or the
//! transpose.
//!
//! The `k` dimension is walked in panels (at most [`PANEL`] wide, never across a block
//! boundary; on one rank, whole blocks): for each, the process column holding `op(A)`'s panel broadcasts its piece
//! along each process row, the process row holding `op(B)`'s panel broadcasts along each
//! process column, and every rank adds `alpha A_panel B_panel` to its block of `C` by
//! BLAS `dgemm` (ndarray's `general_mat_mul` on OpenBLAS). The next panel's broadcasts
//! are in flight (`MPI_Ibcast`) while the current panel is multiplied; the product runs
//! in column strips with an `MPI_Test` between them so that MPI moves the data meanwhile.
//! A process row or column of one rank needs no broadcast: the panel is read in place.
//!
//! A transposed operand is first redistributed as its transpose
//! ([`DistMatrix::redistribute`], one all-to-all) into the layout the product needs.
//!
//! Each rank's local product sums over `k` in panel order; within a panel the BLAS's own
//! blocking orders the sums, so results agree with one rank's to rounding, not bitwise.

use super::layout::Cyclic;
use super::matrix::DistMatrix;
use crate::error::{Error, Result};
use crate::parallel::{PendingBroadcast, ProcessGrid2d};
use ndarray::linalg::general_mat_mul;
use ndarray::{s, ArrayView2};
use std::time::Instant;

/// The widest panel of `k` broadcast and multiplied at once.
pub const PANEL: usize = 512;

/// Column strips of `C` per panel product while a broadcast is in flight (an `MPI_Test`
/// between strips).
const STRIPS: usize = 4;

/// An operand as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Plain,
    Transposed,
}

/// Where one rank's time went in a product (seconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaTimes {
    /// Redistributing transposed operands.
    pub redistribute: f64,
    /// Waiting for panels to arrive (broadcast time not hidden behind products).
    pub wait: f64,
    /// Packing panels and the local `dgemm`s.
    pub multiply: f64,
}

/// Whether the (transposed as needed) operands' layouts fit the product: `C`'s rows laid
/// out as `A`'s, its columns as `B`'s, `A`'s column blocks the size of `B`'s row blocks.
fn check_blocks(a: &DistMatrix, b: &DistMatrix, c: &DistMatrix) -> Result<()> {
    if a.rows != c.rows || b.cols != c.cols || a.cols.block != b.rows.block {
        return Err(Error::value(
            "block",
            "the block sizes of A, B and C do not match (C's rows as A's, C's columns as B's, A's column blocks as B's row blocks)",
        ));
    }
    Ok(())
}

/// Whether every matrix is laid out on `grid` (its shape, and this rank's place in it).
fn check_on_grid(grid: &ProcessGrid2d, matrices: &[&DistMatrix]) -> Result<()> {
    let on_grid = |x: &DistMatrix| {
        (x.rows.procs, x.cols.procs, x.prow, x.pcol) == (grid.rows, grid.cols, grid.row, grid.col)
    };
    if matrices.iter().all(|x| on_grid(x)) {
        Ok(())
    } else {
        Err(Error::value(
            "procs",
            format!(
                "the matrices are not laid out on this {}x{} process grid",
                grid.rows, grid.cols
            ),
        ))
    }
}

/// `C = alpha op(A) op(B) + beta C` (`beta = 0` sets `C` without reading it, as BLAS
/// does). Collective over the grid; returns this rank's time split.
#[allow(clippy::too_many_arguments)]
pub fn summa(
    grid: &ProcessGrid2d,
    alpha: f64,
    op_a: Op,
    a: &DistMatrix,
    op_b: Op,
    b: &DistMatrix,
    beta: f64,
    c: &mut DistMatrix,
) -> Result<SummaTimes> {
    let mut times = SummaTimes::default();
    let dims = |x: &DistMatrix, op: Op| match op {
        Op::Plain => x.shape(),
        Op::Transposed => (x.shape().1, x.shape().0),
    };
    let ((m, k), (k2, n)) = (dims(a, op_a), dims(b, op_b));
    if k != k2 || c.shape() != (m, n) {
        return Err(Error::value(
            "shapes",
            format!(
                "op(A) is {m}x{k}, op(B) is {k2}x{n}, C is {}x{}: they do not conform for C = op(A) op(B)",
                c.rows.len, c.cols.len
            ),
        ));
    }
    // the k dimension's blocks: a plain operand's, else A's rows (A^T's columns)
    let kblock = match (op_a, op_b) {
        (Op::Plain, _) => a.cols.block,
        (Op::Transposed, Op::Plain) => b.rows.block,
        (Op::Transposed, Op::Transposed) => a.rows.block,
    };
    check_on_grid(grid, &[a, b, c])?;
    let clock = Instant::now();
    let a_t;
    let a = match op_a {
        Op::Plain => a,
        Op::Transposed => {
            a_t = a.redistribute(&grid.all, c.rows, Cyclic::new(k, kblock, grid.cols), true);
            &a_t
        }
    };
    let b_t;
    let b = match op_b {
        Op::Plain => b,
        Op::Transposed => {
            b_t = b.redistribute(&grid.all, Cyclic::new(k, kblock, grid.rows), c.cols, true);
            &b_t
        }
    };
    times.redistribute = clock.elapsed().as_secs_f64();
    check_blocks(a, b, c)?;
    if beta == 0.0 {
        c.local.fill(0.0);
    } else if beta != 1.0 {
        c.local.mapv_inplace(|x| beta * x);
    }
    // the panels: pieces of at most PANEL within each k block; on one rank nothing is
    // broadcast and a whole block is one dgemm (fewer passes over C)
    let width = if grid.rows * grid.cols == 1 {
        a.cols.block
    } else {
        PANEL
    };
    let panels: Vec<std::ops::Range<usize>> = (0..a.cols.blocks())
        .flat_map(|kb| {
            let r = a.cols.block_range(kb);
            (r.start..r.end)
                .step_by(width)
                .map(move |s| s..(s + width).min(r.end))
        })
        .collect();
    let mut pool: Vec<Vec<f64>> = Vec::new();
    let mut pending = panels
        .first()
        .map(|p| start_panel(grid, a, b, p, &mut pool));
    for (i, panel) in panels.iter().enumerate() {
        let clock = Instant::now();
        let (a_buf, b_buf) = pending.take().expect("a panel in flight").wait();
        times.wait += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let mut next = panels
            .get(i + 1)
            .map(|p| start_panel(grid, a, b, p, &mut pool));
        let w = panel.len();
        let (mr, nc) = c.local.dim();
        let a_panel = match &a_buf {
            Some(buf) => ArrayView2::from_shape((mr, w), buf).expect("mr x w"),
            None => {
                let l = a.cols.local(panel.start);
                a.local.slice(s![.., l..l + w])
            }
        };
        let b_panel = match &b_buf {
            Some(buf) => ArrayView2::from_shape((w, nc), buf).expect("w x nc"),
            None => {
                let l = b.rows.local(panel.start);
                b.local.slice(s![l..l + w, ..])
            }
        };
        // strips only while a broadcast is in flight (MPI needs the calls to progress it)
        let in_flight = next
            .as_ref()
            .is_some_and(|p| p.a.is_some() || p.b.is_some());
        let strips = if in_flight { STRIPS } else { 1 };
        let width = nc.div_ceil(strips).max(1);
        for j in (0..nc).step_by(width) {
            let cols = j..(j + width).min(nc);
            general_mat_mul(
                alpha,
                &a_panel,
                &b_panel.slice(s![.., cols.clone()]),
                1.0,
                &mut c.local.slice_mut(s![.., cols]),
            );
            if let Some(next) = next.as_mut() {
                next.test();
            }
        }
        pool.extend(a_buf);
        pool.extend(b_buf);
        pending = next;
        times.multiply += clock.elapsed().as_secs_f64();
    }
    Ok(times)
}

/// One panel's broadcasts in flight: `None` where the panel needs none (a process
/// row or column of one rank reads it in place).
struct PanelInFlight {
    a: Option<PendingBroadcast<f64>>,
    b: Option<PendingBroadcast<f64>>,
}

impl PanelInFlight {
    fn wait(self) -> (Option<Vec<f64>>, Option<Vec<f64>>) {
        (self.a.map(|p| p.wait()), self.b.map(|p| p.wait()))
    }

    fn test(&mut self) {
        for p in [&mut self.a, &mut self.b].into_iter().flatten() {
            p.test();
        }
    }
}

/// A buffer of `len` values from `pool` (reused: fresh pages are costly) or new.
fn buffer(pool: &mut Vec<Vec<f64>>, len: usize) -> Vec<f64> {
    let mut buf = pool.pop().unwrap_or_default();
    buf.clear();
    buf.resize(len, 0.0);
    buf
}

/// Starts `panel`'s broadcasts: `A[:, panel]` along process rows from its process column,
/// `B[panel, :]` along process columns from its process row.
fn start_panel(
    grid: &ProcessGrid2d,
    a: &DistMatrix,
    b: &DistMatrix,
    panel: &std::ops::Range<usize>,
    pool: &mut Vec<Vec<f64>>,
) -> PanelInFlight {
    let w = panel.len();
    let a_pending = (grid.cols > 1).then(|| {
        let owner = a.cols.owner(panel.start);
        let mut buf = buffer(pool, a.local.nrows() * w);
        if grid.col == owner {
            let l = a.cols.local(panel.start);
            for (dst, row) in buf
                .chunks_exact_mut(w)
                .zip(a.local.slice(s![.., l..l + w]).rows())
            {
                for (d, x) in dst.iter_mut().zip(row) {
                    *d = *x;
                }
            }
        }
        grid.row_comm.broadcast_start(owner, buf)
    });
    let b_pending = (grid.rows > 1).then(|| {
        let owner = b.rows.owner(panel.start);
        let mut buf = buffer(pool, w * b.local.ncols());
        if grid.row == owner {
            let l = b.rows.local(panel.start);
            let rows = b.local.slice(s![l..l + w, ..]);
            buf.copy_from_slice(rows.as_slice().expect("whole rows are contiguous"));
        }
        grid.col_comm.broadcast_start(owner, buf)
    });
    PanelInFlight {
        a: a_pending,
        b: b_pending,
    }
}
