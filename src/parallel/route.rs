//! Routing to owners: every rank hands over a list of records per destination rank and
//! receives the records every rank addressed to it (`MPI_Alltoall` of the counts, then
//! `MPI_Alltoallv` of the records). Migration of particles to the rank that owns their
//! position, after a step, a restart or the read of an input file, is this call; so is
//! gathering particles by id range before a checkpoint is written.
//!
//! Records are fixed-width rows of `T` (`width` values each), so one call moves whole
//! particles (id, position, velocity, ...) of any layout a caller chooses.

use super::comm::Comm;
use mpi::datatype::Equivalence;
use mpi::ffi;
use mpi::raw::AsRaw;

fn count(n: usize) -> i32 {
    i32::try_from(n).expect("fewer than 2^31 values routed between two ranks")
}

impl Comm {
    /// Sends `outgoing[r]` (whole records of `width` values) to rank `r`, for every rank,
    /// and returns the records received, those from rank 0 first, then rank 1's, ...
    /// (each rank's in the order it sent them). Collective.
    ///
    /// # Panics
    /// If `outgoing` does not have one list per rank or a list is not whole records
    /// (bugs in the caller).
    pub fn route<T: Equivalence + Copy + Default>(
        &self,
        outgoing: &[Vec<T>],
        width: usize,
    ) -> Vec<T> {
        assert_eq!(outgoing.len(), self.size(), "one list per destination rank");
        assert!(
            outgoing.iter().all(|l| l.len() % width.max(1) == 0),
            "whole records only"
        );
        let send_counts: Vec<i32> = outgoing.iter().map(|l| count(l.len())).collect();
        let mut recv_counts = vec![0i32; self.size()];
        // SAFETY: both buffers hold one i32 per rank of the communicator.
        unsafe {
            ffi::MPI_Alltoall(
                send_counts.as_ptr().cast(),
                1,
                i32::equivalent_datatype().as_raw(),
                recv_counts.as_mut_ptr().cast(),
                1,
                i32::equivalent_datatype().as_raw(),
                self.raw(),
            );
        }
        let displacements = |counts: &[i32]| -> Vec<i32> {
            counts
                .iter()
                .scan(0i32, |at, &n| {
                    let here = *at;
                    *at = at.checked_add(n).expect("fewer than 2^31 values routed");
                    Some(here)
                })
                .collect()
        };
        let send_displacements = displacements(&send_counts);
        let recv_displacements = displacements(&recv_counts);
        let send: Vec<T> = outgoing.concat();
        let total: usize = recv_counts.iter().map(|&n| n as usize).sum();
        let mut received = vec![T::default(); total];
        let datatype = T::equivalent_datatype().as_raw();
        // SAFETY: counts and displacements describe `send` and `received` exactly, one
        // entry per rank of the communicator.
        unsafe {
            ffi::MPI_Alltoallv(
                send.as_ptr().cast(),
                send_counts.as_ptr(),
                send_displacements.as_ptr(),
                datatype,
                received.as_mut_ptr().cast(),
                recv_counts.as_ptr(),
                recv_displacements.as_ptr(),
                datatype,
                self.raw(),
            );
        }
        received
    }
}
