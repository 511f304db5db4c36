//! Neighbour search: atoms binned into cells, then a Verlet list per owned atom of every
//! atom (owned or ghost) closer than the list cutoff (force cutoff + skin).
//!
//! Bins are at least half the list cutoff wide, so an atom's neighbours lie in the bins
//! at most two away on each axis (LAMMPS's default binning). The list is a *full* list:
//! each pair appears under both atoms, and each atom's neighbours are sorted by global
//! id. The force on an atom is then one sum in a fixed order of its neighbours, whatever
//! rank holds them, which makes trajectories independent of the rank count.

use crate::partition::DIMS;

/// Atoms sorted into a regular grid of bins covering `[lo, lo + n * width)`; positions
/// outside go to the nearest edge bin.
#[derive(Clone, Debug, Default)]
pub struct Bins {
    lo: [f64; DIMS],
    width: [f64; DIMS],
    n: [usize; DIMS],
    /// Bin `b`'s atoms are `atoms[start[b] .. start[b + 1]]`.
    start: Vec<usize>,
    atoms: Vec<u32>,
}

impl Bins {
    /// Bins over `[lo, hi)` at least `min_width` wide on every axis.
    pub fn new(lo: [f64; DIMS], hi: [f64; DIMS], min_width: f64) -> Bins {
        let n: [usize; DIMS] =
            std::array::from_fn(|a| (((hi[a] - lo[a]) / min_width).floor() as usize).max(1));
        let width = std::array::from_fn(|a| (hi[a] - lo[a]) / n[a] as f64);
        Bins {
            lo,
            width,
            n,
            start: Vec::new(),
            atoms: Vec::new(),
        }
    }

    /// Bins per axis.
    pub fn shape(&self) -> [usize; DIMS] {
        self.n
    }

    fn coord(&self, axis: usize, x: f64) -> usize {
        let c = ((x - self.lo[axis]) / self.width[axis]).floor();
        (c.max(0.0) as usize).min(self.n[axis] - 1)
    }

    /// The bin of position `(x, y, z)`.
    pub fn index(&self, x: f64, y: f64, z: f64) -> usize {
        (self.coord(0, x) * self.n[1] + self.coord(1, y)) * self.n[2] + self.coord(2, z)
    }

    /// Sorts atoms `0 .. count` of `pos` into the bins (counting sort: each bin's atoms
    /// in increasing index order).
    pub fn fill(&mut self, pos: &[Vec<f64>; DIMS], count: usize) {
        let nbins = self.n.iter().product::<usize>();
        let bin: Vec<usize> = (0..count)
            .map(|i| self.index(pos[0][i], pos[1][i], pos[2][i]))
            .collect();
        self.start.clear();
        self.start.resize(nbins + 1, 0);
        for &b in &bin {
            self.start[b + 1] += 1;
        }
        for b in 0..nbins {
            self.start[b + 1] += self.start[b];
        }
        let mut next = self.start.clone();
        self.atoms.clear();
        self.atoms.resize(count, 0);
        for (i, &b) in bin.iter().enumerate() {
            self.atoms[next[b]] = i as u32;
            next[b] += 1;
        }
    }

    fn atoms_in(&self, c: [usize; DIMS]) -> &[u32] {
        let b = (c[0] * self.n[1] + c[1]) * self.n[2] + c[2];
        &self.atoms[self.start[b]..self.start[b + 1]]
    }
}

/// For each owned atom `i`, the local indices of its neighbours:
/// `neighbours[start[i] .. start[i + 1]]`, sorted by global id.
#[derive(Clone, Debug, Default)]
pub struct NeighbourList {
    pub start: Vec<usize>,
    pub neighbours: Vec<u32>,
}

impl NeighbourList {
    pub fn of(&self, i: usize) -> &[u32] {
        &self.neighbours[self.start[i]..self.start[i + 1]]
    }

    /// Pairs in the list (each counted under both atoms).
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// Rebuilds the list of atoms `0 .. owned` of `pos` (owned atoms, then ghosts) with
    /// global ids `id`: every other atom at a distance below `cutoff`. `bins` must hold
    /// all of `pos`'s atoms and be at least `cutoff / 2` wide.
    pub fn build(
        &mut self,
        bins: &Bins,
        pos: &[Vec<f64>; DIMS],
        id: &[u64],
        owned: usize,
        cutoff: f64,
    ) {
        let c2 = cutoff * cutoff;
        // bins within the cutoff, with a margin for the rounding of bin coordinates (a
        // cutoff of exactly two bin widths needs a third bin)
        let reach: [usize; DIMS] =
            std::array::from_fn(|a| (cutoff / bins.width[a] * (1.0 + 1e-9)).ceil() as usize);
        self.start.clear();
        self.start.push(0);
        self.neighbours.clear();
        let mut found: Vec<(u64, u32)> = Vec::with_capacity(128);
        for i in 0..owned {
            let (xi, yi, zi) = (pos[0][i], pos[1][i], pos[2][i]);
            let c = [bins.coord(0, xi), bins.coord(1, yi), bins.coord(2, zi)];
            let range =
                |a: usize| c[a].saturating_sub(reach[a])..=(c[a] + reach[a]).min(bins.n[a] - 1);
            found.clear();
            for b0 in range(0) {
                for b1 in range(1) {
                    for b2 in range(2) {
                        for &j in bins.atoms_in([b0, b1, b2]) {
                            let j = j as usize;
                            let (dx, dy, dz) = (xi - pos[0][j], yi - pos[1][j], zi - pos[2][j]);
                            if dx * dx + dy * dy + dz * dz < c2 && j != i {
                                found.push((id[j], j as u32));
                            }
                        }
                    }
                }
            }
            found.sort_unstable();
            self.neighbours.extend(found.iter().map(|&(_, j)| j));
            self.start.push(self.neighbours.len());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator for test configurations.
    pub fn uniform(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Atoms with their periodic images within `margin` of the box `[0, l)^3`, as owned
    /// atoms followed by ghosts (ids of images repeat their atom's id).
    fn with_images(atoms: &[[f64; 3]], l: f64, margin: f64) -> ([Vec<f64>; 3], Vec<u64>) {
        let mut pos: [Vec<f64>; 3] = Default::default();
        let mut id = Vec::new();
        for s in [[0i32; 3]].into_iter().chain(
            (0..27)
                .map(|k| [k / 9 - 1, k / 3 % 3 - 1, k % 3 - 1])
                .filter(|s| *s != [0, 0, 0]),
        ) {
            for (n, p) in atoms.iter().enumerate() {
                let q: [f64; 3] = std::array::from_fn(|a| p[a] + s[a] as f64 * l);
                if q.iter().all(|&x| x >= -margin && x < l + margin) {
                    for a in 0..3 {
                        pos[a].push(q[a]);
                    }
                    id.push(n as u64 + 1);
                }
            }
        }
        (pos, id)
    }

    fn brute_force(pos: &[Vec<f64>; 3], owned: usize, cutoff: f64) -> Vec<Vec<u32>> {
        (0..owned)
            .map(|i| {
                (0..pos[0].len())
                    .filter(|&j| {
                        let r2: f64 = (0..3).map(|a| (pos[a][i] - pos[a][j]).powi(2)).sum();
                        j != i && r2 < cutoff * cutoff
                    })
                    .map(|j| j as u32)
                    .collect()
            })
            .collect()
    }

    fn check(atoms: &[[f64; 3]], l: f64, cutoff: f64) {
        let (pos, id) = with_images(atoms, l, cutoff);
        let mut bins = Bins::new([-cutoff; 3], [l + cutoff; 3], cutoff / 2.0);
        bins.fill(&pos, pos[0].len());
        let mut list = NeighbourList::default();
        list.build(&bins, &pos, &id, atoms.len(), cutoff);
        let expected = brute_force(&pos, atoms.len(), cutoff);
        for (i, want) in expected.iter().enumerate() {
            let got = list.of(i);
            let mut sorted = got.to_vec();
            sorted.sort_unstable();
            assert_eq!(&sorted, want, "atom {i}");
            assert!(
                got.windows(2)
                    .all(|w| id[w[0] as usize] < id[w[1] as usize]),
                "atom {i}'s neighbours are in increasing id order, each id once"
            );
        }
    }

    #[test]
    fn verlet_lists_match_a_brute_force_search_on_random_atoms() {
        let mut s = 7u64;
        let l = 9.0;
        let atoms: Vec<[f64; 3]> = (0..400)
            .map(|_| {
                [
                    uniform(&mut s) * l,
                    uniform(&mut s) * l,
                    uniform(&mut s) * l,
                ]
            })
            .collect();
        check(&atoms, l, 2.8);
    }

    #[test]
    fn verlet_lists_match_on_a_lattice_with_atoms_on_bin_and_box_boundaries() {
        // a simple cubic lattice of spacing 1.4 = bin width: atoms sit exactly on bin
        // edges, on the box's lower faces, and at the cutoff distance 2.8 (excluded)
        let l = 8.4;
        let atoms: Vec<[f64; 3]> = (0..216)
            .map(|k| {
                [
                    (k / 36) as f64 * 1.4,
                    (k / 6 % 6) as f64 * 1.4,
                    (k % 6) as f64 * 1.4,
                ]
            })
            .collect();
        check(&atoms, l, 2.8);
    }
}
