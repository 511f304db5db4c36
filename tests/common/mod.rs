//! Shared helpers of the integration tests: launching the binaries under `mpirun` (with a
//! time limit, so a hang fails the test instead of stalling CI) and reading checkpoints.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The heat binary built by cargo for this test run.
pub const HEAT: &str = env!("CARGO_BIN_EXE_heat");
pub const RENDER: &str = env!("CARGO_BIN_EXE_render");
pub const WAVE: &str = env!("CARGO_BIN_EXE_wave");
pub const ADVECT: &str = env!("CARGO_BIN_EXE_advect");
pub const LIFE: &str = env!("CARGO_BIN_EXE_life");
pub const POISSON: &str = env!("CARGO_BIN_EXE_poisson");
pub const ALLEN_CAHN: &str = env!("CARGO_BIN_EXE_allen-cahn");
pub const RUNTIME_CHECK: &str = env!("CARGO_BIN_EXE_runtime-check");
pub const MD: &str = env!("CARGO_BIN_EXE_md");
pub const SOLVE: &str = env!("CARGO_BIN_EXE_solve");

/// Runs that must agree bit for bit: cached stores, streaming stores, streaming stores
/// with two ranks and two threads each (see `--stores`).
pub const STORES_CASES: &[(usize, &[&str])] = &[
    (1, &["--stores", "cached"]),
    (1, &["--stores", "streaming"]),
    (2, &["--stores", "streaming", "--threads", "2"]),
];
pub const NBODY: &str = env!("CARGO_BIN_EXE_nbody");
pub const DENSE: &str = env!("CARGO_BIN_EXE_dense");

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
            .take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';')
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
    wait_with_limit(child, limit, &format!("{cmd:?}"))
}

/// Waits for `child` (spawned with piped output) or kills it after `limit`.
pub fn wait_with_limit(child: std::process::Child, limit: Duration, what: &str) -> Run {
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
            panic!("command hung for more than {limit:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `mpirun --oversubscribe -n N BIN ARGS...`, at most two minutes.
pub fn mpirun(n: usize, bin: &str, args: &[&str]) -> Run {
    run_with_limit(mpirun_command(n, bin, args), Duration::from_secs(120))
}

/// `mpirun --oversubscribe -n N BIN ARGS...` started in the background, output piped:
/// finish it with [`wait_with_limit`].
pub fn spawn_mpirun(n: usize, bin: &str, args: &[&str]) -> std::process::Child {
    mpirun_command(n, bin, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mpirun")
}

pub fn mpirun_command(n: usize, bin: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-n", &n.to_string(), bin])
        .args(args);
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    // the binaries must guard against OMPIO themselves: do not do it for them
    cmd.env_remove("OMPI_MCA_io");
    // Each launch gets its own OpenMPI session directory: jobs started at the same time
    // (the tests of one file run in parallel) otherwise race on creating and removing
    // their shared parent in /tmp ("orte_session_dir failed").
    cmd.env("OMPI_MCA_orte_tmpdir_base", session_dir_base());
    cmd
}

/// A fresh directory for one `mpirun`'s session files (OpenMPI removes its own contents).
fn session_dir_base() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir()
        .join("tessera-test-ompi")
        .join(format!("{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creating an OpenMPI session directory");
    dir
}

/// Runs `bin` on `n` ranks with `args` and asserts it refuses them as a user error should:
/// exit status 2, exactly one line `NAME: error: ...` on stderr containing `needle`, and
/// no panic, abort, backtrace or HDF5 error stack.
pub fn assert_refused(bin: &str, n: usize, args: &[&str], needle: &str) {
    let name = Path::new(bin)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let r = mpirun(n, bin, args);
    assert_eq!(
        r.status,
        Some(2),
        "expected exit 2 for {name} {args:?}\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    let prefix = format!("{name}:");
    let ours: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "expected one error line for {args:?}:\n{}",
        r.stderr
    );
    assert!(
        ours[0].starts_with(&format!("{name}: error: ")) && ours[0].contains(needle),
        "{args:?}: '{}' lacks '{needle}'",
        ours[0]
    );
    for bad in ["panicked", "MPI_ABORT", "backtrace", "HDF5-DIAG"] {
        assert!(
            !r.stderr.contains(bad),
            "{args:?}: stderr shows '{bad}':\n{}",
            r.stderr
        );
    }
}

/// Cuts a file to half its length (a write that never finished).
pub fn truncate_half(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(len / 2).unwrap();
}

/// Flips one bit of one value in the middle of the checkpoint dataset `/fields/NAME`.
pub fn flip_data_bit(path: &Path, name: &str) {
    let offset = hdf5::File::open(path)
        .unwrap()
        .dataset(&format!("fields/{name}"))
        .unwrap()
        .offset()
        .expect("contiguous");
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize + 8 * 400 + 3] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// Deletes the checkpoint dataset `/fields/NAME`.
pub fn drop_dataset(path: &Path, name: &str) {
    hdf5::File::open_rw(path)
        .unwrap()
        .unlink(&format!("fields/{name}"))
        .unwrap();
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

/// The newest checkpoint in `dir` (by file name, which carries the step): a solve's final
/// state is at the iteration it stopped at.
pub fn newest_checkpoint(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    files
        .pop()
        .unwrap_or_else(|| panic!("no checkpoint in {}", dir.display()))
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

/// `bin` on `n` ranks with `args` (progress lines off), which must succeed.
pub fn run_ok(bin: &str, n: usize, args: &[&str]) -> Run {
    let mut all = vec!["--progress", "0"];
    all.extend_from_slice(args);
    let name = Path::new(bin)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    mpirun(n, bin, &all).expect_ok(&format!("{name} -n {n} {args:?}"))
}

/// Path of simulation `sim`'s checkpoint of `step` in `dir`.
pub fn checkpoint_of(dir: &Path, sim: &str, step: u64) -> PathBuf {
    dir.join(format!("{sim}_{step:08}.h5"))
}

/// The dataset `/fields/NAME` (or `/NAME` when the name has a group, `particles/id`) of a
/// checkpoint as bit patterns, whatever its element type (f64 for PDEs and particles, u8
/// for Life, u64 for ids): its shape and one u64 per value.
pub fn read_bits(path: &Path, name: &str) -> (Vec<usize>, Vec<u64>) {
    let file = hdf5::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let dataset = if name.contains('/') {
        name.to_string()
    } else {
        format!("fields/{name}")
    };
    let ds = file
        .dataset(&dataset)
        .unwrap_or_else(|e| panic!("{}: no /{dataset}: {e}", path.display()));
    let dtype = ds.dtype().expect("dtype");
    let values: Vec<u64> = if dtype.is::<f64>() {
        ds.read_raw::<f64>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect()
    } else if dtype.is::<u64>() {
        ds.read_raw::<u64>().unwrap()
    } else if dtype.is::<u8>() {
        ds.read_raw::<u8>()
            .unwrap()
            .iter()
            .map(|&v| u64::from(v))
            .collect()
    } else {
        panic!("{}: /fields/{name} has an unexpected type", path.display())
    };
    (ds.shape(), values)
}

/// Asserts two checkpoints hold bitwise-identical `/fields/NAME` for each of `names`.
pub fn assert_same_fields(a: &Path, b: &Path, names: &[&str], what: &str) {
    for name in names {
        let (sa, va) = read_bits(a, name);
        let (sb, vb) = read_bits(b, name);
        assert_eq!(sa, sb, "{what}: shapes of {name} differ");
        if va != vb {
            let first = va.iter().zip(&vb).position(|(x, y)| x != y).unwrap();
            let differ = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
            panic!(
                "{what}: {differ} of {} values of {name} differ, first at flat index {first}",
                va.len()
            );
        }
    }
}

/// Runs simulation `sim` (binary `bin`) with `args` to step `steps` once per case
/// `(ranks, extra args)` and asserts every final checkpoint holds bitwise the same
/// `fields` as the first case's. Each run's stdout must contain `expect` (its validation).
pub fn assert_rank_invariant(
    bin: &str,
    sim: &str,
    args: &[&str],
    steps: u64,
    fields: &[&str],
    expect: &str,
    cases: &[(usize, &[&str])],
) {
    let steps_s = steps.to_string();
    let mut first: Option<(String, PathBuf)> = None;
    let dirs: Vec<_> = cases.iter().map(|_| temp_dir()).collect();
    for ((n, extra), dir) in cases.iter().zip(&dirs) {
        let mut a = vec![
            "--steps",
            steps_s.as_str(),
            "--out",
            dir.path().to_str().unwrap(),
        ];
        a.extend_from_slice(args);
        a.extend_from_slice(extra);
        let r = run_ok(bin, *n, &a);
        assert!(
            r.stdout.contains(expect),
            "{sim} -n {n} {a:?}: no '{expect}' in\n{}",
            r.stdout
        );
        let path = checkpoint_of(dir.path(), sim, steps);
        let what = format!("{sim} {args:?} on {n} ranks with {extra:?}");
        match &first {
            None => first = Some((what, path)),
            Some((w0, p0)) => assert_same_fields(p0, &path, fields, &format!("{what} vs {w0}")),
        }
    }
}

/// Runs `sim` to `split` on `n1` ranks (checkpoint every `split` steps), restarts from that
/// checkpoint on `n2` ranks to `steps`, and asserts the final `fields` equal bitwise those
/// of an uninterrupted run on `n1` ranks.
pub fn assert_restart_continues(
    bin: &str,
    sim: &str,
    args: &[&str],
    split: u64,
    steps: u64,
    fields: &[&str],
    (n1, n2): (usize, usize),
) {
    let (whole, parts) = (temp_dir(), temp_dir());
    let (steps_s, split_s) = (steps.to_string(), split.to_string());
    let mut a = vec![
        "--steps",
        steps_s.as_str(),
        "--out",
        whole.path().to_str().unwrap(),
    ];
    a.extend_from_slice(args);
    run_ok(bin, n1, &a);
    let parts_dir = parts.path().to_str().unwrap();
    let mut a = vec!["--steps", split_s.as_str(), "--out", parts_dir];
    a.extend_from_slice(args);
    run_ok(bin, n1, &a);
    let ck = checkpoint_of(parts.path(), sim, split);
    let ck_s = ck.to_str().unwrap().to_string();
    let mut a = vec![
        "--steps",
        steps_s.as_str(),
        "--out",
        parts_dir,
        "--restart",
        ck_s.as_str(),
    ];
    a.extend_from_slice(args);
    run_ok(bin, n2, &a);
    assert_same_fields(
        &checkpoint_of(whole.path(), sim, steps),
        &checkpoint_of(parts.path(), sim, steps),
        fields,
        &format!("{sim} {args:?}: restart at {split} on {n2} ranks vs uninterrupted on {n1}"),
    );
}

/// The observed order of error column `name` printed by a `--convergence` study, from its
/// line `observed order (finest pair): NAME X.XX (theory P), ...`.
pub fn observed_order(run: &Run, name: &str) -> f64 {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("observed order (finest pair):"))
        .unwrap_or_else(|| panic!("no observed order in\n{}", run.stdout));
    let rest = &line[line
        .find(name)
        .unwrap_or_else(|| panic!("no '{name}' in {line}"))
        + name.len()..];
    let tok = rest.split_whitespace().next().unwrap_or("");
    tok.parse()
        .unwrap_or_else(|_| panic!("'{tok}' after '{name}' is not a number:\n{}", run.stdout))
}

/// The `n` rank processes of a running `mpirun` (its children).
pub fn ranks_of(mpirun: &std::process::Child, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let out = std::process::Command::new("pgrep")
            .args(["-P", &mpirun.id().to_string()])
            .output()
            .unwrap();
        let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if pids.len() >= n {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mpirun started no ranks");
}

pub fn signal(sig: &str, pid: &str) {
    let _ = std::process::Command::new("kill").args([sig, pid]).status();
}
