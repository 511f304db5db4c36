//! Distributed vectors: each rank holds its owned entries as one contiguous `[f64]` (a
//! grid block's owned cells in row-major order, or a range of rows); a [`Layout`] says
//! which, and computes the reductions. Updates (`axpy`, `scale`, ...) are plain functions
//! on the local slices: they are pointwise, so need no communication.
//!
//! Dot products and norms are reproducible: every rank sums its products into a
//! [`BinnedSum`], and the partial sums are merged exactly ([`Comm::sum_binned`]), so the
//! result has the same bits on any rank count. It costs ~1.4x a plain vectorised dot on
//! vectors that do not fit in cache (`scripts/bench-solve.sh`, `solve --bench-dot`).

use crate::grid::geometry::{Decomposition, IndexBox};
use crate::parallel::{BinnedSum, Comm, Parallel};

/// How a distributed vector is split over ranks.
#[derive(Clone, Debug)]
pub enum Split {
    /// This rank's block of a grid decomposition (owned cells, row-major).
    Grid(Decomposition),
    /// Rows `start .. start + len` of `global`.
    Rows { start: u64, global: u64 },
}

/// The distribution of a family of vectors, and their reductions.
pub struct Layout {
    comm: Comm,
    split: Split,
    local: usize,
    global: u64,
}

impl Layout {
    /// Vectors on this rank's block of `decomposition`. Collective.
    pub fn grid(parallel: &Parallel, decomposition: Decomposition) -> Layout {
        let owned = decomposition.owned(parallel.rank());
        let global = decomposition.grid().cells() as u64;
        Layout {
            comm: parallel.duplicate(),
            local: owned.len(),
            split: Split::Grid(decomposition),
            global,
        }
    }

    /// Vectors of `global` rows of which this rank holds `start .. start + len`.
    /// Collective.
    pub fn rows(comm: &Comm, start: u64, len: usize, global: u64) -> Layout {
        Layout {
            comm: comm.duplicate(),
            local: len,
            split: Split::Rows { start, global },
            global,
        }
    }

    pub fn comm(&self) -> &Comm {
        &self.comm
    }

    pub fn split(&self) -> &Split {
        &self.split
    }

    /// Entries on this rank.
    pub fn local_len(&self) -> usize {
        self.local
    }

    /// Entries in all.
    pub fn global_len(&self) -> u64 {
        self.global
    }

    /// This rank's block of the grid (grid layouts).
    pub fn owned_box(&self) -> Option<IndexBox> {
        match &self.split {
            Split::Grid(d) => Some(d.owned(self.comm.rank())),
            Split::Rows { .. } => None,
        }
    }

    /// A vector of zeros (this rank's part).
    pub fn zeros(&self) -> Vec<f64> {
        vec![0.0; self.local]
    }

    /// `x . y`, reproducibly. Collective.
    pub fn dot(&self, x: &[f64], y: &[f64]) -> f64 {
        self.dots(&[(x, y)])[0]
    }

    /// Several dot products in one collective.
    pub fn dots(&self, pairs: &[(&[f64], &[f64])]) -> Vec<f64> {
        let sums: Vec<BinnedSum> = pairs
            .iter()
            .map(|(x, y)| {
                let mut s = BinnedSum::new();
                s.add_products(x, y);
                s
            })
            .collect();
        self.comm.sum_binned(&sums)
    }

    /// `||x||_2`, reproducibly. Collective.
    pub fn norm(&self, x: &[f64]) -> f64 {
        self.dot(x, x).sqrt()
    }

    /// `max_i |x_i|` (exact, so reproducible). Collective.
    pub fn norm_max(&self, x: &[f64]) -> f64 {
        let local = x.iter().fold(0.0f64, |m, v| {
            if v.abs() > m || v.is_nan() {
                v.abs()
            } else {
                m
            }
        });
        self.comm.max(local)
    }
}

/// `y += a x`.
pub fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `y = x + a y`.
pub fn aypx(y: &mut [f64], a: f64, x: &[f64]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = x + a * *y;
    }
}

/// `x *= a`.
pub fn scale(x: &mut [f64], a: f64) {
    for v in x {
        *v *= a;
    }
}

/// `w = x - y`.
pub fn difference(w: &mut [f64], x: &[f64], y: &[f64]) {
    for ((w, x), y) in w.iter_mut().zip(x).zip(y) {
        *w = x - y;
    }
}

/// The plain, non-reproducible dot product of the local parts: what a library without
/// reproducibility does before its `MPI_Allreduce`. Vectorised with independent partial
/// sums, so it runs at memory speed; for benchmarks of what reproducibility costs.
pub fn plain_local_dot(x: &[f64], y: &[f64]) -> f64 {
    #[inline(always)]
    fn body(x: &[f64], y: &[f64]) -> f64 {
        let mut acc = [0.0f64; 32];
        let (xc, yc) = (x.chunks_exact(32), y.chunks_exact(32));
        let tail: f64 = xc
            .remainder()
            .iter()
            .zip(yc.remainder())
            .map(|(a, b)| a * b)
            .sum();
        for (a, b) in xc.zip(yc) {
            for l in 0..32 {
                acc[l] += a[l] * b[l];
            }
        }
        acc.iter().sum::<f64>() + tail
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        unsafe fn avx512(x: &[f64], y: &[f64]) -> f64 {
            body(x, y)
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F.
            return unsafe { avx512(x, y) };
        }
    }
    body(x, y)
}
