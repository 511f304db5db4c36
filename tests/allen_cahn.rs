//! The Allen–Cahn example kernel of the README: bitwise identical on 1-4 ranks (2D and
//! 3D, forced process grids, threads, no overlap, deep halos); a restart on another rank
//! count continues bitwise; every run keeps |u| <= 1 and a non-increasing free energy,
//! whose exactly-summed figure is the same on any rank count; bad input is refused.
mod common;
use common::*;

const FIELDS: &[&str] = &["u"];
const VALIDATES: &str = "Solution validates";

#[test]
fn two_dimensional_runs_are_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        ALLEN_CAHN,
        "allen-cahn",
        &["--size", "37x23"],
        60,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &[]),
            (4, &["--procs", "1x4", "--no-overlap"]),
            (2, &["--threads", "2"]),
            (3, &["--ghost", "3", "--steps-per-exchange", "3"]),
            (1, &["--time-block", "4", "--cache", "4"]),
            (2, &["--time-block", "3", "--tile", "2x5", "--threads", "2"]),
        ],
    );
}

#[test]
fn three_dimensional_runs_are_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        ALLEN_CAHN,
        "allen-cahn",
        &["--size", "17x13x11"],
        30,
        FIELDS,
        VALIDATES,
        &[
            (1, &[]),
            (2, &["--threads", "2"]),
            (3, &[]),
            (1, &["--time-block", "4", "--tile", "2x6"]),
            (2, &["--time-block", "3", "--cache", "8"]),
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
}

#[test]
fn a_restart_on_another_rank_count_continues_bitwise() {
    let args = ["--size", "37x23"];
    assert_restart_continues(ALLEN_CAHN, "allen-cahn", &args, 25, 60, FIELDS, (2, 3));
}

/// The line `free energy   = E   from E0 at t = 0 ...`: (E, E0).
fn energies(r: &Run) -> (f64, f64) {
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("free energy"))
        .unwrap_or_else(|| panic!("no free energy in\n{}", r.stdout));
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn the_energy_falls_and_its_figure_is_the_same_on_any_rank_count() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let mut first: Option<String> = None;
    for (n, extra) in [(1, &[][..]), (3, &["--threads", "2"][..]), (4, &[][..])] {
        let mut a = vec![
            "--size",
            "64x48",
            "--steps",
            "400",
            "--out",
            out,
            "--overwrite",
        ];
        a.extend_from_slice(extra);
        let r = run_ok(ALLEN_CAHN, n, &a);
        assert!(r.stdout.contains(VALIDATES), "{}", r.stdout);
        let (end, start) = energies(&r);
        assert!(end < start, "energy {start} -> {end}");
        let line = r
            .stdout
            .lines()
            .find(|l| l.contains("free energy"))
            .unwrap();
        match &first {
            None => first = Some(line.to_string()),
            Some(l) => assert_eq!(l, line, "on {n} ranks {extra:?}"),
        }
    }
}

/// Launches `allen-cahn` expecting exit 2 with one error line containing `needle`.
fn refused(n: usize, args: &[&str], needle: &str) {
    let dir = temp_dir();
    let mut a = args.to_vec();
    a.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
    assert_refused(ALLEN_CAHN, n, &a, needle);
}

#[test]
fn bad_input_is_refused_with_one_line() {
    // 63x63, eps 0.05: dt <= 1 / (2 * 0.0025 * 2 * 4096 + 2) = 2.3280e-2
    refused(2, &["--size", "63x63", "--dt", "0.0233"], "is unstable");
    refused(2, &["--size", "63x63", "--eps", "0"], "--eps");
    refused(2, &["--size", "63x63", "--dt=-1"], "--dt");
    refused(4, &["--size", "3x3", "--procs", "4x1"], "");
}

/// Streaming (non-temporal) stores change no bit: rows of 101 and 75 cells have an
/// unaligned head, whole cache lines and a tail.
#[test]
fn streaming_stores_are_bitwise_neutral() {
    for size in ["19x101", "6x5x75"] {
        assert_rank_invariant(
            ALLEN_CAHN,
            "allen-cahn",
            &["--size", size],
            30,
            FIELDS,
            VALIDATES,
            STORES_CASES,
        );
    }
}
