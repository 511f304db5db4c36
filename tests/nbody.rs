//! Gravitational n-body end to end under `mpirun`: bitwise-identical trajectories on 1,
//! 2, 3, 4 and 8 ranks and any thread count (both inverse-square-root kernels); restarts
//! on another rank count continue bitwise; the leapfrog's energy error falls as dt^2; the
//! models; input files; bad input.
mod common;
use common::*;
use std::path::Path;

/// 1001 bodies (16 tiles of 64, the last short; 1001 divisible by none of 2, 3, 4, 8).
const PLUMMER: &[&str] = &["--bodies", "1001", "--diagnostics", "25"];

const STATE: &[&str] = &[
    "particles/id",
    "particles/position",
    "particles/velocity",
    "particles/acceleration",
    "particles/potential",
];

#[test]
fn trajectories_are_bitwise_identical_on_1_2_3_4_and_8_ranks_and_any_thread_count() {
    assert_rank_invariant(
        NBODY,
        "nbody",
        PLUMMER,
        50,
        STATE,
        "Solution validates",
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &[]),
            (8, &[]),
            // two groups of 512 targets shared by 3 threads; 2 threads on each of 2 ranks
            (1, &["--threads", "3"]),
            (2, &["--threads", "2"]),
        ],
    );
    // the exact kernel too (other bits than the Newton kernel's, the same on any count)
    let mut exact = PLUMMER.to_vec();
    exact.extend_from_slice(&["--inverse-sqrt", "exact"]);
    assert_rank_invariant(
        NBODY,
        "nbody",
        &exact,
        50,
        STATE,
        "Solution validates",
        &[(1, &[]), (3, &[])],
    );
}

#[test]
fn a_restart_on_another_rank_count_continues_bitwise() {
    assert_restart_continues(NBODY, "nbody", PLUMMER, 20, 50, STATE, (3, 2));
    let mut collision = vec!["--model", "two-plummers"];
    collision.extend_from_slice(PLUMMER);
    assert_restart_continues(NBODY, "nbody", &collision, 30, 50, STATE, (1, 4));
}

/// The largest |dE/E0| over a run's diagnostics, from its JSON report.
fn worst_energy_error(report: &Path) -> f64 {
    let text = std::fs::read_to_string(report).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let series = json["series"]["energy_error"]
        .as_array()
        .unwrap_or_else(|| panic!("no energy_error series in {text}"));
    series
        .iter()
        .map(|x| x.as_f64().unwrap().abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_energy_error_of_a_plummer_sphere_falls_as_dt_squared() {
    // 512 bodies to t = 1 with dt = 4e-3, 2e-3, 1e-3 (1000 steps): leapfrog is second
    // order, so the worst energy error over the run falls by 4 per halving
    let dir = temp_dir();
    let mut errors = Vec::new();
    for (dt, steps) in [("0.004", "250"), ("0.002", "500"), ("0.001", "1000")] {
        let report = dir.path().join(format!("dt{dt}.json"));
        run_ok(
            NBODY,
            2,
            &[
                "--bodies",
                "512",
                "--softening",
                "0.05",
                "--dt",
                dt,
                "--steps",
                steps,
                "--diagnostics",
                "1",
                "--no-checkpoint",
                "--report",
                report.to_str().unwrap(),
            ],
        );
        errors.push(worst_energy_error(&report));
    }
    for pair in errors.windows(2) {
        let order = (pair[0] / pair[1]).log2();
        assert!(
            (order - 2.0).abs() < 0.1,
            "observed order {order} from {errors:?}"
        );
    }
}

#[test]
fn the_models_start_as_stated_and_conserve_what_they_should() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // Plummer: virial ratio near 1/2 at t = 0 (checked by the run itself)
    let r = run_ok(
        NBODY,
        2,
        &["--bodies", "4096", "--steps", "10", "--out", out],
    );
    assert!(
        r.stdout.contains("virial ratio K/|W| at t = 0"),
        "{}",
        r.stdout
    );
    let q = r.number_after("virial ratio K/|W| at t = 0:");
    assert!((q - 0.5).abs() < 0.02, "{q}");
    // a cold sphere collapses: the half-mass radius falls from 0.79 to under 0.55 by
    // t = 0.9 (free fall takes 1.11)
    let report = dir.path().join("cold.json");
    run_ok(
        NBODY,
        2,
        &[
            "--model",
            "cold-sphere",
            "--bodies",
            "1000",
            "--steps",
            "900",
            "--diagnostics",
            "100",
            "--no-checkpoint",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let r50: Vec<f64> = json["series"]["r50"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!((r50[0] - 0.5f64.cbrt()).abs() < 0.03, "{r50:?}");
    assert!(*r50.last().unwrap() < 0.55, "{r50:?}");
    // two spheres: runs validate (energy, momentum, angular momentum)
    run_ok(
        NBODY,
        3,
        &[
            "--model",
            "two-plummers",
            "--bodies",
            "2000",
            "--steps",
            "20",
            "--no-checkpoint",
        ],
    );
}

/// Writes an input file of bodies with `n` positions, `nv` velocities and `masses`.
fn input_file(path: &Path, n: usize, nv: usize, masses: &[f64], nan_at: Option<usize>) {
    let f = hdf5::File::create(path).unwrap();
    let g = f.create_group("particles").unwrap();
    let mut pos: Vec<f64> = (0..3 * n).map(|k| (k as f64 * 0.618).sin()).collect();
    if let Some(i) = nan_at {
        pos[3 * i + 1] = f64::NAN;
    }
    let vel: Vec<f64> = (0..3 * nv).map(|k| 0.1 * (k as f64).cos()).collect();
    let write = |name: &str, data: &[f64], shape: &[usize]| {
        g.new_dataset::<f64>()
            .shape(shape.to_vec())
            .create(name)
            .unwrap()
            .write_raw(data)
            .unwrap();
    };
    write("position", &pos, &[n, 3]);
    write("velocity", &vel, &[nv, 3]);
    write("mass", masses, &[masses.len()]);
}

#[test]
fn an_input_file_or_a_checkpoint_starts_a_run() {
    let dir = temp_dir();
    let file = dir.path().join("bodies.h5");
    input_file(&file, 300, 300, &vec![1.0 / 300.0; 300], None);
    let f = file.to_str().unwrap();
    let a = [
        "--input",
        f,
        "--steps",
        "10",
        "--softening",
        "0.05",
        "--no-checkpoint",
    ];
    let one = run_ok(NBODY, 1, &a);
    let three = run_ok(NBODY, 3, &a);
    let line = |r: &Run| {
        r.stdout
            .lines()
            .find(|l| l.starts_with("result at step"))
            .unwrap()
            .to_string()
    };
    assert_eq!(line(&one), line(&three));
    // a checkpoint is an input file
    let out = dir.path().join("out");
    run_ok(
        NBODY,
        2,
        &[
            "--bodies",
            "500",
            "--steps",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let ck = checkpoint_of(&out, "nbody", 5);
    run_ok(
        NBODY,
        2,
        &[
            "--input",
            ck.to_str().unwrap(),
            "--steps",
            "5",
            "--no-checkpoint",
        ],
    );
}

#[test]
fn a_checkpoint_renders_as_a_picture() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    run_ok(
        NBODY,
        1,
        &["--bodies", "2000", "--steps", "1", "--out", out],
    );
    let ck = checkpoint_of(dir.path(), "nbody", 1);
    let png = dir.path().join("bodies.png");
    let r = run_with_limit(
        {
            let mut c = std::process::Command::new(RENDER);
            c.args([ck.to_str().unwrap(), "--out", png.to_str().unwrap()]);
            c
        },
        std::time::Duration::from_secs(60),
    );
    assert!(r.ok(), "{}\n{}", r.stdout, r.stderr);
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    assert!(r.stdout.contains("2000"), "{}", r.stdout);
}

#[test]
fn bad_input_is_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let refuse = |n: usize, args: &[&str], needle: &str| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--out", out, "--steps", "5"]);
        assert_refused(NBODY, n, &a, needle);
    };
    refuse(3, &["--bodies", "2"], "fewer than the 3 ranks");
    refuse(1, &["--model", "galaxy"], "unknown model 'galaxy'");
    refuse(1, &["--dt", "0"], "--dt");
    refuse(1, &["--softening=-1"], "--softening");
    refuse(1, &["--summation", "random"], "unknown order");
    refuse(1, &["--inverse-sqrt", "fast"], "unknown method");
    let d = dir.path();
    let file = |name: &str| d.join(name).to_str().unwrap().to_string();
    input_file(Path::new(&file("short.h5")), 10, 9, &[0.1; 10], None);
    refuse(2, &["--input", &file("short.h5")], "the lengths differ");
    input_file(Path::new(&file("mass.h5")), 10, 10, &[0.1; 9], None);
    refuse(
        1,
        &["--input", &file("mass.h5")],
        "/particles/mass has shape [9]",
    );
    let mut masses = [0.1; 10];
    masses[7] = 0.0;
    input_file(Path::new(&file("zero.h5")), 10, 10, &masses, None);
    refuse(2, &["--input", &file("zero.h5")], "body 7 has mass 0");
    masses[7] = -1.0;
    input_file(Path::new(&file("negative.h5")), 10, 10, &masses, None);
    refuse(1, &["--input", &file("negative.h5")], "body 7 has mass -1");
    input_file(Path::new(&file("nan.h5")), 10, 10, &[0.1; 10], Some(4));
    refuse(
        3,
        &["--input", &file("nan.h5")],
        "body 4 has a position or velocity that is not finite",
    );
    input_file(Path::new(&file("few.h5")), 2, 2, &[0.5; 2], None);
    refuse(3, &["--input", &file("few.h5")], "fewer than the 3 ranks");
    refuse(1, &["--input", "/nonexistent.h5"], "nonexistent.h5");
    std::fs::write(file("text.h5"), "not hdf5").unwrap();
    refuse(
        1,
        &["--input", &file("text.h5")],
        "not a readable HDF5 file",
    );
    // two bodies at the same place without softening
    let twins = file("twins.h5");
    {
        let f = hdf5::File::create(&twins).unwrap();
        let g = f.create_group("particles").unwrap();
        let pos = [0.0, 0.0, 0.0, 1.0, 0.5, 0.25, 1.0, 0.5, 0.25];
        g.new_dataset::<f64>()
            .shape([3, 3])
            .create("position")
            .unwrap()
            .write_raw(&pos)
            .unwrap();
        g.new_dataset::<f64>()
            .shape([3, 3])
            .create("velocity")
            .unwrap()
            .write_raw(&[0.0; 9])
            .unwrap();
        g.new_dataset::<f64>()
            .shape([3])
            .create("mass")
            .unwrap()
            .write_raw(&[1.0; 3])
            .unwrap();
    }
    refuse(
        2,
        &["--input", &twins, "--softening", "0"],
        "coincides with another body",
    );
    // a checkpoint of another run's size is refused on restart, naming the difference
    let small = d.join("small");
    run_ok(
        NBODY,
        1,
        &[
            "--bodies",
            "100",
            "--steps",
            "2",
            "--out",
            small.to_str().unwrap(),
        ],
    );
    let ck = checkpoint_of(&small, "nbody", 2);
    refuse(
        1,
        &["--bodies", "200", "--restart", ck.to_str().unwrap()],
        "holds [100] bodies",
    );
    refuse(
        1,
        &[
            "--bodies",
            "100",
            "--softening",
            "0.02",
            "--restart",
            ck.to_str().unwrap(),
        ],
        "softening",
    );
    // a time step that blows up is stopped with a message and exit 1, never NaN output
    let r = mpirun(
        2,
        NBODY,
        &[
            "--model",
            "cold-sphere",
            "--bodies",
            "200",
            "--softening",
            "0",
            "--dt",
            "0.05",
            "--steps",
            "200",
            "--out",
            out,
        ],
    );
    assert_ne!(r.status, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}
