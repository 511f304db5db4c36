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
