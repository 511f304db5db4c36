//! A full file system during a checkpoint: a small tmpfs as `--out` (the suite runs as
//! root; where `mount` is not permitted the tests say so and skip), filled to the last
//! byte while a run computes. At 1, 2 and 4 ranks, for a cadence checkpoint, the final
//! one and the checkpoint of a stop signal: the run ends with exit 2 and one line naming
//! the directory, the bytes needed and the OS error, never a hang or a crash; the earlier
//! checkpoint is intact and no temporary file is left; and once there is room again,
//! `--restart auto` resumes from the intact checkpoint and ends bitwise equal to a run
//! that was never interrupted.
mod common;
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs mounted on a fresh directory, unmounted when dropped.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = temp_dir();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("SKIPPED: mount -t tmpfs is not permitted here");
            return None;
        }
        Some(Tmpfs(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// Fills the file system holding `dir` to its last page with a file; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 16, 4096, 1] {
        let bytes = vec![1u8; chunk];
        while f.write_all(&bytes).is_ok() {}
    }
    path
}

/// Steps between checkpoints: long enough (about half a second and more) that the test
/// fills the disk after one checkpoint and before the next.
const EVERY: u64 = 10_000;
const SIZE: &str = "256x256";

#[derive(Clone, Copy, Debug)]
enum Failing {
    /// The checkpoint of the cadence after the first.
    Cadence,
    /// The final checkpoint.
    Final,
    /// The checkpoint a stop signal asks for.
    Signal,
}

/// One case: `ranks` ranks write checkpoint `EVERY` into `out`, the disk is filled, and
/// the next checkpoint (`failing`) cannot be written.
fn full_disk_case(disk: &Tmpfs, ranks: usize, failing: Failing, reference: &Path) {
    let out = disk.path().join(format!("run-{ranks}"));
    let o = out.to_str().unwrap();
    let end = match failing {
        Failing::Final => 2 * EVERY,
        _ => 100 * EVERY,
    }
    .to_string();
    let every = EVERY.to_string();
    let args = [
        "--size",
        SIZE,
        "--steps",
        &end,
        "--checkpoint-every",
        &every,
        "--progress",
        "0",
        "--out",
        o,
    ];
    let child = spawn_mpirun(ranks, HEAT, &args);
    let first = checkpoint_of(&out, "heat", EVERY);
    let start = Instant::now();
    // the sidecar is written after the checkpoint is in place
    while !first.with_extension("xmf").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no first checkpoint"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(20));
    // the ranks wait while the disk fills, so the next checkpoint cannot come first
    let ranks_pids = ranks_of(&child, ranks);
    for pid in &ranks_pids {
        signal("-STOP", pid);
    }
    let next = checkpoint_of(&out, "heat", 2 * EVERY);
    assert!(
        !next.exists(),
        "the next checkpoint came before the disk was full"
    );
    let filler = fill(disk.path());
    for pid in &ranks_pids {
        signal("-CONT", pid);
    }
    if let Failing::Signal = failing {
        signal("-USR1", &child.id().to_string());
    }
    let r = wait_with_limit(child, Duration::from_secs(60), "heat on a full disk");
    let what = format!("{failing:?} at {ranks} ranks");
    assert_eq!(r.status, Some(2), "{what}\n{}\n{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("heat:"))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: {}", r.stderr);
    for needle in [
        "heat: error: checkpoint heat_",
        &format!("not written to {o} (it needs "),
        "free; earlier checkpoints are untouched",
        "No space left on device",
    ] {
        assert!(
            lines[0].contains(needle),
            "{what}: '{needle}' not in {}",
            lines[0]
        );
    }
    for bad in ["panicked", "HDF5-DIAG", "Segmentation", "MPI_ABORT"] {
        assert!(!r.stderr.contains(bad), "{what}: {}", r.stderr);
    }
    let left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{what}: temporary files left: {left:?}");
    // room again: the run resumes from the intact checkpoint, bitwise
    std::fs::remove_file(filler).unwrap();
    let end = (2 * EVERY).to_string();
    let resumed = heat(
        ranks,
        &[
            "--size",
            SIZE,
            "--steps",
            &end,
            "--out",
            o,
            "--restart",
            "auto",
        ],
    );
    let from = format!("restarting from {} (step {EVERY}", first.display());
    assert!(resumed.stdout.contains(&from), "{what}: {}", resumed.stdout);
    assert_same_field(reference, &checkpoint_of(&out, "heat", 2 * EVERY), &what);
    std::fs::remove_dir_all(&out).unwrap();
}

fn full_disk(failing: Failing) {
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let whole = temp_dir();
    let end = (2 * EVERY).to_string();
    heat(
        1,
        &[
            "--size",
            SIZE,
            "--steps",
            &end,
            "--out",
            whole.path().to_str().unwrap(),
        ],
    );
    let reference = checkpoint_of(whole.path(), "heat", 2 * EVERY);
    for ranks in [1, 2, 4] {
        full_disk_case(&disk, ranks, failing, &reference);
    }
}

#[test]
fn a_full_disk_at_a_cadence_checkpoint_is_one_line_and_loses_nothing() {
    full_disk(Failing::Cadence);
}

#[test]
fn a_full_disk_at_the_final_checkpoint_is_one_line_and_loses_nothing() {
    full_disk(Failing::Final);
}

#[test]
fn a_full_disk_at_a_stop_signal_checkpoint_is_one_line_and_loses_nothing() {
    full_disk(Failing::Signal);
}

#[test]
fn a_directory_without_room_for_one_checkpoint_is_refused_before_the_first_step() {
    let Some(disk) = Tmpfs::mount("256k") else {
        return;
    };
    let out = disk.path().join("run");
    assert_refused(
        HEAT,
        2,
        &[
            "--size",
            SIZE,
            "--steps",
            "10",
            "--progress",
            "0",
            "--out",
            out.to_str().unwrap(),
        ],
        "cannot take this run's checkpoints (each needs",
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [".tessera.lock"], "left behind: {names:?}");
}

#[test]
fn a_read_only_or_virtual_output_directory_is_refused_before_the_first_step() {
    let Some(disk) = Tmpfs::mount("1m") else {
        return;
    };
    let out = disk.path().join("run");
    std::fs::create_dir(&out).unwrap();
    let remounted = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(disk.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(remounted, "remounting the tmpfs read-only");
    for dir in [out.to_str().unwrap(), "/proc/self", "/sys/kernel"] {
        assert_refused(
            HEAT,
            2,
            &[
                "--size",
                "64x64",
                "--steps",
                "10",
                "--progress",
                "0",
                "--out",
                dir,
            ],
            "--out",
        );
    }
}
