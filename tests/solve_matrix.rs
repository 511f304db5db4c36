//! Sparse matrices from Matrix Market files end to end under `mpirun`: assembly (duplicates,
//! empty rows, unsorted entries) against a dense reference, CG and GMRES against a dense
//! solve (ndarray-linalg), the same solution on 1 and 3 ranks, block Jacobi, bad input.
mod common;
use common::*;
use ndarray::{Array1, Array2};
use ndarray_linalg::Solve;
use std::path::{Path, PathBuf};

/// Writes a coordinate file of `entries` (1-based) with the given banner symmetry.
fn write_mtx(
    dir: &Path,
    name: &str,
    symmetry: &str,
    n: usize,
    entries: &[(usize, usize, f64)],
) -> PathBuf {
    let mut text = format!(
        "%%MatrixMarket matrix coordinate real {symmetry}\n% a test matrix\n{n} {n} {}\n",
        entries.len()
    );
    for (i, j, v) in entries {
        text += &format!("{i} {j} {v:e}\n");
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The dense matrix of `entries` (duplicates summed; a symmetric file mirrored).
fn dense(n: usize, entries: &[(usize, usize, f64)], symmetric: bool) -> Array2<f64> {
    let mut a = Array2::zeros((n, n));
    for &(i, j, v) in entries {
        a[[i - 1, j - 1]] += v;
        if symmetric && i != j {
            a[[j - 1, i - 1]] += v;
        }
    }
    a
}

/// The manufactured solution `solve` uses for a matrix without --rhs.
fn x_star(n: usize) -> Array1<f64> {
    Array1::from_iter((0..n).map(|i| 1.0 + (i % 97) as f64 / 97.0))
}

/// A well-conditioned non-symmetric matrix, its entries shuffled (unsorted columns), with
/// duplicates: a 1D convection-diffusion operator plus a few long-range couplings.
fn nonsymmetric(n: usize) -> Vec<(usize, usize, f64)> {
    let mut e = Vec::new();
    for i in 1..=n {
        e.push((i, i, 3.0));
        if i > 1 {
            e.push((i, i - 1, -1.3));
        }
        if i < n {
            e.push((i, i + 1, -0.6));
        }
        if i + 7 <= n {
            e.push((i, i + 7, 0.2));
        }
        e.push((i, i, 1.0)); // a duplicate of the diagonal, summed
    }
    // a fixed shuffle
    let len = e.len();
    for k in 0..len {
        e.swap(k, (k * 7919 + 13) % len);
    }
    e
}

/// An SPD matrix in lower-triangle symmetric form: a 2D Laplacian of `m x m` plus a shift.
fn spd(m: usize) -> Vec<(usize, usize, f64)> {
    let mut e = Vec::new();
    for r in 0..m * m {
        let (i, j) = (r / m, r % m);
        e.push((r + 1, r + 1, 4.1));
        if j > 0 {
            e.push((r + 1, r, -1.0));
        }
        if i > 0 {
            e.push((r + 1, r + 1 - m, -1.0));
        }
    }
    e
}

fn solve_to_checkpoint(n: usize, args: &[&str], dir: &Path) -> (Run, Vec<f64>) {
    let mut a = vec!["--monitor", "0", "--out", dir.to_str().unwrap()];
    a.extend_from_slice(args);
    let r = run_ok(SOLVE, n, &a);
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    let ck = newest_checkpoint(dir);
    let (_, x) = read_dataset(&ck, "vectors/x");
    (r, x)
}

/// Dataset `name` of a checkpoint: its shape and values.
fn read_dataset(path: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    let file = hdf5::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let ds = file
        .dataset(name)
        .unwrap_or_else(|e| panic!("{name} in {}: {e}", path.display()));
    (ds.shape(), ds.read_raw::<f64>().expect("read"))
}

#[test]
fn assembly_sums_duplicates_keeps_empty_rows_and_sorts_columns() {
    let dir = temp_dir();
    let n = 40;
    let mut e = nonsymmetric(n);
    e.retain(|&(i, _, _)| i != 17); // row 17 is empty
    let path = write_mtx(dir.path(), "a.mtx", "general", n, &e);
    // Richardson's first step from 0: b = A x*, then r = b - A b
    let a = dense(n, &e, false);
    let b = a.dot(&x_star(n));
    let r = &b - &a.dot(&b);
    let mut first: Option<(Vec<u64>, Vec<u64>)> = None;
    for ranks in [1, 3] {
        let out = temp_dir();
        let run = mpirun(
            ranks,
            SOLVE,
            &[
                "--matrix",
                path.to_str().unwrap(),
                "--ksp",
                "richardson",
                "--pc",
                "none",
                "--steps",
                "1",
                "--out",
                out.path().to_str().unwrap(),
            ],
        );
        assert_eq!(
            run.status,
            Some(1),
            "one step cannot converge:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        let ck = newest_checkpoint(out.path());
        let (_, got_b) = read_dataset(&ck, "vectors/b");
        let (_, got_r) = read_dataset(&ck, "vectors/r");
        for (k, (g, w)) in got_b.iter().zip(b.iter()).enumerate() {
            assert!(
                (g - w).abs() <= 1e-14 * w.abs().max(1.0),
                "b[{k}] = {g}, dense {w}"
            );
        }
        for (k, (g, w)) in got_r.iter().zip(r.iter()).enumerate() {
            assert!(
                (g - w).abs() <= 1e-13 * w.abs().max(1.0),
                "r[{k}] = {g}, dense {w}"
            );
        }
        assert_eq!(got_b[16], 0.0, "the empty row");
        let bits = (common::bits(&got_b), common::bits(&got_r));
        match &first {
            None => first = Some(bits),
            Some(f) => assert_eq!(f, &bits, "SpMV on {ranks} ranks differs from 1 rank"),
        }
    }
}

/// Solves `path` with `ksp` and Jacobi on 1 and 3 ranks: each solution within `tol` of
/// `want` (max norm), and both the same bits.
fn assert_matches_dense(path: &Path, ksp: &str, want: &Array1<f64>, tol: f64) {
    let mut solutions = Vec::new();
    for ranks in [1, 3] {
        let out = temp_dir();
        let args = [
            "--matrix",
            path.to_str().unwrap(),
            "--ksp",
            ksp,
            "--pc",
            "jacobi",
            "--rtol",
            "1e-12",
        ];
        let (_, x) = solve_to_checkpoint(ranks, &args, out.path());
        let err = x
            .iter()
            .zip(want.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            err < tol,
            "{ksp} on {ranks} ranks: max |x - x_dense| = {err:e}"
        );
        solutions.push(common::bits(&x));
    }
    assert_eq!(
        solutions[0], solutions[1],
        "{ksp}: 1 and 3 ranks give different bits"
    );
}

#[test]
fn cg_on_a_symmetric_file_matches_a_dense_solve_on_1_and_3_ranks() {
    let dir = temp_dir();
    let (n, e) = (144, spd(12));
    let path = write_mtx(dir.path(), "spd.mtx", "symmetric", n, &e);
    let a = dense(n, &e, true);
    let want = a.solve(&a.dot(&x_star(n))).unwrap();
    assert_matches_dense(&path, "cg", &want, 1e-10);
}

#[test]
fn gmres_and_bicgstab_on_a_nonsymmetric_file_match_a_dense_solve() {
    let dir = temp_dir();
    let (n, e) = (150, nonsymmetric(150));
    let path = write_mtx(dir.path(), "ns.mtx", "general", n, &e);
    let a = dense(n, &e, false);
    let want = a.solve(&a.dot(&x_star(n))).unwrap();
    for ksp in ["gmres", "bicgstab"] {
        assert_matches_dense(&path, ksp, &want, 1e-9);
    }
}

#[test]
fn block_jacobi_converges_on_any_rank_count_and_says_it_depends_on_it() {
    let dir = temp_dir();
    let path = write_mtx(dir.path(), "spd.mtx", "symmetric", 400, &spd(20));
    let mut iterations = Vec::new();
    for ranks in [1, 2, 3] {
        let out = temp_dir();
        let (r, _) = solve_to_checkpoint(
            ranks,
            &["--matrix", path.to_str().unwrap(), "--pc", "bjacobi"],
            out.path(),
        );
        assert!(
            r.stdout.contains("depends on the rank count"),
            "{}",
            r.stdout
        );
        iterations.push(r.number_after("converged after"));
    }
    let jacobi = temp_dir();
    let (r, _) = solve_to_checkpoint(
        1,
        &["--matrix", path.to_str().unwrap(), "--pc", "jacobi"],
        jacobi.path(),
    );
    // one block is ILU(0) of the whole matrix: far fewer iterations than Jacobi
    assert!(
        iterations[0] < 0.6 * r.number_after("converged after"),
        "{iterations:?}"
    );
}

#[test]
fn a_right_hand_side_file_is_used() {
    let dir = temp_dir();
    let n = 144;
    let e = spd(12);
    let path = write_mtx(dir.path(), "spd.mtx", "symmetric", n, &e);
    let rhs = dir.path().join("b.mtx");
    let mut text = format!("%%MatrixMarket matrix array real general\n{n} 1\n");
    for k in 0..n {
        text += &format!("{}\n", 1.0 + (k % 5) as f64);
    }
    std::fs::write(&rhs, text).unwrap();
    let a = dense(n, &e, true);
    let want = a
        .solve(&Array1::from_iter((0..n).map(|k| 1.0 + (k % 5) as f64)))
        .unwrap();
    let out = temp_dir();
    let (_, x) = solve_to_checkpoint(
        2,
        &[
            "--matrix",
            path.to_str().unwrap(),
            "--rhs",
            rhs.to_str().unwrap(),
            "--pc",
            "jacobi",
            "--rtol",
            "1e-12",
        ],
        out.path(),
    );
    let err = x
        .iter()
        .zip(want.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(err < 1e-9, "max |x - x_dense| = {err:e}");
}

#[test]
fn bad_matrices_get_one_clear_line() {
    let dir = temp_dir();
    let d = dir.path();
    let m = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let banner = "%%MatrixMarket matrix coordinate real general\n";
    let not_square = m("ns.mtx", &format!("{banner}3 4 1\n1 1 1.0\n"));
    assert_refused(
        SOLVE,
        2,
        &["--matrix", &not_square, "--pc", "jacobi"],
        "needs a square one",
    );
    let malformed = m(
        "bad.mtx",
        &format!("{banner}3 3 3\n1 1 1.0\n2 two 1.0\n3 3 1.0\n"),
    );
    assert_refused(
        SOLVE,
        2,
        &["--matrix", &malformed, "--pc", "jacobi"],
        "line 4",
    );
    let outside = m("out.mtx", &format!("{banner}3 3 2\n1 1 1.0\n4 1 1.0\n"));
    assert_refused(
        SOLVE,
        3,
        &["--matrix", &outside, "--pc", "jacobi"],
        "outside the 3x3 matrix",
    );
    let short = m(
        "short.mtx",
        &format!("{banner}3 3 5\n1 1 1.0\n2 2 1.0\n3 3 1.0\n"),
    );
    assert_refused(
        SOLVE,
        2,
        &["--matrix", &short, "--pc", "jacobi"],
        "has 3 entries, its size line declares 5",
    );
    let no_banner = m("nb.mtx", "3 3 1\n1 1 1.0\n");
    assert_refused(
        SOLVE,
        1,
        &["--matrix", &no_banner, "--pc", "jacobi"],
        "not a Matrix Market file",
    );
    let good = m(
        "good.mtx",
        &format!("{banner}3 3 3\n1 1 2.0\n2 2 2.0\n3 3 2.0\n"),
    );
    let rhs = m(
        "rhs.mtx",
        "%%MatrixMarket matrix array real general\n4 1\n1\n2\n3\n4\n",
    );
    assert_refused(
        SOLVE,
        2,
        &["--matrix", &good, "--rhs", &rhs, "--pc", "jacobi"],
        "has 4 values, the matrix has 3 rows",
    );
    let zero_diagonal = m(
        "zd.mtx",
        &format!("{banner}3 3 3\n1 1 2.0\n2 1 1.0\n3 3 2.0\n"),
    );
    assert_refused(
        SOLVE,
        2,
        &["--matrix", &zero_diagonal, "--pc", "jacobi"],
        "the diagonal entry of row 2 is 0",
    );
    assert_refused(SOLVE, 2, &["--matrix", &good], "mg needs a grid problem");
    assert_refused(
        SOLVE,
        1,
        &["--matrix", &d.join("missing.mtx").to_string_lossy()],
        "missing.mtx",
    );
}

#[test]
fn cg_on_an_indefinite_matrix_reports_a_breakdown() {
    let dir = temp_dir();
    let banner = "%%MatrixMarket matrix coordinate real symmetric\n";
    let path = dir.path().join("indef.mtx");
    std::fs::write(
        &path,
        format!("{banner}4 4 4\n1 1 1.0\n2 2 -1.0\n3 3 1.0\n4 4 -1.0\n"),
    )
    .unwrap();
    let out = temp_dir();
    let r = mpirun(
        2,
        SOLVE,
        &[
            "--matrix",
            path.to_str().unwrap(),
            "--pc",
            "none",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("breakdown") && r.stdout.contains("not positive definite"),
        "{}",
        r.stdout
    );
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("solve: error"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
}
