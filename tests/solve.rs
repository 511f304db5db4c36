//! Krylov solvers and multigrid end to end under `mpirun`: bitwise-identical iterates on
//! 1, 2, 3, 4 and 8 ranks; PETSc's iteration count on the same problem; the multigrid
//! convergence factor and the discretisation error's order; restarts after a stop signal
//! on another rank count; bad input.
mod common;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// The residual history printed by `solve --monitor 1`: `(iteration, ||r||)`.
fn history(run: &Run) -> Vec<f64> {
    run.stdout
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 3 && w[0].parse::<u64>().is_ok()).then(|| w[1].parse::<f64>().unwrap())
        })
        .collect()
}

fn iterations(run: &Run) -> u64 {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("converged after "))
        .unwrap_or_else(|| panic!("not converged:\n{}", run.stdout));
    line["converged after ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn error_vs_exact(run: &Run) -> f64 {
    run.number_after("max |x - u*| =")
}

/// Solves the problem of `args` on 15^3, 31^3 and 63^3 unknowns (h = 1/16, 1/32, 1/64)
/// and asserts the error against the exact solution falls as `h^2` (within `slack`).
fn assert_second_order(args: &[&str], slack: f64) {
    let errors: Vec<f64> = ["15x15x15", "31x31x31", "63x63x63"]
        .iter()
        .map(|n| {
            let mut a = vec![
                "--size",
                n,
                "--rtol",
                "1e-12",
                "--no-checkpoint",
                "--monitor",
                "0",
            ];
            a.extend_from_slice(args);
            error_vs_exact(&run_ok(SOLVE, 2, &a))
        })
        .collect();
    for pair in errors.windows(2) {
        let order = (pair[0] / pair[1]).log2();
        assert!(
            (order - 2.0).abs() < slack,
            "{args:?}: observed order {order:.3} from {errors:?}"
        );
    }
}

/// Solves with `args` on each `(ranks, extra)` case and asserts the final states (every
/// vector of the method) are bitwise those of the first case, with the same iteration
/// count.
fn assert_solves_identical(args: &[&str], vectors: &[&str], cases: &[(usize, &[&str])]) {
    let mut first: Option<(String, PathBuf, u64)> = None;
    let dirs: Vec<_> = cases.iter().map(|_| temp_dir()).collect();
    for ((n, extra), dir) in cases.iter().zip(&dirs) {
        let mut a = vec!["--out", dir.path().to_str().unwrap()];
        a.extend_from_slice(args);
        a.extend_from_slice(extra);
        let r = run_ok(SOLVE, *n, &a);
        assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
        let its = iterations(&r);
        let path = newest_checkpoint(dir.path());
        let what = format!("solve {a:?} on {n} ranks");
        match &first {
            None => first = Some((what, path, its)),
            Some((w0, p0, its0)) => {
                assert_eq!(its, *its0, "{what} vs {w0}: iteration counts");
                assert_same_fields(p0, &path, vectors, &format!("{what} vs {w0}"));
            }
        }
    }
}

const CG: &[&str] = &["vectors/x", "vectors/r", "vectors/z", "vectors/p"];

#[test]
fn cg_jacobi_iterates_are_bitwise_identical_on_1_2_3_4_and_8_ranks() {
    // 23 unknowns per axis: 3 and 8 ranks get blocks of different sizes
    assert_solves_identical(
        &["--size", "23x23x23", "--pc", "jacobi", "--monitor", "0"],
        CG,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "1x2x2"]),
            (3, &["--procs", "1x1x3"]),
            (8, &[]),
        ],
    );
}

#[test]
fn multigrid_cg_iterates_are_bitwise_identical_on_1_2_3_4_and_8_ranks() {
    // the 15^3 level really is split over the ranks (not gathered) in these runs
    let r = run_ok(
        SOLVE,
        8,
        &[
            "--size",
            "31x31x31",
            "--mg-gather",
            "1000",
            "--no-checkpoint",
            "--monitor",
            "0",
        ],
    );
    assert!(
        r.stdout
            .contains("31x31x31 > 15x15x15 > 7x7x7 (whole on each rank)"),
        "{}",
        r.stdout
    );
    // --mg-gather 1000: the 15^3 level stays split over the ranks, 7^3 is gathered
    assert_solves_identical(
        &[
            "--size",
            "31x31x31",
            "--pc",
            "mg",
            "--mg-gather",
            "1000",
            "--monitor",
            "0",
        ],
        CG,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "2x2x1"]),
            (8, &[]),
        ],
    );
}

#[test]
fn multigrid_on_the_27_point_and_variable_coefficient_operators_is_bitwise_identical() {
    for problem in ["poisson27", "variable"] {
        assert_solves_identical(
            &[
                "--problem",
                problem,
                "--size",
                "31x31x31",
                "--mg-gather",
                "1000",
                "--monitor",
                "0",
            ],
            CG,
            &[(1, &[]), (3, &[]), (8, &[])],
        );
    }
}

#[test]
fn multigrid_as_the_solver_is_bitwise_identical_on_1_and_3_ranks() {
    assert_solves_identical(
        &[
            "--size",
            "31x31x31",
            "--ksp",
            "richardson",
            "--pc",
            "mg",
            "--monitor",
            "0",
        ],
        &["vectors/x", "vectors/r"],
        &[(1, &[]), (3, &[])],
    );
}

#[test]
fn gmres_and_bicgstab_iterates_are_bitwise_identical_on_1_2_3_4_and_8_ranks() {
    let cd = [
        "--problem",
        "convection-diffusion",
        "--size",
        "23x23x23",
        "--monitor",
        "0",
    ];
    let mut gmres = cd.to_vec();
    gmres.extend_from_slice(&["--ksp", "gmres", "--pc", "jacobi"]);
    assert_solves_identical(
        &gmres,
        &[
            "vectors/x",
            "vectors/b",
            "solver/residual_norm",
            "solver/scalars",
        ],
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "1x2x2"]),
            (8, &[]),
        ],
    );
    let mut bicgstab = cd.to_vec();
    bicgstab.extend_from_slice(&["--ksp", "bicgstab", "--pc", "none"]);
    assert_solves_identical(
        &bicgstab,
        &[
            "vectors/x",
            "vectors/r",
            "vectors/r_hat",
            "vectors/p",
            "vectors/v",
        ],
        &[(1, &[]), (3, &[]), (8, &[])],
    );
}

#[test]
fn gmres_restarted_mid_cycle_on_another_rank_count_continues_bitwise() {
    // 17 iterations into the first cycle of 30, then 3 ranks finish the solve
    let args = [
        "--problem",
        "convection-diffusion",
        "--size",
        "23x23x23",
        "--ksp",
        "gmres",
        "--pc",
        "jacobi",
        "--monitor",
        "0",
    ];
    let (whole, parts) = (temp_dir(), temp_dir());
    let mut a = args.to_vec();
    a.extend_from_slice(&["--out", whole.path().to_str().unwrap()]);
    run_ok(SOLVE, 2, &a);
    let mut a = args.to_vec();
    a.extend_from_slice(&["--out", parts.path().to_str().unwrap(), "--steps", "17"]);
    let stopped = mpirun(2, SOLVE, &a);
    assert_eq!(
        stopped.status,
        Some(1),
        "the 17-iteration run ends at its limit"
    );
    let ck = newest_checkpoint(parts.path());
    let mut a = args.to_vec();
    a.extend_from_slice(&[
        "--out",
        parts.path().to_str().unwrap(),
        "--restart",
        ck.to_str().unwrap(),
    ]);
    run_ok(SOLVE, 3, &a);
    assert_same_fields(
        &newest_checkpoint(whole.path()),
        &newest_checkpoint(parts.path()),
        &["vectors/x", "solver/residual_norm", "solver/scalars"],
        "GMRES resumed at 17 on 3 ranks vs uninterrupted on 2",
    );
}

#[test]
fn cg_jacobi_takes_the_iterations_petsc_takes_on_64_cubed() {
    // PETSc 3.18 (scripts/petsc/poisson.c -n 65, i.e. 64^3 unknowns, -ksp_type cg
    // -pc_type jacobi -ksp_rtol 1e-8 -ksp_norm_type unpreconditioned) on 1 and 2 ranks:
    // its=235, relres=8.990686e-09, err=9.527488e-06
    let dir = temp_dir();
    let r = run_ok(
        SOLVE,
        2,
        &[
            "--size",
            "64x64x64",
            "--pc",
            "jacobi",
            "--monitor",
            "0",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(iterations(&r), 235, "{}", r.stdout);
    let rel = r.number_after("||r||/||b|| =");
    assert!(
        (rel / 8.990686e-9 - 1.0).abs() < 1e-4,
        "relative residual {rel:e}"
    );
    let err = error_vs_exact(&r);
    assert!((err / 9.527488e-6 - 1.0).abs() < 1e-5, "error {err:e}");
}

#[test]
fn a_v_cycle_reduces_the_residual_tenfold_on_any_grid_size() {
    for n in ["31x31x31", "63x63x63", "127x127x127"] {
        let r = run_ok(
            SOLVE,
            2,
            &[
                "--size",
                n,
                "--ksp",
                "richardson",
                "--pc",
                "mg",
                "--rtol",
                "1e-9",
                "--no-checkpoint",
            ],
        );
        let h = history(&r);
        assert!(h.len() >= 6, "{}", r.stdout);
        for k in 1..h.len() {
            let factor = h[k] / h[k - 1];
            assert!(
                factor < 0.1,
                "{n}: cycle {k} reduced the residual by only {factor:.3}"
            );
        }
        assert!(h.len() <= 10, "{n}: {} cycles to 1e-9", h.len() - 1);
    }
}

#[test]
fn the_discretisation_error_falls_as_h_squared() {
    assert_second_order(&[], 0.1);
    assert_second_order(&["--problem", "variable"], 0.1);
    assert_second_order(&["--problem", "poisson27"], 0.1);
    let cd = [
        "--problem",
        "convection-diffusion",
        "--ksp",
        "bicgstab",
        "--pc",
        "jacobi",
    ];
    assert_second_order(&cd, 0.15);
}

#[test]
fn a_solve_stopped_by_a_signal_resumes_bitwise_on_another_rank_count() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap().to_string();
    let mut a = vec![
        "--size",
        "127x127x127",
        "--pc",
        "jacobi",
        "--monitor",
        "0",
        "--progress",
        "0.2",
        "--out",
        &out,
    ];
    let child = spawn_mpirun(2, SOLVE, &a);
    let ranks = ranks_of(&child, 2);
    // the whole solve takes ~470 iterations, several seconds
    std::thread::sleep(Duration::from_millis(1500));
    signal("-TERM", &ranks[0]);
    let r = wait_with_limit(child, Duration::from_secs(120), "solve stopped by SIGTERM");
    assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
    let stopped = newest_checkpoint(dir.path());
    a.extend_from_slice(&["--restart", "auto"]);
    let resumed = run_ok(SOLVE, 3, &a);
    assert!(
        resumed.stdout.contains("restarting from"),
        "{}",
        resumed.stdout
    );
    assert!(
        newest_checkpoint(dir.path()) != stopped,
        "the resumed solve wrote no final state"
    );
    let whole = temp_dir();
    let b = [
        "--size",
        "127x127x127",
        "--pc",
        "jacobi",
        "--monitor",
        "0",
        "--out",
        whole.path().to_str().unwrap(),
    ];
    let uninterrupted = run_ok(SOLVE, 2, &b);
    assert_eq!(iterations(&resumed), iterations(&uninterrupted));
    assert_same_fields(
        &newest_checkpoint(whole.path()),
        &newest_checkpoint(dir.path()),
        &[
            "vectors/x",
            "vectors/r",
            "vectors/p",
            "solver/residual_norm",
        ],
        "resumed on 3 ranks vs uninterrupted on 2",
    );
}

#[test]
fn bad_input_gets_one_clear_line() {
    assert_refused(SOLVE, 2, &["--ksp", "sor"], "unknown Krylov method 'sor'");
    assert_refused(SOLVE, 2, &["--pc", "ilu9"], "unknown preconditioner 'ilu9'");
    assert_refused(
        SOLVE,
        2,
        &["--size", "64x64x64", "--pc", "mg"],
        "cannot coarsen",
    );
    assert_refused(
        SOLVE,
        1,
        &["--size", "15x15x31"],
        "same number of unknowns on every axis",
    );
    assert_refused(SOLVE, 1, &["--rtol", "2"], "--rtol");
    assert_refused(SOLVE, 1, &["--problem", "heat"], "unknown problem 'heat'");
    assert_refused(SOLVE, 1, &["--threads", "2"], "one thread per rank");
    assert_refused(
        SOLVE,
        2,
        &[
            "--problem",
            "convection-diffusion",
            "--size",
            "31x31x31",
            "--pc",
            "mg",
        ],
        "mg smooths the symmetric Poisson operator",
    );
}

#[test]
fn an_unreachable_tolerance_ends_at_the_iteration_limit_with_exit_1() {
    let dir = temp_dir();
    let r = mpirun(
        2,
        SOLVE,
        &[
            "--size",
            "31x31x31",
            "--pc",
            "jacobi",
            "--steps",
            "20",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("iteration limit"), "{}", r.stderr);
    assert!(
        r.stdout
            .contains("iteration limit reached after 20 iterations"),
        "{}",
        r.stdout
    );
}

#[test]
fn render_plots_the_residual_history_of_a_solve() {
    let dir = temp_dir();
    run_ok(
        SOLVE,
        2,
        &[
            "--size",
            "31x31x31",
            "--monitor",
            "0",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    let ck = newest_checkpoint(dir.path());
    let png = dir.path().join("history.png");
    let out = std::process::Command::new(RENDER)
        .arg(&ck)
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("residual history of 5 iterations"),
        "{stdout}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}
