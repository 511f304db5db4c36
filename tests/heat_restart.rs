//! (b) Run to step k, restart from that checkpoint on a different rank count, run to n:
//! bitwise identical to an uninterrupted run to n.
//! (c) Checkpoint round trips at 3 and 4 ranks, repeated: catches OpenMPI's OMPIO
//! collective-write corruption, which the binaries must guard against themselves.
mod common;
use common::*;

fn restart_continues_bitwise(size: &str, bc: &str, first: usize, second: usize, reference: usize) {
    let (stopped, straight) = (temp_dir(), temp_dir());
    let (sd, td) = (
        stopped.path().to_str().unwrap(),
        straight.path().to_str().unwrap(),
    );
    let common = ["--size", size, "--bc", bc];
    // the uninterrupted run
    let mut a = common.to_vec();
    a.extend_from_slice(&["--steps", "60", "--out", td]);
    heat(reference, &a);
    // stop at step 25 (checkpoints every 25 steps are harmless: they do not change the state)
    let mut a = common.to_vec();
    a.extend_from_slice(&["--steps", "25", "--checkpoint-every", "10", "--out", sd]);
    heat(first, &a);
    // the same command, ending at 60, restarted from step 25 on another rank count
    let ck = checkpoint(stopped.path(), 25);
    let mut a = common.to_vec();
    a.extend_from_slice(&[
        "--steps",
        "60",
        "--out",
        sd,
        "--restart",
        ck.to_str().unwrap(),
    ]);
    let r = heat(second, &a);
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    assert_same_field(
        &checkpoint(straight.path(), 60),
        &checkpoint(stopped.path(), 60),
        &format!(
            "{size} {bc}: {first} ranks to 25, {second} ranks to 60 vs {reference} ranks straight"
        ),
    );
    // the checkpoint of step 20 written on the way was not touched by the restart
    assert!(checkpoint(stopped.path(), 20).exists());
}

#[test]
fn restart_2d_on_another_rank_count_is_bitwise() {
    restart_continues_bitwise("37x23", "dirichlet", 3, 2, 1);
    restart_continues_bitwise("37x23", "periodic", 4, 1, 3);
}

#[test]
fn restart_3d_on_another_rank_count_is_bitwise() {
    restart_continues_bitwise("17x13x11", "periodic", 2, 4, 1);
    restart_continues_bitwise("17x13x11", "dirichlet", 1, 3, 4);
}

/// Writes the same state at 3 and 4 ranks ten times each; every file must hold exactly the
/// 1-rank field, and must restart (which verifies its checksum on read).
#[test]
fn checkpoint_round_trip_at_3_and_4_ranks_repeated() {
    let args = |dir: &str| {
        vec![
            "--size".to_string(),
            "48x40x36".into(),
            "--steps".into(),
            "3".into(),
            "--out".into(),
            dir.to_string(),
        ]
    };
    let reference = temp_dir();
    let r: Vec<String> = args(reference.path().to_str().unwrap());
    heat(1, &r.iter().map(String::as_str).collect::<Vec<_>>());
    let want = checkpoint(reference.path(), 3);
    for n in [3, 4] {
        for trial in 0..10 {
            let dir = temp_dir();
            let d = dir.path().to_str().unwrap();
            let a: Vec<String> = args(d);
            heat(n, &a.iter().map(String::as_str).collect::<Vec<_>>());
            let got = checkpoint(dir.path(), 3);
            assert_same_field(&want, &got, &format!("write at {n} ranks, trial {trial}"));
            // read it back on the other rank count and continue one step
            let m = 7 - n;
            let mut b = a.clone();
            b[3] = "4".into();
            b.extend(["--restart".to_string(), got.to_str().unwrap().to_string()]);
            heat(m, &b.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}

/// The other stencils and the speed features restart bitwise too.
#[test]
fn every_stencil_restarts_bitwise_on_another_rank_count() {
    assert_restart_continues(
        HEAT,
        "heat",
        &["--size", "17x13x11", "--stencil", "compact"],
        12,
        30,
        &["u"],
        (2, 3),
    );
    assert_restart_continues(
        HEAT,
        "heat",
        &[
            "--size",
            "37x23",
            "--stencil",
            "fourth",
            "--bc",
            "periodic",
            "--threads",
            "2",
        ],
        17,
        30,
        &["u"],
        (3, 4),
    );
    assert_restart_continues(
        HEAT,
        "heat",
        &[
            "--size",
            "37x23",
            "--ghost",
            "3",
            "--steps-per-exchange",
            "3",
        ],
        10,
        31,
        &["u"],
        (4, 2),
    );
    // temporal blocking: the checkpoint at step 10 falls inside a time block of 4 (the
    // block before it is cut short), the restart starts a new block there
    assert_restart_continues(
        HEAT,
        "heat",
        &[
            "--size",
            "37x23",
            "--time-block",
            "4",
            "--checkpoint-every",
            "5",
        ],
        10,
        31,
        &["u"],
        (2, 3),
    );
}
