//! A distributed sparse matrix in compressed sparse row (CSR) form, rows split over ranks
//! in contiguous ranges (rank `r` owns rows [`split_axis`]`(n, ranks, r)`).
//!
//! **Assembly** ([`CsrMatrix::assemble`]): every rank hands over entries `(row, column,
//! value)` with global indices for any rows; they are routed to the rows' owners (in the
//! order given, rank by rank), sorted by column within each row (a stable sort, so
//! duplicates keep their order) and duplicates summed in that order. So the matrix does
//! not depend on the rank count. Rows may be empty.
//!
//! **Ghost columns** (PETSc's VecScatter): the columns a rank's rows touch but another rank
//! owns are found once, at assembly; each owner learns which of its entries to send, and
//! the pattern becomes a [`NeighbourExchange`] with fixed sizes. `x` is held as `[owned |
//! ghosts]`, ghosts in increasing global order.
//!
//! **SpMV** (`y = A x`): the ghost values are sent first; rows that need none are
//! computed while they travel, the rest after. Every row is summed over its entries in
//! increasing global column order, whichever rank holds it: `y` has the same bits on any
//! rank count.

use crate::error::{Error, Result};
use crate::linalg::operator::{LinearOperator, LocalMatrix};
use crate::linalg::vector::Layout;
use crate::parallel::{Comm, NeighbourExchange, Peer};
use crate::partition::{owner_on_axis, split_axis};
use std::time::{Duration, Instant};

/// One rank's rows of a square sparse matrix, with its ghost exchange.
pub struct CsrMatrix {
    layout: Layout,
    /// Row `i`'s entries are `row_ptr[i] .. row_ptr[i + 1]`.
    row_ptr: Vec<usize>,
    /// Column of each entry in `[owned | ghosts]` numbering.
    cols: Vec<u32>,
    values: Vec<f64>,
    /// Rows whose entries are all owned columns, then the rest.
    inner_rows: Vec<u32>,
    outer_rows: Vec<u32>,
    /// Global index of each ghost column.
    ghosts: Vec<u64>,
    /// Per send peer: the owned entries of `x` it needs (local indices).
    send_lists: Vec<Vec<u32>>,
    exchange: NeighbourExchange<f64>,
    /// `[owned | ghosts]` values of the last `x`.
    extended: Vec<f64>,
    symmetric: bool,
    exchange_time: Duration,
}

/// Tag of the ghost-value messages (on the exchange's own communicator).
const TAG: i32 = 7;

impl CsrMatrix {
    /// The `n x n` matrix of `entries` (any rows, global indices, duplicates summed),
    /// `symmetric` if the caller knows it is. Collective.
    ///
    /// # Errors
    /// An entry outside the matrix or a non-finite value (named by its indices).
    pub fn assemble(
        comm: &Comm,
        n: u64,
        entries: &[(u64, u64, f64)],
        symmetric: bool,
    ) -> Result<CsrMatrix> {
        let (ranks, rank) = (comm.size(), comm.rank());
        // agreed before the first collective, so no rank is left waiting in it
        let bad = entries
            .iter()
            .find(|e| e.0 >= n || e.1 >= n || !e.2.is_finite());
        if comm.any(bad.is_some()) {
            let message = match bad {
                Some((i, j, v)) => format!(
                    "entry ({}, {}) = {v} lies outside the {n}x{n} matrix or is not finite",
                    i + 1,
                    j + 1
                ),
                None => "another rank holds an entry outside the matrix".to_string(),
            };
            return Err(Error::value("matrix", message));
        }
        // route to the owners of the rows, as (row, column, value bits)
        let mut outgoing = vec![Vec::new(); ranks];
        for &(i, j, v) in entries {
            let owner = owner_on_axis(n as usize, ranks, i as usize);
            outgoing[owner].extend_from_slice(&[i, j, v.to_bits()]);
        }
        let mine = comm.route(&outgoing, 3);
        let (first, count) = split_axis(n as usize, ranks, rank);
        let mut rows: Vec<(u64, u64, f64)> = mine
            .chunks_exact(3)
            .map(|e| (e[0], e[1], f64::from_bits(e[2])))
            .collect();
        rows.sort_by_key(|e| (e.0, e.1));
        // sum duplicates in the order given
        let mut merged: Vec<(u64, u64, f64)> = Vec::with_capacity(rows.len());
        for e in rows {
            match merged.last_mut() {
                Some(last) if last.0 == e.0 && last.1 == e.1 => last.2 += e.2,
                _ => merged.push(e),
            }
        }
        let (lo, hi) = (first as u64, (first + count) as u64);
        let mut ghosts: Vec<u64> = merged
            .iter()
            .map(|e| e.1)
            .filter(|&j| j < lo || j >= hi)
            .collect();
        ghosts.sort_unstable();
        ghosts.dedup();
        let local_col = |j: u64| -> u32 {
            let c = if (lo..hi).contains(&j) {
                (j - lo) as usize
            } else {
                count + ghosts.binary_search(&j).expect("a ghost column")
            };
            u32::try_from(c).expect("fewer than 2^32 columns per rank")
        };
        let mut row_ptr = vec![0usize; count + 1];
        let mut cols = Vec::with_capacity(merged.len());
        let mut values = Vec::with_capacity(merged.len());
        let (mut inner_rows, mut outer_rows) = (Vec::new(), Vec::new());
        let mut at = 0;
        for r in 0..count {
            let global = lo + r as u64;
            let mut outer = false;
            while at < merged.len() && merged[at].0 == global {
                let c = local_col(merged[at].1);
                outer |= c as usize >= count;
                cols.push(c);
                values.push(merged[at].2);
                at += 1;
            }
            row_ptr[r + 1] = cols.len();
            if outer {
                &mut outer_rows
            } else {
                &mut inner_rows
            }
            .push(r as u32);
        }
        // the scatter: ask each owner for its ghost columns, as (asking rank, column)
        let mut requests = vec![Vec::new(); ranks];
        for &j in &ghosts {
            let owner = owner_on_axis(n as usize, ranks, j as usize);
            requests[owner].extend_from_slice(&[rank as u64, j]);
        }
        let asked = comm.route(&requests, 2);
        let mut send_lists: Vec<(usize, Vec<u32>)> = Vec::new();
        for pair in asked.chunks_exact(2) {
            let (who, j) = (pair[0] as usize, pair[1]);
            if send_lists.last().is_none_or(|l| l.0 != who) {
                send_lists.push((who, Vec::new()));
            }
            send_lists
                .last_mut()
                .expect("just pushed")
                .1
                .push((j - lo) as u32);
        }
        let mut recv_peers = Vec::new();
        let mut recv_sizes = Vec::new();
        for &j in &ghosts {
            let owner = owner_on_axis(n as usize, ranks, j as usize);
            if recv_peers.last().is_none_or(|p: &Peer| p.rank != owner) {
                recv_peers.push(Peer {
                    rank: owner,
                    tag: TAG,
                });
                recv_sizes.push(0);
            }
            *recv_sizes.last_mut().expect("just pushed") += 1;
        }
        let send_peers = send_lists
            .iter()
            .map(|l| Peer {
                rank: l.0,
                tag: TAG,
            })
            .collect();
        let exchange =
            NeighbourExchange::with_receive_sizes(comm, send_peers, recv_peers, &recv_sizes);
        Ok(CsrMatrix {
            layout: Layout::rows(comm, lo, count, n),
            row_ptr,
            cols,
            values,
            inner_rows,
            outer_rows,
            extended: vec![0.0; count + ghosts.len()],
            ghosts,
            send_lists: send_lists.into_iter().map(|l| l.1).collect(),
            exchange,
            symmetric,
            exchange_time: Duration::ZERO,
        })
    }
}

/// `y[r] = sum_k values[k] x[cols[k]]` over row `r`'s entries in their (column) order, for
/// each row in `rows`.
fn multiply_rows(
    row_ptr: &[usize],
    cols: &[u32],
    values: &[f64],
    x: &[f64],
    rows: &[u32],
    y: &mut [f64],
) {
    for &r in rows {
        let r = r as usize;
        let mut sum = 0.0;
        for k in row_ptr[r]..row_ptr[r + 1] {
            sum += values[k] * x[cols[k] as usize];
        }
        y[r] = sum;
    }
}

impl LinearOperator for CsrMatrix {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn apply(&mut self, x: &[f64], y: &mut [f64]) {
        let count = self.layout.local_len();
        assert_eq!(x.len(), count, "vector of another layout");
        let t = Instant::now();
        let lists = &self.send_lists;
        let pending = self.exchange.begin_packing(|i, buf| {
            buf.clear();
            buf.extend(lists[i].iter().map(|&k| x[k as usize]));
        });
        self.exchange_time += t.elapsed();
        self.extended[..count].copy_from_slice(x);
        // rows of owned columns only while the ghost values travel
        let (p, c, v) = (&self.row_ptr, &self.cols, &self.values);
        multiply_rows(p, c, v, &self.extended, &self.inner_rows, y);
        let t = Instant::now();
        let done = pending.finish();
        let mut at = count;
        for i in 0..done.recv_peers().len() {
            let got = done.received(i);
            self.extended[at..at + got.len()].copy_from_slice(got);
            at += got.len();
        }
        self.exchange_time += t.elapsed();
        let (p, c, v) = (&self.row_ptr, &self.cols, &self.values);
        multiply_rows(p, c, v, &self.extended, &self.outer_rows, y);
    }

    fn diagonal(&self) -> Option<Vec<f64>> {
        let count = self.layout.local_len();
        Some(
            (0..count)
                .map(|r| {
                    (self.row_ptr[r]..self.row_ptr[r + 1])
                        .find(|&k| self.cols[k] as usize == r)
                        .map_or(0.0, |k| self.values[k])
                })
                .collect(),
        )
    }

    fn is_symmetric(&self) -> bool {
        self.symmetric
    }

    fn local_block(&self) -> Option<LocalMatrix> {
        let count = self.layout.local_len();
        let mut block = LocalMatrix {
            row_ptr: vec![0],
            ..LocalMatrix::default()
        };
        for r in 0..count {
            // owned columns come first in the [owned | ghosts] numbering and keep their order
            for k in self.row_ptr[r]..self.row_ptr[r + 1] {
                let c = self.cols[k] as usize;
                if c < count {
                    block.cols.push(c);
                    block.values.push(self.values[k]);
                }
            }
            block.row_ptr.push(block.cols.len());
        }
        Some(block)
    }

    fn flops(&self) -> f64 {
        2.0 * self.values.len() as f64
    }

    fn bytes(&self) -> f64 {
        // values and column indices, x (and its copy), y, row pointers
        12.0 * self.values.len() as f64
            + 8.0 * (3 * self.layout.local_len() + self.ghosts.len()) as f64
    }

    fn exchange_time(&self) -> Duration {
        self.exchange_time
    }
}
