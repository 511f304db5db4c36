//! The parallel layer (`src/parallel`) on real launches: `runtime-check` checks each of its
//! pieces (reductions, exact and prefix sums, threads, neighbour exchanges, the ring
//! shift, sub-communicators, `agree`) on 1, 2, 3, 4 and 8 ranks, and an error on one rank
//! ends every rank with one message.
mod common;
use common::*;

/// Checks in `runtime-check`, one `  NAME ... ok` line each.
const CHECKS: usize = 9;

/// `runtime-check` on `n` ranks: every check passes on every rank.
fn passes_on(n: usize) {
    let r = mpirun(n, RUNTIME_CHECK, &[]).expect_ok(&format!("runtime-check on {n} ranks"));
    let lines: Vec<&str> = r.stdout.lines().collect();
    let checks: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(" ... "))
        .collect();
    assert_eq!(checks.len(), CHECKS, "one line per check:\n{}", r.stdout);
    assert!(
        checks.iter().all(|l| l.ends_with(" ... ok")),
        "{}",
        r.stdout
    );
    let last = format!("runtime checks pass on {n} ranks");
    assert_eq!(lines.last(), Some(&last.as_str()), "{}", r.stdout);
}

#[test]
fn runtime_checks_pass_on_1_rank() {
    passes_on(1);
}

#[test]
fn runtime_checks_pass_on_2_ranks() {
    passes_on(2);
}

#[test]
fn runtime_checks_pass_on_3_ranks() {
    passes_on(3);
}

#[test]
fn runtime_checks_pass_on_4_ranks() {
    passes_on(4);
}

#[test]
fn runtime_checks_pass_on_8_ranks() {
    passes_on(8);
}

/// Ranks 1 and 2 fail, rank 2 with an error of exit status 75: only rank 1, the lowest,
/// reports, and the job exits with its status, 2.
#[test]
fn an_error_on_one_rank_is_reported_once_and_ends_every_rank() {
    let fail = ["--fail-on-rank", "1"];
    assert_refused(RUNTIME_CHECK, 3, &fail, "deliberate failure on rank 1");
    let beyond = ["--fail-on-rank", "3"];
    assert_refused(RUNTIME_CHECK, 3, &beyond, "--fail-on-rank");
}
