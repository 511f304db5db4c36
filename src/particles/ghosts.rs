//! Ghost atoms: copies of the atoms within the ghost cutoff of a sub-box face, edge or
//! corner, with the periodic shift applied by the sender, in three stages (x, then y
//! sending the x ghosts too, then z), two messages per stage, as LAMMPS's `comm brick`.
//!
//! [`Ghosts::build`] chooses the atoms to send from their positions at the neighbour
//! build and records the choice; [`Ghosts::refresh`] then sends the current positions
//! of the same atoms every step. A ghost coordinate is `x + s` with `s` in `{-L, 0, +L}`,
//! one addition made by whichever rank sends it: the same value on every rank count.

use super::domain::Domain;
use super::store::Store;
use crate::parallel::{Comm, NeighbourExchange, Peer};
use crate::partition::DIMS;

/// Values per ghost in a build message: id, reference position, position.
const BUILD_WIRE: usize = 1 + 2 * DIMS;

/// One axis's stage: the atoms sent to the lower and upper neighbour, and where the
/// atoms received land in the store.
#[derive(Default)]
struct Stage {
    send: [Vec<u32>; 2],
    shift: [f64; 2],
    /// Index of the first ghost received in this stage, and how many came in each message.
    first: usize,
    received: [usize; 2],
}

/// The ghost pattern of one rank and the exchanges that carry it.
pub struct Ghosts {
    exchanges: Vec<NeighbourExchange<f64>>,
    stages: Vec<Stage>,
}

/// Directions of the two messages of a stage: to the lower, then the upper neighbour.
const DIRECTIONS: [i32; 2] = [-1, 1];

impl Ghosts {
    /// The exchanges of `domain`'s rank in `comm`. Collective.
    pub fn new(comm: &Comm, domain: &Domain) -> Ghosts {
        let exchanges = (0..DIMS)
            .map(|a| {
                let tag = |d: usize| (2 * a + d) as i32;
                let sends = vec![
                    Peer {
                        rank: domain.neighbour(a, -1),
                        tag: tag(0),
                    },
                    Peer {
                        rank: domain.neighbour(a, 1),
                        tag: tag(1),
                    },
                ];
                // the upper neighbour's message to its lower neighbour, and vice versa
                let recvs = vec![
                    Peer {
                        rank: domain.neighbour(a, 1),
                        tag: tag(0),
                    },
                    Peer {
                        rank: domain.neighbour(a, -1),
                        tag: tag(1),
                    },
                ];
                NeighbourExchange::new(comm, sends, recvs)
            })
            .collect();
        Ghosts {
            exchanges,
            stages: (0..DIMS).map(|_| Stage::default()).collect(),
        }
    }

    /// Ghosts in the store after the last build.
    pub fn count(&self, store: &Store) -> usize {
        store.len() - store.owned()
    }

    /// Drops the old ghosts and brings in new ones: every atom (owned, or a ghost of an
    /// earlier stage) whose reference position lies within the ghost cutoff of a face.
    /// Collective.
    pub fn build(&mut self, store: &mut Store, domain: &Domain) {
        store.clear_ghosts();
        for a in 0..DIMS {
            let stage = &mut self.stages[a];
            let present = store.len();
            for (d, &dir) in DIRECTIONS.iter().enumerate() {
                stage.send[d].clear();
                stage.send[d].extend(
                    (0..present)
                        .filter(|&k| domain.near_face(a, dir, store.reference[a][k]))
                        .map(|k| k as u32),
                );
                stage.shift[d] = domain.shift(a, dir);
            }
            let exchange = &mut self.exchanges[a];
            let st: &Stage = stage;
            let s: &Store = store;
            exchange
                .begin_packing(|d, buf| {
                    buf.clear();
                    for &k in &st.send[d] {
                        let k = k as usize;
                        buf.push(s.id[k] as f64);
                        for x in [&s.reference, &s.pos] {
                            for (b, xb) in x.iter().enumerate() {
                                let shift = if b == a { st.shift[d] } else { 0.0 };
                                buf.push(xb[k] + shift);
                            }
                        }
                    }
                })
                .finish();
            stage.first = store.len();
            for d in 0..2 {
                let msg = exchange.received(d);
                stage.received[d] = msg.len() / BUILD_WIRE;
                for g in msg.chunks_exact(BUILD_WIRE) {
                    store.push_ghost(g[0] as u64, [g[4], g[5], g[6]], [g[1], g[2], g[3]]);
                }
            }
        }
    }

    /// Sends the current positions of the atoms chosen at the last build to where their
    /// ghosts are. Collective.
    pub fn refresh(&mut self, store: &mut Store) {
        for a in 0..DIMS {
            let stage = &self.stages[a];
            let exchange = &mut self.exchanges[a];
            {
                let pos = &store.pos;
                exchange
                    .begin_packing(|d, buf| {
                        buf.clear();
                        let shift = stage.shift[d];
                        for &k in &stage.send[d] {
                            let k = k as usize;
                            for (b, x) in pos.iter().enumerate() {
                                buf.push(if b == a { x[k] + shift } else { x[k] });
                            }
                        }
                    })
                    .finish();
            }
            let mut at = stage.first;
            for d in 0..2 {
                let msg = exchange.received(d);
                assert_eq!(
                    msg.len(),
                    DIMS * stage.received[d],
                    "a refresh carries the atoms of the build"
                );
                for g in msg.chunks_exact(DIMS) {
                    for (b, &x) in g.iter().enumerate() {
                        store.pos[b][at] = x;
                    }
                    at += 1;
                }
            }
        }
    }
}
