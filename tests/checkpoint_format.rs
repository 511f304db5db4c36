//! The checkpoint layer: version-1 files written by the binaries before the three-family
//! layout (committed fixtures) still restart, on another rank count, and continue bitwise
//! to the state those binaries wrote; today's files are version 3 with the same field data.
mod common;
use common::*;
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1");

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(FIXTURES).join(name)
}

fn root_u64(path: &Path, name: &str) -> u64 {
    let file = hdf5::File::open(path).unwrap();
    file.attr(name).unwrap().read_scalar::<u64>().unwrap()
}

#[test]
fn version_1_heat_checkpoints_restart_and_continue_bitwise() {
    assert_eq!(root_u64(&fixture("heat_00000010.h5"), "format_version"), 1);
    for ranks in [1, 3] {
        let dir = temp_dir();
        let out = dir.path().to_str().unwrap();
        let from = fixture("heat_00000010.h5");
        let r = heat(
            ranks,
            &[
                "--size",
                "24x20",
                "--steps",
                "20",
                "--restart",
                from.to_str().unwrap(),
                "--out",
                out,
            ],
        );
        assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
        let written = checkpoint_of(dir.path(), "heat", 20);
        assert_same_fields(
            &fixture("heat_00000020.h5"),
            &written,
            &["u"],
            &format!("v1 restart on {ranks} ranks vs the v1 run"),
        );
        assert_eq!(root_u64(&written, "format_version"), 3);
    }
}

#[test]
fn version_1_life_checkpoints_restart_and_continue_bitwise() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let from = fixture("life_00000007.h5");
    run_ok(
        LIFE,
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "14",
            "--restart",
            from.to_str().unwrap(),
            "--out",
            out,
            "--progress",
            "0",
        ],
    );
    assert_same_fields(
        &fixture("life_00000014.h5"),
        &checkpoint_of(dir.path(), "life", 14),
        &["u"],
        "v1 life restart vs the v1 run",
    );
}

#[test]
fn a_fresh_run_writes_the_same_field_data_as_version_1() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(2, &["--size", "24x20", "--steps", "10", "--out", out]);
    let written = checkpoint_of(dir.path(), "heat", 10);
    assert_same_fields(&fixture("heat_00000010.h5"), &written, &["u"], "v2 vs v1");
    // the checksum attribute does not depend on the format version or the rank count
    let checksum = |p: &Path| {
        let f = hdf5::File::open(p).unwrap();
        let d = f.dataset("fields/u").unwrap();
        d.attr("checksum").unwrap().read_scalar::<u64>().unwrap()
    };
    assert_eq!(checksum(&fixture("heat_00000010.h5")), checksum(&written));
}
