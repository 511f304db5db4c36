//! Fault tolerance without a batch system: a stop signal to one rank, `--max-runtime`,
//! `kill -9` of a rank in the middle of checkpoint writes, and damaged checkpoints. Each
//! time, `--restart auto` resumes from the newest good checkpoint and the final field
//! equals bitwise that of a run that was never interrupted.
mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

/// The step `stopped at step K of` in a stopped run's message.
fn stopped_step(r: &Run) -> u64 {
    let line = r
        .stderr
        .lines()
        .find(|l| l.starts_with("heat: stopped: "))
        .unwrap_or_else(|| panic!("no stop message in\n{}\n{}", r.stdout, r.stderr));
    let after = &line[line.find("stopped at step ").expect("step") + 16..];
    after.split_whitespace().next().unwrap().parse().unwrap()
}

/// Resumes the run in `dir` with `--restart auto` on `ranks` to step `end` and asserts
/// it started from `expect_from` and ends bitwise equal to an uninterrupted 1-rank run.
fn resume_matches_uninterrupted(
    dir: &Path,
    args: &[&str],
    ranks: usize,
    end: u64,
    expect_from: &str,
) {
    let end_s = end.to_string();
    let out = dir.to_str().unwrap();
    let mut a = vec!["--steps", &end_s, "--out", out, "--restart", "auto"];
    a.extend_from_slice(args);
    let r = heat(ranks, &a);
    assert!(
        r.stdout.contains(expect_from),
        "expected '{expect_from}' in\n{}",
        r.stdout
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    let whole = temp_dir();
    let mut a = vec!["--steps", &end_s, "--out", whole.path().to_str().unwrap()];
    a.extend_from_slice(args);
    heat(1, &a);
    assert_same_fields(
        &checkpoint_of(whole.path(), "heat", end),
        &checkpoint_of(dir, "heat", end),
        &["u"],
        "resumed vs uninterrupted",
    );
}

const LONG: &[&str] = &[
    "--size",
    "256x256",
    "--steps",
    "100000000",
    "--progress",
    "0",
];

#[test]
fn a_signal_to_one_rank_checkpoints_and_the_job_resumes_bitwise() {
    let dir = temp_dir();
    let mut a = LONG.to_vec();
    a.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
    let child = spawn_mpirun(2, HEAT, &a);
    let ranks = ranks_of(&child, 2);
    std::thread::sleep(Duration::from_millis(1500));
    // SIGTERM to one rank only, then a burst of further signals to both while the
    // checkpoint is being written: they must not disturb it
    signal("-TERM", &ranks[1]);
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(5));
        for pid in &ranks {
            signal("-USR1", pid);
        }
    }
    let r = wait_with_limit(child, Duration::from_secs(60), "heat stopped by SIGTERM");
    assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("SIGTERM received"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let k = stopped_step(&r);
    assert!(checkpoint_of(dir.path(), "heat", k).exists());
    let from = format!(
        "restarting from {}",
        checkpoint_of(dir.path(), "heat", k).display()
    );
    resume_matches_uninterrupted(dir.path(), &["--size", "256x256"], 3, k + 40, &from);
}

#[test]
fn max_runtime_stops_with_a_checkpoint_and_the_job_resumes_bitwise() {
    let dir = temp_dir();
    let mut a = LONG.to_vec();
    a.extend_from_slice(&[
        "--max-runtime",
        "1.5s",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let r = mpirun(2, HEAT, &a);
    assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("--max-runtime is near"), "{}", r.stderr);
    let k = stopped_step(&r);
    let from = format!(
        "restarting from {}",
        checkpoint_of(dir.path(), "heat", k).display()
    );
    resume_matches_uninterrupted(dir.path(), &["--size", "256x256"], 2, k + 40, &from);
}

#[test]
fn kill_9_during_checkpoint_writes_never_leaves_a_file_that_is_taken() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // 256^2 doubles per checkpoint, one every step: most of the time is spent writing
    let mut a = LONG.to_vec();
    a.extend_from_slice(&["--checkpoint-every", "1", "--keep", "3", "--out", out]);
    let child = spawn_mpirun(2, HEAT, &a);
    let ranks = ranks_of(&child, 2);
    std::thread::sleep(Duration::from_millis(1500));
    signal("-KILL", &ranks[1]);
    let r = wait_with_limit(child, Duration::from_secs(60), "heat after kill -9");
    assert_ne!(r.status, Some(0));
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let newest = names
        .iter()
        .filter_map(|n| {
            n.strip_prefix("heat_")?
                .strip_suffix(".h5")?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap_or_else(|| panic!("no complete checkpoint among {names:?}"));
    let complete = names.iter().filter(|n| n.ends_with(".h5")).count();
    // the oldest goes before the new one takes its name: never 4, whenever the kill lands
    assert!(complete <= 3, "--keep 3 left {names:?}");
    // every complete file is good, so auto takes the newest; a .tmp is never taken
    let from = format!(
        "restarting from {}",
        checkpoint_of(dir.path(), "heat", newest).display()
    );
    resume_matches_uninterrupted(dir.path(), &["--size", "256x256"], 2, newest + 30, &from);
}

#[test]
fn auto_restart_falls_back_past_damaged_checkpoints_and_keeps_them() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let args = ["--size", "37x23", "--checkpoint-every", "10"];
    // an empty --out: auto starts from the initial state
    let mut a = vec!["--steps", "40", "--out", out, "--restart", "auto"];
    a.extend_from_slice(&args);
    let r = heat(2, &a);
    assert!(
        r.stdout.contains("no usable heat checkpoint"),
        "{}",
        r.stdout
    );
    truncate_half(&checkpoint_of(dir.path(), "heat", 40));
    flip_data_bit(&checkpoint_of(dir.path(), "heat", 30), "u");
    drop_dataset(&checkpoint_of(dir.path(), "heat", 20), "u");
    let from = format!(
        "restarting from {}",
        checkpoint_of(dir.path(), "heat", 10).display()
    );
    let mut a = vec!["--steps", "50", "--out", out, "--restart", "auto"];
    a.extend_from_slice(&args);
    let r = heat(3, &a);
    for (step, why) in [
        (40, "not a readable HDF5 file"),
        (30, "fails its integrity check"),
        (20, "has no dataset /fields/u"),
    ] {
        assert!(r.stdout.contains(why), "no '{why}' in\n{}", r.stdout);
        let aside = format!(
            "{}.damaged",
            checkpoint_of(dir.path(), "heat", step).display()
        );
        assert!(Path::new(&aside).exists(), "{aside} missing");
    }
    assert!(r.stdout.contains(&from), "{}", r.stdout);
    let whole = temp_dir();
    heat(
        1,
        &[
            "--size",
            "37x23",
            "--steps",
            "50",
            "--out",
            whole.path().to_str().unwrap(),
        ],
    );
    assert_same_fields(
        &checkpoint_of(whole.path(), "heat", 50),
        &checkpoint_of(dir.path(), "heat", 50),
        &["u"],
        "after falling back to step 10",
    );
}

#[test]
fn keep_leaves_the_newest_checkpoints_and_bad_values_are_refused() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "30",
            "--checkpoint-every",
            "5",
            "--keep",
            "2",
            "--out",
            out,
        ],
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".h5"))
        .collect();
    names.sort();
    assert_eq!(names, ["heat_00000025.h5", "heat_00000030.h5"]);
    for (flag, value, needle) in [
        ("--keep", "0", "--keep"),
        ("--max-runtime", "5x", "is not a duration"),
        ("--max-runtime", "0", "is not a duration"),
    ] {
        assert_refused(
            HEAT,
            2,
            &["--size", "16x16", flag, value, "--out", out],
            needle,
        );
    }
}

#[test]
fn auto_restart_refuses_a_checkpoint_of_another_run_and_keeps_it() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(2, &["--size", "37x23", "--steps", "10", "--out", out]);
    let r = mpirun(
        2,
        HEAT,
        &[
            "--size",
            "23x37",
            "--steps",
            "20",
            "--out",
            out,
            "--restart",
            "auto",
        ],
    );
    assert_eq!(r.status, Some(2), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("grid is 37x23 but this run's --size is 23x37"),
        "{}",
        r.stderr
    );
    assert!(
        checkpoint_of(dir.path(), "heat", 10).exists(),
        "the checkpoint was moved"
    );
}

/// Whether process `pid` catches SIGTERM (its handler is installed: start-up has begun).
fn catches_sigterm(pid: &str) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

#[test]
fn a_stop_signal_during_start_up_ends_with_exit_75_not_a_signal_death() {
    for target in 0..2 {
        let dir = temp_dir();
        let mut a = LONG.to_vec();
        a.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
        let child = spawn_mpirun(2, HEAT, &a);
        let ranks = ranks_of(&child, 2);
        let pid = &ranks[target];
        let start = std::time::Instant::now();
        while !catches_sigterm(pid) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "rank never started"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        signal("-TERM", pid);
        let r = wait_with_limit(child, Duration::from_secs(60), "heat stopped at start-up");
        assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(
                "heat: stopped: SIGTERM received during start-up: stopped at step 0 before \
                 computing anything; nothing to save"
            ),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        assert!(!checkpoint_of(dir.path(), "heat", 0).exists());
    }
}
