//! `stream`: a STREAM-style memory bandwidth probe (copy and triad), no MPI.
//!
//!     target/release/stream --size-mib 512 --reps 10 --threads 2
//!
//! Three `f64` arrays `a`, `b`, `c` of `--size-mib` MiB each (default 512 MiB, 16x the
//! 32 MiB L3, so every pass streams from DRAM). Each repetition times
//!
//! - copy:  `c[i] = a[i]`             16 bytes per iteration (1 read + 1 write)
//! - triad: `a[i] = b[i] + s * c[i]`  24 bytes per iteration (2 reads + 1 write)
//!
//! with STREAM's byte convention: the write-allocate read of the destination is not
//! counted. The loops are plain Rust over slices (ordinary stores, no non-temporal hints).
//! With `--threads T` the arrays are cut in T contiguous chunks, each thread first-touching
//! and then processing its own chunk. The first repetition is a warm-up and is excluded;
//! the best and the median rate over the others are reported (1 GB = 1e9 bytes), and the
//! final array contents are checked against a scalar replay, as STREAM does.
//!
//! The last lines are machine-readable: `triad_gbs=<median>` and `copy_gbs=<median>`.

use clap::Parser;
use std::process::ExitCode;
use std::time::Instant;
use tessera::parallel::threads::MAX_THREADS;

/// STREAM-style copy and triad bandwidth (GB/s, 1 GB = 1e9 bytes, write-allocate not counted).
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Size of EACH of the three arrays in MiB (keep it >= 4x the last-level cache).
    #[arg(long, default_value_t = 512)]
    size_mib: usize,
    /// Repetitions of each kernel; the first is a warm-up and not counted (at least 2).
    #[arg(long, default_value_t = 10)]
    reps: usize,
    /// Threads, each first-touching and processing one contiguous chunk of every array.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The triad scalar.
const SCALAR: f64 = 3.0;
/// Initial values of `a`, `b`, `c` (STREAM's, except `c`).
const INIT: [f64; 3] = [1.0, 2.0, 0.0];

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stream: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Length of the chunks when `n` elements are cut in `t` contiguous chunks (the last one
/// possibly shorter); every array uses the same cut, so a thread always sees the same cells.
fn chunk_len(n: usize, t: usize) -> usize {
    n.div_ceil(t).max(1)
}

/// `c[i] = a[i]` on every thread's chunk; returns the elapsed seconds.
fn copy(a: &[f64], c: &mut [f64], threads: usize) -> f64 {
    let cl = chunk_len(a.len(), threads);
    let t = Instant::now();
    std::thread::scope(|s| {
        for (ac, cc) in a.chunks(cl).zip(c.chunks_mut(cl)) {
            s.spawn(move || {
                for (ci, ai) in cc.iter_mut().zip(ac) {
                    *ci = *ai;
                }
            });
        }
    });
    t.elapsed().as_secs_f64()
}

/// `a[i] = b[i] + s * c[i]` on every thread's chunk; returns the elapsed seconds.
fn triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64, threads: usize) -> f64 {
    let cl = chunk_len(a.len(), threads);
    let t = Instant::now();
    std::thread::scope(|sc| {
        for ((ac, bc), cc) in a.chunks_mut(cl).zip(b.chunks(cl)).zip(c.chunks(cl)) {
            sc.spawn(move || {
                for ((ai, bi), ci) in ac.iter_mut().zip(bc).zip(cc) {
                    *ai = *bi + s * *ci;
                }
            });
        }
    });
    t.elapsed().as_secs_f64()
}

/// Median of `v` (mean of the two middle values for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|x, y| x.total_cmp(y));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    if cli.reps < 2 {
        return Err(format!(
            "--reps {} leaves nothing to time: the first repetition is a warm-up",
            cli.reps
        ));
    }
    if cli.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    // the three arrays must fit in what this node allows
    let bytes = (cli.size_mib as u64).checked_mul(3 << 20);
    let limit = tessera::memory::available();
    match (bytes, limit) {
        (None, _) => {
            return Err(format!(
                "--size-mib {} is more than can be counted",
                cli.size_mib
            ))
        }
        (Some(b), Some(l)) if b > l.bytes => {
            return Err(format!(
                "--size-mib {}: three arrays need {} MiB, this node allows {} MiB ({})",
                cli.size_mib,
                b >> 20,
                l.bytes >> 20,
                l.source
            ))
        }
        _ => {}
    }
    if cli.threads > MAX_THREADS {
        return Err(format!(
            "--threads {} is more than {MAX_THREADS}",
            cli.threads
        ));
    }
    let n = cli.size_mib * (1 << 20) / std::mem::size_of::<f64>();
    if n < cli.threads {
        return Err(format!(
            "--size-mib {} is too small for {} threads",
            cli.size_mib, cli.threads
        ));
    }
    let threads = cli.threads;
    let cl = chunk_len(n, threads);

    // Zeroed allocations of this size are fresh mmap'ed pages, untouched until written:
    // each thread's first write below places its chunk's pages (first touch).
    let mut a = vec![0.0f64; n];
    let mut b = vec![0.0f64; n];
    let mut c = vec![0.0f64; n];
    std::thread::scope(|s| {
        for ((ac, bc), cc) in a.chunks_mut(cl).zip(b.chunks_mut(cl)).zip(c.chunks_mut(cl)) {
            s.spawn(move || {
                ac.fill(INIT[0]);
                bc.fill(INIT[1]);
                cc.fill(INIT[2]);
            });
        }
    });

    let mib = (n * std::mem::size_of::<f64>()) as f64 / f64::from(1 << 20);
    println!("STREAM-style bandwidth probe (copy c=a, triad a=b+s*c), no MPI");
    println!(
        "  array size {n} f64 = {mib:.1} MiB each, {:.1} MiB in total",
        3.0 * mib
    );
    println!(
        "  {} repetitions (first excluded as warm-up), {} thread{}",
        cli.reps,
        threads,
        if threads == 1 { "" } else { "s" }
    );
    println!("  bytes counted per iteration: copy 16, triad 24 (write-allocate not counted)");

    let s = std::hint::black_box(SCALAR);
    let mut t_copy = Vec::with_capacity(cli.reps);
    let mut t_triad = Vec::with_capacity(cli.reps);
    for _ in 0..cli.reps {
        t_copy.push(copy(&a, &mut c, threads));
        t_triad.push(triad(&mut a, &b, &c, s, threads));
    }

    let bytes = [16.0 * n as f64, 24.0 * n as f64];
    let mut medians = [0.0; 2];
    println!(
        "{:<8} {:>12} {:>12} {:>11} {:>11} {:>11}",
        "Function", "Best GB/s", "Median GB/s", "Min time", "Avg time", "Max time"
    );
    for (k, (name, times)) in [("Copy:", &t_copy), ("Triad:", &t_triad)]
        .into_iter()
        .enumerate()
    {
        let timed = &times[1..];
        let min = timed.iter().copied().fold(f64::INFINITY, f64::min);
        let max = timed.iter().copied().fold(0.0, f64::max);
        let avg = timed.iter().sum::<f64>() / timed.len() as f64;
        let rates: Vec<f64> = timed.iter().map(|t| bytes[k] / t / 1e9).collect();
        medians[k] = median(&rates);
        println!(
            "{name:<8} {:>12.2} {:>12.2} {min:>11.6} {avg:>11.6} {max:>11.6}",
            bytes[k] / min / 1e9,
            medians[k]
        );
    }

    // Validation: replay the repetitions on scalars and compare every element.
    let (mut ea, eb, mut ec) = (INIT[0], INIT[1], INIT[2]);
    for _ in 0..cli.reps {
        ec = ea;
        ea = eb + SCALAR * ec;
    }
    let epsilon = 1e-13;
    let mut bad = 0usize;
    for (name, v, expect) in [("a", &a, ea), ("b", &b, eb), ("c", &c, ec)] {
        let err = v.iter().map(|x| (x - expect).abs()).fold(0.0, |m: f64, e| {
            if e.is_nan() {
                f64::INFINITY
            } else {
                m.max(e)
            }
        });
        if err / expect.abs() > epsilon {
            bad += 1;
            println!(
                "Failed validation on array {name}: expected {expect:e}, max abs error {err:e}"
            );
        }
    }
    if bad > 0 {
        return Err("the solution does not validate".into());
    }
    println!("Solution validates");
    println!("triad_gbs={:.3}", medians[1]);
    println!("copy_gbs={:.3}", medians[0]);
    Ok(())
}
