//! Distributed dense linear algebra end to end under `mpirun` (issue "Linear algebra
//! II"): SUMMA with and without transposes on odd shapes on 1, 2, 3 and 4 ranks and
//! several process grids, blocks that divide neither the shapes nor the grid, each
//! product checked against the dense product of the gathered factors and by probe
//! vectors; matrices through HDF5 across rank counts; TSQR, CholeskyQR2 and least
//! squares; bad input.
mod common;
use common::*;

#[test]
fn summa_equals_the_dense_product_on_any_grid_and_block() {
    const TA: &str = "--transpose-a";
    const TB: &str = "--transpose-b";
    // (ranks, grid, block, shape MxKxN of op(A) op(B), transposes)
    type Case<'a> = (
        usize,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        &'a [&'a str],
    );
    let cases: &[Case] = &[
        (1, None, None, "37x23x29", &[]),
        (1, None, Some("4"), "37x23x29", &[]),
        (1, None, None, "9x50x7", &[TA, TB]),
        (2, Some("2x1"), Some("5"), "37x23x29", &[]),
        (2, Some("1x2"), Some("3"), "29x41x13", &[]),
        (2, Some("1x2"), Some("3"), "29x41x13", &[TB]),
        // k blocks wider than a panel (550 = 512 + 38)
        (2, Some("1x2"), None, "20x1100x12", &[]),
        (2, Some("2x1"), None, "20x1100x12", &[TA]),
        (3, Some("3x1"), Some("4"), "37x23x29", &[]),
        (3, Some("3x1"), Some("4"), "37x23x29", &[TA]),
        (3, Some("1x3"), None, "31x17x19", &[]),
        (4, Some("2x2"), Some("5"), "37x23x29", &[]),
        (4, Some("2x2"), Some("5"), "37x23x29", &[TA, TB]),
        (4, Some("2x2"), None, "9x50x7", &[]),
        // more processes than blocks along a dimension: some hold nothing
        (4, Some("4x1"), Some("8"), "10x10x10", &[]),
    ];
    for &(n, grid, block, shape, transposes) in cases {
        let mut a = vec!["gemm", "--shape", shape, "--check-dense"];
        a.extend_from_slice(transposes);
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

/// The three matrices of a `dense gemm --output` file, row-major, with their shapes.
fn matrices(path: &std::path::Path) -> Vec<(Vec<usize>, Vec<f64>)> {
    let f = hdf5::File::open(path).unwrap();
    ["A", "B", "C"]
        .iter()
        .map(|name| {
            let d = f.dataset(&format!("matrices/{name}")).unwrap();
            (d.shape(), d.read_raw::<f64>().unwrap())
        })
        .collect()
}

#[test]
fn matrices_written_on_three_ranks_are_read_on_two_with_the_same_bits() {
    let dir = temp_dir();
    let (first, second) = (dir.path().join("three"), dir.path().join("two"));
    let report = dir.path().join("report.json");
    // written from a 3x1 grid with blocks of 4; read back on a 1x2 grid with blocks of 3
    let a = [
        "gemm",
        "--shape",
        "37x29x23",
        "--block",
        "4",
        "--output",
        first.to_str().unwrap(),
    ];
    let r = mpirun(3, DENSE, &a);
    assert_eq!(r.status, Some(0), "{}\n{}", r.stdout, r.stderr);
    let file = first.join("dense-gemm_00000000.h5");
    let b = [
        "gemm",
        "--input",
        file.to_str().unwrap(),
        "--procs",
        "1x2",
        "--block",
        "3",
        "--check-dense",
        "--output",
        second.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    let r = mpirun(2, DENSE, &b);
    assert_eq!(r.status, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    // the JSON report says what ran, where, and how it checked
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["simulation"], "dense gemm");
    assert_eq!(json["ranks"], 2);
    assert_eq!(json["parameters"]["m"], 37);
    assert!(json["decomposition"]
        .as_str()
        .unwrap()
        .starts_with("1x2 process grid"));
    assert_eq!(json["validation"]["verdict"], "validates");
    assert!(json["performance"]["gflops"].as_f64().unwrap() > 0.0);
    let probe = &json["validation"]["figures"]["probe_error_over_bound"];
    assert!(probe.as_f64().unwrap() <= 1.0);
    let (one, two) = (
        matrices(&file),
        matrices(&second.join("dense-gemm_00000000.h5")),
    );
    assert_eq!(one[0].0, vec![37, 29]);
    assert_eq!(one[1].0, vec![29, 23]);
    assert_eq!(one[2].0, vec![37, 23]);
    // A and B: read on 2 ranks and written again, the same bits
    for k in 0..2 {
        assert_eq!(one[k].0, two[k].0);
        let same = one[k]
            .1
            .iter()
            .zip(&two[k].1)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "matrix {k} changed between 3 and 2 ranks");
    }
    // C: another grid and blocking sum in another order: equal to rounding
    let scale = one[2].1.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let diff = one[2]
        .1
        .iter()
        .zip(&two[2].1)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff <= 1e-13 * scale, "C differs by {diff:e}");
    // C = A B checked from the file alone
    let (ma, mb, mc) = (&one[0].1, &one[1].1, &one[2].1);
    for i in 0..37 {
        for j in 0..23 {
            let ab: f64 = (0..29).map(|l| ma[i * 29 + l] * mb[l * 23 + j]).sum();
            assert!((ab - mc[i * 23 + j]).abs() < 1e-12, "C[{i},{j}]");
        }
    }
    // the file is not overwritten by a second run
    let before = std::fs::read(&file).unwrap();
    assert_refused(
        DENSE,
        1,
        &["gemm", "--size", "8", "--output", first.to_str().unwrap()],
        "already exists (not overwritten)",
    );
    assert_eq!(before, std::fs::read(&file).unwrap());
    // a transposed operand from a file, by hand: A (3x2) stored, C = A^T B with
    // B = [[1, 0], [0, 1], [1, 1]]: [[1 + 5, 3 + 5], [2 + 6, 4 + 6]]
    let small = dir.path().join("small.h5");
    {
        let f = hdf5::File::create(&small).unwrap();
        dataset(&f, "A", &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        dataset(&f, "B", &[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
    }
    let product = dir.path().join("product");
    let t = [
        "gemm",
        "--input",
        small.to_str().unwrap(),
        "--transpose-a",
        "--output",
        product.to_str().unwrap(),
    ];
    let r = mpirun(2, DENSE, &t);
    assert_eq!(r.status, Some(0), "{}\n{}", r.stdout, r.stderr);
    let c = &matrices(&product.join("dense-gemm_00000000.h5"))[2];
    assert_eq!(
        (c.0.clone(), c.1.clone()),
        (vec![2, 2], vec![6.0, 8.0, 8.0, 10.0])
    );
    // an output directory that cannot be made is refused before anything is computed
    assert_refused(
        DENSE,
        2,
        &["gemm", "--size", "8", "--output", "/dev/null/product"],
        "/dev/null/product",
    );
    // bad files: a 1-D /A, an integer /B, shapes that do not conform
    let bad = |name: &str, a: (&[usize], &[f64]), b_shape: &[usize], int_b: bool| {
        let path = dir.path().join(name);
        let f = hdf5::File::create(&path).unwrap();
        dataset(&f, "A", a.0, a.1);
        let len: usize = b_shape.iter().product();
        if int_b {
            dataset(&f, "B", b_shape, &vec![1i32; len]);
        } else {
            dataset(&f, "B", b_shape, &vec![1.0; len]);
        }
        path
    };
    let flat = bad("flat.h5", (&[6], &[1.0; 6]), &[6, 2], false);
    assert_refused(
        DENSE,
        2,
        &["gemm", "--input", flat.to_str().unwrap()],
        "not 2-dimensional",
    );
    let ints = bad("ints.h5", (&[2, 3], &[1.0; 6]), &[3, 2], true);
    assert_refused(
        DENSE,
        2,
        &["gemm", "--input", ints.to_str().unwrap()],
        "/B does not hold f64 values",
    );
    let skew = bad("skew.h5", (&[2, 3], &[1.0; 6]), &[4, 2], false);
    assert_refused(
        DENSE,
        1,
        &["gemm", "--input", skew.to_str().unwrap()],
        "do not conform",
    );
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
    // a block too big for one MPI message (refused before anything is allocated)
    assert_refused(
        DENSE,
        1,
        &["gemm", "--shape", "50000x50000x2"],
        "more than an MPI message carries",
    );
    assert_refused(DENSE, 1, &["qr"], "qr");
}

#[test]
fn tsqr_and_cholesky_qr2_factor_on_any_rank_count_and_match_lapack() {
    // 1001 x 7 on 1-4 ranks; 10 x 6 on 3 ranks: each rank fewer rows than columns;
    // several chunks per rank
    for (n, method, rows, cols) in [
        (1, "tsqr", "1001", "7"),
        (2, "tsqr", "1001", "7"),
        (3, "tsqr", "1001", "7"),
        (4, "tsqr", "1001", "7"),
        (3, "cholqr2", "1001", "7"),
        (3, "tsqr", "10", "6"),
        // chunks of 8192 rows on one rank: 8192 + 8192 + 3616, combined by one more QR
        (1, "tsqr", "20000", "5"),
        (2, "tsqr", "40000", "3"),
    ] {
        let a = [
            "tsqr",
            "--rows",
            rows,
            "--cols",
            cols,
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
    // on 3 ranks one rank holds a single row, fewer than the columns of [A b]
    for n in [1, 2, 3] {
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
        // residuals (-0.8, 1.2, -0.8, 1.2, -0.8): ||r|| = sqrt(4.8), also as |rho| of [A b]
        let rho = r.number_after("|rho| of the QR of [A b] =");
        assert!((rho - 4.8f64.sqrt()).abs() < 1e-11, "{rho}");
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
    let wide = dir.path().join("wide.h5");
    system_file(&wide, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3, &[1.0, 2.0]);
    assert_refused(
        DENSE,
        2,
        &["lstsq", "--input", wide.to_str().unwrap()],
        "at least as many rows as columns",
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
        &["tsqr", "--rows", "5", "--cols", "6"],
        "at least as many rows as columns",
    );
}
