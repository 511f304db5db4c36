//! Shared helpers of the integration tests: launching the binaries under `mpirun` (with a
//! time limit, so a hang fails the test instead of stalling CI) and reading checkpoints.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The heat binary built by cargo for this test run.
pub const HEAT: &str = env!("CARGO_BIN_EXE_heat");
pub const RENDER: &str = env!("CARGO_BIN_EXE_render");

/// The outcome of one launch.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }

    /// Panics with the output unless the run succeeded.
    pub fn expect_ok(self, what: &str) -> Run {
        assert!(
            self.ok(),
            "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The number after `key` on the first stdout line containing it.
    pub fn number_after(&self, key: &str) -> f64 {
        let line = self
            .stdout
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("no '{key}' in\n{}", self.stdout));
        let rest = &line[line.find(key).unwrap() + key.len()..];
        let tok: String = rest
            .trim_start()
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        tok.parse()
            .unwrap_or_else(|_| panic!("'{tok}' after '{key}' is not a number"))
    }
}

/// Runs `cmd` to completion or kills it after `limit`.
pub fn run_with_limit(mut cmd: Command, limit: Duration) -> Run {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn");
    let pid = child.id();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    loop {
        if let Ok(out) = rx.try_recv() {
            let out: Output = out.expect("wait");
            return Run {
                status: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("command hung for more than {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `mpirun --oversubscribe -n N BIN ARGS...`, at most two minutes.
pub fn mpirun(n: usize, bin: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-n", &n.to_string(), bin])
        .args(args);
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    // the binaries must guard against OMPIO themselves: do not do it for them
    cmd.env_remove("OMPI_MCA_io");
    run_with_limit(cmd, Duration::from_secs(120))
}

/// `heat` on `n` ranks with `args`, which must succeed.
pub fn heat(n: usize, args: &[&str]) -> Run {
    let mut all = vec!["--progress", "0"];
    all.extend_from_slice(args);
    mpirun(n, HEAT, &all).expect_ok(&format!("heat -n {n} {args:?}"))
}

/// A fresh directory under the system temp dir, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tessera-test-")
        .tempdir()
        .expect("temp dir")
}

/// The dataset `/fields/NAME` of a checkpoint: its shape and values (read serially).
pub fn read_field(path: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    let file = hdf5::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let ds = file.dataset(&format!("fields/{name}")).expect("dataset");
    (ds.shape(), ds.read_raw::<f64>().expect("read"))
}

/// Bit patterns of a field, for bitwise comparisons.
pub fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Path of the checkpoint of `step` in `dir`.
pub fn checkpoint(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("heat_{step:08}.h5"))
}

/// Asserts two checkpoints hold bitwise-identical `/fields/u`.
pub fn assert_same_field(a: &Path, b: &Path, what: &str) {
    let (sa, va) = read_field(a, "u");
    let (sb, vb) = read_field(b, "u");
    assert_eq!(sa, sb, "{what}: shapes differ");
    let (ba, bb) = (bits(&va), bits(&vb));
    if ba != bb {
        let first = ba.iter().zip(&bb).position(|(x, y)| x != y).unwrap();
        let differ = ba.iter().zip(&bb).filter(|(x, y)| x != y).count();
        panic!(
            "{what}: {differ} of {} values differ, first at flat index {first}: {} vs {}",
            ba.len(),
            va[first],
            vb[first]
        );
    }
}
