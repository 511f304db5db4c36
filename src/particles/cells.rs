//! Neighbour search: atoms binned into cells, then a Verlet list per owned atom of every
//! atom (owned or ghost) closer than the list cutoff (force cutoff + skin).
//!
//! Bins are cells of one grid fixed to the whole box (origin at the box's low corner,
//! widths at least half the list cutoff, so an atom's neighbours lie in the bins at most
//! two away on each axis, LAMMPS's default binning). A rank bins its own atoms and ghosts
//! on the part of that grid they cover. The list is a *full* list: each pair appears
//! under both atoms, and each atom's neighbours come in a fixed order: by global bin
//! (lexicographic in the bin coordinates of the neighbour's position at the build), then
//! by global id. That order does not depend on which rank holds whom, so the force on an
//! atom, one sum over its neighbours in that order, is the same on any rank count; and
//! it is the order the bins are visited in, so no list needs sorting.

use super::force::Simd;
use crate::partition::DIMS;

/// Atoms sorted into the cells of a global grid of bins (`origin + k width` per axis),
/// over the range of bins the atoms cover; within a bin, by global id.
#[derive(Clone, Debug, Default)]
pub struct Bins {
    origin: [f64; DIMS],
    width: [f64; DIMS],
    /// The global coordinates of the first local bin, and the local bins per axis.
    first: [i64; DIMS],
    n: [usize; DIMS],
    /// Bin `b`'s atoms are `atoms[start[b] .. start[b + 1]]`.
    start: Vec<usize>,
    atoms: Vec<u32>,
    /// The positions of `atoms`, in the same order: the list build streams through them.
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    /// Each atom's local bin (scratch of `fill`).
    bin_of: Vec<usize>,
}

impl Bins {
    /// The grid of bins of a box of `length` per axis starting at `origin`, at least
    /// `min_width` wide (the box length is a whole number of bins).
    pub fn new(origin: [f64; DIMS], length: [f64; DIMS], min_width: f64) -> Bins {
        let width = std::array::from_fn(|a| {
            let n = ((length[a] / min_width).floor()).max(1.0);
            length[a] / n
        });
        Bins {
            origin,
            width,
            ..Bins::default()
        }
    }

    /// The global bin coordinate of `x` on `axis`.
    fn global(&self, axis: usize, x: f64) -> i64 {
        ((x - self.origin[axis]) / self.width[axis]).floor() as i64
    }

    /// The global bin coordinates of position `(x, y, z)`.
    pub fn coords(&self, x: f64, y: f64, z: f64) -> [i64; DIMS] {
        [self.global(0, x), self.global(1, y), self.global(2, z)]
    }

    /// The local bin index of position `(x, y, z)`, one of those `fill` covered.
    pub fn index(&self, x: f64, y: f64, z: f64) -> usize {
        let c = [x, y, z];
        let local: [usize; DIMS] =
            std::array::from_fn(|a| (self.global(a, c[a]) - self.first[a]) as usize);
        (local[0] * self.n[1] + local[1]) * self.n[2] + local[2]
    }

    /// Sorts atoms `0 .. count` of `pos` into the bins that cover them, each bin's atoms
    /// by global `id`.
    pub fn fill(&mut self, pos: &[Vec<f64>; DIMS], id: &[u64], count: usize) {
        for (a, x) in pos.iter().enumerate() {
            let (lo, hi) = x[..count]
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &x| {
                    let g = self.global(a, x);
                    (lo.min(g), hi.max(g))
                });
            (self.first[a], self.n[a]) = if count == 0 {
                (0, 1)
            } else {
                (lo, (hi - lo + 1) as usize)
            };
        }
        let nbins = self.n.iter().product::<usize>();
        let mut bin_of = std::mem::take(&mut self.bin_of);
        bin_of.clear();
        bin_of.extend((0..count).map(|i| self.index(pos[0][i], pos[1][i], pos[2][i])));
        self.bin_of = bin_of;
        self.start.clear();
        self.start.resize(nbins + 1, 0);
        for &b in &self.bin_of {
            self.start[b + 1] += 1;
        }
        for b in 0..nbins {
            self.start[b + 1] += self.start[b];
        }
        let mut next = self.start.clone();
        self.atoms.clear();
        self.atoms.resize(count, 0);
        for (i, &b) in self.bin_of.iter().enumerate() {
            self.atoms[next[b]] = i as u32;
            next[b] += 1;
        }
        for b in 0..nbins {
            self.atoms[self.start[b]..self.start[b + 1]].sort_unstable_by_key(|&i| id[i as usize]);
        }
        for (binned, p) in [&mut self.x, &mut self.y, &mut self.z].into_iter().zip(pos) {
            binned.clear();
            binned.extend(self.atoms.iter().map(|&i| p[i as usize]));
        }
    }

    /// Where the atoms of bins `(b0, b1, lo2 ..= hi2)` are in `atoms`, `x`, `y`, `z`: one
    /// range, as bins along the last axis are stored one after the other.
    fn row(&self, b0: usize, b1: usize, lo2: usize, hi2: usize) -> std::ops::Range<usize> {
        let first = (b0 * self.n[1] + b1) * self.n[2];
        self.start[first + lo2]..self.start[first + hi2 + 1]
    }
}

/// For each owned atom `i`, the local indices of its neighbours:
/// `neighbours[start[i] .. start[i + 1]]`, in (global bin, id) order.
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

    /// Rebuilds the list of atoms `0 .. owned` of `pos` (owned atoms, then ghosts):
    /// every other atom at a distance below `cutoff`. `bins` must have been filled with
    /// all of `pos`'s atoms and be at least `cutoff / 2` wide.
    pub fn build(&mut self, bins: &Bins, pos: &[Vec<f64>; DIMS], owned: usize, cutoff: f64) {
        self.build_with(Simd::detect(), bins, pos, owned, cutoff)
    }

    /// [`NeighbourList::build`] with instructions `simd` (which the processor must have).
    fn build_with(
        &mut self,
        simd: Simd,
        bins: &Bins,
        pos: &[Vec<f64>; DIMS],
        owned: usize,
        cutoff: f64,
    ) {
        let c2 = cutoff * cutoff;
        // bins within the cutoff, with a margin for the rounding of bin coordinates (a
        // cutoff of exactly two bin widths needs a third bin)
        let reach: [i64; DIMS] =
            std::array::from_fn(|a| (cutoff / bins.width[a] * (1.0 + 1e-9)).ceil() as i64);
        self.start.clear();
        self.start.push(0);
        self.neighbours.clear();
        let [x, y, z] = pos;
        for (i, ((&xi, &yi), &zi)) in x[..owned]
            .iter()
            .zip(&y[..owned])
            .zip(&z[..owned])
            .enumerate()
        {
            let c = [xi, yi, zi];
            let range = |a: usize| {
                let g = bins.global(a, c[a]) - bins.first[a];
                let lo = (g - reach[a]).max(0) as usize;
                let hi = (g + reach[a]).min(bins.n[a] as i64 - 1);
                lo..=(hi.max(-1) as usize)
            };
            let (r0, r1, r2) = (range(0), range(1), range(2));
            if r2.is_empty() {
                self.start.push(self.neighbours.len());
                continue;
            }
            let mut end = self.neighbours.len();
            for b0 in r0 {
                for b1 in r1.clone() {
                    let row = bins.row(b0, b1, *r2.start(), *r2.end());
                    self.neighbours.resize(end + row.len(), 0);
                    let candidates = Row {
                        atoms: &bins.atoms[row.clone()],
                        x: &bins.x[row.clone()],
                        y: &bins.y[row.clone()],
                        z: &bins.z[row],
                    };
                    let at = [xi, yi, zi];
                    end = match simd {
                        // SAFETY: `Simd::detect` found AVX-512F.
                        #[cfg(target_arch = "x86_64")]
                        Simd::Avx512 => unsafe {
                            scan_avx512(at, i as u32, c2, candidates, &mut self.neighbours, end)
                        },
                        _ => scan(at, i as u32, c2, candidates, &mut self.neighbours, end),
                    };
                }
            }
            self.neighbours.truncate(end);
            self.start.push(end);
        }
    }
}

/// Candidate neighbours: a row of bins' atoms and their positions.
#[derive(Clone, Copy)]
struct Row<'a> {
    atoms: &'a [u32],
    x: &'a [f64],
    y: &'a [f64],
    z: &'a [f64],
}

/// Appends to `out[end..]` the candidates closer than `sqrt(c2)` to `at` other than atom
/// `me`, in order; returns the new end (`out` has room for every candidate). Candidates
/// are written unconditionally and kept by advancing the end: no branch to mispredict.
fn scan(at: [f64; DIMS], me: u32, c2: f64, row: Row<'_>, out: &mut [u32], mut end: usize) -> usize {
    for (k, &j) in row.atoms.iter().enumerate() {
        let (dx, dy, dz) = (at[0] - row.x[k], at[1] - row.y[k], at[2] - row.z[k]);
        let near = (dx * dx + dy * dy + dz * dz < c2) & (j != me);
        out[end] = j;
        end += usize::from(near);
    }
    end
}

/// [`scan`] sixteen candidates at a time, the kept ones packed by a compress-store:
/// the same arithmetic, so the same list.
///
/// # Safety
/// The processor must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn scan_avx512(
    at: [f64; DIMS],
    me: u32,
    c2: f64,
    row: Row<'_>,
    out: &mut [u32],
    mut end: usize,
) -> usize {
    use std::arch::x86_64::*;
    let n = row.atoms.len();
    assert!(out.len() >= end + n, "room for every candidate");
    let (xi, yi, zi) = (
        _mm512_set1_pd(at[0]),
        _mm512_set1_pd(at[1]),
        _mm512_set1_pd(at[2]),
    );
    let (cutoff2, me) = (_mm512_set1_pd(c2), _mm512_set1_epi32(me as i32));
    let mut k = 0;
    while k < n {
        let left = n - k;
        let m: u16 = if left >= 16 {
            u16::MAX
        } else {
            ((1u32 << left) - 1) as u16
        };
        let (mlo, mhi) = (m as u8, (m >> 8) as u8);
        // SAFETY: masked loads read only the lanes of `m`, all inside the slices (lanes
        // past the end are neither read nor faulted on); the pointers are formed with
        // wrapping arithmetic and used only under the mask.
        let (near, idx) = unsafe {
            let half = |mask: u8, from: usize| {
                let load = |v: &[f64]| _mm512_maskz_loadu_pd(mask, v.as_ptr().wrapping_add(from));
                let (dx, dy, dz) = (
                    _mm512_sub_pd(xi, load(row.x)),
                    _mm512_sub_pd(yi, load(row.y)),
                    _mm512_sub_pd(zi, load(row.z)),
                );
                let r2 = _mm512_add_pd(
                    _mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy)),
                    _mm512_mul_pd(dz, dz),
                );
                _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(mask, r2, cutoff2)
            };
            let near = u16::from(half(mlo, k)) | (u16::from(half(mhi, k + 8)) << 8);
            let idx = _mm512_maskz_loadu_epi32(m, row.atoms.as_ptr().wrapping_add(k).cast());
            (near & _mm512_mask_cmpneq_epi32_mask(m, idx, me), idx)
        };
        // SAFETY: at most `left` <= the room after `end` values are written.
        unsafe { _mm512_mask_compressstoreu_epi32(out.as_mut_ptr().add(end).cast(), near, idx) };
        end += near.count_ones() as usize;
        k += 16;
    }
    end
}

/// Atoms per group of [`SlicedLists`]: the vector pair loop's lanes.
pub const LANES: usize = 8;

/// The neighbour lists of groups of [`LANES`] consecutive owned atoms, transposed (the
/// sliced ELLPACK layout of GPU sparse matrices): row `t` of a group holds the `t`-th
/// neighbour of each of its atoms, or `pad` past the end of a list, so that a vector
/// loop reads one row of indices per step. Each atom still meets its neighbours in list
/// order.
#[derive(Clone, Debug, Default)]
pub struct SlicedLists {
    /// Group `g`'s rows are `row_start[g] .. row_start[g + 1]`.
    pub row_start: Vec<usize>,
    /// `LANES` indices per row.
    pub idx: Vec<u32>,
    max_index: usize,
}

impl SlicedLists {
    /// The transposed form of `list`'s first `owned` lists, padded with `pad`.
    pub fn build(&mut self, list: &NeighbourList, owned: usize, pad: u32) {
        self.row_start.clear();
        self.row_start.push(0);
        self.idx.clear();
        let mut rows = 0;
        for g0 in (0..owned).step_by(LANES) {
            let atoms = g0..(g0 + LANES).min(owned);
            let longest = atoms.clone().map(|i| list.of(i).len()).max().unwrap_or(0);
            let at = self.idx.len();
            self.idx.resize(at + longest * LANES, pad);
            for (l, i) in atoms.enumerate() {
                for (t, &j) in list.of(i).iter().enumerate() {
                    self.idx[at + t * LANES + l] = j;
                }
            }
            rows += longest;
            self.row_start.push(rows);
        }
        self.max_index = self.idx.iter().copied().max().unwrap_or(0) as usize;
    }

    /// The largest index in the lists (0 when empty).
    pub fn max_index(&self) -> usize {
        self.max_index
    }

    /// The rows of group `g`.
    pub fn rows(&self, g: usize) -> &[u32] {
        &self.idx[self.row_start[g] * LANES..self.row_start[g + 1] * LANES]
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
        let mut bins = Bins::new([0.0; 3], [l; 3], cutoff / 2.0);
        bins.fill(&pos, &id, pos[0].len());
        let mut list = NeighbourList::default();
        list.build(&bins, &pos, atoms.len(), cutoff);
        // the scalar scan (what a processor without AVX-512 runs) finds the same list
        let mut scalar = NeighbourList::default();
        scalar.build_with(Simd::Baseline, &bins, &pos, atoms.len(), cutoff);
        assert_eq!(
            (&list.start, &list.neighbours),
            (&scalar.start, &scalar.neighbours)
        );
        let key = |j: u32| {
            let j = j as usize;
            let g: Vec<i64> = (0..3).map(|a| bins.global(a, pos[a][j])).collect();
            (g, id[j])
        };
        let expected = brute_force(&pos, atoms.len(), cutoff);
        for (i, want) in expected.iter().enumerate() {
            let got = list.of(i);
            let mut sorted = got.to_vec();
            sorted.sort_unstable();
            assert_eq!(&sorted, want, "atom {i}");
            assert!(
                got.windows(2).all(|w| key(w[0]) < key(w[1])),
                "atom {i}'s neighbours are in increasing (global bin, id) order, each once"
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
