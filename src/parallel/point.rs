//! Point-to-point messages whose length the receiver knows: the pairwise steps of
//! reduction trees (TSQR).

use super::comm::Comm;
use super::reduce::Reducible;
use mpi::point_to_point::{Destination, Source};
use mpi::topology::Communicator;

impl Comm {
    /// Sends `data` to rank `to` with `tag` (blocking until the buffer may be reused).
    pub fn send<T: Reducible>(&self, to: usize, tag: i32, data: &[T]) {
        self.inner()
            .process_at_rank(to as i32)
            .send_with_tag(data, tag);
    }

    /// Receives exactly `data.len()` values from rank `from` with `tag`.
    ///
    /// # Panics
    /// If the message has another length (a bug: both sides know it).
    pub fn receive<T: Reducible>(&self, from: usize, tag: i32, data: &mut [T]) {
        let status = self
            .inner()
            .process_at_rank(from as i32)
            .receive_into_with_tag(data, tag);
        assert_eq!(
            status.count(T::equivalent_datatype()) as usize,
            data.len(),
            "a message of the agreed length"
        );
    }
}
