//! The batch scripts on a REAL one-node Slurm (scripts/local-slurm.sh starts it): a job
//! completes and its checkpoint equals a direct mpirun run bitwise; a request the node
//! can never satisfy fails at submission; a job with a short time limit gets its early
//! warning signal, checkpoints and exits 75, and a resubmitted job resumes with
//! `--restart auto` and ends bitwise where an uninterrupted run ends; the dense script runs
//! its one-shot command on the job's tasks and ends with its exit status. One test function,
//! so the jobs run one after another on the two cores and the daemons stop at the end.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Starts the local Slurm; stops it when dropped (also when a check fails).
struct LocalSlurm {
    conf: PathBuf,
}

impl LocalSlurm {
    fn start() -> LocalSlurm {
        let script = Path::new(ROOT).join("scripts/local-slurm.sh");
        let out = Command::new(&script).arg("start").output().unwrap();
        assert!(
            out.status.success(),
            "local-slurm.sh start failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = std::env::var("TESSERA_SLURM_DIR").unwrap_or("/tmp/tessera-slurm".into());
        LocalSlurm {
            conf: Path::new(&dir).join("slurm.conf"),
        }
    }

    /// A Slurm client command pointed at this cluster.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).current_dir(ROOT);
        c
    }

    /// `sbatch --parsable ARGS` with the job's output in `log` and its checkpoints in
    /// `out`: the job id, or sbatch's refusal.
    fn submit(&self, args: &[&str], out: &Path, log: &Path) -> Result<String, String> {
        let bin_dir = Path::new(HEAT).parent().unwrap();
        let o = self
            .command("sbatch")
            .arg("--parsable")
            .arg(format!("--output={}", log.display()))
            .args(args)
            .env("TESSERA_HOME", ROOT)
            .env("TESSERA_BIN_DIR", bin_dir)
            .env("TESSERA_OUT", out)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).trim().to_string();
        if o.status.success() {
            Ok(text(&o.stdout))
        } else {
            Err(text(&o.stderr))
        }
    }

    /// Polls the job until it ends (at most `limit`): its state and exit code.
    fn wait(&self, job: &str, limit: Duration) -> (String, String) {
        let start = Instant::now();
        loop {
            let o = self
                .command("scontrol")
                .args(["show", "job", job])
                .output()
                .unwrap();
            let info = String::from_utf8_lossy(&o.stdout).into_owned();
            let field = |key: &str| {
                info.split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .unwrap_or("")
                    .to_string()
            };
            let state = field("JobState=");
            if [
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                "TIMEOUT",
                "NODE_FAIL",
                "OUT_OF_MEMORY",
            ]
            .contains(&state.as_str())
            {
                return (state, field("ExitCode="));
            }
            assert!(
                start.elapsed() < limit,
                "job {job} still {state} after {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for LocalSlurm {
    fn drop(&mut self) {
        let _ = Command::new(Path::new(ROOT).join("scripts/local-slurm.sh"))
            .arg("stop")
            .output();
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn batch_scripts_run_stop_before_the_limit_and_resume_on_a_real_slurm() {
    let slurm = LocalSlurm::start();
    let tmp = temp_dir();
    let script = "scripts/slurm/heat.sbatch";

    // 1. the heat script on 2 tasks completes; its checkpoint equals a direct mpirun run
    let (out, log) = (tmp.path().join("one"), tmp.path().join("one.log"));
    let args = [
        "--size",
        "48x40",
        "--steps",
        "60",
        "--checkpoint-every",
        "0",
    ];
    let mut a = vec!["--ntasks=2", script];
    a.extend_from_slice(&args);
    let job = slurm.submit(&a, &out, &log).expect("sbatch");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        read(&log)
    );
    assert!(read(&log).contains("Solution validates"), "{}", read(&log));
    let direct = temp_dir();
    let mut a = args.to_vec();
    a.extend_from_slice(&["--out", direct.path().to_str().unwrap()]);
    heat(2, &a);
    assert_same_fields(
        &checkpoint_of(direct.path(), "heat", 60),
        &checkpoint_of(&out, "heat", 60),
        &["u"],
        "sbatch vs mpirun",
    );

    // 1b. the md script on 2 tasks completes with the same trajectory as mpirun on 1
    let (md_out, md_log) = (tmp.path().join("md"), tmp.path().join("md.log"));
    let md_args = [
        "--cells",
        "6x6x6",
        "--steps",
        "40",
        "--checkpoint-every",
        "0",
    ];
    let mut a = vec!["--ntasks=2", "scripts/slurm/md.sbatch"];
    a.extend_from_slice(&md_args);
    let job = slurm.submit(&a, &md_out, &md_log).expect("sbatch md");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        read(&md_log)
    );
    assert!(
        read(&md_log).contains("Solution validates"),
        "{}",
        read(&md_log)
    );
    let direct = temp_dir();
    let mut a = md_args.to_vec();
    a.extend_from_slice(&["--out", direct.path().to_str().unwrap()]);
    run_ok(MD, 1, &a);
    assert_same_fields(
        &checkpoint_of(direct.path(), "md", 40),
        &checkpoint_of(&md_out, "md", 40),
        &["particles/position", "particles/velocity"],
        "md: sbatch on 2 tasks vs mpirun on 1",
    );

    // 1c. the solve script on 2 tasks: the same iterates as mpirun on 1 rank
    let (solve_out, solve_log) = (tmp.path().join("solve"), tmp.path().join("solve.log"));
    let solve_args = [
        "--size",
        "31x31x31",
        "--rtol",
        "1e-8",
        "--checkpoint-every",
        "0",
    ];
    let mut a = vec!["--ntasks=2", "scripts/slurm/solve.sbatch"];
    a.extend_from_slice(&solve_args);
    let job = slurm
        .submit(&a, &solve_out, &solve_log)
        .expect("sbatch solve");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        read(&solve_log)
    );
    assert!(
        read(&solve_log).contains("Solution validates"),
        "{}",
        read(&solve_log)
    );
    let direct = temp_dir();
    let mut a = solve_args.to_vec();
    a.extend_from_slice(&["--out", direct.path().to_str().unwrap()]);
    run_ok(SOLVE, 1, &a);
    assert_same_fields(
        &newest_checkpoint(direct.path()),
        &newest_checkpoint(&solve_out),
        &["vectors/x", "vectors/r", "solver/residual_norm"],
        "solve: sbatch on 2 tasks vs mpirun on 1",
    );

    // 1d. the nbody script on 2 tasks: the same bodies as mpirun on 1 rank
    let (nbody_out, nbody_log) = (tmp.path().join("nbody"), tmp.path().join("nbody.log"));
    let nbody_args = [
        "--bodies",
        "1000",
        "--steps",
        "20",
        "--checkpoint-every",
        "0",
    ];
    let mut a = vec!["--ntasks=2", "scripts/slurm/nbody.sbatch"];
    a.extend_from_slice(&nbody_args);
    let job = slurm
        .submit(&a, &nbody_out, &nbody_log)
        .expect("sbatch nbody");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(60));
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{}",
        read(&nbody_log)
    );
    assert!(
        read(&nbody_log).contains("Solution validates"),
        "{}",
        read(&nbody_log)
    );
    let direct = temp_dir();
    let mut a = nbody_args.to_vec();
    a.extend_from_slice(&["--out", direct.path().to_str().unwrap()]);
    run_ok(NBODY, 1, &a);
    assert_same_fields(
        &checkpoint_of(direct.path(), "nbody", 20),
        &checkpoint_of(&nbody_out, "nbody", 20),
        &["particles/position", "particles/velocity"],
        "nbody: sbatch on 2 tasks vs mpirun on 1",
    );

    // 1e. the dense script (a one-shot command, no launch.sh job flags) on 2 tasks: a
    // product on a 2x1 grid validates; a TSQR's R is mpirun's on 2 ranks to the last
    // digit; a refused command ends the job with dense's exit status (2, usage)
    let dense = |args: &[&str], name: &str| {
        let log = tmp.path().join(format!("{name}.log"));
        let mut a = vec!["--ntasks=2", "scripts/slurm/dense.sbatch"];
        a.extend_from_slice(args);
        let job = slurm
            .submit(&a, &tmp.path().join(name), &log)
            .expect("sbatch dense");
        let (state, exit) = slurm.wait(&job, Duration::from_secs(60));
        (state, exit, read(&log))
    };
    let (state, exit, text) = dense(
        &[
            "gemm",
            "--shape",
            "300x200x100",
            "--block",
            "16",
            "--check-dense",
        ],
        "dense-gemm",
    );
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{text}"
    );
    assert!(text.contains("2x1 process grid"), "{text}");
    assert!(text.contains("dense check:"), "{text}");
    assert!(text.contains("Solution validates"), "{text}");
    let tsqr_args = ["tsqr", "--rows", "20000", "--cols", "8"];
    let (state, exit, text) = dense(&tsqr_args, "dense-tsqr");
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{text}"
    );
    assert!(text.contains("rows split over 2 ranks"), "{text}");
    assert!(text.contains("Solution validates"), "{text}");
    let direct = mpirun(2, DENSE, &tsqr_args).expect_ok("dense tsqr on 2 ranks");
    let r_line = |t: &str| {
        t.lines()
            .find(|l| l.trim_start().starts_with("R[0,0] ="))
            .unwrap_or_else(|| panic!("no R line in\n{t}"))
            .to_string()
    };
    assert_eq!(
        r_line(&text),
        r_line(&direct.stdout),
        "dense tsqr: sbatch vs mpirun"
    );
    let (state, exit, text) = dense(&["gemm", "--size", "0"], "dense-refused");
    assert_eq!((state.as_str(), exit.as_str()), ("FAILED", "2:0"), "{text}");
    assert!(text.contains("--size: must be at least 1"), "{text}");

    // 5. more tasks than the node has CPUs: refused at submission, not left pending
    let why = slurm
        .submit(&["--ntasks=64", script], &out, &log)
        .expect_err("an impossible request was accepted");
    assert!(why.contains("Batch job submission failed"), "{why}");

    // 2. a one-minute job asks for SIGUSR1 55 s before its end: it checkpoints and exits
    // 75; a resubmitted job resumes from that checkpoint and finishes
    let (out, log) = (tmp.path().join("two"), tmp.path().join("two.log"));
    let size = ["--size", "128x128"];
    let mut a = vec!["--ntasks=2", "--time=1", "--signal=USR1@55", script];
    a.extend_from_slice(&size);
    a.extend_from_slice(&["--steps", "1000000000", "--checkpoint-every", "0"]);
    let job = slurm.submit(&a, &out, &log).expect("sbatch");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(120));
    let text = read(&log);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("FAILED", "75:0"),
        "{text}"
    );
    assert!(text.contains("heat: stopped: SIGUSR1 received"), "{text}");
    let after = &text[text.find("stopped at step ").expect("step") + 16..];
    let k: u64 = after.split_whitespace().next().unwrap().parse().unwrap();
    let end = (k + 40).to_string();
    let log2 = tmp.path().join("two-resumed.log");
    let mut a = vec!["--ntasks=2", script];
    a.extend_from_slice(&size);
    a.extend_from_slice(&["--steps", &end, "--checkpoint-every", "0"]);
    let job = slurm.submit(&a, &out, &log2).expect("sbatch");
    let (state, exit) = slurm.wait(&job, Duration::from_secs(120));
    let text = read(&log2);
    assert_eq!(
        (state.as_str(), exit.as_str()),
        ("COMPLETED", "0:0"),
        "{text}"
    );
    let from = format!(
        "restarting from {}",
        checkpoint_of(&out, "heat", k).display()
    );
    assert!(text.contains(&from), "no '{from}' in\n{text}");
    let whole = temp_dir();
    let mut a = size.to_vec();
    a.extend_from_slice(&["--steps", &end, "--out", whole.path().to_str().unwrap()]);
    heat(2, &a);
    assert_same_fields(
        &checkpoint_of(whole.path(), "heat", k + 40),
        &checkpoint_of(&out, "heat", k + 40),
        &["u"],
        "resumed after the time-limit signal vs uninterrupted",
    );
}
