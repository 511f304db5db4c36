//! Sums of per-tile contributions that do not depend on the order the tiles arrive in:
//! a fixed binary tree over the global tile indices (no MPI).
//!
//! The gravity ring hands each rank the tiles of global body ids in an order that depends
//! on its rank and the rank count (its own block first, then the others as they come
//! round). A body's acceleration must not: so the tile sums are combined by one tree fixed
//! by the tile indices alone. Node `(level, k)` covers tiles `[k 2^level, (k+1) 2^level)`
//! and is `left + right` of its two children (left = lower tiles), or its one child
//! unchanged when the right child lies wholly past the last tile. A node is formed as soon
//! as both children are known, whichever came first; the root is the total.
//!
//! Cost against adding tile sums in arrival order: one addition per tile and component
//! either way (the tree is pairwise summation, and as accurate as it: error growth
//! `O(log T)` instead of `O(T)`); what it adds is memory for the nodes waiting for a
//! sibling: at most `log2 T + 1` per contiguous run of tiles that arrives in increasing
//! order (a rank's block), so `2 log2 T + 2` per target at most over the ring.

use super::gravity::TileSums;

/// A node of the tree: the sums over tiles `[index << level, (index + 1) << level)`.
#[derive(Debug)]
struct Node {
    level: u32,
    index: u64,
    sums: TileSums,
}

/// The tree of one group of targets over `tiles` tiles.
#[derive(Debug, Default)]
pub struct TileTree {
    tiles: u64,
    waiting: Vec<Node>,
    root: Option<TileSums>,
    /// Buffers of combined nodes, reused.
    spare: Vec<TileSums>,
    /// The most nodes that waited at once (for the memory report).
    pub peak_waiting: usize,
}

impl TileTree {
    pub fn new(tiles: u64) -> TileTree {
        TileTree {
            tiles,
            ..TileTree::default()
        }
    }

    /// Starts a new sum over the same tiles; buffers are kept.
    pub fn clear(&mut self) {
        for node in self.waiting.drain(..) {
            self.spare.push(node.sums);
        }
        if let Some(root) = self.root.take() {
            self.spare.push(root);
        }
    }

    /// A buffer for the next tile's sums (from the spares).
    pub fn buffer(&mut self) -> TileSums {
        self.spare.pop().unwrap_or_default()
    }

    /// Adds tile `tile`'s sums (each tile once per sum).
    pub fn add(&mut self, tile: u64, sums: TileSums) {
        assert!(tile < self.tiles, "tile {tile} of {}", self.tiles);
        let mut node = Node {
            level: 0,
            index: tile,
            sums,
        };
        loop {
            if node.index == 0 && (1u64 << node.level) >= self.tiles {
                assert!(self.root.is_none(), "a tile was added twice");
                self.root = Some(node.sums);
                return;
            }
            let sibling = node.index ^ 1;
            if sibling << node.level >= self.tiles {
                // the right child is empty: the parent is this node
                node.level += 1;
                node.index >>= 1;
                continue;
            }
            let found = self
                .waiting
                .iter()
                .position(|w| w.level == node.level && w.index == sibling);
            let Some(at) = found else {
                self.waiting.push(node);
                self.peak_waiting = self.peak_waiting.max(self.waiting.len());
                return;
            };
            let other = self.waiting.swap_remove(at);
            let (mut left, right) = if node.index < sibling {
                (node.sums, other.sums)
            } else {
                (other.sums, node.sums)
            };
            left.add(&right);
            self.spare.push(right);
            node = Node {
                level: node.level + 1,
                index: node.index >> 1,
                sums: left,
            };
        }
    }

    /// The total over all tiles; `None` until every tile has been added.
    pub fn total(&self) -> Option<&TileSums> {
        self.root.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(v: f64) -> TileSums {
        TileSums {
            ax: vec![v],
            ay: vec![-v],
            az: vec![0.5 * v],
            phi: vec![v * v],
        }
    }

    fn tree_total(tiles: u64, order: &[u64], value: impl Fn(u64) -> f64) -> f64 {
        let mut t = TileTree::new(tiles);
        for &k in order {
            t.add(k, leaf(value(k)));
        }
        t.total().expect("complete").ax[0]
    }

    #[test]
    fn the_sum_is_the_same_in_every_arrival_order() {
        // values whose sum depends on the association
        let value =
            |k: u64| (1.0 + k as f64 * 0.37).powi(7) * if k.is_multiple_of(3) { -1.0 } else { 1.0 };
        for tiles in [1u64, 2, 3, 5, 8, 13, 64, 100] {
            let forward: Vec<u64> = (0..tiles).collect();
            let reference = tree_total(tiles, &forward, value);
            // a ring's orders: blocks of consecutive tiles starting anywhere
            for blocks in 1..=tiles.min(8) {
                let starts: Vec<u64> = (0..=blocks).map(|b| b * tiles / blocks).collect();
                for first in 0..blocks {
                    let mut order = Vec::new();
                    for s in 0..blocks {
                        let b = ((first + blocks - s) % blocks) as usize;
                        order.extend(starts[b]..starts[b + 1]);
                    }
                    let got = tree_total(tiles, &order, value);
                    assert_eq!(
                        got.to_bits(),
                        reference.to_bits(),
                        "{tiles} tiles, {order:?}"
                    );
                }
            }
            // and a reversed order
            let backward: Vec<u64> = (0..tiles).rev().collect();
            assert_eq!(
                tree_total(tiles, &backward, value).to_bits(),
                reference.to_bits()
            );
        }
    }

    #[test]
    fn the_tree_is_pairwise_summation() {
        // 5 tiles: ((t0 + t1) + (t2 + t3)) + t4
        let v = [1e16, 1.0, -1e16, 1.0, 3.0];
        let got = tree_total(5, &[4, 2, 3, 0, 1], |k| v[k as usize]);
        let want = ((v[0] + v[1]) + (v[2] + v[3])) + v[4];
        assert_eq!(got, want);
        // differs from the sum left to right
        let sequential = v.iter().fold(0.0, |a, b| a + b);
        assert_ne!(got, sequential);
    }

    #[test]
    fn waiting_nodes_stay_logarithmic() {
        let tiles = 1024;
        let mut t = TileTree::new(tiles);
        // two blocks, the second first (a ring's rank 1 of 2)
        for k in (512..1024).chain(0..512) {
            t.add(k, leaf(1.0));
        }
        assert_eq!(t.total().unwrap().ax[0], 1024.0);
        assert!(t.peak_waiting <= 2 * 10 + 2, "{}", t.peak_waiting);
        t.clear();
        assert!(t.total().is_none());
    }
}
