//! The ring shift of systolic algorithms (all-pairs gravity, Cannon-style products): every
//! rank sends a block to the next rank, `(rank + 1) mod size`, and receives one from the
//! previous, nonblocking so the next block travels while the current one is used. Blocks
//! may differ in size from rank to rank.

use super::comm::Comm;
use super::exchange::{NeighbourExchange, Peer, PendingExchange};
use mpi::datatype::Equivalence;

/// A ring shift on one communicator and tag.
pub struct RingShift<T> {
    exchange: NeighbourExchange<T>,
}

impl<T: Equivalence + Copy + Default> RingShift<T> {
    /// A shift around all ranks of `comm`, its messages tagged `tag`.
    pub fn new(comm: &Comm, tag: i32) -> Self {
        let (rank, size) = (comm.rank(), comm.size());
        let next = Peer {
            rank: (rank + 1) % size,
            tag,
        };
        let previous = Peer {
            rank: (rank + size - 1) % size,
            tag,
        };
        RingShift {
            exchange: NeighbourExchange::new(comm, vec![next], vec![previous]),
        }
    }

    /// Starts sending `block` to the next rank and receiving the previous rank's block.
    pub fn begin(&mut self, block: &[T]) -> PendingExchange<'_, T> {
        self.exchange.begin_packing(|_, buf| {
            buf.clear();
            buf.extend_from_slice(block);
        })
    }

    /// The block received from the previous rank by the last finished shift.
    pub fn received(&self) -> &[T] {
        self.exchange.received(0)
    }
}
