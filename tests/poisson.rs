//! Poisson: Jacobi, red-black Gauss-Seidel and SOR give bitwise-identical iterates AND the
//! same iteration count on 1-4 ranks (the residual norm is summed exactly), restart
//! bitwise, converge at second order to the manufactured solution, and refuse bad input.
mod common;
use common::*;

/// The iteration count of a converged run.
fn iterations(r: &Run) -> u64 {
    r.number_after("converged after") as u64
}

/// Solves with `args` once per case; all must converge after the same number of
/// iterations to bitwise the same field.
fn same_iterates_on(args: &[&str], cases: &[(usize, &[&str])]) {
    let mut first: Option<(u64, std::path::PathBuf, String)> = None;
    let dirs: Vec<_> = cases.iter().map(|_| temp_dir()).collect();
    for ((n, extra), dir) in cases.iter().zip(&dirs) {
        let mut a = vec!["--steps", "100000", "--out", dir.path().to_str().unwrap()];
        a.extend_from_slice(args);
        a.extend_from_slice(extra);
        let r = run_ok(POISSON, *n, &a);
        assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
        let it = iterations(&r);
        let path = checkpoint_of(dir.path(), "poisson", it);
        let what = format!("{args:?} on {n} ranks with {extra:?}");
        match &first {
            None => first = Some((it, path, what)),
            Some((it0, p0, w0)) => {
                assert_eq!(it, *it0, "iteration counts differ: {what} vs {w0}");
                assert_same_fields(p0, &path, &["u"], &format!("{what} vs {w0}"));
            }
        }
    }
}

const CASES: &[(usize, &[&str])] = &[
    (1, &[]),
    (2, &[]),
    (3, &[]),
    (4, &[]),
    (4, &["--procs", "1x4"]),
    (4, &["--procs", "4x1", "--no-overlap"]),
    (2, &["--threads", "2"]),
    (3, &["--ghost", "4", "--steps-per-exchange", "2"]),
    (1, &["--time-block", "5", "--cache", "4"]),
    (2, &["--time-block", "3", "--tile", "2x6"]),
];

#[test]
fn jacobi_is_bitwise_identical_with_equal_iteration_counts_on_1_to_4_ranks() {
    same_iterates_on(
        &[
            "--size",
            "37x23",
            "--method",
            "jacobi",
            "--rtol",
            "1e-5",
            "--check-every",
            "7",
        ],
        CASES,
    );
}

#[test]
fn gauss_seidel_and_sor_are_bitwise_identical_on_1_to_4_ranks() {
    same_iterates_on(
        &[
            "--size",
            "37x23",
            "--method",
            "gauss-seidel",
            "--rtol",
            "1e-6",
        ],
        CASES,
    );
    same_iterates_on(
        &["--size", "37x23", "--method", "sor", "--check-every", "1"],
        CASES,
    );
    same_iterates_on(
        &["--size", "17x13x11", "--method", "sor"],
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "1x2x2", "--threads", "2"]),
            (1, &["--time-block", "4", "--tile", "1x4"]),
            (
                4,
                &[
                    "--procs",
                    "2x2x1",
                    "--ghost",
                    "4",
                    "--steps-per-exchange",
                    "2",
                ],
            ),
        ],
    );
}

#[test]
fn an_interrupted_solve_restarts_bitwise_on_another_rank_count() {
    let (whole, parts) = (temp_dir(), temp_dir());
    let args = [
        "--size",
        "37x23",
        "--method",
        "gauss-seidel",
        "--rtol",
        "1e-8",
    ];
    let mut a = vec!["--steps", "100000", "--out", whole.path().to_str().unwrap()];
    a.extend_from_slice(&args);
    let it = iterations(&run_ok(POISSON, 2, &a));
    assert!(it > 100);

    // stopped by the iteration cap: not converged, exit 1, but its state is saved
    let mut a = vec![
        "--progress",
        "0",
        "--steps",
        "100",
        "--out",
        parts.path().to_str().unwrap(),
    ];
    a.extend_from_slice(&args);
    let r = mpirun(2, POISSON, &a);
    assert_eq!(r.status, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("NOT converged after 100 iterations"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("poisson: error: no convergence within 100 iterations"),
        "{}",
        r.stderr
    );

    let ck = checkpoint_of(parts.path(), "poisson", 100);
    let mut a = vec![
        "--steps",
        "100000",
        "--out",
        parts.path().to_str().unwrap(),
        "--restart",
        ck.to_str().unwrap(),
    ];
    a.extend_from_slice(&args);
    let r = run_ok(POISSON, 3, &a);
    assert_eq!(iterations(&r), it, "{}", r.stdout);
    assert_same_fields(
        &checkpoint_of(whole.path(), "poisson", it),
        &checkpoint_of(parts.path(), "poisson", it),
        &["u"],
        "restarted at 100 on 3 ranks vs uninterrupted on 2",
    );
    // a restart with another method is refused
    let r = mpirun(
        2,
        POISSON,
        &[
            "--size",
            "37x23",
            "--method",
            "sor",
            "--out",
            parts.path().to_str().unwrap(),
            "--restart",
            ck.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("was run with method = gauss-seidel"),
        "{}",
        r.stderr
    );
}

#[test]
fn second_order_convergence_to_the_manufactured_solution() {
    for (n, args) in [
        (2, &["--size", "15x15", "--convergence", "4"][..]),
        (3, &["--size", "7x7x7", "--convergence", "3"][..]),
        (
            2,
            &[
                "--size",
                "15x15",
                "--convergence",
                "3",
                "--method",
                "jacobi",
                "--rtol",
                "1e-9",
            ][..],
        ),
    ] {
        let mut a = vec!["--steps", "100000"];
        a.extend_from_slice(args);
        let r = run_ok(POISSON, n, &a);
        assert!(r.stdout.contains("every level converged"), "{}", r.stdout);
        let p = observed_order(&r, "max |u - u*|");
        assert!((p - 2.0).abs() <= 0.1, "observed order {p}\n{}", r.stdout);
    }
}

#[test]
fn bad_solver_settings_are_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    for (args, needle) in [
        (
            &["--omega", "2.5"][..],
            "--omega: SOR converges only for 0 < omega < 2",
        ),
        (&["--method", "multigrid"][..], "--method"),
        (&["--rtol", "0"][..], "--rtol: must be positive"),
        (
            &["--check-every", "0"][..],
            "--check-every: must be at least 1",
        ),
        (&["--size", "8x8", "--procs", "1x4"][..], "--procs"),
    ] {
        let mut a = vec!["--out", out];
        a.extend_from_slice(args);
        let r = mpirun(2, POISSON, &a);
        assert_eq!(r.status, Some(2), "{args:?}: {}", r.stderr);
        let lines: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| l.starts_with("poisson:"))
            .collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", r.stderr);
        assert!(lines[0].contains(needle), "{args:?}: {}", lines[0]);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

/// Streaming (non-temporal) stores change no bit and no iteration count: rows of 71
/// cells have an unaligned head, whole cache lines and a tail.
#[test]
fn streaming_stores_are_bitwise_neutral() {
    let mut streaming = STORES_CASES.to_vec();
    streaming.push((3, &["--stores", "streaming", "--no-overlap"]));
    for method in ["jacobi", "sor"] {
        same_iterates_on(
            &["--size", "21x71", "--method", method, "--rtol", "1e-4"],
            &streaming,
        );
    }
}
