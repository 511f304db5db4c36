//! Tall-skinny QR (TSQR, Demmel, Grigori, Hoemmen and Langou 2012) of an `m x n` matrix,
//! `m >> n`, on a 1D row partition: each rank factors its rows in place by LAPACK's
//! recursive QR (`A_r = Q_r R_r`, `dgeqrt3`; in cache-sized chunks, themselves combined
//! the same way), then the `R` factors are combined up a binary tree
//! (`[R_a; R_b] = Q' R'`, `log2 P` message rounds) to the root's `R`, broadcast to every
//! rank. `Q` stays implicit (the local reflectors and the tree's `Q'`) and is made
//! explicit on request by running the tree down. On top: least squares `min ||A x - b||`
//! by TSQR of `[A b]` (`Q^T b` without forming `Q`), and CholeskyQR2 for comparison.
//!
//! Rounding: each rank's LAPACK call and the tree order the sums, so results agree with
//! one rank's to rounding, not bitwise.

use crate::error::{Error, Result};
use crate::parallel::Comm;
use ndarray::linalg::general_mat_mul;
use ndarray::{concatenate, s, Array1, Array2, Axis, ShapeBuilder};
use ndarray_linalg::{Cholesky, QR, UPLO};

/// Message tag of the tree.
const TAG: i32 = 77;

/// One step of the tree on this rank.
#[derive(Debug)]
enum Step {
    /// This rank stacked its `R` over `partner`'s and factored `[R; R_partner] = q R'`.
    Combined { partner: usize, q: Array2<f64> },
    /// This rank sent its `R` to `partner` (its last step).
    Sent { partner: usize },
}

/// A TSQR factorisation: `R` (on every rank) and this rank's implicit part of `Q`.
#[derive(Debug)]
pub struct Tsqr {
    /// `n x n` upper triangular.
    pub r: Array2<f64>,
    local: LocalQr,
    steps: Vec<Step>,
}

/// Rows per chunk of a rank's local factorisation: a chunk of 32 columns (2 MiB) stays in
/// the L2 cache while LAPACK factors it.
const CHUNK_ROWS: usize = 8192;

/// A rank's own rows factored the TSQR way inside the rank, in place: each chunk of
/// [`CHUNK_ROWS`] rows by LAPACK's Householder QR (`A_c = Q_c R_c`, `dgeqrf` on a
/// column-major copy in a scratch buffer that stays in cache; the reflectors are stored
/// back over the chunk's own rows, column-major), then the stacked `R_c` once more
/// (`[R_1; ...; R_k] = Q_top R`). LAPACK's Householder QR of a tall panel is bound by
/// memory bandwidth; in chunks it runs from cache, and working in place touches no new
/// memory (fresh pages cost as much as the arithmetic here).
#[derive(Debug)]
struct LocalQr {
    /// The rank's rows (padded to at least `n`), chunk by chunk holding the reflectors.
    a: Array2<f64>,
    /// Each chunk's rows and the `n x n` upper triangular `T` of its reflectors' compact
    /// WY form `Q_c = I - V T V^T` (column-major).
    chunks: Vec<(std::ops::Range<usize>, Vec<f64>)>,
    top: Array2<f64>,
    r: Array2<f64>,
    /// The rank's rows (before any padding).
    rows: usize,
}

impl LocalQr {
    fn new(a: Array2<f64>) -> LocalQr {
        let (m, n) = a.dim();
        // fewer rows than columns (or none): zero rows added make the block square; they
        // change neither R nor, with R nonsingular, the real rows of Q (the added rows of
        // Q solve Q_pad R = 0), and `explicit_q` leaves them out
        let mut a = if m < n {
            concatenate![Axis(0), a, Array2::zeros((n - m, n))]
        } else if a.is_standard_layout() {
            a
        } else {
            a.as_standard_layout().into_owned()
        };
        let total = a.nrows();
        let step = CHUNK_ROWS.max(n);
        let mut scratch = chunk_scratch(n);
        let mut chunks = Vec::new();
        let mut rs = Vec::new();
        let mut start = 0;
        while start < total {
            // the last chunk takes the remainder if it would be shorter than n
            let end = if total - start < step + n {
                total
            } else {
                start + step
            };
            let rows = end - start;
            let region = &mut a.as_slice_mut().expect("row-major")[start * n..end * n];
            let col_major = &mut scratch[..rows * n];
            transpose_into(region, rows, n, col_major);
            let t = recursive_qr(rows, n, col_major);
            rs.push(Array2::from_shape_fn((n, n), |(i, j)| {
                if j >= i {
                    col_major[j * rows + i]
                } else {
                    0.0
                }
            }));
            region.copy_from_slice(col_major);
            chunks.push((start..end, t));
            start = end;
        }
        let (top, r) = if chunks.len() == 1 {
            (Array2::eye(n), rs.pop().expect("one chunk"))
        } else {
            let views: Vec<_> = rs.iter().map(|r| r.view()).collect();
            local_qr(&concatenate(Axis(0), &views).expect("n columns each"))
        };
        LocalQr {
            a,
            chunks,
            top,
            r,
            rows: m,
        }
    }

    /// This rank's rows of `Q C` for an `n x n` block `C` of the tree's `Q`, formed in
    /// place of the reflectors: chunk by chunk, `Q_c B = [B; 0] - V (T (V_1^T B))` with
    /// `B` the chunk's `n x n` block of `Q_top C` and `V_1` the top of `V` (unit lower
    /// triangular): one `dgemm` of the chunk's rows.
    fn explicit_q_times(mut self, c: &Array2<f64>) -> Array2<f64> {
        let n = c.ncols();
        let tc = self.top.dot(c);
        let mut scratch = chunk_scratch(n);
        for (k, (range, t)) in self.chunks.iter().enumerate() {
            let rows = range.len();
            let region =
                &mut self.a.as_slice_mut().expect("row-major")[range.start * n..range.end * n];
            let v = &mut scratch[..rows * n];
            v.copy_from_slice(region);
            // V: unit diagonal, zeros above (R is stored there)
            for j in 0..n {
                v[j * rows + j] = 1.0;
                for i in 0..j {
                    v[j * rows + i] = 0.0;
                }
            }
            let v = ndarray::ArrayView2::from_shape((rows, n).f(), v).expect("rows x n");
            let t = ndarray::ArrayView2::from_shape((n, n).f(), t).expect("n x n");
            let b = tc.slice(s![k * n..(k + 1) * n, ..]);
            let w = t.dot(&v.slice(s![..n, ..]).t().dot(&b));
            let mut out = ndarray::ArrayViewMut2::from_shape((rows, n), region).expect("rows x n");
            general_mat_mul(-1.0, &v, &w, 0.0, &mut out);
            let mut top = out.slice_mut(s![..n, ..]);
            top += &b;
        }
        if self.rows < self.a.nrows() {
            self.a.slice_move(s![..self.rows, ..])
        } else {
            self.a
        }
    }
}

/// `dst` (`m x n` column-major) = `src` (`m x n` row-major), in tiles of 8 rows so that
/// each write fills a cache line.
fn transpose_into(src: &[f64], m: usize, n: usize, dst: &mut [f64]) {
    const TILE: usize = 8;
    for i0 in (0..m).step_by(TILE) {
        let i1 = (i0 + TILE).min(m);
        for j in 0..n {
            for i in i0..i1 {
                dst[j * m + i] = src[i * n + j];
            }
        }
    }
}

/// A buffer for the largest chunk of `n` columns (the last chunk takes up to `n - 1`
/// rows more than [`CHUNK_ROWS`]).
fn chunk_scratch(n: usize) -> Vec<f64> {
    vec![0.0; (CHUNK_ROWS.max(n) + n) * n]
}

/// LAPACK's recursive Householder QR (`dgeqrt3`, Elmroth and Gustavson 2000: level-3 BLAS
/// throughout) of the `m x n` column-major matrix `a` (`m >= n`), in place: `R` above
/// the diagonal, the reflectors `V` below (unit diagonal implied); returns the `n x n`
/// upper triangular `T` of `Q = I - V T V^T`, column-major (its strictly lower part,
/// which LAPACK does not touch, stays zero: `T` may be used as a full matrix).
///
/// # Panics
/// If LAPACK reports an illegal argument (a bug here: the sizes are checked).
fn recursive_qr(m: usize, n: usize, a: &mut [f64]) -> Vec<f64> {
    assert!(m >= n && a.len() == m * n);
    let dim = |x: usize| i32::try_from(x).expect("a chunk of fewer than 2^31 rows");
    let (mi, ni) = (dim(m), dim(n));
    let mut t = vec![0.0; n * n];
    let mut info = 0;
    // SAFETY: a is m x n column-major with leading dimension m, t is n x n with leading
    // dimension n, as dgeqrt3 reads and writes them; no other memory is touched.
    unsafe {
        lapack_sys::dgeqrt3_(
            &mi,
            &ni,
            a.as_mut_ptr(),
            &mi,
            t.as_mut_ptr(),
            &ni,
            &mut info,
        );
    }
    assert_eq!(info, 0, "dgeqrt3 argument {} illegal", -info);
    t
}

/// LAPACK's reduced QR of `a` (`m >= n`): `Q` `m x n`, `R` `n x n`.
///
/// # Panics
/// If LAPACK fails, which it does only on arguments this module never passes (Householder
/// QR of any finite matrix succeeds; a rank-deficient one shows in `R`). A failure on
/// one rank returned as an error would leave its partner in the tree waiting.
fn local_qr(a: &Array2<f64>) -> (Array2<f64>, Array2<f64>) {
    a.qr().expect("LAPACK's QR of a finite matrix")
}

impl Tsqr {
    /// Factors the matrix whose rows this rank holds in `a` (ranks in row order; any
    /// number of rows on a rank, `n >= 1` columns, at least `n` rows in all for `Q` to
    /// have orthonormal columns), in place: `a`'s memory keeps the reflectors. With `A`
    /// rank-deficient, `R` shows it ([`check_full_rank`]) and `Q` is not orthonormal.
    /// Collective over `comm`.
    pub fn new(comm: &Comm, a: Array2<f64>) -> Tsqr {
        assert!(a.ncols() >= 1, "a matrix with columns");
        let n = a.ncols();
        let local = LocalQr::new(a);
        let mut r = local.r.clone();
        let (rank, size) = (comm.rank(), comm.size());
        let mut steps = Vec::new();
        let mut span = 1;
        while span < size {
            if rank % (2 * span) == 0 {
                let partner = rank + span;
                if partner < size {
                    let mut other = Array2::zeros((n, n));
                    comm.receive(partner, TAG, other.as_slice_mut().expect("contiguous"));
                    let stacked = concatenate![Axis(0), r, other];
                    let (q, r2) = local_qr(&stacked);
                    r = r2;
                    steps.push(Step::Combined { partner, q });
                }
            } else {
                let partner = rank - span;
                let r = r.as_standard_layout().to_owned();
                comm.send(partner, TAG, r.as_slice().expect("contiguous"));
                steps.push(Step::Sent { partner });
                break;
            }
            span *= 2;
        }
        let mut root_r = if rank == 0 {
            r.as_standard_layout().to_owned()
        } else {
            Array2::zeros((n, n))
        };
        comm.broadcast(0, root_r.as_slice_mut().expect("contiguous"));
        Tsqr {
            r: root_r,
            local,
            steps,
        }
    }

    /// This rank's rows of the explicit `Q` (`m_r x n`, orthonormal columns over all
    /// ranks), formed in the factored matrix's memory. Collective.
    pub fn explicit_q(self, comm: &Comm) -> Array2<f64> {
        let n = self.r.ncols();
        // the n x n block of the tree's Q that multiplies this rank's local Q
        let mut c = Array2::eye(n);
        if let Some(Step::Sent { partner }) = self.steps.last() {
            comm.receive(*partner, TAG + 1, c.as_slice_mut().expect("contiguous"));
        }
        for step in self.steps.iter().rev() {
            if let Step::Combined { partner, q } = step {
                let mut both = Array2::zeros((2 * n, n));
                general_mat_mul(1.0, q, &c, 0.0, &mut both);
                let lower = both.slice(s![n.., ..]).to_owned();
                comm.send(*partner, TAG + 1, lower.as_slice().expect("contiguous"));
                c = both.slice(s![..n, ..]).to_owned();
            }
        }
        self.local.explicit_q_times(&c)
    }
}

/// CholeskyQR2: `R1 = chol(A^T A)`, `Q1 = A R1^-1`, then once more on `Q1`
/// (`R = R2 R1`): two sums of `n x n` Gram matrices over the ranks, no tree. Loses
/// orthogonality for condition numbers above about `1e8` (the Gram matrix squares it).
/// Collective; returns this rank's rows of `Q` and `R`.
pub fn cholesky_qr2(comm: &Comm, a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>)> {
    let (q1, r1) = cholesky_qr(comm, a)?;
    let (q, r2) = cholesky_qr(comm, &q1)?;
    Ok((q, r2.dot(&r1)))
}

fn cholesky_qr(comm: &Comm, a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>)> {
    let n = a.ncols();
    let gram = a.t().dot(a);
    let gram = comm.sum_each(gram.as_standard_layout().as_slice().expect("contiguous"));
    let gram = Array2::from_shape_vec((n, n), gram).expect("n x n");
    let r = gram.cholesky(UPLO::Upper).map_err(|_| {
        Error::value(
            "matrix",
            "CholeskyQR: A^T A is not numerically positive definite (rank-deficient or too ill-conditioned)",
        )
    })?;
    // Q = A R^-1 by one dgemm with the explicit inverse of the small triangle (the
    // second pass of CholeskyQR2 repairs what this loses)
    let mut inverse = Array2::zeros((n, n));
    for j in 0..n {
        let e = Array1::from_shape_fn(n, |i| if i == j { 1.0 } else { 0.0 });
        inverse.column_mut(j).assign(&back_substitute(&r, &e));
    }
    Ok((a.dot(&inverse), r))
}

/// `x` with `R x = c`, `R` upper triangular.
fn back_substitute(r: &Array2<f64>, c: &Array1<f64>) -> Array1<f64> {
    let n = r.ncols();
    let mut x = Array1::zeros(n);
    for i in (0..n).rev() {
        let mut s = c[i];
        for j in i + 1..n {
            s -= r[[i, j]] * x[j];
        }
        x[i] = s / r[[i, i]];
    }
    x
}

/// Whether `R`'s diagonal shows `A` numerically rank-deficient: `|R_kk| <= n eps
/// max_j |R_jj|` names the first such `k`.
pub fn check_full_rank(r: &Array2<f64>) -> Result<()> {
    let n = r.ncols();
    let top = (0..n).map(|k| r[[k, k]].abs()).fold(0.0f64, f64::max);
    let tol = n as f64 * f64::EPSILON * top;
    match (0..n).find(|&k| r[[k, k]].abs() <= tol || r[[k, k]].is_nan()) {
        None => Ok(()),
        Some(k) => Err(Error::value(
            "matrix",
            format!(
                "is rank-deficient: |R[{k},{k}]| = {:.3e} <= {tol:.3e} (n eps max|R_jj|); the least-squares solution is not unique",
                r[[k, k]].abs()
            ),
        )),
    }
}

/// The least-squares solution `x = argmin ||A x - b||` of the matrix whose rows this
/// rank holds (`a`, with `b`'s matching entries), and the residual norm `||A x - b||`;
/// both on every rank. By TSQR of the augmented matrix `[A b]`: its `R` is
/// `[[R, Q^T b], [0, rho]]`, so `x = R^-1 Q^T b` and `||A x - b|| = |rho|` with `Q`
/// applied implicitly, never formed. A rank-deficient `A` is an error naming the column. Collective.
pub fn least_squares(comm: &Comm, a: &Array2<f64>, b: &Array1<f64>) -> Result<(Array1<f64>, f64)> {
    let n = a.ncols();
    let augmented = concatenate![Axis(1), a.view(), b.view().insert_axis(Axis(1))];
    let f = Tsqr::new(comm, augmented);
    let r = f.r.slice(s![..n, ..n]).to_owned();
    check_full_rank(&r)?;
    let qtb = f.r.slice(s![..n, n]).to_owned();
    Ok((back_substitute(&r, &qtb), f.r[[n, n]].abs()))
}
