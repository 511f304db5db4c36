//! Distributed matrix products by SUMMA (van de Geijn and Watts, 1997):
//! `C = alpha A B + beta C` on a 2D process grid.
//!
//! For each block column `k` of `A` (block row `k` of `B`): the process column holding
//! it broadcasts its piece of the panel along each process row, the process row holding
//! `B`'s panel broadcasts along each process column, and every rank adds
//! `alpha A_panel B_panel` to its block of `C` by BLAS `dgemm` (ndarray's `general_mat_mul`
//! on OpenBLAS). Each rank's local product sums over `k` in panel order; within a panel
//! the BLAS's own blocking orders the sums, so results agree with one rank's to rounding,
//! not bitwise.

use super::matrix::DistMatrix;
use crate::error::{Error, Result};
use crate::parallel::ProcessGrid2d;
use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2};

/// Whether `A (m x k)`, `B (k x n)` and `C (m x n)` conform in shape and layout: `C`'s
/// rows laid out as `A`'s, its columns as `B`'s, `A`'s column blocks the size of `B`'s
/// row blocks, all on `grid`.
pub fn check_conformal(
    grid: &ProcessGrid2d,
    a: &DistMatrix,
    b: &DistMatrix,
    c: &DistMatrix,
) -> Result<()> {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    if k != k2 || c.shape() != (m, n) {
        return Err(Error::value(
            "shapes",
            format!(
                "A is {m}x{k}, B is {k2}x{n}, C is {}x{}: they do not conform for C = A B",
                c.rows.len, c.cols.len
            ),
        ));
    }
    let on_grid = |x: &DistMatrix| x.rows.procs == grid.rows && x.cols.procs == grid.cols;
    if !(on_grid(a) && on_grid(b) && on_grid(c)) {
        return Err(Error::value(
            "procs",
            format!(
                "the matrices are not laid out on this {}x{} process grid",
                grid.rows, grid.cols
            ),
        ));
    }
    if a.rows != c.rows || b.cols != c.cols || a.cols.block != b.rows.block {
        return Err(Error::value(
            "block",
            "the block sizes of A, B and C do not match (C's rows as A's, C's columns as B's, A's column blocks as B's row blocks)",
        ));
    }
    Ok(())
}

/// `C = alpha A B + beta C`. Collective over the grid.
pub fn summa(
    grid: &ProcessGrid2d,
    alpha: f64,
    a: &DistMatrix,
    b: &DistMatrix,
    beta: f64,
    c: &mut DistMatrix,
) -> Result<()> {
    check_conformal(grid, a, b, c)?;
    if beta != 1.0 {
        c.local.mapv_inplace(|x| beta * x);
    }
    let (mr, nc) = c.local.dim();
    let kdim = a.cols;
    for kb in 0..kdim.blocks() {
        let range = kdim.block_range(kb);
        let w = range.len();
        let acol = kdim.owner(range.start);
        let brow = b.rows.owner(range.start);
        let mut apanel = Array2::zeros((mr, w));
        if grid.col == acol {
            let l = kdim.local(range.start);
            apanel.assign(&a.local.slice(s![.., l..l + w]));
        }
        let mut bpanel = Array2::zeros((w, nc));
        if grid.row == brow {
            let l = b.rows.local(range.start);
            bpanel.assign(&b.local.slice(s![l..l + w, ..]));
        }
        if grid.cols > 1 {
            grid.row_comm
                .broadcast(acol, apanel.as_slice_mut().expect("contiguous"));
        }
        if grid.rows > 1 {
            grid.col_comm
                .broadcast(brow, bpanel.as_slice_mut().expect("contiguous"));
        }
        general_mat_mul(alpha, &apanel, &bpanel, 1.0, &mut c.local);
    }
    Ok(())
}
