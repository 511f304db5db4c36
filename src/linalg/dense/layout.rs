//! Where the entries of a distributed dense matrix live: the 2D block-cyclic layout of
//! ScaLAPACK (no MPI).
//!
//! An `m x n` matrix is cut into `mb x nb` blocks; block `(I, J)` lives on process
//! `(I mod P_r, J mod P_c)` of a `P_r x P_c` process grid, and a process stores its blocks
//! in order, so global row `i` is local row `(i / mb / P_r) mb + i mod mb` of process row
//! `(i / mb) mod P_r`. With `mb = ceil(m / P_r)` (and `nb` likewise) every process holds
//! one block: the plain block layout.

/// The distribution of one dimension (rows or columns): `len` indices in blocks of
/// `block` dealt round `procs` processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cyclic {
    pub len: usize,
    pub block: usize,
    pub procs: usize,
}

impl Cyclic {
    /// `len` indices in blocks of `block` over `procs` processes (`block` and `procs` at
    /// least 1).
    pub fn new(len: usize, block: usize, procs: usize) -> Cyclic {
        assert!(block >= 1 && procs >= 1, "block {block}, procs {procs}");
        Cyclic { len, block, procs }
    }

    /// One block per process: `block = ceil(len / procs)`.
    pub fn blocked(len: usize, procs: usize) -> Cyclic {
        Cyclic::new(len, len.div_ceil(procs).max(1), procs)
    }

    /// Blocks in all.
    pub fn blocks(&self) -> usize {
        self.len.div_ceil(self.block)
    }

    /// The process holding global index `g`.
    pub fn owner(&self, g: usize) -> usize {
        (g / self.block) % self.procs
    }

    /// Global index `g`'s position in its owner's local array.
    pub fn local(&self, g: usize) -> usize {
        (g / self.block / self.procs) * self.block + g % self.block
    }

    /// The global index of process `p`'s local index `l`.
    pub fn global(&self, p: usize, l: usize) -> usize {
        ((l / self.block) * self.procs + p) * self.block + l % self.block
    }

    /// How many indices process `p` holds (ScaLAPACK's NUMROC).
    pub fn count(&self, p: usize) -> usize {
        let full = self.len / self.block;
        let mut n = (full / self.procs) * self.block;
        let extra = full % self.procs;
        if p < extra {
            n += self.block;
        } else if p == extra {
            n += self.len % self.block;
        }
        n
    }

    /// Block `b`'s global range.
    pub fn block_range(&self, b: usize) -> std::ops::Range<usize> {
        b * self.block..((b + 1) * self.block).min(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_has_one_place_and_the_counts_add_up() {
        for (len, block, procs) in [
            (10, 3, 2),
            (7, 1, 3),
            (5, 8, 2),
            (0, 4, 3),
            (100, 7, 4),
            (9, 3, 3),
        ] {
            let c = Cyclic::new(len, block, procs);
            let mut seen = vec![vec![false; len]; procs];
            for g in 0..len {
                let (p, l) = (c.owner(g), c.local(g));
                assert!(l < c.count(p), "{len} {block} {procs}: {g} -> ({p}, {l})");
                assert!(!seen[p][l]);
                seen[p][l] = true;
                assert_eq!(c.global(p, l), g);
            }
            let total: usize = (0..procs).map(|p| c.count(p)).sum();
            assert_eq!(total, len);
        }
        let b = Cyclic::blocked(10, 3);
        assert_eq!((b.count(0), b.count(1), b.count(2)), (4, 4, 2));
    }
}
