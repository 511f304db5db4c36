//! (e) Bad input ends the job with one clear line on stderr, a non-zero exit on every rank,
//! no panic, no hang (each launch has a time limit), and nothing in --out overwritten.
mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Launches `heat` on `n` ranks expecting a refusal whose message contains `needle`.
fn refused(n: usize, args: &[&str], needle: &str) {
    assert_refused(HEAT, n, args, needle);
}

/// The files of `dir` and their bytes, but the lock file, which names its latest holder.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != ".tessera.lock")
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn bad_flags_are_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    refused(
        2,
        &["--size", "32x32", "--dt", "1e-3", "--out", out],
        "unstable",
    );
    refused(
        2,
        &["--size", "32x32", "--dt", "1e-3", "--out", out],
        "dt <= 2/(alpha max|eigenvalue|) = 2.2956841138659326e-4",
    );
    refused(
        4,
        &["--size", "3", "--out", out],
        "4 ranks cannot each own at least one cell",
    );
    refused(
        3,
        &["--size", "2x1", "--out", out],
        "3 ranks cannot each own",
    );
    refused(2, &["--size", "10x", "--out", out], "--size");
    refused(2, &["--size", "axb", "--out", out], "--size");
    refused(2, &["--size", "0x8", "--out", out], "--size");
    refused(2, &["--size", "8x8x8x8", "--out", out], "--size");
    refused(
        2,
        &["--size", "8x8", "--procs", "2x", "--out", out],
        "--procs",
    );
    refused(
        4,
        &["--size", "8x8", "--procs", "3x1", "--out", out],
        "--procs: 3x1 is 3 ranks, but the job has 4",
    );
    refused(
        2,
        &["--size", "8x8", "--procs", "2x1x1", "--out", out],
        "--procs",
    );
    refused(
        2,
        &["--size", "8x8", "--bc", "neumann", "--out", out],
        "--bc",
    );
    refused(
        2,
        &["--size", "8x8", "--ghost", "0", "--out", out],
        "--ghost: 0 is less than the stencil radius 1",
    );
    refused(
        4,
        &[
            "--size", "8x8", "--procs", "1x4", "--ghost", "3", "--out", out,
        ],
        "ghost width 3 exceeds",
    );
    refused(
        2,
        &["--size", "8x8", "--frobnicate", "--out", out],
        "--frobnicate",
    );
    refused(
        2,
        &["--size", "8x8", "--threads", "0", "--out", out],
        "--threads",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--ghost",
            "2",
            "--steps-per-exchange",
            "3",
            "--out",
            out,
        ],
        "--steps-per-exchange: 3 steps between exchanges read 3 ghost layers",
    );
    // temporal blocking: a block longer than the exchange interval, bad tiles and caches
    refused(
        2,
        &["--size", "8x8", "--time-block", "0", "--out", out],
        "--time-block: must be at least 1",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--time-block",
            "4",
            "--steps-per-exchange",
            "2",
            "--out",
            out,
        ],
        "--time-block: 4 steps is longer than the 2 between ghost exchanges",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--time-block",
            "2",
            "--tile",
            "0x4",
            "--out",
            out,
        ],
        "--tile",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--time-block",
            "2",
            "--tile",
            "4",
            "--out",
            out,
        ],
        "is not STEPxWIDTH",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--time-block",
            "2",
            "--cache",
            "0",
            "--out",
            out,
        ],
        "--cache",
    );
    refused(
        2,
        &["--size", "8x8", "--time-block", "9", "--out", out],
        "--time-block: 9 (a ghost width of 9) is wider than the grid",
    );
    refused(
        2,
        &["--size", "8x8", "--time-block", "5", "--out", out],
        "--time-block: 5 steps between exchanges need 5 ghost layers, more than the thinnest",
    );
    refused(
        2,
        &["--size", "8x8", "--stencil", "sixth", "--out", out],
        "--stencil",
    );
    refused(
        2,
        &["--size", "8x8", "--stencil", "fourth", "--out", out],
        "--stencil: fourth needs --bc periodic",
    );
    refused(
        2,
        &[
            "--size",
            "8x8",
            "--convergence",
            "2",
            "--restart",
            "x.h5",
            "--out",
            out,
        ],
        "--convergence",
    );
    assert!(snapshot(dir.path()).is_empty(), "a refused run wrote files");
}

#[test]
fn unusable_restart_files_are_refused_and_nothing_is_overwritten() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "37x23",
            "--steps",
            "20",
            "--checkpoint-every",
            "10",
            "--out",
            out,
        ],
    );
    let good = checkpoint(dir.path(), 10);
    let spare = temp_dir();
    let copy = |name: &str| {
        let p = spare.path().join(name);
        std::fs::copy(&good, &p).unwrap();
        p
    };

    let truncated = copy("truncated.h5");
    truncate_half(&truncated);

    let not_hdf5 = spare.path().join("notes.h5");
    std::fs::write(&not_hdf5, "just text").unwrap();

    // a genuine checkpoint of another simulation (an edited header fails its checksum)
    let wave_dir = spare.path().join("wave");
    run_ok(
        WAVE,
        1,
        &[
            "--size",
            "37x23",
            "--steps",
            "10",
            "--out",
            wave_dir.to_str().unwrap(),
        ],
    );
    let wrong_sim = checkpoint_of(&wave_dir, "wave", 10);

    let no_data = copy("no-data.h5");
    drop_dataset(&no_data, "u");

    let flipped = copy("flipped.h5");
    flip_data_bit(&flipped, "u");

    let before = snapshot(dir.path());
    let restart = |file: &Path, extra: &[&str], needle: &str| {
        let mut a = vec![
            "--steps",
            "30",
            "--out",
            out,
            "--restart",
            file.to_str().unwrap(),
        ];
        a.extend_from_slice(if extra.contains(&"--size") {
            &[]
        } else {
            &["--size", "37x23"]
        });
        a.extend_from_slice(extra);
        refused(3, &a, needle);
    };
    restart(&spare.path().join("missing.h5"), &[], "no such file");
    restart(&truncated, &[], "not a readable HDF5 file");
    restart(&not_hdf5, &[], "not a readable HDF5 file");
    restart(&wrong_sim, &[], "written by simulation 'wave', not 'heat'");
    restart(&no_data, &[], "has no dataset /fields/u");
    restart(&flipped, &[], "fails its integrity check");
    restart(
        &good,
        &["--size", "23x37"],
        "grid is 37x23 but this run's --size is 23x37",
    );
    restart(&good, &["--alpha", "0.5"], "was run with alpha");
    restart(&good, &["--bc", "periodic"], "was run with bc = dirichlet");
    restart(
        &good,
        &["--stencil", "compact"],
        "was run with stencil = standard",
    );
    // a fresh run, or a restart from an older checkpoint, would overwrite step 20
    refused(
        2,
        &["--size", "37x23", "--steps", "30", "--out", out],
        "would overwrite",
    );
    restart(
        &good,
        &[],
        "heat_00000020.h5 (step 20), which this run would overwrite",
    );
    assert_eq!(snapshot(dir.path()), before, "a refused run changed --out");

    // the intact file restarts (with --overwrite it may replace step 20)
    let r = heat(
        3,
        &[
            "--size",
            "37x23",
            "--steps",
            "30",
            "--out",
            out,
            "--restart",
            good.to_str().unwrap(),
            "--overwrite",
        ],
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
}
