//! Results are never lost: `--keep` never deletes the checkpoint a run reports, nor a later
//! one of another run in the same directory; `--restart auto` refuses (and leaves in
//! place) a checkpoint in a newer format instead of treating it as damage.
mod common;
use common::*;

#[test]
fn keep_never_deletes_the_checkpoint_it_reports_nor_a_later_one() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    // an earlier run left step 100 here
    heat(1, &["--size", "16x16", "--steps", "100", "--out", out]);
    let later = checkpoint_of(dir.path(), "heat", 100);
    let before = std::fs::read(&later).unwrap();
    let r = heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--overwrite",
            "--keep",
            "1",
            "--out",
            out,
        ],
    );
    let mine = checkpoint_of(dir.path(), "heat", 10);
    assert!(
        r.stdout
            .contains(&format!("checkpoint: {}", mine.display())),
        "{}",
        r.stdout
    );
    assert!(mine.exists(), "the reported checkpoint was deleted");
    assert!(
        !checkpoint_of(dir.path(), "heat", 5).exists(),
        "--keep 1 kept step 5"
    );
    assert_eq!(
        std::fs::read(&later).unwrap(),
        before,
        "another run's checkpoint changed"
    );
}

#[test]
fn restart_auto_refuses_a_newer_format_and_leaves_it_in_place() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--out",
            out,
        ],
    );
    let newest = checkpoint_of(dir.path(), "heat", 10);
    {
        let file = hdf5::File::open_rw(&newest).unwrap();
        file.delete_attr("format_version").unwrap();
        file.new_attr::<u64>()
            .create("format_version")
            .unwrap()
            .write_scalar(&99u64)
            .unwrap();
    }
    let before = std::fs::read(&newest).unwrap();
    assert_refused(
        HEAT,
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--restart",
            "auto",
            "--out",
            out,
        ],
        "format version 99",
    );
    assert_eq!(std::fs::read(&newest).unwrap(), before);
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".damaged"))
        .collect();
    assert!(aside.is_empty(), "a newer file is not damage");
}

#[test]
fn a_colon_in_the_output_path_writes_restarts_and_resumes() {
    let dir = temp_dir();
    let out = dir.path().join("12:30");
    let out = out.to_str().unwrap();
    heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "10",
            "--checkpoint-every",
            "5",
            "--out",
            out,
        ],
    );
    let ten = checkpoint_of(std::path::Path::new(out), "heat", 10);
    assert!(ten.exists());
    // a named restart and an automatic one both read it
    let r = heat(
        3,
        &[
            "--size",
            "16x16",
            "--steps",
            "15",
            "--restart",
            ten.to_str().unwrap(),
            "--out",
            out,
        ],
    );
    assert!(r.stdout.contains("Solution validates"), "{}", r.stdout);
    let r = heat(
        2,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--restart",
            "auto",
            "--out",
            out,
        ],
    );
    assert!(
        r.stdout.contains("(step 15, newest good checkpoint)"),
        "{}",
        r.stdout
    );
    let whole = temp_dir();
    heat(
        1,
        &[
            "--size",
            "16x16",
            "--steps",
            "20",
            "--out",
            whole.path().to_str().unwrap(),
        ],
    );
    assert_same_fields(
        &checkpoint_of(whole.path(), "heat", 20),
        &checkpoint_of(std::path::Path::new(out), "heat", 20),
        &["u"],
        "resumed under a path with ':' vs uninterrupted",
    );
}

#[test]
fn zero_or_negative_durations_are_refused_in_every_form() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    for (flag, value) in [
        ("--max-runtime", "00:00"),
        ("--max-runtime", "0:00:00"),
        ("--max-runtime", "5124095576030431:00:20"),
        ("--progress", "-1"),
        ("--progress", "NaN"),
        ("--progress", "inf"),
    ] {
        let arg = format!("{flag}={value}");
        assert_refused(HEAT, 1, &["--size", "16x16", &arg, "--out", out], flag);
    }
}
