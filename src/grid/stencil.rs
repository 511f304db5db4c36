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
//! `kernels/mod.rs`, and run it with [`crate::grid::stepper::run`]. The README walks through one.

use crate::error::{Error, Result};
use crate::grid::field::{Field, RowStencil, Scalar};
use crate::grid::geometry::{Grid, IndexBox, DIMS};
use crate::parallel::exact_sum::ExactSum;
use crate::parallel::Threads;

/// Fraction of an explicit scheme's stability limit used as its time step when none is
/// given: every kernel's default, so a run is stable with a margin for round-off.
pub const DEFAULT_DT_FRACTION: f64 = 0.8;

/// The time step of an explicit scheme whose stability limit is `limit`: the one given,
/// or `fraction` of the limit (usually [`DEFAULT_DT_FRACTION`]). (A given step above the
/// limit is refused by the kernel, which knows its own limit.) A derived step that is not
/// a usable number (an extreme `parameter` makes the limit 0, subnormal or infinite) is
/// refused, naming `parameter`, the one the user gave.
pub fn time_step(
    given: Option<f64>,
    fraction: f64,
    limit: f64,
    parameter: &'static str,
) -> Result<f64> {
    if let Some(dt) = given {
        return Ok(dt);
    }
    let dt = fraction * limit;
    // a negative or NaN limit comes from a parameter the kernel refuses with its own message
    if dt.is_normal() && dt > 0.0 || limit.is_nan() || limit < 0.0 {
        Ok(dt)
    } else {
        Err(Error::value(
            parameter,
            format!(
                "makes the stability limit of the time step {limit:e}, which leaves no usable \
                 time step; choose a less extreme value"
            ),
        ))
    }
}

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

    /// Sweeps per step, each preceded by a ghost exchange and each reading the output of
    /// the one before: 1 for explicit time stepping and Jacobi, 2 for red-black
    /// Gauss-Seidel (red cells, then black). [`RowStencil::phase`] says which sweep it is.
    fn phases(&self) -> usize {
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
    /// Mark it `#[inline(always)]`: the driver compiles it again for AVX-512 and AVX2 and
    /// picks the copy the processor runs (see `update_row` in this module); a kernel that
    /// is not inlined there runs with the baseline instructions only (same bits, slower).
    /// Rows written with [`map_row`] take the stores the driver chose
    /// ([`RowStencil::stores`]).
    fn update_row(&self, input: &RowStencil<'_, Self::Value>, out: &mut [Self::Value]);

    /// For kernels that iterate towards a steady state (`A u = f`): adds the squared
    /// residual `(f - A u)^2` of the newest level at each cell of one row to `sum`. The
    /// driver calls it, on ghost-filled input, only when a run has a residual tolerance
    /// (see [`crate::grid::stepper::Convergence`]); time-stepping kernels leave it as is.
    fn residual_row(&self, _input: &RowStencil<'_, Self::Value>, _sum: &mut ExactSum) {}
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

/// Rows of a plane visited together across consecutive planes in a 3D sweep (spatial
/// blocking): a block of rows of the `2 radius + 1` planes a stencil reads, plus the
/// output, should stay in cache while the sweep moves on to the next plane, so that each
/// input row is read from memory once. At least 1.
fn rows_per_block(row_bytes: usize, radius: usize) -> usize {
    // 2 MiB: measured best on 512^3 with the 7-point stencil here (512 KiB to 8 MiB and
    // unblocked tried); blocks of rows that fit the level-2 cache alone were slower
    const BUDGET: usize = 2 << 20;
    (BUDGET / ((2 * radius + 2) * row_bytes.max(1))).max(1)
}

/// How a sweep's output rows are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stores {
    /// Through the caches: right when the output is read again soon (blocks that fit
    /// the cache, time blocks).
    #[default]
    Cached,
    /// Where a kernel writes its row with [`map_row`]: with non-temporal stores that
    /// bypass the caches. A sweep of a block larger than the cache then moves 16 bytes per
    /// updated f64 cell (read the input, write the output) instead of 24 (a cached store
    /// first reads the line it writes: write-allocate). The same values: the same bits.
    Streaming,
}

impl Stores {
    pub fn as_str(self) -> &'static str {
        match self {
            Stores::Cached => "cached",
            Stores::Streaming => "streaming",
        }
    }
}

impl std::str::FromStr for Stores {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cached" => Ok(Stores::Cached),
            "streaming" => Ok(Stores::Streaming),
            _ => Err(format!(
                "'{s}' is not a kind of stores (cached or streaming)"
            )),
        }
    }
}

/// Calls `f(i, j, row)` for every row of `region` (local indices) of the row-major array
/// `data` of shape `shape`, where `row` is the mutable run of cells `region.lo[2] ..
/// region.hi()[2]` of row `(i, j)`. In 3D the rows are visited in blocks of `block` rows
/// of each plane, plane after plane, then the next block (spatial blocking). Rows are
/// shared among `threads`: runs of whole planes when the region has enough of them (3D),
/// else the rows of each plane (2D). Each row is computed by the same call whatever the
/// order, so the order changes no bit. Each thread fences its streaming stores when done.
fn for_each_row<T: Send>(
    data: &mut [T],
    shape: [usize; DIMS],
    region: &IndexBox,
    threads: &Threads,
    block: usize,
    stores: Stores,
    f: impl Fn(usize, usize, &mut [T]) + Sync,
) {
    if region.is_empty() {
        return;
    }
    let (plane, row) = (shape[1] * shape[2], shape[2]);
    let (lo, hi) = (region.lo, region.hi());
    let cols = lo[2]..hi[2];
    let planes = &mut data[lo[0] * plane..hi[0] * plane];
    // the planes from `i0` on, j-block by j-block
    let blocked = |i0: usize, planes: &mut [T]| {
        let mut jb = lo[1];
        while jb < hi[1] {
            let je = jb.saturating_add(block.max(1)).min(hi[1]);
            for (di, p) in planes.chunks_mut(plane).enumerate() {
                for (dj, r) in p[jb * row..je * row].chunks_mut(row).enumerate() {
                    f(i0 + di, jb + dj, &mut r[cols.clone()]);
                }
            }
            jb = je;
        }
        fence_streaming_stores(stores);
    };
    match threads.pool() {
        None => blocked(lo[0], planes),
        Some(pool) => pool.install(|| {
            use rayon::prelude::*;
            let workers = pool.current_num_threads();
            if region.size[0] >= 2 * workers {
                // contiguous runs of planes, one or two per thread
                let per = region.size[0].div_ceil(2 * workers);
                planes
                    .par_chunks_mut(per * plane)
                    .enumerate()
                    .for_each(|(c, p)| blocked(lo[0] + c * per, p));
            } else {
                for (di, p) in planes.chunks_mut(plane).enumerate() {
                    p[lo[1] * row..hi[1] * row]
                        .par_chunks_mut(row)
                        .enumerate()
                        .for_each(|(dj, r)| {
                            f(lo[0] + di, lo[1] + dj, &mut r[cols.clone()]);
                            fence_streaming_stores(stores);
                        });
                }
            }
        }),
    }
}

/// Cells [`map_row`] computes side by side before streaming them: four cache lines.
const STORED_CELLS: usize = 32;

/// `out[m] = cell([rows[0][m], rows[1][m], ...])` for every cell `m` of a row: a pointwise
/// update of `K` input rows (each at least `out.len()` long), stored as `stores` says.
/// Streaming: the cells from the first 64-byte boundary on are computed [`STORED_CELLS`]
/// at a time and stored as whole cache lines with non-temporal stores (the unaligned ends
/// of the row through the cache). Kernels write their rows with it so that the driver can
/// choose the stores; the same `cell` on the same values either way, so the same bits.
#[inline(always)]
pub fn map_row<const K: usize>(
    out: &mut [f64],
    stores: Stores,
    rows: [&[f64]; K],
    cell: impl Fn([f64; K]) -> f64,
) {
    let n = out.len();
    let rows: [&[f64]; K] = rows.map(|r| &r[..n]);
    let (head, lines_end) = if stores == Stores::Streaming && cfg!(target_arch = "x86_64") {
        let head = first_line_start(out);
        (head, head + (n - head) / STORED_CELLS * STORED_CELLS)
    } else {
        (n, n)
    };
    for m0 in (head..lines_end).step_by(STORED_CELLS) {
        let parts: [&[f64; STORED_CELLS]; K] = rows.map(|r| {
            r[m0..m0 + STORED_CELLS]
                .try_into()
                .expect("STORED_CELLS cells")
        });
        let mut line = [0.0; STORED_CELLS];
        for (l, y) in line.iter_mut().enumerate() {
            *y = cell(parts.map(|p| p[l]));
        }
        let to: &mut [f64; STORED_CELLS] = (&mut out[m0..m0 + STORED_CELLS])
            .try_into()
            .expect("STORED_CELLS cells");
        stream_lines(to, &line);
    }
    // the whole row through the cache, or the unaligned ends of a streamed one
    for (m, y) in out[..head].iter_mut().enumerate() {
        // SAFETY: m < head <= n, and every row is n long (sliced above)
        *y = cell(rows.map(|r| unsafe { *r.get_unchecked(m) }));
    }
    for (m, y) in out.iter_mut().enumerate().skip(lines_end) {
        *y = cell(rows.map(|r| r[m]));
    }
}

/// The first cell of `out` on a 64-byte (cache-line) boundary, or `out.len()`: where a
/// streamed row's whole lines begin.
#[inline(always)]
pub fn first_line_start(out: &[f64]) -> usize {
    out.as_ptr().align_offset(64).min(out.len())
}

/// `*dst = *src` with non-temporal stores; `dst` starts on a 64-byte boundary.
#[inline(always)]
fn stream_lines(dst: &mut [f64; STORED_CELLS], src: &[f64; STORED_CELLS]) {
    debug_assert_eq!(dst.as_ptr().align_offset(64), 0);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_stream_pd};
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F
            return unsafe { stream_lines_avx512(dst, src) };
        }
        for l in (0..STORED_CELLS).step_by(2) {
            // SAFETY: both pointers are inside their arrays; dst + l is 16-byte aligned
            // (dst is 64-byte aligned, l even); SSE2 is part of x86_64
            unsafe { _mm_stream_pd(dst.as_mut_ptr().add(l), _mm_loadu_pd(src.as_ptr().add(l))) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    dst.copy_from_slice(src);
}

/// [`stream_lines`] with 64-byte stores (inlined into the AVX-512 copy of a kernel).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn stream_lines_avx512(dst: &mut [f64; STORED_CELLS], src: &[f64; STORED_CELLS]) {
    use std::arch::x86_64::{_mm512_loadu_pd, _mm512_stream_pd};
    for l in (0..STORED_CELLS).step_by(8) {
        // SAFETY: inside both arrays; dst + l is 64-byte aligned (l a multiple of 8)
        unsafe {
            _mm512_stream_pd(
                dst.as_mut_ptr().add(l),
                _mm512_loadu_pd(src.as_ptr().add(l)),
            )
        };
    }
}

/// Orders the non-temporal stores made so far before any later store (an `sfence`), so
/// that whoever is told the sweep is done (a thread joining, a message) sees its output.
#[inline]
fn fence_streaming_stores(stores: Stores) {
    #[cfg(target_arch = "x86_64")]
    if stores == Stores::Streaming {
        // SAFETY: sfence has no preconditions (SSE, part of x86_64)
        unsafe { std::arch::x86_64::_mm_sfence() };
    }
}

/// Computes the cells of `region` (local indices) of `out` during sweep `phase`, from the
/// time levels `levels` (newest first), one row at a time, the output rows stored as
/// `stores` says (the same bits either way). This is the whole of a kernel's work on one
/// block: the driver calls it for the interior and the boundary shell, tests and benches
/// call it directly on a single block.
pub fn apply_rows<K: Kernel>(
    kernel: &K,
    levels: &[&Field<K::Value>],
    out: &mut Field<K::Value>,
    region: &IndexBox,
    phase: usize,
    threads: &Threads,
    stores: Stores,
) {
    let shape = out.shape();
    let (k0, len) = (region.lo[2], region.size[2]);
    let block = if region.size[0] > 1 {
        rows_per_block(len * std::mem::size_of::<K::Value>(), kernel.radius())
    } else {
        usize::MAX
    };
    for_each_row(
        out.as_slice_mut(),
        shape,
        region,
        threads,
        block,
        stores,
        |i, j, row| {
            let input = RowStencil::new(levels, i, j, k0, len)
                .with_phase(phase)
                .with_stores(stores);
            update_row(kernel, &input, row);
        },
    );
}

/// `kernel.update_row`, compiled for the widest vector instructions this processor has
/// (AVX-512 or AVX2, chosen at run time, the kernel's code inlined into a copy built for
/// them). The same operations in the same order on every path: Rust never contracts a
/// multiply and an add into one rounding, so the bits do not depend on the path taken.
#[inline(always)]
fn update_row<K: Kernel>(kernel: &K, input: &RowStencil<'_, K::Value>, out: &mut [K::Value]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the processor has the features the copy is compiled for
            return unsafe { update_row_avx512(kernel, input, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above
            return unsafe { update_row_avx2(kernel, input, out) };
        }
    }
    kernel.update_row(input, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,avx,bmi1,bmi2,popcnt")]
unsafe fn update_row_avx512<K: Kernel>(
    kernel: &K,
    input: &RowStencil<'_, K::Value>,
    out: &mut [K::Value],
) {
    kernel.update_row(input, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx,bmi1,bmi2,popcnt")]
unsafe fn update_row_avx2<K: Kernel>(
    kernel: &K,
    input: &RowStencil<'_, K::Value>,
    out: &mut [K::Value],
) {
    kernel.update_row(input, out)
}

/// The exact sum over the rows of `region` (local indices) of what `f` adds for each row,
/// shared among `threads`; the result does not depend on the thread count.
pub fn sum_rows<T: Scalar>(
    levels: &[&Field<T>],
    region: &IndexBox,
    threads: &Threads,
    f: impl Fn(&RowStencil<'_, T>, &mut ExactSum) + Sync,
) -> ExactSum {
    let nrows = region.size[0] * region.size[1];
    if region.is_empty() {
        return ExactSum::new();
    }
    let row = |r: usize, sum: &mut ExactSum| {
        let (i, j) = (
            region.lo[0] + r / region.size[1],
            region.lo[1] + r % region.size[1],
        );
        f(
            &RowStencil::new(levels, i, j, region.lo[2], region.size[2]),
            sum,
        );
    };
    match threads.pool() {
        None => {
            let mut sum = ExactSum::new();
            (0..nrows).for_each(|r| row(r, &mut sum));
            sum
        }
        Some(pool) => pool.install(|| {
            use rayon::prelude::*;
            (0..nrows)
                .into_par_iter()
                .fold(ExactSum::new, |mut sum, r| {
                    row(r, &mut sum);
                    sum
                })
                .reduce(ExactSum::new, |mut a, b| {
                    a.merge(&b);
                    a
                })
        }),
    }
}

/// The most taps a row update sums (the 27-point stencil).
pub const MAX_TAPS: usize = 27;

/// Cells summed side by side in [`tap_sums`]: four AVX-512 registers, so that four
/// independent chains of additions hide the adder's latency (each cell's sum is one chain,
/// in tap order; 16 and 64 cells were slower here).
const LANES: usize = 32;

/// [`tap_sums`] over the rows of `input`'s time level `level` at the given offsets
/// (at most [`MAX_TAPS`]), in the order given.
#[inline(always)]
pub fn tap_sums_at<const DIFFERENCES: bool>(
    input: &RowStencil<'_, f64>,
    level: usize,
    taps: impl ExactSizeIterator<Item = ([isize; 3], f64)>,
    centre: &[f64],
    out: &mut [f64],
    finish: impl Fn(f64, f64) -> f64,
) {
    let n = out.len();
    let count = taps.len();
    assert!(count <= MAX_TAPS, "at most {MAX_TAPS} taps");
    let mut rows: [&[f64]; MAX_TAPS] = [&[]; MAX_TAPS];
    let mut weights = [0.0; MAX_TAPS];
    for (t, (o, w)) in taps.enumerate() {
        rows[t] = &input.level_row(level, o[0], o[1], o[2])[..n];
        weights[t] = w;
    }
    let (rows, weights) = (&rows[..count], &weights[..count]);
    tap_sums::<DIFFERENCES>(rows, weights, centre, out, finish);
}

/// `out[m] = finish(sum_t w_t rows_t[m], centre[m])`, or with `DIFFERENCES`
/// `out[m] = finish(sum_t w_t (rows_t[m] - centre[m]), centre[m])`: each cell's sum
/// `((0 + term_1) + term_2) + ...` in tap order, formed in registers [`LANES`] cells at a
/// time in one pass over the row. The same operations in the same order as summing whole
/// rows tap by tap, so the same bits as that (and on every rank and thread). (The heat
/// kernel's wide Laplacians use the grouped forms of `laplacian.rs` instead.) Always
/// through the cache: these sums are bound by arithmetic, not memory, and streaming
/// stores measured no faster for them (slower for the 27-point stencil).
#[inline(always)]
pub fn tap_sums<const DIFFERENCES: bool>(
    rows: &[&[f64]],
    weights: &[f64],
    centre: &[f64],
    out: &mut [f64],
    finish: impl Fn(f64, f64) -> f64,
) {
    let n = out.len();
    assert!(rows.len() == weights.len() && rows.iter().all(|r| r.len() >= n));
    assert!(centre.len() >= n);
    let term = |w: f64, x: f64, c: f64| if DIFFERENCES { w * (x - c) } else { w * x };
    let body = n - n % LANES;
    for m in (0..body).step_by(LANES) {
        let mut acc = [0.0; LANES];
        let c = &centre[m..m + LANES];
        for (r, &w) in rows.iter().zip(weights) {
            let x = &r[m..m + LANES];
            for l in 0..LANES {
                acc[l] += term(w, x[l], c[l]);
            }
        }
        let o = &mut out[m..m + LANES];
        for l in 0..LANES {
            o[l] = finish(acc[l], c[l]);
        }
    }
    for m in body..n {
        let c = centre[m];
        let mut acc = 0.0;
        for (r, &w) in rows.iter().zip(weights) {
            acc += term(w, r[m], c);
        }
        out[m] = finish(acc, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tap_sums_equal_the_row_by_row_sums_bit_for_bit() {
        // the reference: whole rows tap by tap, then (differences) the centre added
        let mut seed = 99u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
            match seed % 16 {
                0 => 0.0,
                1 => -0.0,
                2 => 1e-310 * (u - 0.5),
                _ => (u - 0.5) * 10f64.powi((seed % 7) as i32 - 3),
            }
        };
        for taps in [1, 2, 5, 18, 27] {
            for n in (1..=40).chain([63, 64, 65, 97]) {
                let data: Vec<Vec<f64>> = (0..taps)
                    .map(|_| (0..n).map(|_| next()).collect())
                    .collect();
                let rows: Vec<&[f64]> = data.iter().map(|r| r.as_slice()).collect();
                let weights: Vec<f64> = (0..taps).map(|_| next()).collect();
                let centre: Vec<f64> = (0..n).map(|_| next()).collect();
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let mut plain = vec![0.0; n];
                for (r, &w) in rows.iter().zip(&weights) {
                    for m in 0..n {
                        plain[m] += w * r[m];
                    }
                }
                let mut diff = vec![0.0; n];
                for (r, &w) in rows.iter().zip(&weights) {
                    for m in 0..n {
                        diff[m] += w * (r[m] - centre[m]);
                    }
                }
                for m in 0..n {
                    diff[m] += centre[m];
                }
                let mut out = vec![7.0; n];
                tap_sums::<false>(&rows, &weights, &centre, &mut out, |a, _| a);
                assert_eq!(bits(&out), bits(&plain), "{taps} taps, {n} cells");
                tap_sums::<true>(&rows, &weights, &centre, &mut out, |a, c| a + c);
                assert_eq!(
                    bits(&out),
                    bits(&diff),
                    "{taps} taps, {n} cells, differences"
                );
            }
        }
    }

    /// `map_row` stores `cell` of the rows' values at every cell, for every alignment of
    /// the row and both kinds of stores.
    #[test]
    fn map_row_writes_every_cell_with_either_stores() {
        for n in (0..=40).chain([63, 64, 65, 97, 200]) {
            let a: Vec<f64> = (0..n).map(|m| m as f64 * 0.37 - 3.0).collect();
            let b: Vec<f64> = (0..n).map(|m| (m as f64).sin()).collect();
            let want: Vec<u64> = (0..n).map(|m| (a[m] * 1.5 - b[m]).to_bits()).collect();
            for offset in 0..8 {
                for stores in [Stores::Cached, Stores::Streaming] {
                    let mut buffer = vec![f64::NAN; n + 8];
                    let out = &mut buffer[offset..offset + n];
                    map_row(out, stores, [&a, &b], |[a, b]| a * 1.5 - b);
                    let got: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
                    assert_eq!(got, want, "{n} cells at {offset}, {stores:?}");
                }
            }
        }
    }

    /// What an output cell holds before `apply_rows` writes it.
    const UNWRITTEN: f64 = -1e9;
    /// What `Stamp` writes to a cell it has already written.
    const WRITTEN_TWICE: f64 = -2e9;

    /// A distinct number for every global index of the test blocks (ghosts included).
    fn code(g: GlobalIndex) -> f64 {
        ((g[0] * 1000 + g[1]) * 1000 + g[2]) as f64
    }

    /// Writes `code(global index)` to each cell of a row, or `WRITTEN_TWICE` to a cell that
    /// no longer holds `UNWRITTEN`.
    struct Stamp;

    impl Kernel for Stamp {
        type Value = f64;
        fn name(&self) -> &'static str {
            "stamp"
        }
        fn radius(&self) -> usize {
            1
        }
        fn initial_value(&self, _level: usize, idx: GlobalIndex) -> f64 {
            code(idx)
        }
        fn boundary_value(&self, idx: GlobalIndex) -> f64 {
            code(idx)
        }
        fn update_row(&self, input: &RowStencil<'_, f64>, out: &mut [f64]) {
            let g = input.global_start();
            for (m, v) in out.iter_mut().enumerate() {
                *v = if *v == UNWRITTEN {
                    code([g[0], g[1], g[2] + m as i64])
                } else {
                    WRITTEN_TWICE
                };
            }
        }
    }

    /// Blocks (owned global box, ghost layers) and regions of local indices in them: the
    /// interior and an off-centre box. 3D blocks have 2, 5 and 7 planes: fewer than
    /// `2 * threads` for 2 and 3 threads (rows of each plane shared), more for 2 threads
    /// only, more for both (whole planes shared). 2D blocks (one plane) have 1, 2 and 13
    /// rows: fewer and more rows than threads.
    fn cases() -> Vec<(Field<f64>, IndexBox)> {
        let blocks = [
            (IndexBox::new([3, 5, 7], [2, 6, 9]), [1, 1, 1]),
            (IndexBox::new([0, 2, 1], [5, 4, 7]), [1, 1, 1]),
            (IndexBox::new([4, 0, 0], [7, 3, 5]), [2, 1, 1]),
            (IndexBox::new([0, 6, 2], [1, 1, 11]), [0, 1, 1]),
            (IndexBox::new([0, 0, 0], [1, 2, 8]), [0, 1, 1]),
            (IndexBox::new([0, 9, 4], [1, 13, 6]), [0, 2, 1]),
        ];
        let mut out = Vec::new();
        for (owned, ghost) in blocks {
            let mut f = Field::new(owned, ghost);
            f.fill_with(code);
            let interior = f.interior();
            let off_centre = IndexBox::new(
                [interior.lo[0], interior.lo[1] + 1, interior.lo[2] + 2],
                [interior.size[0], interior.size[1], interior.size[2] - 3],
            );
            out.push((f.clone(), interior));
            out.push((f, off_centre));
        }
        out
    }

    #[test]
    fn apply_rows_writes_each_cell_of_the_region_once_for_any_thread_count() {
        for (input, region) in cases() {
            for count in [1, 2, 3] {
                let threads = Threads::new(count).unwrap();
                let mut out = input.clone();
                out.fill_with(|_| UNWRITTEN);
                apply_rows(
                    &Stamp,
                    &[&input],
                    &mut out,
                    &region,
                    0,
                    &threads,
                    Stores::Cached,
                );
                for ((i, j, k), &v) in out.array().indexed_iter() {
                    let l = [i, j, k];
                    let want = if region.contains(l) {
                        code(out.global_index(l))
                    } else {
                        UNWRITTEN
                    };
                    assert_eq!(
                        v,
                        want,
                        "{count} threads, region {region:?} of {:?}, local cell {l:?}",
                        input.owned()
                    );
                }
            }
        }
    }

    #[test]
    fn sum_rows_is_bitwise_the_same_for_any_thread_count() {
        for (mut input, region) in cases() {
            // terms from 1e-8 to 1e8 in magnitude: a plain f64 sum would depend on the order
            input.fill_with(|g| {
                let x = code(g);
                x.sin() * 10f64.powi((x as i64).rem_euclid(17) as i32 - 8)
            });
            let mut direct = ExactSum::new();
            for ((i, j, k), &v) in input.array().indexed_iter() {
                if region.contains([i, j, k]) {
                    direct.add(v);
                }
            }
            for count in [1, 2, 3] {
                let threads = Threads::new(count).unwrap();
                let sum = sum_rows(&[&input], &region, &threads, |s, sum| {
                    s.row(0, 0, 0).iter().for_each(|&v| sum.add(v));
                });
                assert_eq!(
                    sum.value().to_bits(),
                    direct.value().to_bits(),
                    "{count} threads, region {region:?} of {:?}",
                    input.owned()
                );
            }
        }
    }
}
