//! (d) The error against the analytic solution is the predicted discretisation error, and
//! halving the grid spacing (time step scaled by 1/4, same final time) shows second order.
//! (f) A checkpoint is plain HDF5: h5dump reads it, its global /fields/u equals a 1-rank run.
mod common;
use common::*;
use std::process::Command;

/// Max error against the PDE solution at t = T for `points` per axis (Dirichlet: h =
/// 1/(points+1)), dt = 0.2 h^2, on `ranks` ranks.
fn error_at(
    points: usize,
    ndim: usize,
    bc: &str,
    steps_coarse: u64,
    level: u32,
    ranks: usize,
) -> f64 {
    let h_inv = match bc {
        "dirichlet" => points + 1,
        _ => points,
    };
    let dt = 0.2 / (h_inv * h_inv) as f64 / ndim as f64;
    let steps = steps_coarse * 4u64.pow(level);
    let size = vec![points.to_string(); ndim].join("x");
    let dir = temp_dir();
    let r = heat(
        ranks,
        &[
            "--size",
            &size,
            "--bc",
            bc,
            "--dt",
            &format!("{dt:e}"),
            "--steps",
            &steps.to_string(),
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    r.number_after("max |u - u_exact|  =")
}

fn observed_orders(ndim: usize, bc: &str, coarse: usize, levels: u32, ranks: usize) -> Vec<f64> {
    let steps_coarse = 16;
    let errors: Vec<f64> = (0..levels)
        .map(|l| {
            let points = match bc {
                "dirichlet" => (coarse + 1) * 2usize.pow(l) - 1,
                _ => coarse * 2usize.pow(l),
            };
            error_at(points, ndim, bc, steps_coarse, l, ranks)
        })
        .collect();
    errors.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// Every observed order within 0.1 of 2.
fn assert_second_order(orders: &[f64]) {
    eprintln!("observed orders {orders:?}");
    assert!(
        orders.iter().all(|p| (p - 2.0).abs() < 0.1),
        "observed orders {orders:?}"
    );
}

#[test]
fn second_order_convergence_2d_dirichlet() {
    assert_second_order(&observed_orders(2, "dirichlet", 31, 3, 2));
}

#[test]
fn second_order_convergence_3d_periodic() {
    assert_second_order(&observed_orders(3, "periodic", 32, 3, 3));
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
