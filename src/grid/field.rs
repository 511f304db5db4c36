//! A rank's block of a grid field: the owned cells surrounded by ghost layers.
//!
//! Storage is one row-major array (a `Vec`, seen as an `Array3` view) of shape
//! `owned + 2 * ghost` per axis (1D and 2D fields have leading unit axes, see
//! [`crate::grid::geometry`]). Local index `g[a]` on axis `a` is the
//! first owned cell, which is global cell `owned.lo[a]`.

use crate::grid::geometry::{IndexBox, DIMS};
use crate::grid::stencil::Stores;
use crate::io::hdf5::{Block, Element};
use ndarray::{s, ArrayView3, ArrayViewMut3};

/// What a grid cell may hold: a plain value HDF5 can store, with a bit pattern for
/// checksums ([`Element`]), that threads may share.
pub trait Scalar: Element + PartialEq + std::fmt::Debug {}
impl<T: Element + PartialEq + std::fmt::Debug> Scalar for T {}

/// One rank's ghosted block of a field.
#[derive(Clone, Debug)]
pub struct Field<T> {
    /// The cells in row-major order: cell `(i, j, k)` at `(i * shape[1] + j) * shape[2] + k`
    /// (a plain slice, so that a kernel's row costs an index and no layout check).
    data: Vec<T>,
    shape: [usize; DIMS],
    owned: IndexBox,
    ghost: [usize; DIMS],
}

impl<T: Scalar> Field<T> {
    /// A block owning the global cells `owned`, with `ghost[a]` ghost layers on each side of
    /// axis `a`, filled with `T::default()`.
    pub fn new(owned: IndexBox, ghost: [usize; DIMS]) -> Self {
        let shape: [usize; DIMS] = std::array::from_fn(|a| owned.size[a] + 2 * ghost[a]);
        Field {
            data: vec![T::default(); shape.iter().product()],
            shape,
            owned,
            ghost,
        }
    }

    /// The global cells this block owns.
    pub fn owned(&self) -> IndexBox {
        self.owned
    }

    /// Ghost layers per side on each axis.
    pub fn ghost(&self) -> [usize; DIMS] {
        self.ghost
    }

    /// Shape of the local array, ghosts included.
    #[inline(always)]
    pub fn shape(&self) -> [usize; DIMS] {
        self.shape
    }

    /// The owned cells as this rank's block of a dataset of the global grid `shape`
    /// (the active axes, 1 to 3), for collective HDF5 transfers.
    pub fn owned_block(&self, shape: &[usize]) -> Block {
        let off = DIMS - shape.len();
        let owned = self.owned();
        Block {
            global: shape.to_vec(),
            start: owned.lo[off..].to_vec(),
            count: owned.size[off..].to_vec(),
            local: self.shape()[off..].to_vec(),
            local_start: self.ghost()[off..].to_vec(),
        }
    }

    /// The owned cells as a box of LOCAL indices.
    pub fn interior(&self) -> IndexBox {
        IndexBox::new(self.ghost, self.owned.size)
    }

    /// Global index of local cell `local` (negative or past the grid in ghost layers).
    #[inline]
    pub fn global_index(&self, local: [usize; DIMS]) -> [i64; DIMS] {
        std::array::from_fn(|a| local[a] as i64 - self.ghost[a] as i64 + self.owned.lo[a] as i64)
    }

    /// The whole local array, ghosts included.
    pub fn array(&self) -> ArrayView3<'_, T> {
        ArrayView3::from_shape(self.shape, &self.data).expect("the field's own shape")
    }

    /// The whole local array, ghosts included, mutably.
    pub fn array_mut(&mut self) -> ArrayViewMut3<'_, T> {
        ArrayViewMut3::from_shape(self.shape, &mut self.data).expect("the field's own shape")
    }

    /// The local array as one row-major slice.
    #[inline(always)]
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The local array as one mutable row-major slice.
    #[inline(always)]
    pub fn as_slice_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The owned cells only.
    pub fn owned_view(&self) -> ArrayView3<'_, T> {
        let g = self.ghost;
        let n = self.owned.size;
        self.array()
            .slice_move(s![g[0]..g[0] + n[0], g[1]..g[1] + n[1], g[2]..g[2] + n[2]])
    }

    /// The owned cells only, mutably.
    pub fn owned_view_mut(&mut self) -> ArrayViewMut3<'_, T> {
        let g = self.ghost;
        let n = self.owned.size;
        self.array_mut()
            .slice_move(s![g[0]..g[0] + n[0], g[1]..g[1] + n[1], g[2]..g[2] + n[2]])
    }

    /// Calls `f(global index, value)` for every owned cell, in row-major order.
    pub fn for_each_owned(&self, mut f: impl FnMut([i64; DIMS], T))
    where
        T: Copy,
    {
        for ((i, j, k), &v) in self.owned_view().indexed_iter() {
            let l = [i, j, k];
            f(std::array::from_fn(|a| (l[a] + self.owned.lo[a]) as i64), v);
        }
    }

    /// Fills every ghost cell from the owned cell it images under periodic wrap-around of
    /// this block alone: the ghosts of a single-block periodic grid (kernel unit tests,
    /// no MPI).
    pub fn wrap_periodic(&mut self)
    where
        T: Copy,
    {
        let (shape, g, n) = (self.shape(), self.ghost, self.owned.size);
        let wrap = |x: usize, a: usize| (x + n[a] - g[a] % n[a]) % n[a] + g[a];
        let mut data = self.array_mut();
        for i in 0..shape[0] {
            for j in 0..shape[1] {
                for k in 0..shape[2] {
                    data[[i, j, k]] = data[[wrap(i, 0), wrap(j, 1), wrap(k, 2)]];
                }
            }
        }
    }

    /// Sets every cell, ghosts included, to `f(global index)`.
    pub fn fill_with(&mut self, mut f: impl FnMut([i64; DIMS]) -> T) {
        let (owned, ghost) = (self.owned, self.ghost);
        for ((i, j, k), v) in self.array_mut().indexed_iter_mut() {
            let l = [i, j, k];
            *v = f(std::array::from_fn(|a| {
                l[a] as i64 - ghost[a] as i64 + owned.lo[a] as i64
            }));
        }
    }

    /// Copies the owned cells from `other` (same owned box).
    pub fn copy_owned_from(&mut self, other: &Field<T>) {
        assert_eq!(self.owned, other.owned);
        self.owned_view_mut().assign(&other.owned_view());
    }
}

/// What a kernel sees when it computes one row of output: the input fields around the row.
///
/// A row is a run of `len` consecutive cells along the last (contiguous) axis, starting at
/// local index `(i, j, k0)`. `row(di, dj, dk)` is the input row displaced by `(di, dj, dk)`
/// cells, so a 5-point Laplacian reads `row(0,0,-1)`, `row(0,0,1)`, `row(0,-1,0)`,
/// `row(0,1,0)` and `row(0,0,0)`; element `m` of each slice belongs to output cell `k0 + m`.
pub struct RowStencil<'a, T> {
    levels: &'a [&'a Field<T>],
    i: usize,
    j: usize,
    k0: usize,
    len: usize,
    phase: usize,
    stores: Stores,
}

impl<'a, T: Scalar> RowStencil<'a, T> {
    /// The row `(i, j, k0 .. k0 + len)` of local indices over the time levels `levels`
    /// (`levels[0]` the newest).
    pub fn new(levels: &'a [&'a Field<T>], i: usize, j: usize, k0: usize, len: usize) -> Self {
        RowStencil {
            levels,
            i,
            j,
            k0,
            len,
            phase: 0,
            stores: Stores::Cached,
        }
    }

    /// The same row during sweep `phase` of a multi-sweep step (see
    /// [`crate::grid::stencil::Kernel::phases`]).
    pub fn with_phase(mut self, phase: usize) -> Self {
        self.phase = phase;
        self
    }

    /// The same row, its output to be stored as `stores` says.
    pub fn with_stores(mut self, stores: Stores) -> Self {
        self.stores = stores;
        self
    }

    /// How the output row should be stored: pass it to [`crate::grid::stencil::map_row`].
    #[inline(always)]
    pub fn stores(&self) -> Stores {
        self.stores
    }

    /// Which sweep of the step this is: always 0 for single-sweep kernels; 0 (red) or
    /// 1 (black) for red-black Gauss-Seidel.
    #[inline(always)]
    pub fn phase(&self) -> usize {
        self.phase
    }

    /// The newest input, displaced by `(di, dj, dk)`.
    #[inline(always)]
    pub fn row(&self, di: isize, dj: isize, dk: isize) -> &'a [T] {
        self.level_row(0, di, dj, dk)
    }

    /// Time level `level` (0 the newest, 1 the one before, ...), displaced by `(di, dj, dk)`.
    #[inline(always)]
    pub fn level_row(&self, level: usize, di: isize, dj: isize, dk: isize) -> &'a [T] {
        self.cells(level, di, dj, self.k0.wrapping_add_signed(dk), self.len)
    }

    /// Time level `level`, displaced by `(di, dj)` and widened by `r` cells at each end:
    /// element `m` belongs to output cell `k0 - r + m` (`len + 2 r` elements; `r` at most
    /// the halo width).
    #[inline(always)]
    pub fn level_row_widened(&self, level: usize, di: isize, dj: isize, r: usize) -> &'a [T] {
        self.cells(level, di, dj, self.k0.wrapping_sub(r), self.len + 2 * r)
    }

    #[inline(always)]
    fn cells(&self, level: usize, di: isize, dj: isize, k: usize, len: usize) -> &'a [T] {
        let f = self.levels[level];
        let sh = f.shape;
        let i = self.i.wrapping_add_signed(di);
        let j = self.j.wrapping_add_signed(dj);
        let start = (i * sh[1] + j) * sh[2] + k;
        &f.data[start..start + len]
    }

    /// Number of cells in the row.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Global index of the row's first cell; cell `m` of the row is `[g0, g1, g2 + m]`.
    pub fn global_start(&self) -> [i64; DIMS] {
        self.levels[0].global_index([self.i, self.j, self.k0])
    }
}

/// Pseudo-random values in `[-0.5, 0.5)` (xorshift64 from `seed`), the same on every run:
/// for tests that fill fields with arbitrary data.
#[cfg(test)]
pub(crate) fn test_values(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// For tests of row updates: a block `3` cells wide on each of the last `ndim` axes but
/// the fastest, `len` cells along it, with ghost width `r` (`r + pad` along the fastest
/// axis, which shifts the row's alignment), every cell (ghosts too) from `value`; and the
/// `(i, j, k0)` of its middle row's first owned cell.
#[cfg(test)]
pub(crate) fn test_row_block(
    ndim: usize,
    r: usize,
    len: usize,
    pad: usize,
    mut value: impl FnMut() -> f64,
) -> (Field<f64>, [usize; 3]) {
    let mut size = [1; DIMS];
    let mut ghost = [0; DIMS];
    for a in DIMS - ndim..DIMS {
        (size[a], ghost[a]) = (3, r);
    }
    (size[2], ghost[2]) = (len, r + pad);
    let mut f: Field<f64> = Field::new(IndexBox::new([0; DIMS], size), ghost);
    f.fill_with(|_| value());
    let inner = f.interior();
    let middle = [
        inner.lo[0] + size[0] / 2,
        inner.lo[1] + size[1] / 2,
        inner.lo[2],
    ];
    (f, middle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_global_indices() {
        let f: Field<f64> = Field::new(IndexBox::new([0, 10, 20], [1, 4, 5]), [0, 2, 2]);
        assert_eq!(f.shape(), [1, 8, 9]);
        assert_eq!(f.interior(), IndexBox::new([0, 2, 2], [1, 4, 5]));
        assert_eq!(f.global_index([0, 2, 2]), [0, 10, 20]);
        assert_eq!(f.global_index([0, 0, 0]), [0, 8, 18]);
        assert_eq!(f.owned_view().shape(), &[1, 4, 5]);
    }

    #[test]
    fn row_stencil_reads_displaced_rows() {
        let mut f: Field<f64> = Field::new(IndexBox::new([0, 0, 0], [1, 3, 4]), [0, 1, 1]);
        f.fill_with(|g| (g[1] * 100 + g[2]) as f64);
        let levels = [&f];
        let r = RowStencil::new(&levels, 0, 2, 1, 4);
        assert_eq!(r.global_start(), [0, 1, 0]);
        assert_eq!(r.row(0, 0, 0), &[100.0, 101.0, 102.0, 103.0]);
        assert_eq!(r.row(0, 0, -1), &[99.0, 100.0, 101.0, 102.0]);
        assert_eq!(r.row(0, -1, 1), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            r.level_row_widened(0, 0, -1, 1),
            &[-1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
        );
    }
}
