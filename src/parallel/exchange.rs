//! Point-to-point exchange with a set of ranks: every rank sends one message to each of
//! its send peers and receives one from each of its receive peers, nonblocking and split
//! into [`NeighbourExchange::begin`] and [`PendingExchange::finish`] so that work can be
//! done while the messages are in flight.
//!
//! Two kinds of receive:
//! - **sizes known in advance** ([`NeighbourExchange::with_receive_sizes`]): the receives
//!   are posted first, before anything is sent (grid halos, sparse-matrix ghost values:
//!   a fixed pattern found once);
//! - **sizes found on arrival** ([`NeighbourExchange::new`]): `finish` probes each peer's
//!   message for its length, sizes the buffer and receives it (ghost atoms and migration,
//!   whose counts change every step). An empty message is still a message, so every peer
//!   always hears from every other.
//!
//! An exchange works on its own duplicate of the communicator it is made on (so creating
//! one is collective), so its messages never mix with other traffic and it stays valid
//! whatever becomes of the original communicator.
//!
//! A rank may be its own peer (a periodic edge with one rank along an axis) and may appear
//! several times with different tags. Messages between the same two ranks with the same
//! tag arrive in the order they were sent (MPI's non-overtaking rule).

use super::comm::Comm;
use mpi::datatype::Equivalence;
use mpi::ffi;
use mpi::raw::AsRaw;

/// The other end of one message: its rank in the communicator and the message tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub rank: usize,
    pub tag: i32,
}

/// A reusable exchange pattern with its buffers.
pub struct NeighbourExchange<T> {
    /// A duplicate of the communicator the exchange was made on.
    comm: Comm,
    sends: Vec<Peer>,
    recvs: Vec<Peer>,
    send_bufs: Vec<Vec<T>>,
    recv_bufs: Vec<Vec<T>>,
    /// Whether receive sizes are fixed (pre-posted receives) or probed on arrival.
    sizes_known: bool,
    requests: Vec<ffi::MPI_Request>,
}

fn count(len: usize) -> i32 {
    i32::try_from(len).expect("a message of fewer than 2^31 elements")
}

fn rank(r: usize) -> i32 {
    i32::try_from(r).expect("a rank fits an i32")
}

impl<T: Equivalence + Copy + Default> NeighbourExchange<T> {
    /// An exchange whose receive sizes are found when the messages arrive. Collective.
    pub fn new(comm: &Comm, sends: Vec<Peer>, recvs: Vec<Peer>) -> Self {
        let recv_bufs = vec![Vec::new(); recvs.len()];
        Self::build(comm, sends, recvs, recv_bufs, false)
    }

    /// An exchange whose message from `recvs[i]` always holds `sizes[i]` elements.
    /// Collective.
    pub fn with_receive_sizes(
        comm: &Comm,
        sends: Vec<Peer>,
        recvs: Vec<Peer>,
        sizes: &[usize],
    ) -> Self {
        assert_eq!(sizes.len(), recvs.len(), "one size per receive peer");
        let recv_bufs = sizes.iter().map(|&n| vec![T::default(); n]).collect();
        Self::build(comm, sends, recvs, recv_bufs, true)
    }

    fn build(
        comm: &Comm,
        sends: Vec<Peer>,
        recvs: Vec<Peer>,
        recv_bufs: Vec<Vec<T>>,
        sizes_known: bool,
    ) -> Self {
        for p in sends.iter().chain(&recvs) {
            assert!(
                p.rank < comm.size(),
                "peer rank {} of {}",
                p.rank,
                comm.size()
            );
        }
        NeighbourExchange {
            comm: comm.duplicate(),
            send_bufs: vec![Vec::new(); sends.len()],
            requests: Vec::with_capacity(sends.len() + recvs.len()),
            sends,
            recvs,
            recv_bufs,
            sizes_known,
        }
    }

    pub fn send_peers(&self) -> &[Peer] {
        &self.sends
    }

    pub fn recv_peers(&self) -> &[Peer] {
        &self.recvs
    }

    /// The buffer of the message to `send_peers()[i]`, to fill before [`Self::begin`].
    pub fn send_buffer(&mut self, i: usize) -> &mut Vec<T> {
        &mut self.send_bufs[i]
    }

    /// The message received from `recv_peers()[i]` by the last finished exchange.
    pub fn received(&self, i: usize) -> &[T] {
        &self.recv_bufs[i]
    }

    /// Starts the exchange of the send buffers as they are.
    pub fn begin(&mut self) -> PendingExchange<'_, T> {
        self.begin_packing(|_, _| {})
    }

    /// Starts the exchange: posts the receives of known size, then for each send peer `i`
    /// lets `pack(i, buffer)` fill its buffer and sends it at once (so the first messages
    /// travel while later ones are packed).
    pub fn begin_packing(
        &mut self,
        mut pack: impl FnMut(usize, &mut Vec<T>),
    ) -> PendingExchange<'_, T> {
        let datatype = T::equivalent_datatype().as_raw();
        let comm = self.comm.raw();
        self.requests.clear();
        if self.sizes_known {
            for (p, buf) in self.recvs.iter().zip(self.recv_bufs.iter_mut()) {
                let mut req = std::mem::MaybeUninit::uninit();
                // SAFETY: the buffer lives in `self`, which `PendingExchange` borrows
                // mutably until every request has completed (in `finish` or its `Drop`).
                unsafe {
                    ffi::MPI_Irecv(
                        buf.as_mut_ptr().cast(),
                        count(buf.len()),
                        datatype,
                        rank(p.rank),
                        p.tag,
                        comm,
                        req.as_mut_ptr(),
                    );
                    self.requests.push(req.assume_init());
                }
            }
        }
        for (i, (p, buf)) in self.sends.iter().zip(self.send_bufs.iter_mut()).enumerate() {
            pack(i, buf);
            let mut req = std::mem::MaybeUninit::uninit();
            // SAFETY: as above; the send buffer is not touched until the request completes.
            unsafe {
                ffi::MPI_Isend(
                    buf.as_ptr().cast(),
                    count(buf.len()),
                    datatype,
                    rank(p.rank),
                    p.tag,
                    comm,
                    req.as_mut_ptr(),
                );
                self.requests.push(req.assume_init());
            }
        }
        PendingExchange {
            exchange: Some(self),
        }
    }

    /// `begin` followed at once by `finish`.
    pub fn exchange(&mut self) {
        self.begin().finish();
    }

    /// Receives every message whose size is found on arrival (blocking, peer by peer).
    fn receive_probed(&mut self) {
        let datatype = T::equivalent_datatype().as_raw();
        let comm = self.comm.raw();
        for (p, buf) in self.recvs.iter().zip(self.recv_bufs.iter_mut()) {
            let mut status = std::mem::MaybeUninit::<ffi::MPI_Status>::uninit();
            let mut n: i32 = 0;
            // SAFETY: plain MPI calls on a status we own; the buffer is sized to the
            // probed count before the receive writes into it.
            unsafe {
                ffi::MPI_Probe(rank(p.rank), p.tag, comm, status.as_mut_ptr());
                ffi::MPI_Get_count(status.as_ptr(), datatype, &mut n);
                buf.clear();
                buf.resize(
                    usize::try_from(n).expect("a non-negative count"),
                    T::default(),
                );
                ffi::MPI_Recv(
                    buf.as_mut_ptr().cast(),
                    n,
                    datatype,
                    rank(p.rank),
                    p.tag,
                    comm,
                    ffi::RSMPI_STATUS_IGNORE,
                );
            }
        }
    }
}

/// Completes every request in `requests` (once; later calls find none pending).
fn wait_all(requests: &mut Vec<ffi::MPI_Request>) {
    // SAFETY: every request was started by `begin_packing`; the vector is emptied so none
    // is waited twice.
    unsafe {
        ffi::MPI_Waitall(
            count(requests.len()),
            requests.as_mut_ptr(),
            ffi::RSMPI_STATUSES_IGNORE,
        );
    }
    requests.clear();
}

/// Messages in flight; [`PendingExchange::finish`] completes them.
pub struct PendingExchange<'a, T: Equivalence + Copy + Default> {
    /// `None` once finished.
    exchange: Option<&'a mut NeighbourExchange<T>>,
}

impl<T: Equivalence + Copy + Default> NeighbourExchange<T> {
    /// Receives the probed messages and waits for every request.
    fn complete(&mut self) {
        if !self.sizes_known {
            self.receive_probed();
        }
        wait_all(&mut self.requests);
    }
}

impl<'a, T: Equivalence + Copy + Default> PendingExchange<'a, T> {
    /// Waits for every message and returns the exchange, whose
    /// [`NeighbourExchange::received`] now holds them.
    pub fn finish(mut self) -> &'a NeighbourExchange<T> {
        let exchange = self.exchange.take().expect("finished once");
        exchange.complete();
        exchange
    }
}

impl<T: Equivalence + Copy + Default> Drop for PendingExchange<'_, T> {
    /// An exchange dropped without `finish` still completes, so MPI never writes into
    /// buffers that are reused or freed and no message is left for a later exchange.
    fn drop(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            exchange.complete();
        }
    }
}
