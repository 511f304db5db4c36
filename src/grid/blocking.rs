//! Temporal blocking: several sweeps of a block computed tile by tile while the tile is in
//! cache, instead of streaming the whole block through memory once per sweep.
//!
//! Between two ghost exchanges a rank does `n` sweeps (steps x phases); sweep `j` computes
//! the cells of `regions[j]`, the owned cells grown by the ghost band later sweeps still
//! read (deep halos: each region is the next one grown by the stencil radius `r` on every
//! side that has ghosts to compute). Sweep `j` reads the output of sweep `j - 1` (and older
//! time levels) within `r` of each cell. The plain order is sweep by sweep over the whole
//! region. The blocked order ([`schedule`]) interleaves the sweeps:
//!
//! - **wavefront** along one axis (the slowest): at wavefront step `c`, sweep `j` computes
//!   up to `lo + (c + 1) B - j r` along that axis (`B` cells per step, each sweep `r`
//!   behind the one before), so sweep `j` only reads rows sweep `j - 1` has finished, and
//!   the `n` sweeps' working set is `B + n r` rows of each buffer, which stay in cache;
//! - **trapezoids** across a second axis (when a row of the wavefront is too big for the
//!   cache): the cross-section is cut into strips of width `W >= 2 (n - 1) r`; first every
//!   strip does its sweeps on a shrinking range (`[a + j r, b - j r)`, an upright
//!   trapezoid that needs nothing outside the strip), then each cut at `b` fills the
//!   growing gap `[b - j r, b + j r)` (an inverted trapezoid, reading what both strips
//!   computed).
//!
//! Every cell of every sweep is computed exactly once, by the kernel's own row update from
//! the same inputs as in the plain order, so the result is the same bit for bit. The time
//! levels live in a ring of `levels + 1` buffers as in plain stepping: sweep `j` writes
//! the buffer that held the state `levels + 1` sweeps older, which no unfinished sweep
//! reads any more where it is overwritten (the wavefront lag and the trapezoid widths see to
//! that; the unit test below replays schedules on versioned buffers to show it).

use crate::grid::geometry::{IndexBox, DIMS};

/// How a time block is cut into tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// The axis the wavefront moves along, and how many cells it advances per step.
    pub wave_axis: usize,
    pub wave_step: usize,
    /// The axis cut into strips and the strips' width (`None`: no cut).
    pub strips: Option<(usize, usize)>,
}

/// One piece of a time block: sweep `sweep` (0 for the block's first) computes `region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub sweep: usize,
    pub region: IndexBox,
}

/// Position in the ring of `buffers` (`levels` time levels and one scratch) that sweep
/// `sweep` of a block writes, when the ring holds the newest level first and the scratch
/// last at the block's start (plain stepping rotates the ring right by one after a sweep).
pub fn ring_output(sweep: usize, buffers: usize) -> usize {
    ring_input(sweep, buffers - 1, buffers)
}

/// Position in the ring of the time level `level` (0 the newest) that sweep `sweep` reads.
pub fn ring_input(sweep: usize, level: usize, buffers: usize) -> usize {
    (level + buffers - sweep % buffers) % buffers
}

/// The pieces of a time block of `regions.len()` sweeps, in an order that computes each
/// cell of `regions[j]` once for sweep `j` after every input it reads (within `radius`) is
/// final, and overwrites no cell that an unfinished sweep still reads. `regions[j + 1]`
/// must be `regions[j]` shrunk by `radius` or not at all on each side.
pub fn schedule(regions: &[IndexBox], radius: usize, tiling: &Tiling) -> Vec<Piece> {
    let n = regions.len();
    if n == 0 {
        return Vec::new();
    }
    let r = radius as i64;
    // strips narrower than the trapezoids' slopes are not cut
    let narrowest = (2 * (n as i64 - 1) * r).max(1);
    let strips = tiling
        .strips
        .filter(|&(axis, width)| axis != tiling.wave_axis && width as i64 >= narrowest);
    let Some((axis, width)) = strips else {
        return wavefront(regions, r, tiling, None);
    };
    let w = width as i64;
    let range = |b: &IndexBox| (b.lo[axis] as i64, b.hi()[axis] as i64);
    let (lo, hi) = range(&regions[0]);
    // cuts at lo + w, lo + 2w, ...; the last strip is w to 2w - 1 wide
    let cuts: Vec<i64> = (1..)
        .map(|k| lo + k * w)
        .take_while(|&b| b + w <= hi)
        .collect();
    // the split axis's range per sweep, for each column of pieces in the order they run:
    // the upright trapezoids, then the inverted ones at the cuts
    let upright = (0..=cuts.len()).map(|k| {
        (0..n)
            .map(|j| {
                let (jl, jh) = range(&regions[j]);
                let s = j as i64 * r;
                let lower = if k == 0 { jl } else { cuts[k - 1] + s };
                let upper = if k == cuts.len() { jh } else { cuts[k] - s };
                (lower, upper)
            })
            .collect::<Vec<_>>()
    });
    let inverted = cuts.iter().map(|&b| {
        (0..n)
            .map(|j| (b - j as i64 * r, b + j as i64 * r))
            .collect::<Vec<_>>()
    });
    upright
        .chain(inverted)
        .flat_map(|c| wavefront(regions, r, tiling, Some((axis, &c))))
        .collect()
}

/// The wavefront over one column of pieces: `column` gives the split axis's range per
/// sweep (`None`: each region's own).
fn wavefront(
    regions: &[IndexBox],
    r: i64,
    tiling: &Tiling,
    column: Option<(usize, &[(i64, i64)])>,
) -> Vec<Piece> {
    let n = regions.len();
    let a = tiling.wave_axis;
    let step = tiling.wave_step.max(1) as i64;
    let lo0 = regions[0].lo[a] as i64;
    let mut done: Vec<i64> = regions.iter().map(|b| b.lo[a] as i64).collect();
    let hi: Vec<i64> = regions.iter().map(|b| b.hi()[a] as i64).collect();
    let mut pieces = Vec::new();
    for c in 1.. {
        let front = lo0 + c * step;
        let mut finished = true;
        for j in 0..n {
            let end = hi[j].min(front - j as i64 * r).max(done[j]);
            if end > done[j] {
                let mut b = regions[j];
                b.lo[a] = done[j] as usize;
                b.size[a] = (end - done[j]) as usize;
                if let Some((axis, ranges)) = column {
                    let (l, u) = ranges[j];
                    b.lo[axis] = l as usize;
                    b.size[axis] = (u - l).max(0) as usize;
                }
                if !b.is_empty() {
                    pieces.push(Piece {
                        sweep: j,
                        region: b,
                    });
                }
            }
            done[j] = end;
            finished &= end >= hi[j];
        }
        if finished {
            break;
        }
    }
    pieces
}

/// The tiling for a block of `sweeps` sweeps over `region` (the first sweep's) with a
/// stencil of `radius`, `buffers` ring buffers of `cell_bytes` per cell, so that the
/// wavefront's working set fits `cache_bytes`: a wavefront along the slowest axis with
/// more than one cell, cut into strips along the next one when one slab of the wavefront
/// is too big. `tile` forces the wavefront step and the strip width (0: no strips).
pub fn choose_tiling(
    region: &IndexBox,
    sweeps: usize,
    radius: usize,
    buffers: usize,
    cell_bytes: usize,
    cache_bytes: usize,
    tile: Option<(usize, usize)>,
) -> Tiling {
    let axes: Vec<usize> = (0..DIMS).filter(|&a| region.size[a] > 1).collect();
    let wave_axis = axes.first().copied().unwrap_or(DIMS - 1);
    let split = axes.get(1).copied();
    let lag = (sweeps + 1) * radius;
    // bytes of one slab (one index along the wave axis) of every buffer, `width` wide across
    let slab = |width: usize| {
        let across: usize = (0..DIMS)
            .filter(|&a| a != wave_axis)
            .map(|a| {
                if Some(a) == split {
                    width
                } else {
                    region.size[a]
                }
            })
            .product();
        across.max(1) * cell_bytes * buffers
    };
    if let Some((step, width)) = tile {
        let strips = split.filter(|_| width > 0).map(|a| (a, width));
        return Tiling {
            wave_axis,
            wave_step: step.max(1),
            strips,
        };
    }
    let full = split.map_or(1, |a| region.size[a]);
    let slabs = |width: usize| cache_bytes / slab(width).max(1);
    // the whole cross-section when a few wavefront steps of it fit
    if split.is_none() || slabs(full) >= lag + 4 {
        return Tiling {
            wave_axis,
            wave_step: slabs(full).saturating_sub(lag).max(1),
            strips: None,
        };
    }
    // else the widest strips with room for a wavefront step of 4 slabs
    let narrowest = (2 * sweeps.saturating_sub(1) * radius).max(1);
    let per_cell = slab(1);
    let width = (cache_bytes / ((lag + 4) * per_cell)).clamp(narrowest, full);
    Tiling {
        wave_axis,
        wave_step: slabs(width).saturating_sub(lag).max(1),
        strips: split.map(|a| (a, width)),
    }
}

/// Multiples of the cache size a [`TileTuner`] tries as the target of a time block's tiles.
pub const TUNER_SCALES: [usize; 4] = [1, 2, 4, 8];
/// Blocks the tuner times with each target before it settles on the fastest.
const TUNER_ROUNDS: usize = 1;

/// Chooses the cache target of a time block's tiles by measurement, because the best one
/// depends on more than the cache's size (on this machine: 512^3 heat, 8 steps per block,
/// 0.90 Glups at the L2 size, 1.28 at 4x, 0.88 at 16x; 8192^2 1.88 at the L2 size, 1.51 at
/// 4x). The first blocks try each of [`TUNER_SCALES`] times the cache in turn, twice; every
/// later block uses the target with the least time per cell and sweep. Tiles change no
/// bit, so each rank tunes on its own and the result does not depend on the timings.
#[derive(Clone, Debug)]
pub struct TileTuner {
    base: usize,
    /// The least seconds per cell and sweep seen with each target.
    best: [f64; TUNER_SCALES.len()],
    trials: usize,
}

impl TileTuner {
    /// A tuner around a cache of `base` bytes.
    pub fn new(base: usize) -> TileTuner {
        TileTuner {
            base,
            best: [f64::INFINITY; TUNER_SCALES.len()],
            trials: 0,
        }
    }

    /// The cache target, in bytes, for the next block.
    pub fn next_cache(&self) -> usize {
        let n = TUNER_SCALES.len();
        let k = if self.trials < TUNER_ROUNDS * n {
            self.trials % n
        } else {
            (0..n)
                .min_by(|&a, &b| self.best[a].total_cmp(&self.best[b]))
                .unwrap_or(0)
        };
        self.base.saturating_mul(TUNER_SCALES[k])
    }

    /// Records that the block done with [`TileTuner::next_cache`]'s target computed
    /// `cell_sweeps` cells x sweeps in `seconds`.
    pub fn record(&mut self, cell_sweeps: f64, seconds: f64) {
        let n = TUNER_SCALES.len();
        if self.trials < TUNER_ROUNDS * n && cell_sweeps > 0.0 {
            let k = self.trials % n;
            self.best[k] = self.best[k].min(seconds / cell_sweeps);
            self.trials += 1;
        }
    }
}

/// The size of the per-core cache that temporal blocking aims its tiles at: the level-2
/// cache of CPU 0 as Linux reports it (`/sys/devices/system/cpu/cpu0/cache`), if it does.
pub fn level2_cache_bytes() -> Option<usize> {
    data_caches()
        .into_iter()
        .find(|&(level, _)| level == 2)
        .map(|c| c.1)
}

/// The size of CPU 0's last (largest level) data cache as Linux reports it, if it does.
pub fn last_level_cache_bytes() -> Option<usize> {
    data_caches().into_iter().max().map(|c| c.1)
}

/// CPU 0's data and unified caches as Linux reports them: (level, bytes).
fn data_caches() -> Vec<(u32, usize)> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).ok();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            if read(path.join("type")).as_deref().map(str::trim) == Some("Instruction") {
                return None;
            }
            let level = read(path.join("level"))?.trim().parse().ok()?;
            let size = parse_cache_size(read(path.join("size"))?.trim())?;
            Some((level, size))
        })
        .collect()
}

/// `1024K` -> 1048576, `32M` -> 33554432, `512` -> 512.
fn parse_cache_size(s: &str) -> Option<usize> {
    let (digits, scale) = match s.as_bytes().last()? {
        b'K' => (&s[..s.len() - 1], 1 << 10),
        b'M' => (&s[..s.len() - 1], 1 << 20),
        b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for a buffer cell that holds boundary data (never written).
    const BOUNDARY: i64 = i64::MIN;

    /// Replays `schedule` on buffers whose cells record which sweep wrote them, for a
    /// block grown from `owned` by `(n - 1 - j) r` on the sides in `grows` (the others
    /// are boundary ghosts), and checks: every read of level `l` by sweep `j` (every
    /// offset within `r`, corners included) finds sweep `j - 1 - l`'s value or boundary
    /// data; every cell of `regions[j]` is written once by sweep `j` and nothing else.
    fn replay(
        shape: [usize; DIMS],
        r: usize,
        n: usize,
        levels: usize,
        grows: [[bool; 2]; DIMS],
        tiling: Tiling,
    ) {
        let g = n * r + r;
        let full: [usize; DIMS] =
            std::array::from_fn(|a| if shape[a] > 1 { shape[a] + 2 * g } else { 1 });
        let lo0: [usize; DIMS] = std::array::from_fn(|a| if shape[a] > 1 { g } else { 0 });
        let regions: Vec<IndexBox> = (0..n)
            .map(|j| {
                let d = (n - 1 - j) * r;
                let mut b = IndexBox::new(lo0, shape);
                for a in (0..DIMS).filter(|&a| shape[a] > 1) {
                    let below = if grows[a][0] { d } else { 0 };
                    let above = if grows[a][1] { d } else { 0 };
                    b.lo[a] -= below;
                    b.size[a] += below + above;
                }
                b
            })
            .collect();
        let cells = full.iter().product::<usize>();
        let at = |i: [usize; DIMS]| (i[0] * full[1] + i[1]) * full[2] + i[2];
        let nb = levels + 1;
        // boundary ghosts: outside the owned box on a side that does not grow
        let boundary = |i: [usize; DIMS]| {
            (0..DIMS).any(|a| {
                shape[a] > 1
                    && ((!grows[a][0] && i[a] < lo0[a])
                        || (!grows[a][1] && i[a] >= lo0[a] + shape[a]))
            })
        };
        let mut bufs: Vec<Vec<i64>> = (0..nb)
            .map(|p| {
                (0..cells)
                    .map(|c| {
                        let i = [c / (full[1] * full[2]), c / full[2] % full[1], c % full[2]];
                        if boundary(i) {
                            BOUNDARY
                        } else if p < levels {
                            -1 - p as i64
                        } else {
                            -1000
                        }
                    })
                    .collect()
            })
            .collect();
        let mut writes = vec![vec![0u32; cells]; n];
        // every offset within r on the active axes (a box covers every stencil shape)
        let w = 2 * r as i64 + 1;
        let offsets: Vec<[i64; DIMS]> = (0..w * w * w)
            .map(|k| [k / (w * w), k / w % w, k % w])
            .filter(|o| (0..DIMS).all(|a| shape[a] > 1 || o[a] == r as i64))
            .map(|o| std::array::from_fn(|a| o[a] - r as i64))
            .collect();
        let pieces = schedule(&regions, r, &tiling);
        for p in &pieces {
            let j = p.sweep;
            let out = ring_output(j, nb);
            let b = p.region;
            for i0 in b.lo[0]..b.hi()[0] {
                for i1 in b.lo[1]..b.hi()[1] {
                    for i2 in b.lo[2]..b.hi()[2] {
                        let i = [i0, i1, i2];
                        assert!(
                            regions[j].contains(i),
                            "sweep {j} wrote {i:?} outside its region"
                        );
                        for l in 0..levels {
                            let input = &bufs[ring_input(j, l, nb)];
                            for o in &offsets {
                                let y: [usize; DIMS] =
                                    std::array::from_fn(|a| (i[a] as i64 + o[a]) as usize);
                                let v = input[at(y)];
                                let want = j as i64 - 1 - l as i64;
                                assert!(
                                    v == want || v == BOUNDARY,
                                    "sweep {j} read level {l} at {y:?}: version {v}, want {want} ({tiling:?})"
                                );
                            }
                        }
                        assert_ne!(bufs[out][at(i)], BOUNDARY);
                        bufs[out][at(i)] = j as i64;
                        writes[j][at(i)] += 1;
                    }
                }
            }
        }
        for (j, (region, written)) in regions.iter().zip(&writes).enumerate() {
            for (c, &count) in written.iter().enumerate() {
                let i = [c / (full[1] * full[2]), c / full[2] % full[1], c % full[2]];
                let want = u32::from(region.contains(i));
                assert_eq!(count, want, "sweep {j} cell {i:?} ({tiling:?})");
            }
        }
    }

    #[test]
    fn every_schedule_computes_each_cell_once_from_final_inputs() {
        let sides = [[true, true], [false, true], [true, false], [false, false]];
        for (shape, axes) in [
            ([1, 1, 23], (2, None)),
            ([1, 19, 17], (1, Some(2))),
            ([11, 9, 7], (0, Some(1))),
        ] {
            for r in 1..=2 {
                for n in 1..=4 {
                    for levels in 1..=2 {
                        for (s, side) in sides.iter().enumerate() {
                            let grows = [*side, sides[(s + 1) % 4], sides[(s + 2) % 4]];
                            for step in [1, 2, 5] {
                                // too narrow for trapezoids (then no strips), the narrowest, wider
                                let widths = [
                                    None,
                                    Some(1),
                                    Some((2 * (n - 1) * r).max(2) - 1),
                                    Some(2 * (n - 1) * r),
                                    Some(2 * n * r + 1),
                                    Some(1000),
                                ];
                                for width in widths {
                                    let strips = axes.1.zip(width);
                                    let tiling = Tiling {
                                        wave_axis: axes.0,
                                        wave_step: step,
                                        strips,
                                    };
                                    replay(shape, r, n, levels, grows, tiling);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_tuner_tries_every_target_then_keeps_the_fastest() {
        let mut t = TileTuner::new(1000);
        let mut tried = Vec::new();
        for _ in 0..TUNER_ROUNDS * TUNER_SCALES.len() {
            let cache = t.next_cache();
            tried.push(cache / 1000);
            // 4x is fastest
            let seconds = if cache == 4000 { 1.0 } else { 2.0 };
            t.record(10.0, seconds);
        }
        assert_eq!(tried, [1, 2, 4, 8].repeat(TUNER_ROUNDS));
        assert_eq!(t.next_cache(), 4000);
        t.record(10.0, 100.0); // settled: later blocks change nothing
        assert_eq!(t.next_cache(), 4000);
    }

    #[test]
    fn tiles_fit_the_cache() {
        // 2D 8192^2, 4 sweeps, radius 1, 2 buffers of f64 in 1 MiB: rows of 64 KiB do not
        // leave room for the wavefront's lag, so rows are cut into strips
        let region = IndexBox::new([0, 4, 4], [1, 8192, 8192]);
        let t = choose_tiling(&region, 4, 1, 2, 8, 1 << 20, None);
        assert_eq!(t.wave_axis, 1);
        let (axis, width) = t.strips.unwrap();
        assert_eq!(axis, 2);
        let working = (t.wave_step + 5) * width * 8 * 2;
        assert!(working <= 1 << 20 && width >= 6, "{t:?}");
        // a small grid fits whole
        let small = IndexBox::new([0, 1, 1], [1, 64, 64]);
        let t = choose_tiling(&small, 4, 1, 2, 8, 1 << 20, None);
        assert_eq!(t.strips, None);
        assert!(t.wave_step >= 64);
        // forced tiles
        let t = choose_tiling(&region, 4, 1, 2, 8, 1 << 20, Some((3, 0)));
        assert_eq!((t.wave_step, t.strips), (3, None));
        assert_eq!(parse_cache_size("1024K"), Some(1 << 20));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("x"), None);
    }
}
