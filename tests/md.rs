//! Molecular dynamics end to end under `mpirun`: bitwise-identical trajectories on 1, 2,
//! 3, 4 and 8 ranks, forced process grids and threads; restarts on another rank count and
//! after a stop signal continue bitwise; LAMMPS's figures on the same inputs; bad input.
mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

/// 864 atoms (fcc 6x6x6, box 10.08: at most 3 ranks per axis) at a high temperature, so
/// that atoms cross the periodic boundaries and migrate between ranks within 200 steps.
const HOT: &[&str] = &[
    "--cells",
    "6x6x6",
    "--temperature",
    "3.0",
    "--dt",
    "0.004",
    "--thermo",
    "50",
];

const STATE: &[&str] = &[
    "particles/id",
    "particles/position",
    "particles/velocity",
    "particles/force",
    "particles/reference_position",
];

#[test]
fn trajectories_are_bitwise_identical_on_1_2_3_4_and_8_ranks_and_any_thread_count() {
    assert_rank_invariant(
        MD,
        "md",
        HOT,
        200,
        STATE,
        "Solution validates",
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &["--procs", "1x2x2"]),
            (3, &["--procs", "1x1x3"]),
            (8, &[]),
            // 864 atoms on 1 rank: two tasks of the pair loop (512 atoms each at most)
            (1, &["--threads", "3"]),
        ],
    );
}

#[test]
fn atoms_migrate_between_ranks_in_the_rank_invariance_runs() {
    let dir = temp_dir();
    let mut a = vec!["--steps", "200", "--out", dir.path().to_str().unwrap()];
    a.extend_from_slice(HOT);
    let r = run_ok(MD, 8, &a);
    let migrated = r.number_after("atoms migrated");
    assert!(migrated > 100.0, "{}", r.stdout);
}

#[test]
fn a_restart_on_another_rank_count_continues_bitwise() {
    // step 90 is between neighbour builds (every 20): the restart must rebuild the very
    // lists and ghosts the run had from the positions at the last build
    assert_restart_continues(MD, "md", HOT, 90, 200, STATE, (3, 2));
    let mut langevin = HOT.to_vec();
    langevin.extend_from_slice(&["--ensemble", "langevin", "--damp", "0.5"]);
    assert_restart_continues(MD, "md", &langevin, 70, 130, STATE, (1, 4));
}

#[test]
fn a_stopped_run_resumes_with_restart_auto_bitwise() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let mut a = vec![
        "--cells",
        "12x12x12",
        "--steps",
        "1000000",
        "--progress",
        "0",
        "--out",
        out,
    ];
    let child = spawn_mpirun(2, MD, &a);
    let ranks = ranks_of(&child, 2);
    std::thread::sleep(Duration::from_millis(2500));
    signal("-TERM", &ranks[0]);
    let r = wait_with_limit(child, Duration::from_secs(60), "md stopped by SIGTERM");
    assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("md: stopped: "))
        .unwrap_or_else(|| panic!("no stop message in\n{}", r.stderr));
    let after = &line[line.find("stopped at step ").expect("step") + 16..];
    let k: u64 = after.split_whitespace().next().unwrap().parse().unwrap();
    assert!(checkpoint_of(dir.path(), "md", k).exists());
    let end = (k + 30).to_string();
    a[3] = &end;
    a.extend_from_slice(&["--restart", "auto"]);
    let resumed = run_ok(MD, 3, &a);
    assert!(
        resumed.stdout.contains("restarting from"),
        "{}",
        resumed.stdout
    );
    let whole = temp_dir();
    a[7] = whole.path().to_str().unwrap();
    a.truncate(8);
    run_ok(MD, 1, &a);
    assert_same_fields(
        &checkpoint_of(whole.path(), "md", k + 30),
        &checkpoint_of(dir.path(), "md", k + 30),
        STATE,
        "resumed vs uninterrupted",
    );
}

/// The thermo line of `step` printed by a run: step, T, E_pair, E_kin, E_total, press.
fn thermo(stdout: &str, step: u64) -> Vec<f64> {
    stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 6 && f[0] == step.to_string())
        .unwrap_or_else(|| panic!("no thermo line for step {step} in\n{stdout}"))
        .iter()
        .map(|x| x.parse().unwrap())
        .collect()
}

#[test]
fn the_lj_benchmark_starts_at_lammps_step_zero_pair_energy() {
    let r = run_ok(
        MD,
        2,
        &[
            "--lattice",
            "fcc",
            "--density",
            "0.8442",
            "--cells",
            "20x20x20",
            "--temperature",
            "1.44",
            "--steps",
            "0",
            "--no-checkpoint",
        ],
    );
    let t = thermo(&r.stdout, 0);
    // LAMMPS: E_pair -6.7733681 (bench/log.lammps.in.lj); T exactly 1.44
    assert!((t[2] - -6.7733681).abs() < 5e-8, "E_pair {}", t[2]);
    assert!((t[1] - 1.44).abs() < 1e-12, "T {}", t[1]);
}

#[test]
fn thermo_of_a_lammps_data_file_agrees_with_lammps_at_step_100() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lammps");
    let lammps = std::fs::read_to_string(fixtures.join("thermo-1rank.txt")).unwrap();
    let want = thermo(&lammps, 100);
    let data = fixtures.join("melt.data");
    for ranks in [1, 2] {
        let r = run_ok(
            MD,
            ranks,
            &[
                "--data",
                data.to_str().unwrap(),
                "--neigh-every",
                "1",
                "--neigh-check",
                "--steps",
                "100",
                "--thermo",
                "50",
                "--no-checkpoint",
            ],
        );
        let got = thermo(&r.stdout, 100);
        // columns: T, E_pair, E_kin, E_total to 10 significant digits, pressure to 8
        for (col, digits) in [(1, 10), (2, 10), (4, 10), (5, 8)] {
            let rel = ((got[col] - want[col]) / want[col]).abs();
            assert!(
                rel < 0.5 * 10f64.powi(1 - digits),
                "column {col} on {ranks} ranks: {} vs LAMMPS {} (relative {rel:.1e})",
                got[col],
                want[col]
            );
        }
    }
}

/// Writes a data file with `atoms` lines into `dir` and returns its path.
fn data_file(dir: &Path, name: &str, header_extra: &str, atoms: &[&str]) -> String {
    let text = format!(
        "test\n\n{} atoms\n1 atom types\n{header_extra}\n0 8 xlo xhi\n0 8 ylo yhi\n0 8 zlo zhi\n\nMasses\n\n1 1.0\n\nAtoms # atomic\n\n{}\n",
        atoms.len(),
        atoms.join("\n")
    );
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn bad_input_is_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let refuse = |n: usize, args: &[&str], needle: &str| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--out", out, "--steps", "5"]);
        assert_refused(MD, n, &a, needle);
    };
    refuse(
        1,
        &["--cells", "3x3x3"],
        "shorter than twice the ghost cutoff",
    );
    refuse(
        4,
        &["--cells", "6x6x6", "--procs", "4x1x1"],
        "at most 3 ranks fit",
    );
    refuse(3, &["--cells", "4x4x4"], "cannot split");
    refuse(1, &["--potential", "buck"], "not a potential");
    refuse(1, &["--potential", "morse"], "--coeff");
    refuse(1, &["--dt=-1"], "--dt");
    refuse(1, &["--skin", "0"], "--skin");
    let d = dir.path();
    let overlap = data_file(
        d,
        "overlap.data",
        "",
        &["1 1 1.0 1.0 1.0", "2 1 1.0 1.0 1.0"],
    );
    refuse(1, &["--data", &overlap], "at the same position");
    let malformed = data_file(d, "bad.data", "", &["1 1 1.0 abc 1.0", "2 1 2.0 1.0 1.0"]);
    refuse(1, &["--data", &malformed], "line 16");
    let triclinic = data_file(d, "tri.data", "0 0 0 xy xz yz", &["1 1 1 1 1"]);
    refuse(1, &["--data", &triclinic], "triclinic");
    let styled = data_file(d, "full.data", "", &["1 1 1 1 1"]);
    std::fs::write(
        &styled,
        std::fs::read_to_string(&styled)
            .unwrap()
            .replace("Atoms # atomic", "Atoms # full"),
    )
    .unwrap();
    refuse(1, &["--data", &styled], "atom_style atomic only");
    refuse(1, &["--data", "/nonexistent.data"], "nonexistent.data");
    // a time step that blows up: stopped with a message and exit 1, never NaN output
    let r = mpirun(
        1,
        MD,
        &[
            "--cells", "6x6x6", "--dt", "0.05", "--steps", "200", "--out", out,
        ],
    );
    assert_eq!(r.status, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("blew up"), "{}", r.stderr);
    assert!(!r.stdout.to_lowercase().contains("nan"), "{}", r.stdout);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
