//! Results are never lost: `--keep` never deletes the checkpoint a run reports, nor a later
//! one of another run in the same directory; `--restart auto` refuses (and leaves in
//! place) a checkpoint in a newer format instead of treating it as damage.
mod common;
use common::*;
use std::process::Command;

#[test]
fn keep_never_deletes_the_checkpoint_it_reports_nor_a_later_one() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // an earlier run left step 100 here
    heat(1, &["--size", "16x16", "--steps", "100", "--out", out]);
    let later = checkpoint_of(dir.path(), "heat", 100);
    let before = std::fs::read(&later).unwrap();
    let r = heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--overwrite",
            "--keep",
            "1",
            "--out",
            out,
        ],
    );
    let mine = checkpoint_of(dir.path(), "heat", 10);
    assert!(
        r.stdout
            .contains(&format!("checkpoint: {}", mine.display())),
        "{}",
        r.stdout
    );
    assert!(mine.exists(), "the reported checkpoint was deleted");
    assert!(
        !checkpoint_of(dir.path(), "heat", 5).exists(),
        "--keep 1 kept step 5"
    );
    assert_eq!(
        std::fs::read(&later).unwrap(),
        before,
        "another run's checkpoint changed"
    );
}

#[test]
fn restart_auto_refuses_a_newer_format_and_leaves_it_in_place() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--out",
            out,
        ],
    );
    let newest = checkpoint_of(dir.path(), "heat", 10);
    {
        let file = hdf5::File::open_rw(&newest).unwrap();
        file.delete_attr("format_version").unwrap();
        file.new_attr::<u64>()
            .create("format_version")
            .unwrap()
            .write_scalar(&99u64)
            .unwrap();
    }
    let before = std::fs::read(&newest).unwrap();
    assert_refused(
        HEAT,
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--restart",
            "auto",
            "--out",
            out,
        ],
        "format version 99",
    );
    assert_eq!(std::fs::read(&newest).unwrap(), before);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".damaged"))
        .collect();
    assert!(aside.is_empty(), "a newer file is not damage");
}

#[test]
fn a_colon_in_the_output_path_writes_restarts_and_resumes() {
    let dir = temp_dir();
    let out = dir.path().join("12:30");
    let out = out.to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--out",
            out,
        ],
    );
    let ten = checkpoint_of(std::path::Path::new(out), "heat", 10);
    assert!(ten.exists());
    // a named restart and an automatic one both read it
    let r = heat(
        3,
        &[
            "--size",
            "16x16",
            "--steps",
            "15",
            "--restart",
            ten.to_str().unwrap(),
            "--out",
            out,
        ],
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    let r = heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--restart",
            "auto",
            "--out",
            out,
        ],
    );
    assert!(
        r.stdout.contains("(step 15, newest good checkpoint)"),
        "{}",
        r.stdout
    );
    let whole = temp_dir();
    heat(
        1,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--out",
            whole.path().to_str().unwrap(),
        ],
    );
    assert_same_fields(
        &checkpoint_of(whole.path(), "heat", 20),
        &checkpoint_of(std::path::Path::new(out), "heat", 20),
        &["u"],
        "resumed under a path with ':' vs uninterrupted",
    );
}

#[test]
fn zero_or_negative_durations_are_refused_in_every_form() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    for (flag, value) in [
        ("--max-runtime", "00:00"),
        ("--max-runtime", "0:00:00"),
        ("--max-runtime", "5124095576030431:00:20"),
        ("--progress", "-1"),
        ("--progress", "NaN"),
        ("--progress", "inf"),
    ] {
        let arg = format!("{flag}={value}");
        assert_refused(HEAT, 1, &["--size", "16x16", &arg, "--out", out], flag);
    }
}

#[test]
fn a_second_run_on_a_directory_is_refused_while_the_first_lives_and_takes_it_after_kill_9() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let first = spawn_mpirun(
        2,
        HEAT,
        &[
            "--size",
            "128x128",
            "--steps",
            "100000000",
            "--checkpoint-every",
            "200",
            "--progress",
            "0",
            "--out",
            out,
        ],
    );
    let ranks = ranks_of(&first, 2);
    let start = std::time::Instant::now();
    while !checkpoint_of(dir.path(), "heat", 200).exists() {
        assert!(start.elapsed().as_secs() < 60, "no first checkpoint");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // a resubmitted job, even one that may overwrite, is refused before it touches anything
    assert_refused(
        HEAT,
        1,
        &[
            "--size",
            "128x128",
            "--steps",
            "10",
            "--overwrite",
            "--out",
            out,
        ],
        "is in use by another run (heat, pid ",
    );
    assert_refused(
        HEAT,
        1,
        &["--size", "128x128", "--restart", "auto", "--out", out],
        "wait for it to end or choose another --out",
    );
    let mut first = first;
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run was disturbed"
    );
    // kill -9 leaves no stale lock: a new run takes the directory and resumes
    for pid in &ranks {
        signal("-KILL", pid);
    }
    let _ = wait_with_limit(first, std::time::Duration::from_secs(60), "killed run");
    let newest = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix("heat_")?
                .strip_suffix(".h5")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap();
    let end = (newest + 10).to_string();
    let r = heat(
        2,
        &[
            "--size",
            "128x128",
            "--steps",
            &end,
            "--restart",
            "auto",
            "--out",
            out,
        ],
    );
    assert!(
        r.stdout
            .contains(&format!("(step {newest}, newest good checkpoint)")),
        "{}",
        r.stdout
    );
}

/// A copy of `source` at `dir/NAME` with `edit` applied to it (serial HDF5).
fn edited(
    source: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    edit: impl FnOnce(&hdf5::File),
) -> String {
    let path = dir.join(name);
    std::fs::copy(source, &path).unwrap();
    let file = hdf5::File::open_rw(&path).unwrap();
    edit(&file);
    file.close().unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn checkpoint_headers_and_data_are_read_exactly_as_written() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(1, &["--size", "16x16", "--steps", "10", "--out", out]);
    let good = checkpoint_of(dir.path(), "heat", 10);
    let edits = temp_dir();
    let replace_step = |value: i64| {
        move |f: &hdf5::File| {
            f.delete_attr("step").unwrap();
            f.new_attr::<i64>()
                .create("step")
                .unwrap()
                .write_scalar(&value)
                .unwrap();
        }
    };
    let cases: Vec<(String, &str)> = vec![
        (
            edited(&good, edits.path(), "negative-step.h5", replace_step(-5)),
            "attribute 'step' is not a single unsigned 64-bit integer",
        ),
        (
            edited(&good, edits.path(), "float-step.h5", |f| {
                f.delete_attr("step").unwrap();
                f.new_attr::<f64>()
                    .create("step")
                    .unwrap()
                    .write_scalar(&7.5)
                    .unwrap();
            }),
            "attribute 'step' is not a single unsigned 64-bit integer",
        ),
        (
            edited(&good, edits.path(), "other-step.h5", |f| {
                f.delete_attr("step").unwrap();
                f.new_attr::<u64>()
                    .create("step")
                    .unwrap()
                    .write_scalar(&7u64)
                    .unwrap();
            }),
            "fails its integrity check",
        ),
        (
            edited(&good, edits.path(), "other-alpha.h5", |f| {
                let p = f.group("parameters").unwrap();
                p.delete_attr("alpha").unwrap();
                p.new_attr::<f64>()
                    .create("alpha")
                    .unwrap()
                    .write_scalar(&2.0)
                    .unwrap();
            }),
            "fails its integrity check",
        ),
        (
            edited(&good, edits.path(), "float32-field.h5", |f| {
                let g = f.group("fields").unwrap();
                let (shape, values) = read_field(&good, "u");
                let checksum: u64 = g
                    .dataset("u")
                    .unwrap()
                    .attr("checksum")
                    .unwrap()
                    .read_scalar()
                    .unwrap();
                g.unlink("u").unwrap();
                let narrow: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                let d = g.new_dataset::<f32>().shape(shape).create("u").unwrap();
                d.write_raw(&narrow).unwrap();
                d.new_attr::<u64>()
                    .create("checksum")
                    .unwrap()
                    .write_scalar(&checksum)
                    .unwrap();
            }),
            "/fields/u does not hold f64 values",
        ),
    ];
    for (path, needle) in &cases {
        let fresh = temp_dir();
        assert_refused(
            HEAT,
            2,
            &[
                "--size",
                "16x16",
                "--steps",
                "20",
                "--restart",
                path,
                "--out",
                fresh.path().to_str().unwrap(),
            ],
            needle,
        );
    }
}

#[test]
fn only_regular_files_are_read_as_checkpoints() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let fifo = dir.path().join("fifo.h5");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let empty = dir.path().join("empty.h5");
    std::fs::write(&empty, b"").unwrap();
    for (path, needle) in [
        ("/proc/cpuinfo", "is a /proc file, not a file on disk"),
        ("/proc/self/status", "is a /proc file, not a file on disk"),
        ("/proc/self/mem", "is a /proc file, not a file on disk"),
        ("/dev/null", "is a device, not a file"),
        (out, "is a directory, not a file"),
        (fifo.to_str().unwrap(), "is a FIFO (named pipe), not a file"),
        (empty.to_str().unwrap(), "is empty"),
    ] {
        assert_refused(
            HEAT,
            2,
            &["--size", "16x16", "--restart", path, "--out", out],
            needle,
        );
        let r = run_with_limit(
            {
                let mut c = Command::new(RENDER);
                c.arg(path);
                c
            },
            std::time::Duration::from_secs(20),
        );
        assert_eq!(r.status, Some(2), "render {path}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "render {path}: {}", r.stderr);
    }
}

#[test]
fn requests_that_cannot_fit_or_overflow_are_refused_before_any_allocation() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    for bin in [HEAT, WAVE, POISSON, ADVECT, LIFE, ALLEN_CAHN] {
        assert_refused(
            bin,
            2,
            &["--size", "100000x100000", "--out", out],
            "of memory per rank",
        );
        assert_refused(
            bin,
            1,
            &["--size", "18446744073709551615x2", "--out", out],
            "error: --size: ",
        );
        assert_refused(
            bin,
            1,
            &["--size", "2097152x2097152x2097152", "--out", out],
            "error: --size: ",
        );
        assert_refused(
            bin,
            2,
            &[
                "--size",
                "16x16",
                "--procs",
                "9223372036854775809x2",
                "--out",
                out,
            ],
            "is more ranks than can be counted",
        );
    }
    for (args, needle) in [
        (
            &["--max-runtime", "99999999999999999h"][..],
            "longer than any clock counts",
        ),
        (
            &["--convergence", "40"][..],
            "--convergence: 40 levels from 16x16",
        ),
        (&["--convergence", "20"][..], "--convergence: the run needs"),
        (
            &["--alpha", "1e-320"][..],
            "--alpha: makes the stability limit",
        ),
        (
            &["--steps-per-exchange", "18446744073709551615"][..],
            "--steps-per-exchange: ",
        ),
    ] {
        let mut a = vec!["--size", "16x16", "--out", out];
        a.extend_from_slice(args);
        assert_refused(HEAT, 1, &a, needle);
    }
    assert_refused(
        ALLEN_CAHN,
        1,
        &["--size", "16x16", "--eps", "1e200", "--out", out],
        "--eps: makes the stability limit",
    );
    assert_refused(
        ADVECT,
        1,
        &["--size", "16x16", "--velocity", "1e308,1e308", "--out", out],
        "--velocity: [1e308, 1e308] needs a time step",
    );
    // a Slurm end time beyond the clock is no limit at all, not a crash
    let mut c = Command::new("mpirun");
    c.args([
        "--oversubscribe",
        "-n",
        "1",
        HEAT,
        "--size",
        "16x16",
        "--steps",
        "5",
        "--progress",
        "0",
        "--out",
        out,
        "--overwrite",
    ])
    .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
    .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    .env("SLURM_JOB_END_TIME", "18446744073709551615");
    let r = run_with_limit(c, std::time::Duration::from_secs(60));
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    // render checks the size of what it would draw
    let huge = dir.path().join("huge.h5");
    {
        let f = hdf5::File::create(&huge).unwrap();
        f.create_group("fields")
            .unwrap()
            .new_dataset::<f64>()
            .shape([1_000_000, 1_000_000])
            .create("u")
            .unwrap();
    }
    let mut c = Command::new(RENDER);
    c.arg(&huge);
    let r = run_with_limit(c, std::time::Duration::from_secs(20));
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("of memory, this node allows"),
        "{}",
        r.stderr
    );
}

#[test]
fn keep_prunes_only_this_runs_checkpoints() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // another run (other parameters) left step 7 here
    heat(
        1,
        &[
            "--size", "16x16", "--steps", "7", "--alpha", "0.5", "--out", out,
        ],
    );
    let theirs = checkpoint_of(dir.path(), "heat", 7);
    let r = heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--checkpoint-every",
            "5",
            "--keep",
            "1",
            "--overwrite",
            "--out",
            out,
        ],
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    assert!(theirs.exists(), "--keep deleted another run's checkpoint");
    for step in [5, 10, 15] {
        assert!(
            !checkpoint_of(dir.path(), "heat", step).exists(),
            "step {step} kept"
        );
    }
    assert!(checkpoint_of(dir.path(), "heat", 20).exists());
}
