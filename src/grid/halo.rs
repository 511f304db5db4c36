//! Ghost-layer (halo) exchange for the fields of one block layout, on the runtime's
//! generic [`NeighbourExchange`] with receive sizes fixed by the layout.
//!
//! Every block trades with each neighbour in the 26 (3D), 8 (2D) or 2 (1D) directions the
//! `ghost`-thick layer of owned cells next to that face, edge or corner, so stencils that
//! read diagonal neighbours (9- and 27-point) see correct edge and corner ghosts. Ghosts
//! past a non-periodic edge of the grid are left alone (they hold boundary data).

use crate::grid::field::{Field, Scalar};
use crate::grid::geometry::{self, Decomposition, IndexBox};
use crate::parallel::{NeighbourExchange, Parallel, Peer, PendingExchange};
use mpi::datatype::Equivalence;

/// The exchange for one field layout: which box of the block goes to which neighbour.
pub struct HaloExchange<T> {
    exchange: NeighbourExchange<T>,
    /// Per neighbour: the owned cells sent and the ghost cells received (local indices).
    send_boxes: Vec<IndexBox>,
    recv_boxes: Vec<IndexBox>,
    shape: [usize; 3],
}

impl<T: Scalar + Equivalence> HaloExchange<T> {
    /// The exchange for this rank's block of `decomposition` laid out like `field`.
    pub fn new(parallel: &Parallel, decomposition: &Decomposition, field: &Field<T>) -> Self {
        Self::on_channel(parallel, decomposition, field, 0)
    }

    /// As [`HaloExchange::new`], with message tags offset by `channel * 64` so several
    /// exchanges (one per time level) may be in flight at once without mixing messages.
    pub fn on_channel(
        parallel: &Parallel,
        decomposition: &Decomposition,
        field: &Field<T>,
        channel: usize,
    ) -> Self {
        let tag_base = 64 * channel as i32;
        let rank = parallel.rank();
        let (owned, ghost) = (field.owned().size, field.ghost());
        let (mut sends, mut recvs) = (Vec::new(), Vec::new());
        let (mut send_boxes, mut recv_boxes) = (Vec::new(), Vec::new());
        for d in decomposition.directions() {
            if let Some(n) = decomposition.neighbour(rank, d) {
                sends.push(Peer {
                    rank: n,
                    tag: tag_base + geometry::direction_code(d),
                });
                recvs.push(Peer {
                    rank: n,
                    tag: tag_base + geometry::direction_code(d.map(|x| -x)),
                });
                send_boxes.push(geometry::send_box(owned, ghost, d));
                recv_boxes.push(geometry::recv_box(owned, ghost, d));
            }
        }
        let sizes: Vec<usize> = recv_boxes.iter().map(IndexBox::len).collect();
        HaloExchange {
            exchange: NeighbourExchange::with_receive_sizes(parallel, sends, recvs, &sizes),
            send_boxes,
            recv_boxes,
            shape: field.shape(),
        }
    }

    /// Posts the receives of the ghost layers, then packs the faces, edges and corners of
    /// `field` and starts sending them. `field` may be read (not written) until `finish`.
    pub fn begin(&mut self, field: &Field<T>) -> PendingHalo<'_, T> {
        assert_eq!(
            field.shape(),
            self.shape,
            "halo exchange built for another layout"
        );
        let (shape, boxes) = (self.shape, &self.send_boxes);
        let pending = self.exchange.begin_packing(|i, buf| {
            buf.resize(boxes[i].len(), T::default());
            geometry::pack(field.as_slice(), shape, &boxes[i], buf);
        });
        PendingHalo {
            pending,
            recv_boxes: &self.recv_boxes,
            shape,
        }
    }

    /// `begin` followed at once by `finish`.
    pub fn exchange(&mut self, field: &mut Field<T>) {
        self.begin(field).finish(field);
    }
}

/// Ghost layers in flight; [`PendingHalo::finish`] waits for them and fills the ghosts.
/// Dropped without `finish`, it still completes its messages.
pub struct PendingHalo<'a, T: Scalar + Equivalence> {
    pending: PendingExchange<'a, T>,
    recv_boxes: &'a [IndexBox],
    shape: [usize; 3],
}

impl<T: Scalar + Equivalence> PendingHalo<'_, T> {
    /// Waits for every message and writes the received layers into `field`'s ghosts.
    pub fn finish(self, field: &mut Field<T>) {
        let exchange = self.pending.finish();
        for (i, b) in self.recv_boxes.iter().enumerate() {
            geometry::unpack(field.as_slice_mut(), self.shape, b, exchange.received(i));
        }
    }
}
