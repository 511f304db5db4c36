//! `--report FILE.json`: every run writes one JSON document with its parameters,
//! decomposition, per-phase times over ranks, rates, checkpoints and verdict, also when a
//! time limit stops it.
mod common;
use common::*;

fn report(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the report is JSON")
}

#[test]
fn a_finished_run_reports_phases_rates_checkpoints_and_its_verdict() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let json = dir.path().join("report.json");
    heat(
        3,
        &[
            "--size",
            "40x30",
            "--steps",
            "20",
            "--checkpoint-every",
            "10",
            "--out",
            out,
            "--report",
            json.to_str().unwrap(),
        ],
    );
    let r = report(&json);
    assert_eq!(r["simulation"], "heat");
    assert_eq!(r["ranks"], 3);
    assert_eq!(r["threads_per_rank"], 1);
    assert_eq!(r["end_step"], 20);
    assert_eq!(r["parameters"]["bc"], "dirichlet");
    assert!(r["decomposition"]
        .as_str()
        .unwrap()
        .contains("3 ranks on a 3x1 process grid"));
    assert_eq!(r["validation"]["verdict"], "validates");
    assert!(
        r["validation"]["figures"]["max_error_vs_scheme"]
            .as_f64()
            .unwrap()
            < 1e-12
    );
    let perf = &r["performance"];
    assert_eq!(perf["steps"], 20);
    assert_eq!(perf["rates"]["unit"], "Glups");
    for phase in ["compute", "halo exchange", "checkpoint I/O", "other"] {
        let p = &perf["seconds"]["phases"][phase];
        let (min, mean, max) = (
            p["min"].as_f64().unwrap(),
            p["mean"].as_f64().unwrap(),
            p["max"].as_f64().unwrap(),
        );
        assert!(0.0 <= min && min <= mean && mean <= max, "{phase}: {p}");
    }
    let checkpoints = perf["checkpoints"].as_array().unwrap();
    assert_eq!(checkpoints.len(), 2);
    for (c, step) in checkpoints.iter().zip([10, 20]) {
        assert_eq!(c["step"], step);
        assert_eq!(c["bytes"], 40 * 30 * 8);
        assert!(c["write_bandwidth_MB_per_s"].as_f64().unwrap() > 0.0);
    }
    let command: Vec<&str> = r["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(command.contains(&"--report"), "{command:?}");
}

#[test]
fn a_run_stopped_by_its_time_limit_still_reports() {
    let dir = temp_dir();
    let out = dir.path().to_str().unwrap();
    let json = dir.path().join("report.json");
    let r = mpirun(
        2,
        HEAT,
        &[
            "--size",
            "256x256",
            "--steps",
            "100000000",
            "--progress",
            "0",
            "--max-runtime",
            "1s",
            "--out",
            out,
            "--report",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(75), "{}\n{}", r.stdout, r.stderr);
    let rep = report(&json);
    assert_eq!(rep["validation"]["verdict"], "stopped");
    assert!(rep["validation"]["detail"]
        .as_str()
        .unwrap()
        .contains("--max-runtime is near"));
    let steps = rep["performance"]["steps"].as_u64().unwrap();
    assert!(steps > 0);
    assert_eq!(rep["end_step"].as_u64().unwrap(), steps);
    assert_eq!(
        rep["performance"]["checkpoints"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn a_run_that_does_not_validate_reports_why() {
    // Poisson capped far below convergence: exit 1, verdict and reason in the report
    let dir = temp_dir();
    let json = dir.path().join("report.json");
    let r = mpirun(
        2,
        POISSON,
        &[
            "--size",
            "33x33",
            "--steps",
            "5",
            "--no-checkpoint",
            "--report",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(r.status, Some(1), "{}\n{}", r.stdout, r.stderr);
    let rep = report(&json);
    assert_eq!(rep["validation"]["verdict"], "does not validate");
    assert!(rep["validation"]["detail"]
        .as_str()
        .unwrap()
        .contains("no convergence within 5 iterations"));
    assert_eq!(rep["simulation"], "poisson");
}
