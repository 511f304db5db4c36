//! The periodic box and its split over a 3D process grid: which rank owns a position,
//! the periodic wrapping rule, and the faces near which atoms become ghosts. Pure
//! geometry, no MPI.
//!
//! The box `[lo, hi)` per axis (length `L = hi - lo`) is cut into `p_a` equal slabs per
//! axis; rank `(c0 * p1 + c1) * p2 + c2` owns slab `c_a` on each axis. Slab edges are
//! `lo + L k / p_a`, and ownership compares a coordinate with those very edges, so every
//! position has exactly one owner. A sub-box must be at least the ghost cutoff thick on
//! every axis (ghosts then come from the neighbouring rank only, in one stage per axis),
//! and the box at least twice the ghost cutoff (each pair then has one periodic image in
//! range).

use crate::error::{Error, Result};
use crate::partition::{self, join_x, DIMS};

/// An orthogonal periodic box `[lo, hi)` per axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeriodicBox {
    pub lo: [f64; DIMS],
    pub hi: [f64; DIMS],
}

impl PeriodicBox {
    /// The box `[lo, hi)`; every length must be positive and finite.
    pub fn new(lo: [f64; DIMS], hi: [f64; DIMS]) -> Result<PeriodicBox> {
        for a in 0..DIMS {
            let l = hi[a] - lo[a];
            if !(l > 0.0 && l.is_finite() && lo[a].is_finite()) {
                return Err(Error::Usage(format!(
                    "the box's axis {a} runs from {} to {}: not a positive finite length",
                    lo[a], hi[a]
                )));
            }
        }
        Ok(PeriodicBox { lo, hi })
    }

    pub fn length(&self, axis: usize) -> f64 {
        self.hi[axis] - self.lo[axis]
    }

    pub fn volume(&self) -> f64 {
        (0..DIMS).map(|a| self.length(a)).product()
    }

    /// Maps coordinate `x` on `axis` into `[lo, hi)` by at most one period (LAMMPS's
    /// rule: add `L` below `lo`, subtract it at or above `hi`, clamp to `lo`), or `None`
    /// if it is more than a period outside (an atom that flew: the run has blown up).
    pub fn wrap(&self, axis: usize, x: f64) -> Option<f64> {
        let (lo, hi, l) = (self.lo[axis], self.hi[axis], self.length(axis));
        if !x.is_finite() {
            return None;
        }
        let mut y = x;
        if y < lo {
            y += l;
        }
        if y >= hi {
            y -= l;
        }
        let y = y.max(lo);
        (y >= lo && y < hi).then_some(y)
    }
}

/// Whether `p` slabs of `bounds` on `axis`, with edges `lo + L k / p` (the last `hi`)
/// as computed in floating point, are each at least `rg` thick.
fn slabs_fit(bounds: &PeriodicBox, axis: usize, p: usize, rg: f64) -> bool {
    let edge = |k: usize| {
        if k == p {
            bounds.hi[axis]
        } else {
            bounds.lo[axis] + bounds.length(axis) * k as f64 / p as f64
        }
    };
    (0..p).all(|k| edge(k + 1) - edge(k) >= rg)
}

/// This rank's part of the box.
#[derive(Clone, Debug, PartialEq)]
pub struct Domain {
    pub bounds: PeriodicBox,
    /// Ranks per axis.
    pub procs: [usize; DIMS],
    /// This rank's slab on each axis.
    pub coords: [usize; DIMS],
    /// Its sub-box `[sub_lo, sub_hi)`.
    pub sub_lo: [f64; DIMS],
    pub sub_hi: [f64; DIMS],
    /// Atoms within this distance of a sub-box face are copied to the neighbour as ghosts
    /// (force cutoff + neighbour skin).
    pub ghost_cutoff: f64,
}

impl Domain {
    /// The sub-box of `rank` of `nranks` when `bounds` is split over `procs` (or, when
    /// `None`, the process grid that cuts the least surface and leaves every sub-box at
    /// least `ghost_cutoff` thick). Refuses boxes and process grids that cannot hold a
    /// ghost cutoff, saying what the box per rank must be.
    pub fn new(
        bounds: PeriodicBox,
        nranks: usize,
        rank: usize,
        procs: Option<&[usize]>,
        ghost_cutoff: f64,
    ) -> Result<Domain> {
        let rg = ghost_cutoff;
        for a in 0..DIMS {
            if bounds.length(a) < 2.0 * rg {
                return Err(Error::Decomposition(format!(
                    "the box is {:.6} long on axis {a}, shorter than twice the ghost cutoff {rg} (cutoff + skin): make it at least {:.6}",
                    bounds.length(a),
                    2.0 * rg
                )));
            }
        }
        // how many ranks each axis holds: the most slabs whose edges, as computed in
        // floating point, leave every slab at least the ghost cutoff thick (ghosts come
        // from the next rank only)
        let slabs: [usize; DIMS] = std::array::from_fn(|a| {
            let mut p = ((bounds.length(a) / rg).floor() as usize).max(1);
            while p > 1 && !slabs_fit(&bounds, a, p, rg) {
                p -= 1;
            }
            p
        });
        let procs: [usize; DIMS] = match procs {
            Some(p) => {
                let p: [usize; DIMS] = p.try_into().map_err(|_| {
                    Error::Decomposition(format!(
                        "--procs needs three factors (AxBxC) for a 3D box, got {}",
                        join_x(p)
                    ))
                })?;
                if p.iter().product::<usize>() != nranks {
                    return Err(Error::Decomposition(format!(
                        "process grid {} has {} ranks, the job has {nranks}",
                        join_x(&p),
                        p.iter().product::<usize>()
                    )));
                }
                if let Some(a) = (0..DIMS).find(|&a| p[a] > slabs[a]) {
                    return Err(Error::Decomposition(format!(
                        "process grid {} leaves sub-boxes {:.4} thick on axis {a}, thinner than the ghost cutoff {rg}: at most {} ranks fit on that axis (the box per rank must be at least {rg} thick)",
                        join_x(&p),
                        bounds.length(a) / p[a] as f64,
                        slabs[a]
                    )));
                }
                p
            }
            None => partition::process_grid(slabs, nranks).ok_or_else(|| {
                Error::Decomposition(format!(
                    "{nranks} ranks cannot split a {:.4} x {:.4} x {:.4} box into sub-boxes at least the ghost cutoff {rg} thick (at most {} ranks fit: {} per axis)",
                    bounds.length(0),
                    bounds.length(1),
                    bounds.length(2),
                    slabs.iter().product::<usize>(),
                    join_x(&slabs)
                ))
            })?,
        };
        let coords = [
            rank / (procs[1] * procs[2]),
            rank / procs[2] % procs[1],
            rank % procs[2],
        ];
        let mut d = Domain {
            bounds,
            procs,
            coords,
            sub_lo: [0.0; DIMS],
            sub_hi: [0.0; DIMS],
            ghost_cutoff: rg,
        };
        for (a, &c) in coords.iter().enumerate() {
            d.sub_lo[a] = d.edge(a, c);
            d.sub_hi[a] = d.edge(a, c + 1);
        }
        Ok(d)
    }

    /// Edge `k` (0 ..= p) of the slabs on `axis`.
    fn edge(&self, axis: usize, k: usize) -> f64 {
        if k == self.procs[axis] {
            self.bounds.hi[axis]
        } else {
            self.bounds.lo[axis] + self.bounds.length(axis) * k as f64 / self.procs[axis] as f64
        }
    }

    /// The slab on `axis` that holds coordinate `x` (within the box).
    fn slab(&self, axis: usize, x: f64) -> usize {
        let p = self.procs[axis];
        let guess = ((x - self.bounds.lo[axis]) / self.bounds.length(axis) * p as f64).floor();
        let mut k = (guess.max(0.0) as usize).min(p - 1);
        while k > 0 && x < self.edge(axis, k) {
            k -= 1;
        }
        while k + 1 < p && x >= self.edge(axis, k + 1) {
            k += 1;
        }
        k
    }

    /// The rank whose sub-box holds `pos` (a position inside the box).
    pub fn owner(&self, pos: [f64; DIMS]) -> usize {
        let c: [usize; DIMS] = std::array::from_fn(|a| self.slab(a, pos[a]));
        self.rank_at(c)
    }

    /// The rank at process-grid coordinates `c`.
    pub fn rank_at(&self, c: [usize; DIMS]) -> usize {
        (c[0] * self.procs[1] + c[1]) * self.procs[2] + c[2]
    }

    /// The rank next to this one on `axis` in direction `dir` (-1 or +1), periodically.
    pub fn neighbour(&self, axis: usize, dir: i32) -> usize {
        let p = self.procs[axis];
        let mut c = self.coords;
        c[axis] = if dir < 0 {
            (c[axis] + p - 1) % p
        } else {
            (c[axis] + 1) % p
        };
        self.rank_at(c)
    }

    /// The shift added to a coordinate on `axis` sent in direction `dir`: `+L` when a
    /// message to the lower neighbour crosses the periodic boundary (this rank is the
    /// first slab), `-L` when one to the upper neighbour does, else 0.
    pub fn shift(&self, axis: usize, dir: i32) -> f64 {
        let last = self.procs[axis] - 1;
        match dir {
            d if d < 0 && self.coords[axis] == 0 => self.bounds.length(axis),
            d if d > 0 && self.coords[axis] == last => -self.bounds.length(axis),
            _ => 0.0,
        }
    }

    /// Whether an atom at `x` on `axis` is a ghost for the neighbour in direction `dir`:
    /// within the ghost cutoff of the lower face (`dir` -1) or the upper face (+1).
    pub fn near_face(&self, axis: usize, dir: i32, x: f64) -> bool {
        if dir < 0 {
            x < self.sub_lo[axis] + self.ghost_cutoff
        } else {
            x >= self.sub_hi[axis] - self.ghost_cutoff
        }
    }

    /// `2x1x1 process grid, sub-box 16.80 x 33.59 x 33.59`.
    pub fn describe(&self) -> String {
        format!(
            "{} process grid, sub-boxes {:.4} x {:.4} x {:.4}",
            join_x(&self.procs),
            self.bounds.length(0) / self.procs[0] as f64,
            self.bounds.length(1) / self.procs[1] as f64,
            self.bounds.length(2) / self.procs[2] as f64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(l: f64) -> PeriodicBox {
        PeriodicBox::new([0.0; 3], [l; 3]).unwrap()
    }

    #[test]
    fn wrapping_moves_by_one_period_and_refuses_flights() {
        let b = PeriodicBox::new([-1.0, 0.0, 0.0], [3.0, 1.0, 1.0]).unwrap();
        assert_eq!(b.wrap(0, 3.5), Some(-0.5));
        assert_eq!(b.wrap(0, -1.25), Some(2.75));
        assert_eq!(b.wrap(0, 3.0), Some(-1.0));
        assert_eq!(b.wrap(0, 0.5), Some(0.5));
        // just below lo: adding L rounds up to hi, which wraps back to lo
        assert_eq!(b.wrap(1, -1e-300), Some(0.0));
        assert_eq!(b.wrap(0, 7.5), None);
        assert_eq!(b.wrap(0, f64::NAN), None);
    }

    #[test]
    fn every_position_has_one_owner_and_edges_belong_above() {
        let b = PeriodicBox::new([0.0; 3], [10.0, 9.0, 7.0]).unwrap();
        for nranks in 1..=8 {
            let doms: Vec<Domain> = (0..nranks)
                .map(|r| Domain::new(b, nranks, r, None, 1.2).unwrap())
                .collect();
            for k in 0..2000 {
                let pos = [
                    (k as f64 * 0.37) % 10.0,
                    (k as f64 * 0.71) % 9.0,
                    (k as f64 * 0.13) % 7.0,
                ];
                let owners: Vec<usize> = doms
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| (0..3).all(|a| pos[a] >= d.sub_lo[a] && pos[a] < d.sub_hi[a]))
                    .map(|(r, _)| r)
                    .collect();
                assert_eq!(owners.len(), 1, "{pos:?} on {nranks} ranks");
                assert!(doms.iter().all(|d| d.owner(pos) == owners[0]));
            }
            // an edge belongs to the slab above it
            let d = &doms[0];
            for a in 0..3 {
                if d.procs[a] > 1 {
                    let mut pos = [0.0; 3];
                    pos[a] = d.sub_hi[a];
                    assert_ne!(d.owner(pos), 0);
                }
            }
        }
    }

    #[test]
    fn neighbours_and_shifts_are_periodic() {
        let d = Domain::new(cube(10.0), 4, 0, Some(&[2, 2, 1]), 2.0).unwrap();
        assert_eq!(d.coords, [0, 0, 0]);
        assert_eq!((d.neighbour(0, -1), d.neighbour(0, 1)), (2, 2));
        assert_eq!((d.neighbour(2, -1), d.neighbour(2, 1)), (0, 0));
        assert_eq!((d.shift(0, -1), d.shift(0, 1)), (10.0, 0.0));
        assert_eq!((d.shift(2, -1), d.shift(2, 1)), (10.0, -10.0));
        let top = Domain::new(cube(10.0), 4, 3, Some(&[2, 2, 1]), 2.0).unwrap();
        assert_eq!(top.coords, [1, 1, 0]);
        assert_eq!((top.shift(1, -1), top.shift(1, 1)), (0.0, -10.0));
        assert!(top.near_face(0, -1, 6.9) && !top.near_face(0, -1, 7.0));
        assert!(top.near_face(0, 1, 8.0) && !top.near_face(0, 1, 7.9));
    }

    #[test]
    fn boxes_and_grids_too_thin_for_the_ghost_cutoff_are_refused() {
        let too_small = Domain::new(cube(5.0), 1, 0, None, 2.8).unwrap_err();
        assert!(
            too_small.to_string().contains("make it at least 5.6"),
            "{too_small}"
        );
        let thin = Domain::new(cube(10.0), 4, 0, Some(&[4, 1, 1]), 2.8).unwrap_err();
        assert!(thin.to_string().contains("at most 3 ranks fit"), "{thin}");
        let many = Domain::new(cube(10.0), 28, 0, None, 2.8).unwrap_err();
        assert!(many.to_string().contains("at most 27 ranks fit"), "{many}");
        assert!(Domain::new(cube(10.0), 27, 5, None, 2.8).is_ok());
        assert!(Domain::new(cube(10.0), 2, 0, Some(&[2, 2, 1]), 2.8).is_err());
        // 22.4 / 2.8 = 8 slabs on paper, but the computed edges make one 2.7999999999999997
        // thick: 7 ranks at most
        let b = PeriodicBox::new([0.0; 3], [22.4, 10.0, 10.0]).unwrap();
        assert!(Domain::new(b, 8, 0, Some(&[8, 1, 1]), 2.8).is_err());
        assert!(Domain::new(b, 7, 0, Some(&[7, 1, 1]), 2.8).is_ok());
    }
}
