//! `runtime-check`: checks that the MPI runtime and tessera's parallel layer work on this
//! machine and launch, before trusting them with a long job.
//!
//!     mpirun -n 4 target/release/runtime-check
//!
//! Each check gives every rank data that depends on its rank, and every rank compares what
//! the parallel layer returns with what it computes alone from its rank and the rank
//! count: reductions of each type, exact sums, threads, prefix sums, neighbour exchanges
//! (probed and fixed sizes, empty and rendezvous-sized messages, work during the exchange,
//! abandoned exchanges), the ring shift, the sub-communicators of every process grid, and
//! `agree`. A rank that gets something else prints what differed; rank 0 prints one line
//! per check and, if every rank passed every check, `runtime checks pass on N ranks`.
//! Exit status 0 if so, 1 otherwise.
//!
//! `--fail-on-rank R` then makes rank R fail with a usage error and every later rank with
//! another error: only rank R may report, and every rank must exit with status 2.

use clap::Parser;
use rayon::prelude::*;
use std::fmt::{Debug, Display};
use std::process::ExitCode;
use tessera::parallel::reduce::Reducible;
use tessera::parallel::{self, Comm, ExactSum, NeighbourExchange, Parallel, Peer, RingShift};
use tessera::parallel::{PendingExchange, Threads};
use tessera::{cli, Error, Result};

/// Checks that MPI and tessera's parallel layer work on this launch (run it under mpirun).
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// After the checks, fail on rank R (and differently on every later rank), to check
    /// that one error ends every rank cleanly with one message and exit status 2.
    #[arg(long, value_name = "R")]
    fail_on_rank: Option<usize>,
}

fn main() -> ExitCode {
    parallel::main_with_mpi("runtime-check", run)
}

/// What one check found wrong on this rank.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn expect<T: PartialEq + Debug>(&mut self, what: impl Display, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }

    /// As [`Findings::expect`], showing only the first difference of long slices.
    fn expect_slice<T: PartialEq + Debug>(&mut self, what: impl Display, got: &[T], want: &[T]) {
        if got.len() != want.len() {
            self.expect(format_args!("{what}: length"), got.len(), want.len());
        } else if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
            self.expect(format_args!("{what}: element {i}"), &got[i], &want[i]);
        }
    }
}

type Check = fn(&Parallel, &mut Findings);

const CHECKS: [(&str, Check); 9] = [
    ("reductions", reductions),
    ("exact sums", exact_sums),
    ("threads", threads),
    ("prefix sums", prefix_sums),
    ("neighbour exchange, probed sizes", exchange_probed),
    ("neighbour exchange, fixed sizes", exchange_fixed),
    ("ring shift", ring_shift),
    ("sub-communicators", sub_communicators),
    ("agree", agree),
];

fn run(parallel: &Parallel) -> Result<()> {
    let Some(cli) = parallel.agree(cli::parse::<Cli>(parallel))? else {
        return Ok(());
    };
    let (rank, size) = (parallel.rank(), parallel.size());
    parallel.agree(match cli.fail_on_rank {
        Some(r) if r >= size => Err(Error::arg(
            "--fail-on-rank",
            format!("{r} is not a rank of this {size}-rank job"),
        )),
        _ => Ok(()),
    })?;
    if parallel.is_root() {
        println!("tessera runtime-check: MPI and the parallel layer on {size} ranks");
    }
    let mut failed = Vec::new();
    for (name, check) in CHECKS {
        let mut findings = Findings::default();
        check(parallel, &mut findings);
        for f in &findings.0 {
            eprintln!("runtime-check: rank {rank}: {name}: {f}");
        }
        let ok = parallel.all(findings.0.is_empty());
        if parallel.is_root() {
            println!("  {name} ... {}", if ok { "ok" } else { "FAILED" });
        }
        if !ok {
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        let failed = failed.join(", ");
        return parallel.agree(Err(Error::NotValidated(format!("checks failed: {failed}"))));
    }
    parallel.agree(match cli.fail_on_rank {
        Some(r) if rank == r => Err(Error::Usage(format!("deliberate failure on rank {r}"))),
        Some(r) if rank > r => Err(Error::Stopped(format!("rank {rank} must not report"))),
        _ => Ok(()),
    })?;
    if parallel.is_root() {
        println!("runtime checks pass on {size} ranks");
    }
    Ok(())
}

/// Sum, maximum and minimum over `comm` of `f(rank)`, whose sum must be exact in any order.
fn check_reductions<T>(comm: &Comm, out: &mut Findings, name: &str, f: impl Fn(usize) -> T)
where
    T: Reducible + PartialOrd + std::ops::Add<Output = T> + Debug,
{
    let all: Vec<T> = (0..comm.size()).map(&f).collect();
    let sum = all.iter().fold(T::default(), |a, &b| a + b);
    let max = all.iter().fold(all[0], |a, &b| if b > a { b } else { a });
    let min = all.iter().fold(all[0], |a, &b| if b < a { b } else { a });
    let mine = f(comm.rank());
    let got = (comm.sum(mine), comm.max(mine), comm.min(mine));
    out.expect(
        format_args!("sum, max, min of {name}"),
        got,
        (sum, max, min),
    );
}

fn reductions(p: &Parallel, out: &mut Findings) {
    // extremes in the middle of the rank range; values beyond 32 bits
    let wobble = |r: usize| (r * 5 + 3) % 7;
    check_reductions(p, out, "i32", |r| wobble(r) as i32 - 4);
    check_reductions(p, out, "u32", |r| wobble(r) as u32 * 1000);
    check_reductions(p, out, "i64", |r| (wobble(r) as i64 - 4) << 40);
    check_reductions(p, out, "u64", |r| (1u64 << 40) + ((wobble(r) as u64) << 33));
    check_reductions(p, out, "f32", |r| wobble(r) as f32 * 0.25 - 1.0);
    check_reductions(p, out, "f64", |r| wobble(r) as f64 * 0.5 - 1.25);
    let xs = |r: usize| -> Vec<u64> { (0..6).map(|j| (wobble(r + j) * (j + 1)) as u64).collect() };
    let ys = |r: usize| -> Vec<f64> { xs(r).iter().map(|&x| x as f64 - 2.5).collect() };
    let sums: Vec<u64> = (0..6)
        .map(|j| (0..p.size()).map(|r| xs(r)[j]).sum())
        .collect();
    let maxes: Vec<f64> = (0..6)
        .map(|j| (0..p.size()).map(|r| ys(r)[j]).fold(f64::MIN, f64::max))
        .collect();
    out.expect_slice("sum_each of u64", &p.sum_each(&xs(p.rank())), &sums);
    out.expect_slice("max_each of f64", &p.max_each(&ys(p.rank())), &maxes);
    out.expect("sum_each of nothing", p.sum_each::<i64>(&[]), vec![]);
    let odd_one = p.rank() == p.size() / 2;
    let got = (p.all(true), p.all(!odd_one), p.any(false), p.any(odd_one));
    out.expect(
        "all(true), all(not one), any(false), any(one)",
        got,
        (true, false, false, true),
    );
}

/// Rank `r`'s terms: `1e16 * (r + 1)`, 1, `2^-(r+1)` and the previous rank's big term
/// negated. Summed as doubles in any order they lose the ones; exactly they make
/// `size + 1 - 2^-size`.
fn cancelling_terms(r: usize, size: usize) -> [f64; 4] {
    let big = |q: usize| 1e16 * (q + 1) as f64;
    [
        big(r),
        1.0,
        0.5f64.powi(r as i32 + 1),
        -big((r + size - 1) % size),
    ]
}

/// A reproducible stream of doubles of many magnitudes and both signs.
fn wild_terms(n: usize) -> Vec<f64> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let m = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            m * 2f64.powi(((s >> 3) % 120) as i32 - 60)
        })
        .collect()
}

fn exact_sums(p: &Parallel, out: &mut Findings) {
    let (rank, size) = (p.rank(), p.size());
    let got = p.sum_exact(&cancelling_terms(rank, size).into_iter().collect());
    let whole: ExactSum = (0..size).flat_map(|r| cancelling_terms(r, size)).collect();
    let exact = (size + 1) as f64 - 0.5f64.powi(size as i32);
    out.expect("1e16, 1 and -1e16 over ranks", got, exact);
    out.expect(
        "its bits vs one local sum",
        got.to_bits(),
        whole.value().to_bits(),
    );
    let negated: ExactSum = cancelling_terms(rank, size)
        .map(|x| -x)
        .into_iter()
        .collect();
    let tiny = f64::from_bits(1); // the smallest subnormal
    let got = (
        p.sum_exact(&negated),
        p.sum_exact(&[tiny].into_iter().collect()),
    );
    let what = "negated terms, smallest subnormal on each rank";
    out.expect(what, got, (-exact, size as f64 * tiny));
    // uneven shares of one list: rank r has r + 1 parts
    let terms = wild_terms(5000 + 37 * size);
    let start = |r: usize| terms.len() * (r * (r + 1) / 2) / (size * (size + 1) / 2);
    let got = p.sum_exact(
        &terms[start(rank)..start(rank + 1)]
            .iter()
            .copied()
            .collect(),
    );
    let whole: ExactSum = terms.iter().copied().collect();
    out.expect(
        "bits of an uneven split",
        got.to_bits(),
        whole.value().to_bits(),
    );
    let last = rank + 1 == size;
    let inf: ExactSum = [1.0, if last { f64::INFINITY } else { 2.0 }]
        .into_iter()
        .collect();
    out.expect(
        "an infinity on one rank gives NaN",
        p.sum_exact(&inf).is_nan(),
        true,
    );
}

fn threads(p: &Parallel, out: &mut Findings) {
    out.expect("Threads::new(0) refused", Threads::new(0).is_err(), true);
    out.expect("Threads::serial().count()", Threads::serial().count(), 1);
    let threads = match Threads::new(2) {
        Ok(t) => t,
        Err(e) => return out.0.push(format!("Threads::new(2): {e}")),
    };
    out.expect("Threads::new(2).count()", threads.count(), 2);
    // partial sums on the pool's threads, merged, then summed over ranks by this thread
    let terms = wild_terms(20_000 + p.rank());
    let local = threads
        .pool()
        .expect("two threads have a pool")
        .install(|| {
            let partial = terms.par_chunks(1000).map(|c| c.iter().copied().collect());
            partial.reduce(ExactSum::new, |mut a: ExactSum, b| {
                a.merge(&b);
                a
            })
        });
    let whole: ExactSum = (0..p.size()).flat_map(|r| wild_terms(20_000 + r)).collect();
    let got = p.sum_exact(&local).to_bits();
    out.expect("bits of a threaded sum", got, whole.value().to_bits());
}

/// Items rank `r` writes: none on some ranks, beyond 32 bits in total.
fn count_of(r: usize) -> u64 {
    ((r as u64 * 7 + 3) % 5) << 31
}

fn prefix_sums(p: &Parallel, out: &mut Findings) {
    let want: u64 = (0..p.rank()).map(count_of).sum();
    out.expect(
        "exclusive_prefix_sum",
        p.exclusive_prefix_sum(count_of(p.rank())),
        want,
    );
}

/// Exchange peer `k` (tag `k`) is `OFFSETS[k]` ranks ahead: this rank, the next one and
/// the one after (on one or two ranks, the same rank under several tags). Messages are
/// received in the reverse order of sending, so each receive must pick its own tag.
const OFFSETS: [usize; 3] = [0, 1, 2];

/// The tag of the `i`-th receive.
fn recv_tag(i: usize) -> usize {
    2 - i
}

/// The rank that sends to `comm`'s rank as peer `k`.
fn sender(comm: &Comm, k: usize) -> usize {
    (comm.rank() + comm.size() - OFFSETS[k] % comm.size()) % comm.size()
}

/// The exchange with the peers above; receive sizes probed, or `sizes[i]` for receive `i`.
fn exchange_for(comm: &Comm, sizes: Option<&[usize]>) -> NeighbourExchange<u64> {
    let (rank, size) = (comm.rank(), comm.size());
    let peer = |r: usize, k: usize| Peer {
        rank: r,
        tag: k as i32,
    };
    let sends = (0..3)
        .map(|k| peer((rank + OFFSETS[k]) % size, k))
        .collect();
    let recvs = (0..3)
        .map(|i| peer(sender(comm, recv_tag(i)), recv_tag(i)))
        .collect();
    match sizes {
        None => NeighbourExchange::new(comm, sends, recvs),
        Some(sizes) => NeighbourExchange::with_receive_sizes(comm, sends, recvs, sizes),
    }
}

/// The message from rank `from` to rank `to` as peer `k` in exchange `round`: empty, short,
/// or long enough for MPI's rendezvous protocol, its length repeating every 5 rounds; each
/// word tells where it is from.
fn message(from: usize, to: usize, k: usize, round: usize) -> Vec<u64> {
    let len = [0, 1, 7, 1000, 70_000][(from + 2 * to + k + round) % 5];
    let origin = (((from * 64 + to) * 4 + k) * 32 + round) as u64;
    (0..len as u64).map(|j| origin << 17 | j).collect()
}

/// Fills every send buffer of `ex` with this rank's messages of `round`.
fn fill(ex: &mut NeighbourExchange<u64>, rank: usize, round: usize) {
    for k in 0..3 {
        *ex.send_buffer(k) = message(rank, ex.send_peers()[k].rank, k, round);
    }
}

/// Records every message received by `ex` that is not the one sent in `round`.
fn check_received(out: &mut Findings, comm: &Comm, ex: &NeighbourExchange<u64>, round: usize) {
    for i in 0..3 {
        let (k, from) = (recv_tag(i), sender(comm, recv_tag(i)));
        let want = message(from, comm.rank(), k, round);
        let what = format_args!("round {round} from rank {from} (tag {k})");
        out.expect_slice(what, ex.received(i), &want);
    }
}

fn exchange_probed(p: &Parallel, out: &mut Findings) {
    let mut ex = exchange_for(p, None);
    fill(&mut ex, p.rank(), 0);
    ex.exchange();
    check_received(out, p, &ex, 0);
    // packing in begin, then work and a collective while the messages travel
    let to: Vec<usize> = ex.send_peers().iter().map(|s| s.rank).collect();
    let pending = ex.begin_packing(|k, buf| *buf = message(p.rank(), to[k], k, 1));
    let busy: ExactSum = wild_terms(10_000).into_iter().collect();
    out.expect("a sum during the exchange", p.sum(1u64), p.size() as u64);
    let ex = pending.finish();
    check_received(out, p, ex, 1);
    out.expect("work during the exchange", busy.value().is_finite(), true);
}

fn exchange_fixed(p: &Parallel, out: &mut Findings) {
    // abandoned in flight, then another exchange with the same peers and tags: no message
    // of the first may reach it
    let mut probed = exchange_for(p, None);
    fill(&mut probed, p.rank(), 2);
    let pending: PendingExchange<'_, u64> = probed.begin();
    drop(pending);
    // rounds 5, 10 and 15 have the lengths of round 0; round 10 is abandoned
    let length = |k: usize| message(sender(p, k), p.rank(), k, 0).len();
    let sizes: Vec<usize> = (0..3).map(|i| length(recv_tag(i))).collect();
    let mut ex = exchange_for(p, Some(&sizes));
    for round in [5, 10, 15] {
        fill(&mut ex, p.rank(), round);
        if round == 10 {
            drop(ex.begin());
        } else {
            check_received(out, p, ex.begin().finish(), round);
        }
    }
    fill(&mut probed, p.rank(), 16);
    probed.exchange();
    check_received(out, p, &probed, 16);
}

/// Rank `r`'s ring block: a few values naming `r` (rank 1's block is empty).
fn block(r: usize) -> Vec<i32> {
    (0..(r * 5 + 2) % 7).map(|j| (r * 100 + j) as i32).collect()
}

/// Passes every rank's block around `comm`'s ring: step `s` must bring the block of rank
/// `rank - s`, the last one this rank's own. `begin` copies the block, so overwriting it
/// while it travels must not change what arrives.
fn check_ring(comm: &Comm, out: &mut Findings, what: &str) {
    let (rank, size) = (comm.rank(), comm.size());
    let mut ring = RingShift::<i32>::new(comm, 7);
    let mut current = block(rank);
    for step in 1..=size {
        let pending = ring.begin(&current);
        current.fill(-1);
        pending.finish();
        current = ring.received().to_vec();
        let from = (rank + size - step % size) % size;
        out.expect_slice(format_args!("{what}, step {step}"), &current, &block(from));
    }
}

fn ring_shift(p: &Parallel, out: &mut Findings) {
    check_ring(p, out, "world");
}

fn sub_communicators(p: &Parallel, out: &mut Findings) {
    let (rank, size) = (p.rank(), p.size());
    // the ranks of this rank's parity, numbered backwards
    let half = p.split(rank % 2, size - rank);
    let members: Vec<usize> = (0..size).rev().filter(|r| r % 2 == rank % 2).collect();
    let me = members.iter().position(|&r| r == rank).unwrap_or(0);
    let sum = members.iter().map(|&r| r as u64).sum();
    let prefix = members[..me].iter().map(|&r| count_of(r)).sum();
    let got = (half.size(), half.rank(), half.sum(rank as u64));
    out.expect(
        "parity split: size, rank, sum of world ranks",
        got,
        (members.len(), me, sum),
    );
    out.expect(
        "parity split: prefix sum",
        half.exclusive_prefix_sum(count_of(rank)),
        prefix,
    );
    check_ring(&half, out, "parity split");
    for rows in (1..=size).filter(|r| size % r == 0) {
        let cols = size / rows;
        let g = p.process_grid_2d(rows, cols);
        let (row, col) = (rank / cols, rank % cols);
        let (rc, cc) = (&g.row_comm, &g.col_comm);
        let got = (g.row, g.col, rc.size(), rc.rank(), cc.size(), cc.rank());
        let what = "row, col, row comm size and rank, column comm size and rank";
        out.expect(
            format_args!("{rows}x{cols} grid: {what}"),
            got,
            (row, col, cols, col, rows, row),
        );
        let row_sum = (0..cols).map(|c| (row * cols + c) as u64).sum();
        let col_sum = (0..rows).map(|r| (r * cols + col) as u64).sum();
        let got = (rc.sum(rank as u64), cc.sum(rank as u64));
        out.expect(
            format_args!("{rows}x{cols} grid: sums of world ranks"),
            got,
            (row_sum, col_sum),
        );
    }
}

/// `agree` without failures, then with failures on the odd ranks and the last: the lowest
/// failing rank must get its own error back, every other rank `ReportedElsewhere`; and
/// agreeing that outcome again changes nothing. (This
/// leaves exit status 1 recorded in `p`, which matters only for an error returned outside
/// `agree`: this binary has none.)
fn agree(p: &Parallel, out: &mut Findings) {
    let rank = p.rank();
    let show = |r: &Result<usize>| format!("{r:?}");
    out.expect("agree(Ok)", show(&p.agree(Ok(rank))), show(&Ok(rank)));
    let failing = |r: usize| r % 2 == 1 || r + 1 == p.size();
    let first = (0..p.size()).find(|&r| failing(r)).unwrap_or(0);
    let error = || Error::NotValidated(format!("failure on rank {rank}"));
    let got = p.agree(if failing(rank) {
        Err(error())
    } else {
        Ok(rank)
    });
    let want = || {
        if rank == first {
            error()
        } else {
            Error::ReportedElsewhere
        }
    };
    out.expect("agree(Err on some ranks)", show(&got), show(&Err(want())));
    // agreed again (a nested call): the same rank still holds the error, the others stay
    // quiet, even though every rank now passes an error
    let again = p.agree(got);
    out.expect("agree(agree(Err))", show(&again), show(&Err(want())));
}
