//! Geometry of a structured grid split over ranks: index boxes, the block partition of a
//! global grid over a process grid, neighbour arithmetic and the halo (ghost) regions.
//!
//! No MPI here: everything is plain index arithmetic, unit-tested on one process.
//!
//! Conventions
//! - A grid has 1, 2 or 3 axes. Internally every grid is three-dimensional with the unused
//!   LEADING axes of extent 1 (a 2D `nx x ny` grid is `1 x nx x ny`), so the last axis is
//!   always the contiguous one in memory. Only the trailing `ndim` axes are *active*: they
//!   carry ghost layers and may be split over ranks.
//! - Ranks are laid out row-major over the process grid: `rank = (c0 * p1 + c1) * p2 + c2`.

use crate::error::{Error, Name, Result};
use crate::partition::{self, join_x, split_axis};

/// Number of axes used internally (1D and 2D grids are padded with leading unit axes).
pub use crate::partition::DIMS;

/// A half-open box of cell indices `[lo, lo + size)` on each of the three axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexBox {
    pub lo: [usize; DIMS],
    pub size: [usize; DIMS],
}

impl IndexBox {
    pub fn new(lo: [usize; DIMS], size: [usize; DIMS]) -> Self {
        IndexBox { lo, size }
    }

    /// One past the last index on each axis.
    pub fn hi(&self) -> [usize; DIMS] {
        std::array::from_fn(|a| self.lo[a] + self.size[a])
    }

    /// Number of cells in the box.
    pub fn len(&self) -> usize {
        self.size.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, idx: [usize; DIMS]) -> bool {
        (0..DIMS).all(|a| idx[a] >= self.lo[a] && idx[a] < self.lo[a] + self.size[a])
    }

    /// The box with `by[a]` cells removed from both ends of axis `a` (empty if too thin).
    pub fn shrink(&self, by: [usize; DIMS]) -> IndexBox {
        let mut out = *self;
        for (a, &b) in by.iter().enumerate() {
            if self.size[a] <= 2 * b {
                out.size[a] = 0;
            } else {
                out.lo[a] += b;
                out.size[a] -= 2 * b;
            }
        }
        out
    }

    /// `self` minus `inner` (which must lie inside `self`), as at most six disjoint slabs:
    /// for each axis in turn, the part below and above `inner`, restricted on the earlier
    /// axes to `inner`'s extent.
    pub fn minus(&self, inner: &IndexBox) -> Vec<IndexBox> {
        if inner.is_empty() {
            return if self.is_empty() { vec![] } else { vec![*self] };
        }
        let mut rest = *self;
        let mut out = Vec::new();
        for a in 0..DIMS {
            let below = inner.lo[a] - rest.lo[a];
            let above = rest.hi()[a] - inner.hi()[a];
            if below > 0 {
                let mut b = rest;
                b.size[a] = below;
                out.push(b);
            }
            if above > 0 {
                let mut b = rest;
                b.lo[a] = inner.hi()[a];
                b.size[a] = above;
                out.push(b);
            }
            rest.lo[a] = inner.lo[a];
            rest.size[a] = inner.size[a];
        }
        out
    }
}

/// A global structured grid: its extents (1 to 3 axes) and which axes are periodic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    ndim: usize,
    extents: [usize; DIMS],
    periodic: [bool; DIMS],
}

/// The most cells a grid may have: 2^50 (8 PiB of `f64`), so that every index, offset
/// and byte count derived from a grid's extents fits a 64-bit integer.
pub const MAX_CELLS: u64 = 1 << 50;

impl Grid {
    /// A grid with the given extents (1 to 3 values, each at least 1); `periodic[a]` tells
    /// whether axis `a` wraps around.
    pub fn new(extents: &[usize], periodic: &[bool]) -> Result<Grid> {
        let ndim = extents.len();
        if !(1..=DIMS).contains(&ndim) {
            return Err(Error::value(
                "size",
                format!("a grid has 1 to 3 axes, got {ndim}"),
            ));
        }
        if periodic.len() != ndim {
            return Err(Error::value(
                "bc",
                "one periodicity flag per axis is needed",
            ));
        }
        if let Some(a) = extents.iter().position(|&n| n == 0) {
            return Err(Error::value("size", format!("axis {a} has no cells")));
        }
        // every size, offset and byte count derived from the extents must be computable
        let cells = extents
            .iter()
            .try_fold(1u64, |n, &e| n.checked_mul(e as u64));
        if cells.is_none_or(|c| c > MAX_CELLS) {
            return Err(Error::value(
                "size",
                format!(
                    "{} is more than {MAX_CELLS} cells (2^50), which no machine holds",
                    join_x(extents)
                ),
            ));
        }
        let off = DIMS - ndim;
        let mut e = [1; DIMS];
        let mut p = [false; DIMS];
        e[off..].copy_from_slice(extents);
        p[off..].copy_from_slice(periodic);
        Ok(Grid {
            ndim,
            extents: e,
            periodic: p,
        })
    }

    /// Number of axes the user sees (1, 2 or 3).
    pub fn ndim(&self) -> usize {
        self.ndim
    }

    /// Extents padded to three axes (leading axes of extent 1).
    pub fn extents(&self) -> [usize; DIMS] {
        self.extents
    }

    /// The extents of the active axes only, as the user wrote them (e.g. `[37, 23]`).
    pub fn shape(&self) -> Vec<usize> {
        self.extents[DIMS - self.ndim..].to_vec()
    }

    /// Periodicity padded to three axes.
    pub fn periodic(&self) -> [bool; DIMS] {
        self.periodic
    }

    /// Whether internal axis `a` (0..3) is one of the grid's axes.
    pub fn is_active(&self, a: usize) -> bool {
        a >= DIMS - self.ndim
    }

    /// Total number of cells.
    pub fn cells(&self) -> usize {
        self.extents.iter().product()
    }

    /// The whole grid as an index box.
    pub fn bounds(&self) -> IndexBox {
        IndexBox::new([0; DIMS], self.extents)
    }

    /// The shape formatted as `37x23`.
    pub fn shape_string(&self) -> String {
        join_x(&self.shape())
    }
}

/// The grid of `nranks` processes used when the user does not force one: see
/// [`partition::process_grid`], with an error naming the largest rank count that fits.
pub fn choose_process_grid(grid: &Grid, nranks: usize) -> Result<[usize; DIMS]> {
    if nranks == 0 {
        return Err(Error::Decomposition("no ranks".into()));
    }
    partition::process_grid(grid.extents(), nranks).ok_or_else(|| {
        Error::Decomposition(format!(
            "{nranks} ranks cannot each own at least one cell of the {} grid \
             (use at most {} ranks, or a larger grid)",
            grid.shape_string(),
            max_ranks(grid, nranks)
        ))
    })
}

/// The largest rank count below `limit` for which some process grid fits `grid`.
fn max_ranks(grid: &Grid, limit: usize) -> usize {
    (1..limit)
        .rev()
        .find(|&r| partition::process_grid(grid.extents(), r).is_some())
        .unwrap_or(1)
}

/// Offsets of the 26 (in 3D; 8 in 2D, 2 in 1D) neighbouring blocks: faces, edges, corners.
pub type Direction = [i32; DIMS];

/// A unique code 0..27 for a direction (13 is the block itself).
pub fn direction_code(d: Direction) -> i32 {
    (d[0] + 1) * 9 + (d[1] + 1) * 3 + (d[2] + 1)
}

/// The block partition of a grid over a process grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decomposition {
    grid: Grid,
    procs: [usize; DIMS],
    /// Per axis: the first cell of each part, and the axis length last (`procs[a] + 1`
    /// values). The even split of [`split_axis`] unless derived by
    /// [`Decomposition::coarsened`].
    starts: [Vec<usize>; DIMS],
}

impl Decomposition {
    /// Splits `grid` over `nranks` ranks, on the process grid `forced` (one factor per grid
    /// axis) if given, else on [`choose_process_grid`]'s choice.
    pub fn new(grid: Grid, nranks: usize, forced: Option<&[usize]>) -> Result<Self> {
        let procs = match forced {
            None => choose_process_grid(&grid, nranks)?,
            Some(f) => {
                if f.len() != grid.ndim() {
                    return Err(Error::value(
                        "procs",
                        format!(
                            "{} has {} factors but the grid has {} axes",
                            join_x(f),
                            f.len(),
                            grid.ndim()
                        ),
                    ));
                }
                let product = f.iter().try_fold(1usize, |n, &p| n.checked_mul(p));
                if product != Some(nranks) {
                    let product = product
                        .map_or("more ranks than can be counted".to_string(), |p| {
                            format!("{p} ranks")
                        });
                    return Err(Error::value(
                        "procs",
                        format!("{} is {product}, but the job has {nranks}", join_x(f)),
                    ));
                }
                let shape = grid.shape();
                if let Some(a) = (0..f.len()).find(|&a| f[a] > shape[a]) {
                    return Err(Error::value(
                        "procs",
                        format!(
                            "{} ranks along axis {a} but the grid has only {} cells there",
                            f[a], shape[a]
                        ),
                    ));
                }
                let mut p = [1; DIMS];
                p[DIMS - f.len()..].copy_from_slice(f);
                p
            }
        };
        let n = grid.extents();
        let starts = std::array::from_fn(|a| {
            (0..=procs[a])
                .map(|p| split_axis(n[a], procs[a], p.min(procs[a] - 1)).0)
                .enumerate()
                .map(|(p, lo)| if p == procs[a] { n[a] } else { lo })
                .collect()
        });
        Ok(Decomposition {
            grid,
            procs,
            starts,
        })
    }

    /// The decomposition of a vertex grid coarsened by two on every axis (`n` points per
    /// axis, `n + 1` intervals, becoming `(n + 1) / 2 - 1` points) on the same process
    /// grid, each rank owning the coarse points that lie on its fine points (coarse point
    /// `I` is fine point `2 I + 1`). Blocks may be empty. `None` unless every axis of the
    /// grid has an odd number of points, at least 3, and is not periodic.
    pub fn coarsened(&self) -> Option<Decomposition> {
        let n = self.grid.extents();
        let active: Vec<usize> = (0..DIMS).filter(|&a| self.grid.is_active(a)).collect();
        if active
            .iter()
            .any(|&a| n[a] < 3 || n[a].is_multiple_of(2) || self.grid.periodic()[a])
        {
            return None;
        }
        let coarse: Vec<usize> = active.iter().map(|&a| n[a].div_ceil(2) - 1).collect();
        let grid = Grid::new(&coarse, &vec![false; coarse.len()]).ok()?;
        let starts = std::array::from_fn(|a| {
            if self.grid.is_active(a) {
                self.starts[a].iter().map(|&lo| lo / 2).collect()
            } else {
                self.starts[a].clone()
            }
        });
        Some(Decomposition {
            grid,
            procs: self.procs,
            starts,
        })
    }

    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Ranks along each internal axis (1 on inactive axes).
    pub fn procs(&self) -> [usize; DIMS] {
        self.procs
    }

    /// The process grid as the user would write it (`2x2`).
    pub fn procs_string(&self) -> String {
        join_x(&self.procs[DIMS - self.grid.ndim()..])
    }

    pub fn nranks(&self) -> usize {
        self.procs.iter().product()
    }

    /// Position of `rank` in the process grid.
    pub fn coords(&self, rank: usize) -> [usize; DIMS] {
        let p = self.procs;
        [rank / (p[1] * p[2]), (rank / p[2]) % p[1], rank % p[2]]
    }

    /// The rank at position `c` of the process grid.
    pub fn rank_at(&self, c: [usize; DIMS]) -> usize {
        (c[0] * self.procs[1] + c[1]) * self.procs[2] + c[2]
    }

    /// The cells `rank` owns, in global indices.
    pub fn owned(&self, rank: usize) -> IndexBox {
        let c = self.coords(rank);
        let mut b = IndexBox::new([0; DIMS], [0; DIMS]);
        for a in 0..DIMS {
            let s = &self.starts[a];
            (b.lo[a], b.size[a]) = (s[c[a]], s[c[a] + 1] - s[c[a]]);
        }
        b
    }

    /// The rank owning global cell `idx`.
    pub fn owner(&self, idx: [usize; DIMS]) -> usize {
        self.rank_at(std::array::from_fn(|a| {
            // the last part whose first cell is at or before idx (empty parts skipped)
            self.starts[a].partition_point(|&lo| lo <= idx[a]) - 1
        }))
    }

    /// The rank whose block lies at offset `d` from `rank`'s block, wrapping on periodic
    /// axes; `None` past a non-periodic edge of the grid.
    pub fn neighbour(&self, rank: usize, d: Direction) -> Option<usize> {
        let c = self.coords(rank);
        let mut out = [0; DIMS];
        for a in 0..DIMS {
            let p = self.procs[a] as i64;
            let x = c[a] as i64 + d[a] as i64;
            out[a] = if (0..p).contains(&x) {
                x as usize
            } else if self.grid.periodic()[a] {
                x.rem_euclid(p) as usize
            } else {
                return None;
            };
        }
        Some(self.rank_at(out))
    }

    /// All offsets to neighbouring blocks (faces, edges and corners) on the active axes.
    pub fn directions(&self) -> Vec<Direction> {
        let r = |a: usize| {
            if self.grid.is_active(a) {
                -1..=1
            } else {
                0..=0
            }
        };
        let mut out = Vec::new();
        for d0 in r(0) {
            for d1 in r(1) {
                for d2 in r(2) {
                    if [d0, d1, d2] != [0, 0, 0] {
                        out.push([d0, d1, d2]);
                    }
                }
            }
        }
        out
    }

    /// Ghost widths on the three internal axes: `width` on active axes, 0 elsewhere.
    pub fn ghost_widths(&self, width: usize) -> [usize; DIMS] {
        std::array::from_fn(|a| if self.grid.is_active(a) { width } else { 0 })
    }

    /// Checks that every block is at least `width` cells thick wherever it trades ghost
    /// layers, so a halo comes from the adjacent block only. `minimum` is the least width
    /// the run could use (the hint suggests it only when `width` is above it).
    pub fn check_ghost_width(&self, width: usize, minimum: usize) -> Result<()> {
        if width == 0 {
            return Err(Error::value("ghost", "the ghost width must be at least 1"));
        }
        let n = self.grid.extents();
        for a in (0..DIMS).filter(|&a| self.grid.is_active(a)) {
            let thinnest = n[a] / self.procs[a];
            let trades = self.procs[a] > 1 || self.grid.periodic()[a];
            if trades && thinnest < width {
                let axis = a - (DIMS - self.grid.ndim());
                let smaller = if width > minimum {
                    format!(" or a smaller {} (at least {minimum})", Name("ghost"))
                } else {
                    format!(" or a larger {}", Name("size"))
                };
                return Err(Error::Decomposition(format!(
                    "ghost width {width} exceeds the thinnest block ({thinnest} cells) along \
                     axis {axis}; use fewer ranks along that axis{smaller}"
                )));
            }
        }
        Ok(())
    }
}

/// Where the cells that go to the neighbour in direction `d` lie, in local (ghosted)
/// indices of a block with `owned` cells per axis and `ghost` layers per side: the
/// `ghost`-thick layer of owned cells next to that face, edge or corner.
pub fn send_box(owned: [usize; DIMS], ghost: [usize; DIMS], d: Direction) -> IndexBox {
    let mut b = IndexBox::new([0; DIMS], [0; DIMS]);
    for a in 0..DIMS {
        (b.lo[a], b.size[a]) = match d[a] {
            -1 => (ghost[a], ghost[a]),
            0 => (ghost[a], owned[a]),
            _ => (ghost[a] + owned[a] - ghost[a], ghost[a]),
        };
    }
    b
}

/// Where the ghost cells filled from the neighbour in direction `d` lie, in local indices.
pub fn recv_box(owned: [usize; DIMS], ghost: [usize; DIMS], d: Direction) -> IndexBox {
    let mut b = IndexBox::new([0; DIMS], [0; DIMS]);
    for a in 0..DIMS {
        (b.lo[a], b.size[a]) = match d[a] {
            -1 => (0, ghost[a]),
            0 => (ghost[a], owned[a]),
            _ => (ghost[a] + owned[a], ghost[a]),
        };
    }
    b
}

/// Copies the cells of `b` out of the row-major array `data` of shape `shape` into `out`
/// (in row-major order of the box). `out.len()` must be `b.len()`.
pub fn pack<T: Copy>(data: &[T], shape: [usize; DIMS], b: &IndexBox, out: &mut [T]) {
    assert_eq!(out.len(), b.len(), "pack buffer size");
    let run = b.size[2];
    let mut pos = 0;
    for i in b.lo[0]..b.hi()[0] {
        for j in b.lo[1]..b.hi()[1] {
            let start = (i * shape[1] + j) * shape[2] + b.lo[2];
            out[pos..pos + run].copy_from_slice(&data[start..start + run]);
            pos += run;
        }
    }
}

/// The inverse of [`pack`]: writes `src` into the cells of `b`.
pub fn unpack<T: Copy>(data: &mut [T], shape: [usize; DIMS], b: &IndexBox, src: &[T]) {
    assert_eq!(src.len(), b.len(), "unpack buffer size");
    let run = b.size[2];
    let mut pos = 0;
    for i in b.lo[0]..b.hi()[0] {
        for j in b.lo[1]..b.hi()[1] {
            let start = (i * shape[1] + j) * shape[2] + b.lo[2];
            data[start..start + run].copy_from_slice(&src[pos..pos + run]);
            pos += run;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(e: &[usize], periodic: bool) -> Grid {
        Grid::new(e, &vec![periodic; e.len()]).unwrap()
    }

    #[test]
    fn every_cell_owned_exactly_once() {
        for (shape, ranks) in [
            (vec![37, 23], 1..=6),
            (vec![17, 13, 11], 1..=8),
            (vec![10], 1..=4),
            (vec![5, 4], 1..=4),
        ] {
            for n in ranks {
                let d = Decomposition::new(grid(&shape, false), n, None).unwrap();
                assert_eq!(d.nranks(), n);
                let e = d.grid().extents();
                let mut owners = vec![usize::MAX; d.grid().cells()];
                for r in 0..n {
                    let b = d.owned(r);
                    assert!(!b.is_empty());
                    for i in b.lo[0]..b.hi()[0] {
                        for j in b.lo[1]..b.hi()[1] {
                            for k in b.lo[2]..b.hi()[2] {
                                let l = (i * e[1] + j) * e[2] + k;
                                assert_eq!(owners[l], usize::MAX, "cell owned twice");
                                owners[l] = r;
                                assert_eq!(d.owner([i, j, k]), r);
                            }
                        }
                    }
                }
                assert!(owners.iter().all(|&o| o != usize::MAX), "cell not owned");
                // balance: owned sizes along an axis differ by at most one
                for a in 0..DIMS {
                    let sizes: Vec<usize> = (0..n).map(|r| d.owned(r).size[a]).collect();
                    let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                    assert!(hi - lo <= 1, "{shape:?} on {n}: axis {a} sizes {sizes:?}");
                }
            }
        }
    }

    #[test]
    fn process_grid_choice() {
        assert_eq!(
            choose_process_grid(&grid(&[64, 64], false), 4).unwrap(),
            [1, 2, 2]
        );
        assert_eq!(
            choose_process_grid(&grid(&[32, 32, 32], false), 8).unwrap(),
            [2, 2, 2]
        );
        // a long thin grid is cut across its long axis
        assert_eq!(
            choose_process_grid(&grid(&[1000, 10], false), 4).unwrap(),
            [1, 4, 1]
        );
        assert_eq!(
            choose_process_grid(&grid(&[37, 23], false), 3).unwrap(),
            [1, 3, 1]
        );
        assert_eq!(
            choose_process_grid(&grid(&[7], false), 3).unwrap(),
            [1, 1, 3]
        );
        // like MPI_Dims_create: non-increasing on a square grid
        assert_eq!(
            choose_process_grid(&grid(&[60, 60], false), 6).unwrap(),
            [1, 3, 2]
        );
    }

    #[test]
    fn more_ranks_than_cells_is_an_error() {
        let e = choose_process_grid(&grid(&[2, 2], false), 5)
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 ranks cannot each own"), "{e}");
        assert!(e.contains("at most 4 ranks"), "{e}");
        assert!(Decomposition::new(grid(&[3], false), 4, None).is_err());
    }

    #[test]
    fn forced_process_grid_is_checked() {
        let g = grid(&[8, 8], false);
        let d = Decomposition::new(g.clone(), 4, Some(&[4, 1])).unwrap();
        assert_eq!(d.procs(), [1, 4, 1]);
        assert_eq!(d.procs_string(), "4x1");
        assert!(Decomposition::new(g.clone(), 4, Some(&[3, 1])).is_err());
        assert!(Decomposition::new(g.clone(), 4, Some(&[2, 2, 1])).is_err());
        let e = Decomposition::new(grid(&[2, 8], false), 4, Some(&[4, 1])).unwrap_err();
        assert!(e.to_string().contains("only 2 cells"), "{e}");
    }

    #[test]
    fn neighbours_and_periodic_wrap() {
        let d = Decomposition::new(grid(&[8, 9], false), 6, Some(&[2, 3])).unwrap();
        // rank 0 at (0,0): no neighbour below on either axis
        assert_eq!(d.neighbour(0, [0, -1, 0]), None);
        assert_eq!(d.neighbour(0, [0, 1, 0]), Some(3));
        assert_eq!(d.neighbour(0, [0, 0, 1]), Some(1));
        assert_eq!(d.neighbour(0, [0, 1, 1]), Some(4));
        assert_eq!(d.neighbour(5, [0, 1, 0]), None);
        let p = Decomposition::new(grid(&[8, 9], true), 6, Some(&[2, 3])).unwrap();
        assert_eq!(p.neighbour(0, [0, -1, 0]), Some(3));
        assert_eq!(p.neighbour(0, [0, -1, -1]), Some(5));
        assert_eq!(p.neighbour(2, [0, 0, 1]), Some(0));
        // a periodic axis with a single rank wraps onto the rank itself
        let s = Decomposition::new(grid(&[8, 9], true), 2, Some(&[1, 2])).unwrap();
        assert_eq!(s.neighbour(1, [0, 1, 0]), Some(1));
        assert_eq!(s.neighbour(1, [0, 1, 1]), Some(0));
        // the neighbour relation is symmetric
        for r in 0..6 {
            for dir in p.directions() {
                let n = p.neighbour(r, dir).unwrap();
                assert_eq!(p.neighbour(n, dir.map(|x| -x)), Some(r));
            }
        }
        assert_eq!(p.directions().len(), 8);
        assert_eq!(
            Decomposition::new(grid(&[4, 4, 4], true), 1, None)
                .unwrap()
                .directions()
                .len(),
            26
        );
    }

    #[test]
    fn ghost_width_must_fit_in_blocks() {
        let d = Decomposition::new(grid(&[8, 5], false), 2, Some(&[1, 2])).unwrap();
        assert!(d.check_ghost_width(2, 1).is_ok());
        let thick = d.check_ghost_width(3, 1).unwrap_err().to_string();
        assert!(thick.contains("smaller ghost (at least 1)"), "{thick}");
        let minimal = d.check_ghost_width(3, 3).unwrap_err().to_string();
        assert!(minimal.contains("larger size"), "{minimal}");
        assert!(d.check_ghost_width(0, 1).is_err());
    }

    #[test]
    fn box_minus_covers_the_shell_once() {
        let outer = IndexBox::new([1, 2, 3], [5, 6, 7]);
        let inner = outer.shrink([1, 1, 2]);
        let parts = outer.minus(&inner);
        assert_eq!(
            parts.iter().map(|b| b.len()).sum::<usize>() + inner.len(),
            outer.len()
        );
        for i in 1..6 {
            for j in 2..8 {
                for k in 3..10 {
                    let n = parts.iter().filter(|b| b.contains([i, j, k])).count()
                        + usize::from(inner.contains([i, j, k]));
                    assert_eq!(n, 1);
                }
            }
        }
    }

    /// Packs every send region of a block whose cells hold their own local index, unpacks
    /// them into the matching receive regions of a copy, and checks that faces, edges and
    /// corners land in the ghost cells on the opposite side.
    #[test]
    fn pack_unpack_faces_edges_corners() {
        let owned = [4, 5, 6];
        let g = [2, 2, 2];
        let shape: [usize; 3] = std::array::from_fn(|a| owned[a] + 2 * g[a]);
        let n: usize = shape.iter().product();
        let data: Vec<usize> = (0..n).collect();
        let mut out = vec![usize::MAX; n];
        let d = Decomposition::new(grid(&[4, 5, 6], true), 1, None).unwrap();
        for dir in d.directions() {
            // with one periodic block, what I send towards `dir` comes back from `-dir`
            let s = send_box(owned, g, dir);
            let r = recv_box(owned, g, dir.map(|x| -x));
            assert_eq!(s.size, r.size);
            let mut buf = vec![0; s.len()];
            pack(&data, shape, &s, &mut buf);
            unpack(&mut out, shape, &r, &buf);
        }
        let at = |i: usize, j: usize, k: usize| (i * shape[1] + j) * shape[2] + k;
        for i in 0..shape[0] {
            for j in 0..shape[1] {
                for k in 0..shape[2] {
                    let interior = [i, j, k]
                        .iter()
                        .enumerate()
                        .all(|(a, &x)| x >= g[a] && x < g[a] + owned[a]);
                    if interior {
                        assert_eq!(out[at(i, j, k)], usize::MAX);
                    } else {
                        // periodic image of the ghost cell inside the owned block
                        let w = |x: usize, a: usize| (x + owned[a] - g[a]) % owned[a] + g[a];
                        assert_eq!(out[at(i, j, k)], data[at(w(i, 0), w(j, 1), w(k, 2))]);
                    }
                }
            }
        }
    }
}
