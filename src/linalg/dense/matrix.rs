//! A dense matrix distributed block-cyclically over a 2D process grid ([`Cyclic`] per
//! dimension): each rank holds its blocks as one row-major local array.

use super::layout::Cyclic;
use crate::parallel::ProcessGrid2d;
use ndarray::Array2;

/// This rank's part of an `m x n` matrix.
#[derive(Clone, Debug)]
pub struct DistMatrix {
    pub rows: Cyclic,
    pub cols: Cyclic,
    /// This rank's process row and column.
    pub prow: usize,
    pub pcol: usize,
    /// The local blocks, `rows.count(prow) x cols.count(pcol)`, row-major.
    pub local: Array2<f64>,
}

impl DistMatrix {
    /// The matrix with entries `f(i, j)` (global indices), each rank computing its own.
    pub fn from_fn(
        grid: &ProcessGrid2d,
        rows: Cyclic,
        cols: Cyclic,
        f: impl Fn(usize, usize) -> f64,
    ) -> DistMatrix {
        assert!(rows.procs == grid.rows && cols.procs == grid.cols);
        let (mr, nc) = (rows.count(grid.row), cols.count(grid.col));
        let local = Array2::from_shape_fn((mr, nc), |(li, lj)| {
            f(rows.global(grid.row, li), cols.global(grid.col, lj))
        });
        DistMatrix {
            rows,
            cols,
            prow: grid.row,
            pcol: grid.col,
            local,
        }
    }

    pub fn zeros(grid: &ProcessGrid2d, rows: Cyclic, cols: Cyclic) -> DistMatrix {
        DistMatrix::from_fn(grid, rows, cols, |_, _| 0.0)
    }

    /// `(m, n)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows.len, self.cols.len)
    }

    /// `M v` for a vector `v` of length `n` held whole by every rank; the result, length
    /// `m`, whole on every rank. Collective over the grid. (For checks: O(m + n) memory.)
    pub fn times_vector(&self, grid: &ProcessGrid2d, v: &[f64]) -> Vec<f64> {
        assert_eq!(v.len(), self.cols.len);
        let mine: Vec<f64> = (0..self.local.ncols())
            .map(|lj| v[self.cols.global(self.pcol, lj)])
            .collect();
        let mut y = vec![0.0; self.rows.len];
        for (li, row) in self.local.rows().into_iter().enumerate() {
            y[self.rows.global(self.prow, li)] = row.iter().zip(&mine).map(|(a, b)| a * b).sum();
        }
        let y = grid.row_comm.sum_each(&y);
        grid.col_comm.sum_each(&y)
    }

    /// `|M| v` (entrywise absolute values), as [`DistMatrix::times_vector`].
    pub fn abs_times_vector(&self, grid: &ProcessGrid2d, v: &[f64]) -> Vec<f64> {
        let abs = DistMatrix {
            local: self.local.mapv(f64::abs),
            ..self.clone()
        };
        abs.times_vector(grid, v)
    }

    /// The whole matrix on every rank (for tests and small matrices). Collective.
    pub fn gather(&self, grid: &ProcessGrid2d) -> Array2<f64> {
        let (m, n) = self.shape();
        let mut full = vec![0.0; m * n];
        for ((li, lj), &x) in self.local.indexed_iter() {
            full[self.rows.global(self.prow, li) * n + self.cols.global(self.pcol, lj)] = x;
        }
        // one rank holds each entry, the others add zeros: exact
        let full = grid.row_comm.sum_each(&full);
        let full = grid.col_comm.sum_each(&full);
        Array2::from_shape_vec((m, n), full).expect("m x n values")
    }
}
