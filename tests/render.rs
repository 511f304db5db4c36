//! The render tool turns a checkpoint's field (2D, or a slice of 3D) into a PNG.
mod common;
use common::*;
use std::process::Command;

fn render(args: &[&std::ffi::OsStr]) -> Run {
    let mut cmd = Command::new(RENDER);
    cmd.args(args);
    run_with_limit(cmd, std::time::Duration::from_secs(60))
}

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().expect("a valid PNG");
    (reader.info().width, reader.info().height)
}

#[test]
fn renders_2d_fields_and_3d_slices_from_checkpoints() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(2, &["--size", "64x48", "--steps", "5", "--out", out]);
    let ck = checkpoint(dir.path(), 5);
    let png = dir.path().join("u.png");
    let r = render(&[ck.as_os_str(), "--out".as_ref(), png.as_os_str()]).expect_ok("render 2D");
    assert!(r.stdout.contains("wrote"), "{}", r.stdout);
    let (w, h) = png_size(&png);
    assert!(w >= 512 && h >= 384, "{w}x{h}");

    let dir3 = temp_dir();
    heat(
        3,
        &[
            "--size",
            "20x16x12",
            "--steps",
            "5",
            "--out",
            dir3.path().to_str().unwrap(),
        ],
    );
    let ck3 = checkpoint(dir3.path(), 5);
    render(&[ck3.as_os_str(), "--slice".as_ref(), "2=5".as_ref()]).expect_ok("render 3D slice");
    assert!(dir3.path().join("heat_00000005-u.png").exists());

    let bad = render(&[ck3.as_os_str(), "--slice".as_ref(), "2=99".as_ref()]);
    assert_eq!(bad.status, Some(2));
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
    let missing = render(&[dir3.path().join("nope.h5").as_os_str()]);
    assert_eq!(missing.status, Some(2));
    assert!(
        missing.stderr.starts_with("render: error:"),
        "{}",
        missing.stderr
    );
}

#[test]
fn renders_the_atoms_of_a_particle_checkpoint_coloured_by_speed() {
    let dir = temp_dir();
    run_ok(
        MD,
        2,
        &[
            "--cells",
            "6x6x6",
            "--steps",
            "10",
            "--out",
            dir.path().to_str().unwrap(),
        ],
    );
    let ck = checkpoint_of(dir.path(), "md", 10);
    let r = render(&[ck.as_os_str()]).expect_ok("render particles");
    let png = dir.path().join("md_00000010-speed.png");
    let (w, h) = png_size(&png);
    assert!(w >= 600 && h >= 600, "{w}x{h}");
    // a slab one unit thick through the middle of an fcc crystal holds some atoms
    let drawn: usize = r
        .stdout
        .split("speed of ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(drawn > 0 && drawn < 864, "{}", r.stdout);
    let all = render(&[
        ck.as_os_str(),
        "--slab".as_ref(),
        "0".as_ref(),
        "--view".as_ref(),
        "0".as_ref(),
    ])
    .expect_ok("render all particles along x");
    assert!(all.stdout.contains("speed of 864 atoms"), "{}", all.stdout);
    let bad = render(&[ck.as_os_str(), "--view".as_ref(), "3".as_ref()]);
    assert_eq!(bad.status, Some(2));
    assert!(
        bad.stderr.starts_with("render: error: --view 3"),
        "{}",
        bad.stderr
    );
}
