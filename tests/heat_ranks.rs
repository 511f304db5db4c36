//! (a) The final field is BITWISE identical on 1, 2, 3 and 4 ranks: 2D and 3D, Dirichlet
//! and periodic, uneven shapes, forced process grids, wider ghosts, overlap on and off;
//! and on 8 (2x2x2) and 9 (3x3) ranks, oversubscribed.
mod common;
use common::*;

fn final_field_on_ranks(
    label: &str,
    ranks: &[usize],
    args: &[&str],
    variants: &[(usize, &[&str])],
) {
    let dirs: Vec<_> = (0..ranks.len() + variants.len())
        .map(|_| temp_dir())
        .collect();
    let steps = 40;
    let steps_s = steps.to_string();
    let mut base = vec!["--steps", steps_s.as_str()];
    base.extend_from_slice(args);
    let mut runs: Vec<(String, std::path::PathBuf)> = Vec::new();
    for (i, &n) in ranks.iter().enumerate() {
        let out = dirs[i].path().to_str().unwrap();
        let mut a = base.clone();
        a.extend_from_slice(&["--out", out]);
        let r = heat(n, &a);
        assert!(
            r.stdout.contains("Solution validates"),
            "{label} n={n}:\n{}",
            r.stdout
        );
        runs.push((
            format!("{label} on {n} ranks"),
            checkpoint(dirs[i].path(), steps),
        ));
    }
    for (v, (n, extra)) in variants.iter().enumerate() {
        let dir = &dirs[ranks.len() + v];
        let mut a = base.clone();
        a.extend_from_slice(extra);
        a.extend_from_slice(&["--out", dir.path().to_str().unwrap()]);
        heat(*n, &a);
        runs.push((
            format!("{label} on {n} ranks with {extra:?}"),
            checkpoint(dir.path(), steps),
        ));
    }
    for (what, path) in &runs[1..] {
        assert_same_field(&runs[0].1, path, &format!("{what} vs {}", runs[0].0));
    }
}

#[test]
fn uneven_2d_dirichlet_is_bitwise_identical_on_1_to_4_ranks() {
    final_field_on_ranks(
        "37x23 dirichlet",
        &[1, 2, 3, 4],
        &["--size", "37x23", "--bc", "dirichlet"],
        &[
            (4, &["--procs", "1x4"]),
            (4, &["--procs", "4x1", "--no-overlap"]),
            (3, &["--ghost", "2"]),
        ],
    );
}

#[test]
fn uneven_2d_periodic_is_bitwise_identical_on_1_to_4_ranks() {
    final_field_on_ranks(
        "37x23 periodic",
        &[1, 2, 3, 4],
        // 1x2: a periodic axis with a single rank along it wraps onto the rank itself
        &["--size", "37x23", "--bc", "periodic"],
        &[
            (2, &["--procs", "1x2"]),
            (4, &["--procs", "2x2", "--ghost", "3"]),
        ],
    );
}

#[test]
fn uneven_3d_dirichlet_is_bitwise_identical_on_1_to_4_ranks() {
    final_field_on_ranks(
        "17x13x11 dirichlet",
        &[1, 2, 3, 4],
        &["--size", "17x13x11"],
        &[
            (4, &["--procs", "1x2x2"]),
            (4, &["--procs", "4x1x1", "--no-overlap"]),
        ],
    );
}

#[test]
fn uneven_3d_periodic_is_bitwise_identical_on_1_to_4_ranks() {
    final_field_on_ranks(
        "17x13x11 periodic",
        &[1, 2, 3, 4],
        &["--size", "17x13x11", "--bc", "periodic"],
        &[
            (3, &["--procs", "1x1x3"]),
            (4, &["--procs", "2x1x2", "--ghost", "2"]),
        ],
    );
}

#[test]
fn one_dimensional_grids_work_too() {
    final_field_on_ranks(
        "101 periodic",
        &[1, 3],
        &["--size", "101", "--bc", "periodic"],
        &[],
    );
    final_field_on_ranks("101 dirichlet", &[1, 4], &["--size", "101"], &[]);
}

/// The speed features change no bit: threads, deep halos (several steps between
/// exchanges), and both together with overlap off.
#[test]
fn threads_and_deep_halos_are_bitwise_neutral() {
    final_field_on_ranks(
        "37x23 dirichlet, threads and deep halos",
        &[1],
        &["--size", "37x23"],
        &[
            (1, &["--threads", "2"]),
            (2, &["--threads", "2"]),
            (2, &["--ghost", "3", "--steps-per-exchange", "3"]),
            (
                4,
                &[
                    "--procs",
                    "2x2",
                    "--ghost",
                    "4",
                    "--steps-per-exchange",
                    "4",
                ],
            ),
            (
                3,
                &[
                    "--steps-per-exchange",
                    "2",
                    "--threads",
                    "2",
                    "--no-overlap",
                ],
            ),
        ],
    );
    final_field_on_ranks(
        "17x13x11 periodic, threads and deep halos",
        &[1],
        &["--size", "17x13x11", "--bc", "periodic"],
        &[
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
            (
                4,
                &[
                    "--procs",
                    "1x2x2",
                    "--ghost",
                    "3",
                    "--steps-per-exchange",
                    "3",
                ],
            ),
        ],
    );
}

/// The wide (9/27-point, edge and corner ghosts) and radius-2 stencils.
#[test]
fn wide_and_fourth_order_stencils_are_bitwise_identical_on_1_to_4_ranks() {
    final_field_on_ranks(
        "37x23 compact",
        &[1, 2, 3, 4],
        &["--size", "37x23", "--stencil", "compact"],
        &[
            (4, &["--procs", "2x2", "--threads", "2"]),
            (
                4,
                &[
                    "--procs",
                    "4x1",
                    "--ghost",
                    "2",
                    "--steps-per-exchange",
                    "2",
                ],
            ),
        ],
    );
    final_field_on_ranks(
        "17x13x11 compact periodic",
        &[1, 2, 4],
        &[
            "--size",
            "17x13x11",
            "--stencil",
            "compact",
            "--bc",
            "periodic",
        ],
        &[(4, &["--procs", "2x1x2", "--no-overlap"])],
    );
    final_field_on_ranks(
        "37x23 fourth periodic",
        &[1, 2, 3, 4],
        &["--size", "37x23", "--stencil", "fourth", "--bc", "periodic"],
        &[(
            4,
            &[
                "--procs",
                "1x4",
                "--ghost",
                "4",
                "--steps-per-exchange",
                "2",
            ],
        )],
    );
    final_field_on_ranks(
        "17x13x11 fourth periodic",
        &[1, 3],
        &[
            "--size",
            "17x13x11",
            "--stencil",
            "fourth",
            "--bc",
            "periodic",
        ],
        &[(4, &["--procs", "2x2x1", "--threads", "2"])],
    );
}

/// 8 ranks on a 2x2x2 process grid, each trading with every other rank. On the periodic
/// grid all 26 directions have a neighbour, but only 7 distinct ranks fill them: each face
/// neighbour in 2 directions, each edge neighbour in 4, the corner neighbour in 8, so the
/// messages between two ranks are told apart by their tags alone. On the Dirichlet grid
/// every block is a corner of the process grid: 3 face, 3 edge and 1 corner neighbour.
/// The 27-point stencil reads the edge and corner ghosts (the 7-point one only the faces),
/// so a wrong one changes the field. Also deep halos (two steps per exchange) on the
/// periodic grid.
#[test]
fn process_grid_2x2x2_is_bitwise_identical_to_one_rank() {
    let procs = ["--procs", "2x2x2"];
    final_field_on_ranks(
        "13x10x9 compact periodic",
        &[1],
        &[
            "--size",
            "13x10x9",
            "--stencil",
            "compact",
            "--bc",
            "periodic",
        ],
        &[
            (8, &procs),
            (
                8,
                &[
                    "--procs",
                    "2x2x2",
                    "--ghost",
                    "2",
                    "--steps-per-exchange",
                    "2",
                ],
            ),
        ],
    );
    final_field_on_ranks(
        "13x10x9 compact dirichlet",
        &[1],
        &["--size", "13x10x9", "--stencil", "compact"],
        &[(8, &procs)],
    );
}

/// 9 ranks on a 3x3 process grid: on the periodic grid each block has 8 distinct
/// neighbours, on the Dirichlet grid the middle block does (the others 5 or 3). The
/// 9-point stencil reads the corner ghosts (the 5-point one does not).
#[test]
fn process_grid_3x3_is_bitwise_identical_to_one_rank() {
    let procs = ["--procs", "3x3"];
    final_field_on_ranks(
        "37x23 compact periodic",
        &[1],
        &[
            "--size",
            "37x23",
            "--stencil",
            "compact",
            "--bc",
            "periodic",
        ],
        &[(9, &procs)],
    );
    final_field_on_ranks(
        "37x23 compact dirichlet",
        &[1],
        &["--size", "37x23", "--stencil", "compact"],
        &[(9, &procs)],
    );
}

/// Temporal blocking (several steps computed tile by tile) changes no bit: time blocks of
/// 2 to 8 steps with the tiles chosen for a tiny cache (many tiles), forced wavefront steps
/// and strip widths (trapezoids across the second axis, the narrowest allowed included),
/// blocks shorter than the exchange interval, threads, several ranks, 1D, 2D and 3D, the
/// 5/7-, 9/27-point and the radius-2 stencils. 40 steps: blocks end early at the last step.
/// Streaming (non-temporal) stores write the same values as cached ones: rows of 101 and
/// 75 cells have an unaligned head, whole cache lines and a tail; every stencil.
#[test]
fn streaming_stores_are_bitwise_neutral() {
    // the flag reaches the stepper (the run says which stores it uses); a block this
    // small fits any last-level cache, so the default is cached
    for (flag, says) in [
        (&["--stores", "streaming"][..], "streaming stores"),
        (&[][..], "cached stores"),
    ] {
        let mut args = vec!["--size", "23x101", "--steps", "2", "--no-checkpoint"];
        args.extend_from_slice(flag);
        let r = heat(1, &args);
        assert!(r.stdout.contains(says), "{flag:?}:\n{}", r.stdout);
    }
    for (stencil, bc) in [
        ("standard", "dirichlet"),
        ("compact", "dirichlet"),
        ("fourth", "periodic"),
    ] {
        final_field_on_ranks(
            &format!("23x101 {stencil}, streaming stores"),
            &[1],
            &["--size", "23x101", "--stencil", stencil, "--bc", bc],
            &[
                (1, &["--stores", "streaming"]),
                (2, &["--stores", "streaming", "--threads", "2"]),
                (3, &["--stores", "streaming", "--no-overlap"]),
            ],
        );
        final_field_on_ranks(
            &format!("7x6x75 {stencil} periodic, streaming stores"),
            &[1],
            &["--size", "7x6x75", "--stencil", stencil, "--bc", "periodic"],
            &[(2, &["--stores", "streaming", "--steps-per-exchange", "2"])],
        );
    }
}

#[test]
fn temporal_blocking_is_bitwise_neutral() {
    final_field_on_ranks(
        "37x23 dirichlet, time blocks",
        &[1],
        &["--size", "37x23"],
        &[
            (1, &["--time-block", "4"]),
            (1, &["--time-block", "3", "--cache", "4"]),
            (1, &["--time-block", "8", "--tile", "3x14"]),
            (1, &["--time-block", "4", "--tile", "1x6", "--threads", "2"]),
            (
                2,
                &[
                    "--time-block",
                    "3",
                    "--steps-per-exchange",
                    "6",
                    "--tile",
                    "2x0",
                ],
            ),
            (4, &["--procs", "2x2", "--time-block", "2", "--tile", "5x3"]),
        ],
    );
    final_field_on_ranks(
        "101 periodic, time blocks",
        &[1],
        &["--size", "101", "--bc", "periodic"],
        &[
            (1, &["--time-block", "5", "--tile", "7x0"]),
            (3, &["--time-block", "3"]),
        ],
    );
    final_field_on_ranks(
        "17x13x11 periodic, time blocks",
        &[1],
        &["--size", "17x13x11", "--bc", "periodic"],
        &[
            (1, &["--time-block", "4", "--cache", "8"]),
            (1, &["--time-block", "3", "--tile", "2x4", "--threads", "2"]),
            (
                2,
                &["--procs", "1x2x1", "--time-block", "2", "--tile", "1x2"],
            ),
        ],
    );
    final_field_on_ranks(
        "37x23 compact, time blocks",
        &[1],
        &["--size", "37x23", "--stencil", "compact"],
        &[
            (1, &["--time-block", "5", "--tile", "2x8"]),
            (3, &["--time-block", "2", "--cache", "4"]),
        ],
    );
    final_field_on_ranks(
        "13x10x9 compact periodic, time blocks",
        &[1],
        &[
            "--size",
            "13x10x9",
            "--stencil",
            "compact",
            "--bc",
            "periodic",
        ],
        &[(2, &["--time-block", "3", "--tile", "1x4"])],
    );
    final_field_on_ranks(
        "37x23 fourth periodic, time blocks",
        &[1],
        &["--size", "37x23", "--stencil", "fourth", "--bc", "periodic"],
        &[
            (1, &["--time-block", "3", "--tile", "2x8"]),
            (2, &["--time-block", "2", "--cache", "4", "--threads", "2"]),
        ],
    );
}
