//! Fuzzing every binary, bounded in time: random flag values (extremes, garbage,
//! overflow) and random damage to valid checkpoints (byte flips, truncation, attribute
//! edits and type changes). Every outcome must be exit 0, 1, 2 or 75 with at most one
//! line of the program's own on stderr: never a panic (70), an abort (134), a death by a
//! signal, an HDF5 error stack or a hang.
//!
//! The cases come from a seeded generator, the same on every run unless
//! `TESSERA_FUZZ_SEED=N` (replays a printed seed) or `TESSERA_FUZZ_SEED=random` says
//! otherwise; `TESSERA_FUZZ_SECONDS=S` sets the budget of each test (default 40).
mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// SplitMix64: small, seedable, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The seed: `TESSERA_FUZZ_SEED` (a number, or `random` for a new one each run), else a
/// fixed one, so that the suite's cases are the same on every run.
fn seed() -> u64 {
    match std::env::var("TESSERA_FUZZ_SEED").ok().as_deref() {
        Some("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        Some(s) => s
            .parse()
            .expect("TESSERA_FUZZ_SEED is a number or 'random'"),
        None => 0x7e55_e7a5,
    }
}

fn budget() -> Duration {
    let s = std::env::var("TESSERA_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    Duration::from_secs(s)
}

/// Values any flag may get: extremes, garbage, overflow.
const ANY: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "7",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "inf",
    "-inf",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775809",
    "99999999999999999999999",
    "",
    "abc",
    "0x10",
    "1,2",
    "1e400",
    " ",
    "--",
    "%s%n",
    "\u{2603}",
    "0.5",
    "-0",
    "1:2",
    "auto",
];
/// Grid sizes: small ones that run, and ones that cannot (never a large one that fits).
const SIZES: &[&str] = &[
    "16x16",
    "8",
    "7x9x5",
    "1x1",
    "1",
    "2x2",
    "0x4",
    "18446744073709551615x2",
    "2097152x2097152x2097152",
    "100000x100000",
    "3x3x3x3",
    "x",
    "16x",
    "1e3x2",
];
/// Durations: short ones and ones that are not durations.
const DURATIONS: &[&str] = &[
    "1s",
    "0.5",
    "0",
    "00:00",
    "-1",
    "abc",
    "1:60",
    "99999999999999999h",
    "1e400",
    "5124095576030431:00:20",
    "2",
    "",
];

/// The flags `bin --help` lists (so every flag is covered as the binaries grow).
fn flags_of(bin: &str) -> Vec<String> {
    let out = Command::new(bin).arg("--help").output().expect("--help");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let l = l.strip_prefix("-h, ").unwrap_or(l);
            let flag: String = l
                .strip_prefix("--")?
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!flag.is_empty() && flag != "help" && flag != "version").then(|| format!("--{flag}"))
        })
        .collect()
}

/// Asserts `r` is an outcome a user may see.
fn assert_sane(r: &Run, name: &str, what: &str) {
    assert!(
        matches!(r.status, Some(0 | 1 | 2 | 75)),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        r.status,
        r.stdout,
        r.stderr
    );
    let ours = r
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{name}:")))
        .count();
    assert!(ours <= 1, "{what}: {ours} lines of its own:\n{}", r.stderr);
    for bad in [
        "panicked",
        "HDF5-DIAG",
        "Segmentation",
        "MPI_ABORT",
        "backtrace",
        "internal error",
    ] {
        assert!(
            !r.stderr.contains(bad),
            "{what}: stderr shows '{bad}':\n{}",
            r.stderr
        );
    }
}

#[test]
fn random_flag_values_never_crash_or_hang_any_binary() {
    let seed = seed();
    eprintln!("fuzz seed {seed} (TESSERA_FUZZ_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let work = temp_dir();
    let bins = [HEAT, WAVE, POISSON, ADVECT, LIFE, ALLEN_CAHN];
    let flags: Vec<Vec<String>> = bins.iter().map(|b| flags_of(b)).collect();
    let start = Instant::now();
    let mut cases = 0;
    while start.elapsed() < budget() {
        let b = rng.below(bins.len());
        let bin = bins[b];
        let name = Path::new(bin).file_name().unwrap().to_str().unwrap();
        let out = work.path().join(format!("case-{cases}"));
        let out_s = out.to_str().unwrap().to_string();
        let mut args: Vec<String> = vec!["--size".into(), rng.pick(SIZES).into()];
        let mut limit_given = false;
        for _ in 0..1 + rng.below(4) {
            let flag = &flags[b][rng.below(flags[b].len())];
            let value = match flag.as_str() {
                "--size" => rng.pick(SIZES).to_string(),
                "--max-runtime" => {
                    limit_given = true;
                    rng.pick(DURATIONS).to_string()
                }
                "--out" => rng
                    .pick(&[
                        "/proc/self",
                        "/dev/null",
                        "/sys/kernel",
                        "sub:colon",
                        "",
                        "a/b/c",
                    ])
                    .replace("sub:colon", &format!("{out_s}:x"))
                    .replace("a/b/c", &format!("{out_s}/a/b/c")),
                "--restart" => rng
                    .pick(&[
                        "auto",
                        "/proc/cpuinfo",
                        "/dev/null",
                        "missing.h5",
                        "/tmp",
                        "",
                    ])
                    .to_string(),
                "--report" => rng
                    .pick(&["/proc/self/x", "/dev/full", "", "r.json"])
                    .to_string(),
                "--threads" => rng
                    .pick(&["1", "2", "0", "-1", "99999", "18446744073709551615", "abc"])
                    .to_string(),
                _ => rng.pick(ANY).to_string(),
            };
            args.push(flag.clone());
            if !["--no-overlap", "--overwrite", "--no-checkpoint"].contains(&flag.as_str()) {
                args.push(value);
            }
        }
        // every run ends within seconds: a later flag overrides an earlier one
        args.extend(["--progress".into(), "0".into()]);
        if !limit_given {
            args.extend(["--max-runtime".into(), "1s".into()]);
        }
        if !args.iter().any(|a| a == "--out") {
            args.extend(["--out".into(), out_s.clone()]);
        }
        let ranks = 1 + rng.below(2);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let what = format!("mpirun -n {ranks} {name} {}", shell_words(&refs));
        let r = run_with_limit(mpirun_command(ranks, bin, &refs), Duration::from_secs(60));
        assert_sane(&r, name, &what);
        let _ = std::fs::remove_dir_all(&out);
        cases += 1;
    }
    eprintln!("{cases} flag cases, all sane");
    assert!(cases >= 5, "only {cases} cases ran in the budget");
}

/// One random damage to the checkpoint at `path`.
fn damage(rng: &mut Rng, path: &Path) -> String {
    let len = std::fs::metadata(path).unwrap().len() as usize;
    match rng.below(6) {
        0 | 1 => {
            let mut bytes = std::fs::read(path).unwrap();
            let flips = 1 + rng.below(8);
            for _ in 0..flips {
                let at = rng.below(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            std::fs::write(path, bytes).unwrap();
            format!("{flips} bit flips")
        }
        2 => {
            let keep = rng.below(len);
            let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            f.set_len(keep as u64).unwrap();
            format!("truncated to {keep} of {len} bytes")
        }
        _ => {
            let file = hdf5::File::open_rw(path).unwrap();
            let names = file.attr_names().unwrap();
            let name = names[rng.below(names.len())].clone();
            file.delete_attr(&name).unwrap();
            let how = match rng.below(5) {
                0 => {
                    let v = rng.next() as i64;
                    file.new_attr::<i64>()
                        .create(name.as_str())
                        .unwrap()
                        .write_scalar(&v)
                        .unwrap();
                    format!("{v} as int64")
                }
                1 => {
                    let v = f64::from_bits(rng.next());
                    file.new_attr::<f64>()
                        .create(name.as_str())
                        .unwrap()
                        .write_scalar(&v)
                        .unwrap();
                    format!("{v} as float64")
                }
                2 => {
                    let v = rng.next() % 40;
                    file.new_attr::<u64>()
                        .create(name.as_str())
                        .unwrap()
                        .write_scalar(&v)
                        .unwrap();
                    format!("{v} as uint64")
                }
                3 => {
                    let v = [rng.next() as u32, rng.next() as u32, 0];
                    file.new_attr::<u32>()
                        .shape(3)
                        .create(name.as_str())
                        .unwrap()
                        .write_raw(&v)
                        .unwrap();
                    format!("{v:?} as uint32[3]")
                }
                _ => "deleted".to_string(),
            };
            format!("attribute '{name}' {how}")
        }
    }
}

#[test]
fn random_damage_to_checkpoints_never_crashes_or_hangs_a_restart_or_render() {
    let seed = seed() ^ 0x5eed;
    eprintln!(
        "fuzz seed {seed} (TESSERA_FUZZ_SEED={} replays it)",
        seed ^ 0x5eed
    );
    let mut rng = Rng(seed);
    let work = temp_dir();
    let good_dir = work.path().join("good");
    let g = good_dir.to_str().unwrap();
    heat(1, &["--size", "16x16", "--steps", "10", "--out", g]);
    run_ok(LIFE, 1, &["--size", "16x16", "--steps", "7", "--out", g]);
    let sources = [
        (HEAT, checkpoint_of(&good_dir, "heat", 10)),
        (LIFE, checkpoint_of(&good_dir, "life", 7)),
    ];
    let start = Instant::now();
    let mut cases = 0;
    while start.elapsed() < budget() {
        let (bin, source) = &sources[rng.below(sources.len())];
        let name = Path::new(bin).file_name().unwrap().to_str().unwrap();
        let case = work.path().join(format!("case-{cases}"));
        std::fs::create_dir_all(&case).unwrap();
        let path = case.join(source.file_name().unwrap());
        std::fs::copy(source, &path).unwrap();
        let how = damage(&mut rng, &path);
        // kept outside the work directory, so a failing case can be replayed by hand
        let kept = std::env::temp_dir().join(format!("tessera-fuzz-last-{name}.h5"));
        std::fs::copy(&path, &kept).unwrap();
        let how = format!("{how} (kept as {})", kept.display());
        let p = path.to_str().unwrap();
        let out = case.join("out");
        let ranks = 1 + rng.below(2);
        let args = [
            "--size",
            "16x16",
            "--steps",
            "20",
            "--progress",
            "0",
            "--restart",
            p,
            "--out",
            out.to_str().unwrap(),
        ];
        let what = format!("{name} -n {ranks} restart from a checkpoint with {how} (seed {seed})");
        let r = run_with_limit(mpirun_command(ranks, bin, &args), Duration::from_secs(60));
        assert_sane(&r, name, &what);
        let mut render = Command::new(RENDER);
        render.arg(p).arg("--out").arg(case.join("x.png"));
        let r = run_with_limit(render, Duration::from_secs(60));
        assert_sane(&r, "render", &format!("render of a checkpoint with {how}"));
        let _ = std::fs::remove_dir_all(&case);
        cases += 1;
    }
    eprintln!("{cases} damaged checkpoints, all sane");
    assert!(cases >= 5, "only {cases} cases ran in the budget");
}

/// Arguments as a shell would need them, for replaying a failure by hand.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:,=".contains(c))
            {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
