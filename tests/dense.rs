//! Distributed dense products end to end under `mpirun` (issue "Linear algebra II", the
//! SUMMA piece): odd shapes on 1, 2, 3 and 4 ranks and several process grids, blocks
//! that divide neither the shapes nor the grid, each product checked against the dense
//! product of the gathered factors and by probe vectors; bad input.
mod common;
use common::*;

#[test]
fn summa_equals_the_dense_product_on_any_grid_and_block() {
    // (ranks, grid, block, shape MxKxN)
    let cases: &[(usize, Option<&str>, Option<&str>, &str)] = &[
        (1, None, None, "37x23x29"),
        (1, None, Some("4"), "37x23x29"),
        (2, Some("2x1"), Some("5"), "37x23x29"),
        (2, Some("1x2"), Some("3"), "29x41x13"),
        (3, Some("3x1"), Some("4"), "37x23x29"),
        (3, Some("1x3"), None, "31x17x19"),
        (4, Some("2x2"), Some("5"), "37x23x29"),
        (4, Some("2x2"), None, "9x50x7"),
        // more processes than blocks along a dimension: some hold nothing
        (4, Some("4x1"), Some("8"), "10x10x10"),
    ];
    for &(n, grid, block, shape) in cases {
        let mut a = vec!["gemm", "--shape", shape, "--check-dense"];
        if let Some(g) = grid {
            a.extend_from_slice(&["--procs", g]);
        }
        if let Some(b) = block {
            a.extend_from_slice(&["--block", b]);
        }
        let r = mpirun(n, DENSE, &a);
        assert_eq!(
            r.status,
            Some(0),
            "{a:?} on {n}: {}\n{}",
            r.stdout,
            r.stderr
        );
        assert!(
            r.stdout.contains("Solution validates"),
            "{a:?} on {n}: {}",
            r.stdout
        );
        let diff = r.number_after("max |C - A B| =");
        assert!(diff < 1e-13, "{a:?} on {n} ranks: {diff:e}");
    }
}

#[test]
fn bad_input_is_refused_with_one_line() {
    assert_refused(
        DENSE,
        2,
        &["gemm", "--procs", "3x1"],
        "not a ROWSxCOLS grid of the 2 ranks",
    );
    assert_refused(DENSE, 1, &["gemm", "--block", "0"], "--block");
    assert_refused(DENSE, 1, &["gemm", "--shape", "3x4"], "--shape");
    assert_refused(DENSE, 1, &["gemm", "--size", "0"], "--size");
    assert_refused(DENSE, 1, &["qr"], "qr");
}

#[test]
fn tsqr_and_cholesky_qr2_factor_on_any_rank_count_and_match_lapack() {
    for (n, method) in [
        (1, "tsqr"),
        (2, "tsqr"),
        (3, "tsqr"),
        (4, "tsqr"),
        (3, "cholqr2"),
    ] {
        let a = [
            "tsqr",
            "--rows",
            "1001",
            "--cols",
            "7",
            "--method",
            method,
            "--check-dense",
        ];
        let r = mpirun(n, DENSE, &a);
        assert_eq!(
            r.status,
            Some(0),
            "{a:?} on {n}: {}\n{}",
            r.stdout,
            r.stderr
        );
        assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
        // R equals LAPACK's R of the whole matrix up to row signs, to rounding
        let diff = r.number_after("(rows signed) =");
        assert!(
            diff < 1e-11,
            "{method} on {n} ranks: {diff:e}\n{}",
            r.stdout
        );
        let orth = r.number_after("||Q^T Q - I|| =");
        assert!(orth < 1e-13, "{method} on {n} ranks: {orth:e}");
    }
}

/// Writes dataset `name` of `shape` holding `data` into `f`.
fn dataset<T: hdf5::H5Type>(f: &hdf5::File, name: &str, shape: &[usize], data: &[T]) {
    f.new_dataset::<T>()
        .shape(shape.to_vec())
        .create(name)
        .unwrap()
        .write_raw(data)
        .unwrap();
}

/// Writes /A (m x n) and /b (m) into an HDF5 file.
fn system_file(path: &std::path::Path, a: &[f64], m: usize, n: usize, b: &[f64]) {
    let f = hdf5::File::create(path).unwrap();
    dataset(&f, "A", &[m, n], a);
    dataset(&f, "b", &[b.len()], b);
}

#[test]
fn least_squares_solves_known_systems_and_refuses_bad_ones() {
    // a generated consistent system: x* recovered
    for n in [1, 3] {
        let a = ["lstsq", "--rows", "2000", "--cols", "6"];
        let r = mpirun(n, DENSE, &a);
        assert_eq!(
            r.status,
            Some(0),
            "{a:?} on {n}: {}\n{}",
            r.stdout,
            r.stderr
        );
        let err = r.number_after("max |x - x*| =");
        assert!(err < 1e-10, "{err:e}");
        assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    }
    // a straight-line fit through 5 points off the line, by hand: t = 0..4, y = (1, 6, 7,
    // 12, 13); mean t 2, mean y 7.8, slope sum (t - 2)(y - 7.8) / sum (t - 2)^2 = 30/10 = 3,
    // intercept 7.8 - 3 x 2 = 1.8
    let dir = temp_dir();
    let fit = dir.path().join("fit.h5");
    let t = [0.0, 1.0, 2.0, 3.0, 4.0];
    let y = [1.0, 6.0, 7.0, 12.0, 13.0];
    let a: Vec<f64> = t.iter().flat_map(|&t| [1.0, t]).collect();
    system_file(&fit, &a, 5, 2, &y);
    for n in [1, 2] {
        let r = mpirun(n, DENSE, &["lstsq", "--input", fit.to_str().unwrap()]);
        assert_eq!(r.status, Some(0), "{}\n{}", r.stdout, r.stderr);
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains("x = ["))
            .unwrap()
            .to_string();
        let inner = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
        let x: Vec<f64> = inner.split(", ").map(|v| v.parse().unwrap()).collect();
        assert!(
            (x[0] - 1.8).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12,
            "{x:?}"
        );
    }
    // bad input: rank-deficient (a repeated column), wrong rank, wrong type, lengths
    let deficient = dir.path().join("deficient.h5");
    let a: Vec<f64> = t.iter().flat_map(|&t| [t, 1.0, t]).collect();
    system_file(&deficient, &a, 5, 3, &y);
    assert_refused(
        DENSE,
        1,
        &["lstsq", "--input", deficient.to_str().unwrap()],
        "rank-deficient",
    );
    let short = dir.path().join("short.h5");
    system_file(&short, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, &[1.0, 2.0]);
    assert_refused(
        DENSE,
        1,
        &["lstsq", "--input", short.to_str().unwrap()],
        "/b has 2 entries, /A has 3 rows",
    );
    let flat = dir.path().join("flat.h5");
    {
        // /A one-dimensional
        let f = hdf5::File::create(&flat).unwrap();
        dataset(&f, "A", &[6], &[1.0; 6]);
        dataset(&f, "b", &[6], &[1.0; 6]);
    }
    assert_refused(
        DENSE,
        2,
        &["lstsq", "--input", flat.to_str().unwrap()],
        "not 2-dimensional",
    );
    let ints = dir.path().join("ints.h5");
    {
        let f = hdf5::File::create(&ints).unwrap();
        dataset(&f, "A", &[3, 2], &[1i32; 6]);
        dataset(&f, "b", &[3], &[1.0; 3]);
    }
    assert_refused(
        DENSE,
        1,
        &["lstsq", "--input", ints.to_str().unwrap()],
        "/A does not hold f64 values",
    );
    assert_refused(
        DENSE,
        3,
        &["lstsq", "--input", fit.to_str().unwrap()],
        "every rank needs at least",
    );
    assert_refused(
        DENSE,
        1,
        &["lstsq", "--input", "/nonexistent.h5"],
        "nonexistent.h5",
    );
    assert_refused(
        DENSE,
        1,
        &["tsqr", "--method", "householder"],
        "unknown method",
    );
    assert_refused(
        DENSE,
        2,
        &["tsqr", "--rows", "10", "--cols", "6"],
        "at least as many rows",
    );
}
