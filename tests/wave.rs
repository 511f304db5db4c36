//! The wave equation (leapfrog, two time levels): both levels `u` and `u_prev` are bitwise
//! identical on 1-4 ranks, with threads, without overlap and with deep halos; a restart
//! on another rank count continues bitwise; each run matches its scheme's exact solution
//! and conserves the discrete energy (bitwise the same figure on any rank count); the
//! error against the PDE falls at second order; unstable time steps are refused.
mod common;
use common::*;

const FIELDS: &[&str] = &["u", "u_prev"];
const VALIDATES: &str = "Solution validates";

#[test]
fn two_dimensional_dirichlet_is_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        WAVE,
        "wave",
        &["--size", "37x23"],
        40,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &[]),
            (4, &["--procs", "1x4"]),
            (4, &["--procs", "4x1", "--no-overlap"]),
            (2, &["--threads", "2"]),
            (3, &["--ghost", "3", "--steps-per-exchange", "3"]),
            (1, &["--time-block", "4", "--cache", "4"]),
            (2, &["--time-block", "3", "--tile", "2x5", "--threads", "2"]),
        ],
    );
}

#[test]
fn two_dimensional_periodic_is_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        WAVE,
        "wave",
        &["--size", "37x23", "--bc", "periodic"],
        40,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            // 1x2: a periodic axis with a single rank along it wraps onto the rank itself
            (2, &["--procs", "1x2", "--threads", "2", "--no-overlap"]),
            (
                4,
                &[
                    "--procs",
                    "2x2",
                    "--ghost",
                    "3",
                    "--steps-per-exchange",
                    "3",
                ],
            ),
        ],
    );
}

#[test]
fn three_and_one_dimensional_grids_are_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        WAVE,
        "wave",
        &["--size", "17x13x11"],
        30,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "1x2x2"]),
            (4, &["--procs", "4x1x1", "--no-overlap"]),
            (2, &["--time-block", "3", "--tile", "1x4"]),
            (1, &["--time-block", "5", "--cache", "8"]),
            (
                2,
                &[
                    "--threads",
                    "2",
                    "--ghost",
                    "3",
                    "--steps-per-exchange",
                    "3",
                ],
            ),
        ],
    );
    assert_rank_invariant(
        WAVE,
        "wave",
        &["--size", "17x13x11", "--bc", "periodic"],
        30,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (
                4,
                &[
                    "--procs",
                    "2x1x2",
                    "--ghost",
                    "2",
                    "--steps-per-exchange",
                    "2",
                ],
            ),
        ],
    );
    assert_rank_invariant(
        WAVE,
        "wave",
        &["--size", "101", "--bc", "periodic"],
        60,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (3, &[]),
            (1, &["--time-block", "6", "--tile", "9x0"]),
        ],
    );
}

#[test]
fn a_restart_on_another_rank_count_continues_bitwise() {
    assert_restart_continues(WAVE, "wave", &["--size", "37x23"], 15, 40, FIELDS, (2, 3));
    assert_restart_continues(
        WAVE,
        "wave",
        &["--size", "17x13x11", "--bc", "periodic"],
        10,
        25,
        FIELDS,
        (3, 2),
    );
    // two time levels in a time block of 4, the checkpoint inside a block
    assert_restart_continues(
        WAVE,
        "wave",
        &["--size", "37x23", "--time-block", "4", "--tile", "2x6"],
        15,
        40,
        FIELDS,
        (1, 2),
    );
}

#[test]
fn a_restart_with_another_time_step_is_refused() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    run_ok(WAVE, 2, &["--size", "37x23", "--steps", "5", "--out", out]);
    let ck = checkpoint_of(dir.path(), "wave", 5);
    let r = mpirun(
        2,
        WAVE,
        &[
            "--size",
            "37x23",
            "--steps",
            "10",
            "--cfl",
            "0.5",
            "--out",
            out,
            "--restart",
            ck.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("was run with dt = "), "{}", r.stderr);
}

/// `(drift, tolerance)` from the line `relative energy drift = D   round-off tolerance T`.
fn energy_drift(r: &Run) -> (f64, f64) {
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("relative energy drift ="))
        .unwrap_or_else(|| panic!("no energy drift in\n{}", r.stdout));
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{line}");
    (numbers[0], numbers[1])
}

/// The energy is conserved to round-off over many steps, and since it is summed exactly
/// its printed value is the same on any rank and thread count.
#[test]
fn energy_is_conserved_and_its_figure_is_rank_invariant() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let mut energy_lines: Option<(String, String)> = None;
    for (n, extra) in [
        (1, &[][..]),
        (3, &[][..]),
        (
            4,
            &[
                "--procs",
                "2x2",
                "--threads",
                "2",
                "--ghost",
                "2",
                "--steps-per-exchange",
                "2",
            ][..],
        ),
    ] {
        let mut a = vec![
            "--size", "48x40", "--bc", "periodic", "--steps", "1000", "--cfl", "0.95",
        ];
        a.extend_from_slice(&["--out", out, "--overwrite"]);
        a.extend_from_slice(extra);
        let r = run_ok(WAVE, n, &a);
        assert!(r.stdout.contains(VALIDATES), "{}", r.stdout);
        let (drift, tol) = energy_drift(&r);
        assert!(
            drift.abs() <= tol,
            "drift {drift:e} above tolerance {tol:e}\n{}",
            r.stdout
        );
        assert!(tol < 1e-10, "tolerance {tol:e} is not round-off");
        let line = |key: &str| {
            r.stdout
                .lines()
                .find(|l| l.contains(key))
                .unwrap()
                .to_string()
        };
        let lines = (line("discrete energy"), line("relative energy drift"));
        match &energy_lines {
            None => energy_lines = Some(lines),
            Some(first) => assert_eq!(
                &lines, first,
                "energy figures differ on {n} ranks {extra:?}"
            ),
        }
    }
    // Dirichlet, 3D, at the stability limit
    let r = run_ok(
        WAVE,
        2,
        &[
            "--size",
            "17x13x11",
            "--steps",
            "300",
            "--cfl",
            "1",
            "--out",
            out,
            "--overwrite",
        ],
    );
    let (drift, tol) = energy_drift(&r);
    assert!(
        drift.abs() <= tol,
        "drift {drift:e} above tolerance {tol:e}\n{}",
        r.stdout
    );
}

#[test]
fn second_order_convergence_to_the_pde_solution() {
    let r = run_ok(
        WAVE,
        2,
        &["--size", "15x15", "--steps", "20", "--convergence", "3"],
    );
    assert!(r.stdout.contains("every level validates"), "{}", r.stdout);
    let p = observed_order(&r, "max |u - u_exact|");
    assert!((p - 2.0).abs() <= 0.1, "observed order {p}\n{}", r.stdout);
}

/// Launches `wave` on `n` ranks expecting a refusal with exit code 2, one line
/// `wave: error: ...` containing `needle`, and no panic.
fn refused(n: usize, args: &[&str], needle: &str) {
    assert_refused(WAVE, n, args, needle);
}

#[test]
fn unstable_and_bad_input_is_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // the limit on 37x23 Dirichlet is 1/sqrt(38^2 + 24^2) = 2.2250e-2
    refused(
        2,
        &["--size", "37x23", "--dt", "0.0223", "--out", out],
        "is unstable",
    );
    refused(
        3,
        &["--size", "37x23", "--dt", "1", "--out", out],
        "dt <= 2.22497",
    );
    refused(
        2,
        &["--size", "37x23", "--cfl", "1.01", "--out", out],
        "--cfl 1.01",
    );
    refused(
        2,
        &[
            "--size", "37x23", "--cfl", "0.5", "--dt", "1e-3", "--out", out,
        ],
        "cannot be used with",
    );
    refused(
        2,
        &["--size", "37x23", "--c=-1", "--out", out],
        "--c: must be positive",
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "a refused run wrote output"
    );
}

/// Streaming (non-temporal) stores change no bit: rows of 101 and 75 cells have an
/// unaligned head, whole cache lines and a tail.
#[test]
fn streaming_stores_are_bitwise_neutral() {
    for size in ["19x101", "6x5x75", "301"] {
        assert_rank_invariant(
            WAVE,
            "wave",
            &["--size", size],
            30,
            FIELDS,
            VALIDATES,
            STORES_CASES,
        );
    }
}
