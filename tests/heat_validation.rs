//! (d) The error against the analytic solution is the predicted discretisation error, and
//! `--convergence` (grid spacing halved per level, time step / 4, same final time) shows
//! the order of each stencil: 2 overall, and 2, 2, 4 in space.
//! (f) A checkpoint is plain HDF5: h5dump reads it, its global /fields/u equals a 1-rank run.
mod common;
use common::*;
use std::process::Command;

/// A `--convergence` study of `heat` on `ranks` ranks; returns its stdout.
fn study(ranks: usize, args: &[&str]) -> Run {
    let mut a = vec!["--convergence", "3", "--steps", "16"];
    a.extend_from_slice(args);
    let r = run_ok(HEAT, ranks, &a);
    assert!(r.stdout.contains("every level validates"), "{}", r.stdout);
    eprintln!("{}", r.stdout);
    r
}

/// `|observed - theory| <= 0.1` for the named error column.
fn assert_order(run: &Run, column: &str, theory: f64) {
    let p = observed_order(run, column);
    assert!(
        (p - theory).abs() <= 0.1,
        "{column}: observed order {p}, theory {theory}\n{}",
        run.stdout
    );
}

#[test]
fn second_order_convergence_2d_dirichlet() {
    let r = study(2, &["--size", "31x31"]);
    assert_order(&r, "max |u - u_exact|", 2.0);
}

#[test]
fn second_order_convergence_3d_periodic() {
    let r = study(3, &["--size", "16x16x16", "--bc", "periodic"]);
    assert_order(&r, "max |u - u_exact|", 2.0);
}

#[test]
fn compact_stencils_converge_at_second_order() {
    let r = study(2, &["--size", "15x15", "--stencil", "compact"]);
    assert_order(&r, "max |u - u_exact|", 2.0);
    assert_order(&r, "spatial error", 2.0);
    let r = study(
        4,
        &[
            "--size",
            "8x8x8",
            "--bc",
            "periodic",
            "--stencil",
            "compact",
        ],
    );
    assert_order(&r, "max |u - u_exact|", 2.0);
}

/// The radius-2 stencil: fourth order in space (against forward Euler with the exact
/// Laplacian), second order overall because forward Euler's error is O(dt) = O(h^2).
#[test]
fn fourth_order_stencil_converges_at_fourth_order_in_space() {
    let r = study(
        2,
        &["--size", "32x32", "--bc", "periodic", "--stencil", "fourth"],
    );
    assert_order(&r, "spatial error", 4.0);
    assert_order(&r, "max |u - u_exact|", 2.0);
    let r = study(
        3,
        &[
            "--size",
            "16x16x16",
            "--bc",
            "periodic",
            "--stencil",
            "fourth",
        ],
    );
    assert_order(&r, "spatial error", 4.0);
}

#[test]
fn h5dump_reads_the_checkpoint_and_it_equals_a_one_rank_run() {
    let (one, four) = (temp_dir(), temp_dir());
    heat(
        1,
        &[
            "--size",
            "37x23",
            "--steps",
            "10",
            "--out",
            one.path().to_str().unwrap(),
        ],
    );
    heat(
        4,
        &[
            "--size",
            "37x23",
            "--steps",
            "10",
            "--out",
            four.path().to_str().unwrap(),
        ],
    );
    let file = checkpoint(four.path(), 10);
    let header = Command::new("h5dump")
        .arg("-H")
        .arg(&file)
        .output()
        .expect("h5dump");
    assert!(
        header.status.success(),
        "h5dump -H failed: {}",
        String::from_utf8_lossy(&header.stderr)
    );
    let text = String::from_utf8_lossy(&header.stdout);
    for needle in [
        "DATASET \"u\"",
        "( 37, 23 )",
        "ATTRIBUTE \"step\"",
        "ATTRIBUTE \"simulation\"",
        "GROUP \"parameters\"",
    ] {
        assert!(text.contains(needle), "h5dump -H lacks {needle}:\n{text}");
    }
    // h5dump's own binary export of the global dataset, from both files
    let dump = |f: &std::path::Path, out: &std::path::Path| {
        let s = Command::new("h5dump")
            .args(["-d", "/fields/u", "-b", "LE", "-o"])
            .arg(out)
            .arg(f)
            .output()
            .unwrap();
        assert!(
            s.status.success(),
            "h5dump -d failed: {}",
            String::from_utf8_lossy(&s.stderr)
        );
        std::fs::read(out).unwrap()
    };
    let a = dump(&checkpoint(one.path(), 10), &one.path().join("u.bin"));
    let b = dump(&file, &four.path().join("u.bin"));
    assert_eq!(a.len(), 37 * 23 * 8);
    assert!(a == b, "h5dump of /fields/u differs between 1 and 4 ranks");
    // the XDMF sidecar points ParaView at the dataset
    let xmf = std::fs::read_to_string(file.with_extension("xmf")).unwrap();
    assert!(
        xmf.contains("heat_00000010.h5:/fields/u") && xmf.contains("2DCoRectMesh"),
        "{xmf}"
    );
}
