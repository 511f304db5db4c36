//! The kernel contract: what a new stencil implements to run on tessera's driver.
//!
//! A kernel is pointwise numerics on a rank's ghosted block. It never sees MPI: the driver
//! fills the ghost layers (from neighbouring ranks, periodic images, or
//! [`Kernel::boundary_value`] past a non-periodic edge), then asks the kernel for the new
//! state one row at a time. Because the driver owns the loop over rows, it may visit rows in
//! any order, split them between an interior that needs no ghosts and a boundary shell
//! (overlap with communication), or tile them for cache: the result is the same bit for bit,
//! because each output cell is computed by the same expression from the same inputs.
//!
//! Writing a kernel: implement this trait in one file (see `kernels/heat.rs`), register it in
//! `kernels/mod.rs`, and run it with [`crate::driver::run`].

use crate::field::{Field, RowStencil, Scalar};
use crate::geometry::{Grid, IndexBox, DIMS};

/// Global index of a cell: three components, the leading ones 0 for 1D and 2D grids.
/// Ghost cells past an edge of the grid have indices `< 0` or `>= extent`.
pub type GlobalIndex = [i64; 3];

/// A stencil update `u^{n+1} = F(u^n, u^{n-1}, ...)` on a structured grid.
pub trait Kernel: Sync {
    /// What a cell holds (`f64` for PDEs, an integer or `u8` for cellular automata).
    type Value: Scalar;

    /// Short name of the simulation, stored in checkpoints (`"heat"`).
    fn name(&self) -> &'static str;

    /// Ghost layers one update reads on each side of a block: the stencil radius.
    fn radius(&self) -> usize;

    /// Time levels one update reads: 1 for `u^{n+1} = F(u^n)`, 2 for leapfrog schemes that
    /// also read `u^{n-1}`. Only the newest level has its ghosts exchanged.
    fn time_levels(&self) -> usize {
        1
    }

    /// Name of time level `level` (0 the newest) in checkpoints: `u`, `u_prev`, `u_prev2`, ...
    fn level_name(&self, level: usize) -> String {
        match level {
            0 => "u".to_string(),
            1 => "u_prev".to_string(),
            l => format!("u_prev{l}"),
        }
    }

    /// The initial state at global cell `idx`: time level `level` (0: `t = 0`, 1: `t = -dt`).
    fn initial_value(&self, level: usize, idx: GlobalIndex) -> Self::Value;

    /// The value held by ghost cells past a non-periodic edge of the grid (Dirichlet data).
    fn boundary_value(&self, idx: GlobalIndex) -> Self::Value;

    /// Computes `out[m]`, the new state of cell `m` of one row, from the inputs around it.
    fn update_row(&self, input: &RowStencil<'_, Self::Value>, out: &mut [Self::Value]);
}

/// A block of the initial state of `kernel` (time level `level`): the cells of `owned`
/// hold [`Kernel::initial_value`], ghost cells past a non-periodic edge of `grid` hold
/// [`Kernel::boundary_value`], and the other ghosts the initial value at their (unwrapped)
/// global index until a halo exchange fills them.
pub fn initial_block<K: Kernel>(
    kernel: &K,
    grid: &Grid,
    owned: IndexBox,
    ghost: [usize; DIMS],
    level: usize,
) -> Field<K::Value> {
    let (extents, periodic) = (grid.extents(), grid.periodic());
    let mut f = Field::new(owned, ghost);
    f.fill_with(|g| {
        let outside = (0..DIMS).any(|a| !periodic[a] && (g[a] < 0 || g[a] >= extents[a] as i64));
        if outside {
            kernel.boundary_value(g)
        } else {
            kernel.initial_value(level, g)
        }
    });
    f
}

/// Computes the cells of `region` (local indices) of `out` from the time levels `levels`
/// (newest first), one row at a time. This is the whole of a kernel's work on one block:
/// the driver calls it for the interior and the boundary shell, tests and benches call it
/// directly on a single block.
pub fn apply_rows<K: Kernel>(
    kernel: &K,
    levels: &[&Field<K::Value>],
    out: &mut Field<K::Value>,
    region: &IndexBox,
) {
    let shape = out.shape();
    let data = out.as_slice_mut();
    let (k0, len) = (region.lo[2], region.size[2]);
    let hi = region.hi();
    for i in region.lo[0]..hi[0] {
        for j in region.lo[1]..hi[1] {
            let row = RowStencil::new(levels, i, j, k0, len);
            let start = (i * shape[1] + j) * shape[2] + k0;
            kernel.update_row(&row, &mut data[start..start + len]);
        }
    }
}
