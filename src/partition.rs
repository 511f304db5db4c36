//! Block partitions and process grids: pure arithmetic, no MPI.
//!
//! An axis of `n` cells split over `parts` ranks gives the first `n % parts` parts one cell
//! more than the others ([`split_axis`], inverted by [`owner_on_axis`]). A process grid is
//! a factorisation `p0 * p1 * p2` of the rank count ([`process_grid`]). Grids, particle
//! boxes and distributed vectors and matrices all use these.

/// Axes of a process grid (lower-dimensional problems have leading axes of extent 1).
pub const DIMS: usize = 3;

/// `[37, 23]` -> `"37x23"`.
pub fn join_x(v: &[usize]) -> String {
    v.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// The cells `[offset, offset + len)` that part `index` of `parts` owns when `n` cells are
/// split as evenly as possible: the first `n % parts` parts get one cell more.
pub fn split_axis(n: usize, parts: usize, index: usize) -> (usize, usize) {
    let base = n / parts;
    let extra = n % parts;
    (
        index * base + index.min(extra),
        base + usize::from(index < extra),
    )
}

/// The part of `parts` that owns cell `i` of an axis of `n` cells split by [`split_axis`].
pub fn owner_on_axis(n: usize, parts: usize, i: usize) -> usize {
    let base = n / parts;
    let extra = n % parts;
    let big = extra * (base + 1);
    if i < big {
        i / (base + 1)
    } else {
        extra + (i - big) / base
    }
}

/// The process grid for `nranks` ranks on `extents` cells per axis, or `None` when no
/// factorisation gives every rank at least one cell.
///
/// Among all factorisations `p0 * p1 * p2 = nranks` with `p_a <= n_a`, it picks the one
/// that cuts the fewest cell faces (the halo volume, `sum_a (p_a - 1) * cells / n_a`); ties
/// go to the most even factorisation, then to non-increasing factors as `MPI_Dims_create`
/// orders them. On a square or cubic grid this is `MPI_Dims_create`'s answer.
pub fn process_grid(extents: [usize; DIMS], nranks: usize) -> Option<[usize; DIMS]> {
    let cells: usize = extents.iter().product();
    // (process grid, ranking key: halo volume, largest factor, factors descending)
    type Key = (usize, usize, [std::cmp::Reverse<usize>; DIMS]);
    let mut best: Option<([usize; DIMS], Key)> = None;
    for p0 in divisors(nranks) {
        for p1 in divisors(nranks / p0) {
            let p = [p0, p1, nranks / p0 / p1];
            if (0..DIMS).any(|a| p[a] > extents[a]) {
                continue;
            }
            let cut: usize = (0..DIMS).map(|a| (p[a] - 1) * (cells / extents[a])).sum();
            let spread = *p.iter().max().unwrap();
            let key = (cut, spread, p.map(std::cmp::Reverse));
            if best.as_ref().is_none_or(|(_, k)| key < *k) {
                best = Some((p, key));
            }
        }
    }
    best.map(|(p, _)| p)
}

fn divisors(n: usize) -> impl Iterator<Item = usize> {
    (1..=n).filter(move |d| n.is_multiple_of(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_axis_balances_and_covers() {
        for n in 1..40 {
            for p in 1..=n.min(9) {
                let mut next = 0;
                for i in 0..p {
                    let (off, len) = split_axis(n, p, i);
                    assert_eq!(off, next);
                    assert!(len == n / p || len == n / p + 1);
                    for c in off..off + len {
                        assert_eq!(owner_on_axis(n, p, c), i);
                    }
                    next += len;
                }
                assert_eq!(next, n);
            }
        }
    }

    #[test]
    fn process_grids_minimise_the_cut_and_fit() {
        assert_eq!(process_grid([1, 64, 64], 4), Some([1, 2, 2]));
        assert_eq!(process_grid([32, 32, 32], 8), Some([2, 2, 2]));
        assert_eq!(process_grid([1, 48, 48], 9), Some([1, 3, 3]));
        assert_eq!(process_grid([1, 1, 1000], 6), Some([1, 1, 6]));
        // a long thin grid is cut across its long axis
        assert_eq!(process_grid([1, 4, 1024], 4), Some([1, 1, 4]));
        assert_eq!(process_grid([1, 1, 3], 4), None);
    }
}
