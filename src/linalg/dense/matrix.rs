//! A dense matrix distributed block-cyclically over a 2D process grid ([`Cyclic`] per
//! dimension): each rank holds its blocks as one row-major local array.

use super::layout::Cyclic;
use crate::parallel::{Comm, ProcessGrid2d};
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

    /// The same matrix (or its transpose, with `transpose`) laid out by `rows` and `cols`
    /// on the process grid `rows.procs x cols.procs` of `comm`'s ranks, numbered row by
    /// row (rank `r` is process `(r / cols.procs, r % cols.procs)`, as
    /// [`Comm::process_grid_2d`] makes them), which may differ from this matrix's grid.
    /// Every value moves by one all-to-all ([`Comm::route`]), unchanged: the result holds the same bits.
    /// Collective over `comm`, whose ranks must be this matrix's grid numbered the same way.
    pub fn redistribute(
        &self,
        comm: &Comm,
        rows: Cyclic,
        cols: Cyclic,
        transpose: bool,
    ) -> DistMatrix {
        let (m, n) = self.shape();
        let want = if transpose { (n, m) } else { (m, n) };
        assert_eq!((rows.len, cols.len), want, "the target layout's shape");
        assert_eq!(
            rows.procs * cols.procs,
            comm.size(),
            "the target grid's size"
        );
        assert_eq!(
            self.rows.procs * self.cols.procs,
            comm.size(),
            "this grid's size"
        );
        let me = comm.rank();
        assert_eq!(
            (self.prow, self.pcol),
            (me / self.cols.procs, me % self.cols.procs),
            "comm numbers this matrix's grid row by row"
        );
        let (prow, pcol) = (me / cols.procs, me % cols.procs);
        // the target dimensions this matrix's rows and columns become
        let (row_dest, col_dest) = if transpose {
            (cols, rows)
        } else {
            (rows, cols)
        };
        // which of source process (sr, sc)'s local rows and columns go to target process
        // row / column t: the lists both ends compute, in the source's local order
        let selection = |sr: usize, sc: usize| {
            let mut by_row = vec![Vec::new(); row_dest.procs];
            for li in 0..self.rows.count(sr) {
                by_row[row_dest.owner(self.rows.global(sr, li))].push(li);
            }
            let mut by_col = vec![Vec::new(); col_dest.procs];
            for lj in 0..self.cols.count(sc) {
                by_col[col_dest.owner(self.cols.global(sc, lj))].push(lj);
            }
            (by_row, by_col)
        };
        // target process (tr, tc) takes source rows keyed by its row (columns when
        // transposed) and source columns keyed by its column (rows when transposed)
        let keys = |tr: usize, tc: usize| if transpose { (tc, tr) } else { (tr, tc) };
        let (my_rows, my_cols) = selection(self.prow, self.pcol);
        let send: Vec<Vec<f64>> = (0..comm.size())
            .map(|d| {
                let (kr, kc) = keys(d / cols.procs, d % cols.procs);
                let mut msg = Vec::with_capacity(my_rows[kr].len() * my_cols[kc].len());
                for &li in &my_rows[kr] {
                    let row = self.local.row(li);
                    msg.extend(my_cols[kc].iter().map(|&lj| row[lj]));
                }
                msg
            })
            .collect();
        // every message's length is known to both ends: walk the received values in
        // rank order
        let received = comm.route(&send, 1);
        let mut values = received.iter();
        let mut local = Array2::zeros((rows.count(prow), cols.count(pcol)));
        let (kr, kc) = keys(prow, pcol);
        for s in 0..comm.size() {
            let (sr, sc) = (s / self.cols.procs, s % self.cols.procs);
            let (their_rows, their_cols) = selection(sr, sc);
            for &li in &their_rows[kr] {
                let gi = self.rows.global(sr, li);
                for &lj in &their_cols[kc] {
                    let gj = self.cols.global(sc, lj);
                    let (ti, tj) = if transpose { (gj, gi) } else { (gi, gj) };
                    local[[rows.local(ti), cols.local(tj)]] =
                        *values.next().expect("the agreed message lengths");
                }
            }
        }
        assert!(values.next().is_none(), "the agreed message lengths");
        DistMatrix {
            rows,
            cols,
            prow,
            pcol,
            local,
        }
    }
}
