//! Reductions over a communicator: typed sums, maxima and minima, logical and/or (for
//! cross-rank decisions: a `bool`, never a float standing for one), exact `f64` sums that
//! give the same bits on any rank count, and exclusive prefix sums (write offsets).

use super::binned_sum::{self, BinnedSum};
use super::comm::Comm;
use super::exact_sum::{self, ExactSum};
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::datatype::Equivalence;

/// Values MPI can reduce: the integers and floats tessera counts and measures with.
pub trait Reducible: Equivalence + Copy + Default {}
impl Reducible for f64 {}
impl Reducible for f32 {}
impl Reducible for i32 {}
impl Reducible for i64 {}
impl Reducible for u32 {}
impl Reducible for u64 {}

impl Comm {
    fn all_reduce<T: Reducible>(&self, x: T, op: SystemOperation) -> T {
        let mut out = T::default();
        self.inner().all_reduce_into(&x, &mut out, op);
        out
    }

    /// Sum of `x` over all ranks (integers wrap on overflow; a float sum depends on the
    /// rank count in its last bits: use [`Comm::sum_exact`] where that matters).
    pub fn sum<T: Reducible>(&self, x: T) -> T {
        self.all_reduce(x, SystemOperation::sum())
    }

    /// Maximum of `x` over all ranks.
    pub fn max<T: Reducible>(&self, x: T) -> T {
        self.all_reduce(x, SystemOperation::max())
    }

    /// Minimum of `x` over all ranks.
    pub fn min<T: Reducible>(&self, x: T) -> T {
        self.all_reduce(x, SystemOperation::min())
    }

    /// Element-wise sums of `xs` over all ranks (every rank passes the same length).
    pub fn sum_each<T: Reducible>(&self, xs: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); xs.len()];
        self.inner()
            .all_reduce_into(xs, &mut out[..], SystemOperation::sum());
        out
    }

    /// Element-wise maxima of `xs` over all ranks (every rank passes the same length).
    pub fn max_each<T: Reducible>(&self, xs: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); xs.len()];
        self.inner()
            .all_reduce_into(xs, &mut out[..], SystemOperation::max());
        out
    }

    /// Whether `x` holds on every rank.
    pub fn all(&self, x: bool) -> bool {
        let mut out = false;
        self.inner()
            .all_reduce_into(&x, &mut out, SystemOperation::logical_and());
        out
    }

    /// Whether `x` holds on some rank.
    pub fn any(&self, x: bool) -> bool {
        let mut out = false;
        self.inner()
            .all_reduce_into(&x, &mut out, SystemOperation::logical_or());
        out
    }

    /// The exact sum over all ranks of the partial sums `local`, rounded to a double: the
    /// same bits whatever the rank count (see [`super::exact_sum`]).
    pub fn sum_exact(&self, local: &ExactSum) -> f64 {
        let mine = local.to_wire();
        let mut total = [0i64; exact_sum::WIRE];
        self.inner()
            .all_reduce_into(&mine[..], &mut total[..], SystemOperation::sum());
        ExactSum::from_wire(total).value()
    }

    /// The sum of `x` over the ranks before this one (0 on rank 0): where this rank's
    /// slice starts when every rank writes `x` items one after the other.
    pub fn exclusive_prefix_sum(&self, x: u64) -> u64 {
        let mut out = 0u64;
        self.inner()
            .exclusive_scan_into(&x, &mut out, SystemOperation::sum());
        if self.is_root() {
            0 // MPI leaves rank 0's result undefined
        } else {
            out
        }
    }
}

impl Comm {
    /// The values of several reproducible sums over all ranks, in one collective: the same
    /// bits on any rank count (each rank's partial sums are gathered and merged exactly).
    pub fn sum_binned(&self, local: &[BinnedSum]) -> Vec<f64> {
        let width = binned_sum::WIRE * local.len();
        let send: Vec<i64> = local.iter().flat_map(|s| s.to_wire()).collect();
        let mut all = vec![0i64; width * self.size()];
        self.inner().all_gather_into(&send[..], &mut all[..]);
        (0..local.len())
            .map(|i| {
                let mut total = BinnedSum::new();
                for rank in all.chunks_exact(width) {
                    let wire = &rank[i * binned_sum::WIRE..(i + 1) * binned_sum::WIRE];
                    total.merge(&BinnedSum::from_wire(wire.try_into().expect("one wire")));
                }
                total.value()
            })
            .collect()
    }

    /// Every rank's `local` values, concatenated in rank order, on every rank.
    pub fn all_gather_varcount<T: Reducible>(&self, local: &[T]) -> Vec<T> {
        use mpi::datatype::PartitionMut;
        let n = i32::try_from(local.len()).expect("fewer than 2^31 values per rank");
        let mut counts = vec![0i32; self.size()];
        self.inner().all_gather_into(&n, &mut counts[..]);
        let displs: Vec<i32> = counts
            .iter()
            .scan(0i32, |at, &c| {
                let d = *at;
                *at += c;
                Some(d)
            })
            .collect();
        let total = counts.iter().map(|&c| c as usize).sum();
        let mut all = vec![T::default(); total];
        let mut partition = PartitionMut::new(&mut all[..], counts, displs);
        self.inner().all_gather_varcount_into(local, &mut partition);
        all
    }
}

impl Comm {
    /// Copies `root`'s `data` into every rank's `data` (every rank passes the same length).
    pub fn broadcast<T: Reducible>(&self, root: usize, data: &mut [T]) {
        use mpi::collective::Root;
        use mpi::topology::Communicator;
        self.inner()
            .process_at_rank(root as i32)
            .broadcast_into(data);
    }
}
