//! Block Jacobi: each rank preconditions with an incomplete factorisation of its own
//! diagonal block (its rows and the columns it owns), ignoring the couplings to other
//! ranks. The factorisation is ILU(0): `A_rr ~ L U` with the sparsity of `A_rr` (no
//! fill-in), computed row by row (the IKJ variant); for a symmetric block it is IC(0)
//! (`U = D L^T`) in exact arithmetic, so the preconditioner is symmetric, as CG needs.
//!
//! THE RESULT DEPENDS ON THE PARTITION: the blocks are the ranks' rows, so the iterates,
//! and the iteration count, change with the rank count (the only preconditioner here that
//! is not rank-count independent; the tests compare it with stated tolerances).

use super::Setup;
use crate::error::{Error, Result};
use crate::linalg::operator::{LocalMatrix, Preconditioner};

pub struct BlockJacobi {
    /// `L` (unit diagonal, not stored) and `U` in the sparsity of the block.
    lu: LocalMatrix,
    /// Position of the diagonal entry in each row.
    diagonal: Vec<usize>,
}

impl BlockJacobi {
    /// ILU(0) of the operator's block on this rank (the registry agrees on errors).
    pub fn build(setup: &Setup) -> Result<Box<dyn Preconditioner>> {
        let (lu, diagonal) = match setup.op.local_block() {
            None => Err(Error::value("pc", "bjacobi: the operator does not provide its blocks")),
            Some(block) => factor(block).map_err(|row| {
                Error::value(
                    "pc",
                    format!(
                        "bjacobi: ILU(0) meets a zero pivot in row {} of rank {}'s block (the matrix is singular or needs pivoting)",
                        row + 1,
                        setup.parallel.rank()
                    ),
                )
            }),
        }?;
        Ok(Box::new(BlockJacobi { lu, diagonal }))
    }
}

/// ILU(0) in place; `Err(row)` at a zero (or missing) pivot.
fn factor(mut a: LocalMatrix) -> std::result::Result<(LocalMatrix, Vec<usize>), usize> {
    let n = a.rows();
    let mut diagonal = vec![usize::MAX; n];
    for (i, d) in diagonal.iter_mut().enumerate() {
        if let Some(k) = (a.row_ptr[i]..a.row_ptr[i + 1]).find(|&k| a.cols[k] == i) {
            *d = k;
        }
    }
    // position of each column in the current row (usize::MAX: not in the pattern)
    let mut at = vec![usize::MAX; n];
    for i in 0..n {
        if diagonal[i] == usize::MAX {
            return Err(i);
        }
        let row = a.row_ptr[i]..a.row_ptr[i + 1];
        for k in row.clone() {
            at[a.cols[k]] = k;
        }
        for p in a.row_ptr[i]..diagonal[i] {
            let k = a.cols[p];
            let pivot = a.values[diagonal[k]];
            if pivot == 0.0 || !pivot.is_finite() {
                return Err(k);
            }
            let factor = a.values[p] / pivot;
            a.values[p] = factor;
            for q in diagonal[k] + 1..a.row_ptr[k + 1] {
                let slot = at[a.cols[q]];
                if slot != usize::MAX {
                    a.values[slot] -= factor * a.values[q];
                }
            }
        }
        for k in row {
            at[a.cols[k]] = usize::MAX;
        }
        if a.values[diagonal[i]] == 0.0 || !a.values[diagonal[i]].is_finite() {
            return Err(i);
        }
    }
    Ok((a, diagonal))
}

impl Preconditioner for BlockJacobi {
    fn name(&self) -> &'static str {
        "bjacobi"
    }

    fn describe(&self) -> String {
        "block Jacobi, ILU(0) of each rank's block".into()
    }

    fn depends_on_partition(&self) -> bool {
        true
    }

    fn apply(&mut self, r: &[f64], z: &mut [f64]) {
        let (a, d) = (&self.lu, &self.diagonal);
        let n = a.rows();
        // L y = r (unit diagonal), then U z = y
        for i in 0..n {
            let mut s = r[i];
            for k in a.row_ptr[i]..d[i] {
                s -= a.values[k] * z[a.cols[k]];
            }
            z[i] = s;
        }
        for i in (0..n).rev() {
            let mut s = z[i];
            for k in d[i] + 1..a.row_ptr[i + 1] {
                s -= a.values[k] * z[a.cols[k]];
            }
            z[i] = s / a.values[d[i]];
        }
    }

    fn cost(&self) -> Option<(f64, f64)> {
        let nnz = self.lu.values.len() as f64;
        Some((2.0 * nnz, 12.0 * nnz + 24.0 * self.lu.rows() as f64))
    }
}
