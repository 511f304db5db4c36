//! Distributed dense matrices in HDF5: a 2-D `f64` dataset (row-major, as h5py and
//! h5dump show it) read and written collectively. On disk a matrix has no layout: each
//! rank moves a contiguous band of rows (one hyperslab, rows split evenly over all ranks)
//! and the band is redistributed from or to the matrix's block-cyclic layout by one
//! all-to-all. Values pass unchanged, so a matrix written on one rank count and read on
//! another holds the same bits.

use super::layout::Cyclic;
use super::matrix::DistMatrix;
use crate::error::{Error, Result};
use crate::io::checkpoint::Writer;
use crate::io::hdf5::{self as h5, Block};
use crate::parallel::{Parallel, ProcessGrid2d};
use ndarray::Array2;

/// The row bands of an `m x n` matrix over the grid's ranks (a `P x 1` grid, one block of
/// rows each) and this rank's first row in them.
fn row_bands(grid: &ProcessGrid2d, m: usize, n: usize) -> (Cyclic, Cyclic, usize) {
    let p = grid.all.size();
    let rows = Cyclic::blocked(m, p);
    let first = (grid.all.rank() * rows.block).min(m);
    (rows, Cyclic::new(n, n.max(1), 1), first)
}

/// Writes `matrix` as dataset `path` (`GROUP/NAME`) of the file `writer` is filling.
/// Collective over the grid.
pub fn write(
    writer: &mut Writer,
    path: &str,
    grid: &ProcessGrid2d,
    matrix: &DistMatrix,
) -> Result<()> {
    let (m, n) = matrix.shape();
    if writer.is_dry_run() {
        // only the dataset's shape counts: no redistribution
        return writer.dataset::<f64>(path, &Block::rows(m, 0, 0, n), &[]);
    }
    let (rows, cols, first) = row_bands(grid, m, n);
    let band = matrix.redistribute(&grid.all, rows, cols, false);
    let block = Block::rows(m, first, band.local.nrows(), n);
    writer.dataset(path, &block, band.local.as_slice().expect("row-major"))
}

/// Reads the 2-D `f64` dataset `dset` into the layout `rows x cols` on the grid (their
/// lengths the dataset's shape: the caller checks it). A read that fails on any rank is an
/// error on all, naming `what` (the file). Collective over the grid.
pub fn read(
    parallel: &Parallel,
    dset: &hdf5::Dataset,
    what: &std::path::Path,
    grid: &ProcessGrid2d,
    rows: Cyclic,
    cols: Cyclic,
) -> Result<DistMatrix> {
    let (m, n) = (rows.len, cols.len);
    let (band_rows, band_cols, first) = row_bands(grid, m, n);
    let count = band_rows.count(grid.all.rank());
    let mut data = vec![0.0f64; count * n];
    let read = h5::read_block(dset, &Block::rows(m, first, count, n), &mut data);
    parallel.agree(read.map_err(|e| {
        Error::input(
            what,
            0,
            format!("dataset {} cannot be read ({e})", dset.name()),
        )
    }))?;
    let band = DistMatrix {
        rows: band_rows,
        cols: band_cols,
        prow: grid.all.rank(),
        pcol: 0,
        local: Array2::from_shape_vec((count, n), data).expect("count x n"),
    };
    Ok(band.redistribute(&grid.all, rows, cols, false))
}
