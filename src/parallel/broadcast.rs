//! Nonblocking broadcasts for distributed dense matrices: a panel in flight while the
//! previous one is multiplied. (Redistribution between layouts uses [`Comm::route`].)

use super::comm::Comm;
use super::reduce::Reducible;
use mpi::ffi;
use mpi::raw::AsRaw;

/// A broadcast in flight: it owns its buffer until [`PendingBroadcast::wait`] hands it
/// back, so nothing can touch the data while MPI may be reading or writing it.
/// Dropping it waits.
pub struct PendingBroadcast<T: Reducible> {
    request: ffi::MPI_Request,
    done: bool,
    buffer: Option<Vec<T>>,
}

impl Comm {
    /// Starts broadcasting `root`'s `buffer` into every rank's `buffer` (all the same
    /// length). Collective: every rank of the communicator starts it, in the same order as
    /// its other collectives.
    pub fn broadcast_start<T: Reducible>(
        &self,
        root: usize,
        buffer: Vec<T>,
    ) -> PendingBroadcast<T> {
        let mut buffer = buffer;
        let count = i32::try_from(buffer.len()).expect("a broadcast of fewer than 2^31 values");
        let root = i32::try_from(root).expect("a rank fits an i32");
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: the buffer's heap memory stays put and untouched until the request
        // completes (the PendingBroadcast owns the Vec and waits before giving it back or
        // dropping it); count and datatype describe it exactly.
        let request = unsafe {
            ffi::MPI_Ibcast(
                buffer.as_mut_ptr().cast(),
                count,
                T::equivalent_datatype().as_raw(),
                root,
                self.raw(),
                request.as_mut_ptr(),
            );
            request.assume_init()
        };
        PendingBroadcast {
            request,
            done: false,
            buffer: Some(buffer),
        }
    }
}

impl<T: Reducible> PendingBroadcast<T> {
    /// Lets MPI progress the broadcast; whether it has completed (the buffer is then final,
    /// still held until [`PendingBroadcast::wait`]).
    pub fn test(&mut self) -> bool {
        if !self.done {
            let mut flag = 0;
            // SAFETY: request is the live request from MPI_Ibcast, tested until complete
            unsafe {
                ffi::MPI_Test(&mut self.request, &mut flag, ffi::RSMPI_STATUS_IGNORE);
            }
            self.done = flag != 0;
        }
        self.done
    }

    /// Waits for the broadcast and returns the buffer, now holding the root's data.
    pub fn wait(mut self) -> Vec<T> {
        self.complete();
        self.buffer.take().expect("the buffer until waited for")
    }

    fn complete(&mut self) {
        if !self.done {
            // SAFETY: as in test
            unsafe {
                ffi::MPI_Wait(&mut self.request, ffi::RSMPI_STATUS_IGNORE);
            }
            self.done = true;
        }
    }
}

impl<T: Reducible> Drop for PendingBroadcast<T> {
    fn drop(&mut self) {
        self.complete();
    }
}
