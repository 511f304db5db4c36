//! Life: a u8 field through the whole stack. The glider validates exactly on 1-4 ranks
//! while it crosses rank boundaries; glider and soup fields are bitwise identical on any
//! rank count, process grid, thread count and halo depth; restarts continue bitwise; the
//! checkpoint stores uint8; bad input is refused with one line.
mod common;
use common::*;

const GLIDER: &[&str] = &["--size", "40x28", "--pattern", "glider"];
const SOUP: &[&str] = &[
    "--size",
    "37x23",
    "--pattern",
    "soup",
    "--density",
    "0.3",
    "--seed",
    "11",
];

/// 64 generations move the glider 16 cells diagonally from (18, 12): across the block
/// boundaries of every process grid below (rows 20, 10/30, 14/27; columns 14, 7/21, and
/// the periodic seam at column 28).
#[test]
fn glider_validates_and_is_bitwise_identical_on_1_to_4_ranks() {
    assert_rank_invariant(
        LIFE,
        "life",
        GLIDER,
        64,
        &["u"],
        "Solution validates",
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &[]),
            (4, &["--procs", "1x4"]),
            (4, &["--procs", "4x1", "--no-overlap"]),
            (4, &["--procs", "2x2", "--threads", "2"]),
            (2, &["--threads", "2", "--no-overlap"]),
            (4, &["--ghost", "4", "--steps-per-exchange", "4"]),
            (1, &["--time-block", "4", "--cache", "4"]),
            (
                2,
                &["--time-block", "8", "--tile", "3x16", "--threads", "2"],
            ),
            (
                3,
                &[
                    "--ghost",
                    "3",
                    "--steps-per-exchange",
                    "2",
                    "--threads",
                    "2",
                ],
            ),
        ],
    );
}

/// Every phase of the glider is checked, not only multiples of 4 generations.
#[test]
fn glider_validates_in_every_phase() {
    for (n, steps) in [(2, "61"), (3, "62"), (4, "63")] {
        let dir = temp_dir();
        let out = dir.path().to_str().unwrap();
        let mut a = vec!["--steps", steps, "--out", out];
        a.extend_from_slice(GLIDER);
        let r = run_ok(LIFE, n, &a);
        assert!(r.stdout.contains("  Solution validates"), "{}", r.stdout);
        assert_eq!(r.number_after("live cells:"), 5.0, "{}", r.stdout);
        let phase = steps.parse::<u64>().unwrap() % 4;
        assert!(
            r.stdout
                .contains(&format!("in phase {phase} moved (15, 15): 0")),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("Glups"), "{}", r.stdout);
    }
}

#[test]
fn soup_is_bitwise_identical_on_1_to_4_ranks() {
    // a soup has no reference solution: every run must say so and not claim to validate
    let expect = "(no reference solution for a random soup";
    assert_rank_invariant(
        LIFE,
        "life",
        SOUP,
        30,
        &["u"],
        expect,
        &[
            (1, &[]),
            (2, &[]),
            (3, &[]),
            (4, &[]),
            (
                4,
                &[
                    "--procs",
                    "4x1",
                    "--ghost",
                    "3",
                    "--steps-per-exchange",
                    "3",
                ],
            ),
            (
                2,
                &[
                    "--threads",
                    "2",
                    "--ghost",
                    "2",
                    "--steps-per-exchange",
                    "2",
                ],
            ),
            (3, &["--procs", "1x3", "--no-overlap"]),
        ],
    );
}

/// The soup at generation 0 (its population) and after one generation (the field).
#[test]
fn soup_initial_state_does_not_depend_on_the_rank_count() {
    let mut seen = Vec::new();
    for n in [1, 3] {
        let dir = temp_dir();
        let mut a = vec!["--steps", "1", "--out", dir.path().to_str().unwrap()];
        a.extend_from_slice(SOUP);
        let r = run_ok(LIFE, n, &a);
        assert!(!r.stdout.contains("Solution validates"), "{}", r.stdout);
        let start = r.number_after("live cells at generation 0:");
        seen.push((start, read_bits(&checkpoint_of(dir.path(), "life", 1), "u")));
    }
    assert_eq!(seen[0], seen[1]);
    let alive = seen[0].0 / (37.0 * 23.0);
    assert!((alive - 0.3).abs() < 0.06, "density {alive}");
}

#[test]
fn restart_on_another_rank_count_continues_bitwise() {
    assert_restart_continues(LIFE, "life", GLIDER, 30, 64, &["u"], (2, 3));
    assert_restart_continues(LIFE, "life", SOUP, 13, 30, &["u"], (2, 3));
}

/// The checkpoint holds the u8 field as uint8 (the XDMF sidecar says UChar), and a restart
/// with another pattern is refused.
#[test]
fn checkpoint_stores_uint8_and_restart_checks_the_pattern() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let mut a = vec!["--steps", "10", "--out", out];
    a.extend_from_slice(GLIDER);
    run_ok(LIFE, 3, &a);
    let path = checkpoint_of(dir.path(), "life", 10);
    let file = hdf5::File::open(&path).unwrap();
    let ds = file.dataset("fields/u").unwrap();
    let dtype = ds.dtype().unwrap();
    assert!(dtype.is::<u8>(), "/fields/u is not uint8");
    assert_eq!(dtype.size(), 1);
    let values = ds.read_raw::<u8>().unwrap();
    assert_eq!(ds.shape(), vec![40, 28]);
    assert!(values.iter().all(|&v| v <= 1));
    assert_eq!(values.iter().map(|&v| u32::from(v)).sum::<u32>(), 5);
    drop((ds, file));
    let xmf = std::fs::read_to_string(path.with_extension("xmf")).unwrap();
    assert!(
        xmf.contains("NumberType=\"UChar\" Precision=\"1\""),
        "{xmf}"
    );

    let ck = path.to_str().unwrap();
    let r = mpirun(
        2,
        LIFE,
        &[
            "--steps",
            "20",
            "--out",
            out,
            "--size",
            "40x28",
            "--pattern",
            "soup",
            "--restart",
            ck,
        ],
    );
    assert_eq!(r.status, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("was run with pattern = glider"),
        "{}",
        r.stderr
    );
}

/// Launches `life` on `n` ranks expecting a refusal: exit 2, one line naming `needle`.
fn refused(n: usize, args: &[&str], needle: &str) {
    assert_refused(LIFE, n, args, needle);
}

#[test]
fn bad_input_is_refused_with_one_line() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    refused(
        2,
        &["--size", "16x16x16", "--out", out],
        "--size: Life runs on a 2D grid",
    );
    refused(
        1,
        &["--size", "64", "--out", out],
        "--size: Life runs on a 2D grid",
    );
    refused(
        2,
        &["--pattern", "soup", "--density", "1.5", "--out", out],
        "--density",
    );
    refused(
        1,
        &["--pattern", "soup", "--density=-0.1", "--out", out],
        "--density",
    );
    refused(1, &["--pattern", "pulsar", "--out", out], "--pattern");
    refused(
        1,
        &["--size", "5x40", "--out", out],
        "a glider needs at least 6x6",
    );
}
