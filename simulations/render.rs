//! `render`: draw one field of a tessera HDF5 checkpoint as a PNG with a colour bar.
//!
//! ```text
//! render CHECKPOINT.h5 [--field u] [--slice AXIS=INDEX] [--out FILE.png]
//! ```
//!
//! * 1D fields are drawn as a horizontal colour strip (index 0 at the left).
//! * 2D fields: array axis 0 runs down the image, axis 1 to the right.
//! * 3D fields: `--slice AXIS=INDEX` fixes one axis (default: the middle index
//!   of axis 0); the two remaining axes, in order, run down and right.
//!
//! * Particle checkpoints (`md`): the atoms in a slab through the middle of the box
//!   (`--slab WIDTH`, 0 for all of them), seen along `--view` (default z), each a disk
//!   of diameter `--diameter` coloured by its speed. `nbody` checkpoints: every body
//!   (a projection) of the region the file names (the centre of mass +- 2 r90), disks
//!   of 1/250 of its width unless `--slab` and `--diameter` say otherwise.
//!
//! The file is opened serially (MPI is never initialised). Every error is
//! reported as a single `render: error: ...` line on stderr with exit code 2.

use clap::error::ErrorKind;
use clap::Parser;
use hdf5::types::{FixedAscii, FixedUnicode, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Hyperslab, SliceOrIndex};
use ndarray::{Array2, Axis};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tessera::io::input;
use tessera::io::render::{self, format_label, format_sci, render_field, Labels};
use tessera::io::space;
use tessera::memory;
use tessera::partition::join_x;

/// Render a field of a tessera HDF5 checkpoint to a PNG image with a colour bar.
#[derive(Parser, Debug)]
#[command(name = "render", version)]
struct Cli {
    /// Checkpoint file (HDF5) written by a tessera simulation.
    checkpoint: PathBuf,
    /// Field to draw: the dataset /fields/<FIELD>.
    #[arg(long, default_value = "u")]
    field: String,
    /// For 3D fields: take index INDEX along axis AXIS [default: 0=<middle>].
    #[arg(long, value_name = "AXIS=INDEX", value_parser = parse_slice)]
    slice: Option<(usize, usize)>,
    /// Output PNG [default: CHECKPOINT with .h5 replaced by -<FIELD>.png, or -speed.png].
    #[arg(long, value_name = "FILE.png")]
    out: Option<PathBuf>,
    /// Particles: the axis the picture looks along (0, 1, 2 = x, y, z).
    #[arg(long, value_name = "AXIS", default_value_t = 2)]
    view: usize,
    /// Particles: thickness of the slab drawn, centred in the box (0: every particle)
    /// [default: 1; nbody: 0].
    #[arg(long, value_name = "WIDTH")]
    slab: Option<f64>,
    /// Particles: diameter of each disk, in length units [default: 1; nbody: 1/250 of
    /// the picture's width].
    #[arg(long, value_name = "D")]
    diameter: Option<f64>,
}

fn parse_slice(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("expected AXIS=INDEX with non-negative integers (e.g. 2=5), got '{s}'");
    let (a, i) = s.split_once('=').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        i.trim().parse().map_err(|_| bad())?,
    ))
}

/// Root attributes of a checkpoint; each may be absent.
#[derive(Debug, Default)]
struct Meta {
    simulation: Option<String>,
    step: Option<u64>,
    time: Option<f64>,
    origin: Option<Vec<f64>>,
    spacing: Option<Vec<f64>>,
}

/// A string attribute, if present: fixed-length (ASCII or UTF-8), or variable-length in
/// files that predate checkpoint format 3 only (variable-length strings live in HDF5's
/// global heap, and a damaged heap crashes the HDF5 library).
fn read_string_attr(file: &hdf5::File, name: &str) -> Option<String> {
    let attr = file.attr(name).ok()?;
    if attr.size() != 1 {
        return None;
    }
    let legacy = file
        .attr("format_version")
        .ok()
        .and_then(|a| a.read_scalar::<u64>().ok())
        .is_some_and(|v| v < 3);
    let bytes = match attr.dtype().ok()?.to_descriptor().ok()? {
        TypeDescriptor::VarLenUnicode if legacy => attr
            .read_scalar::<VarLenUnicode>()
            .ok()?
            .as_bytes()
            .to_vec(),
        TypeDescriptor::VarLenAscii if legacy => {
            attr.read_scalar::<VarLenAscii>().ok()?.as_bytes().to_vec()
        }
        // HDF5 converts fixed-length strings between sizes, not between character sets
        TypeDescriptor::FixedAscii(_) => attr
            .read_scalar::<FixedAscii<1024>>()
            .ok()?
            .as_bytes()
            .to_vec(),
        TypeDescriptor::FixedUnicode(_) => attr
            .read_scalar::<FixedUnicode<1024>>()
            .ok()?
            .as_bytes()
            .to_vec(),
        _ => return None,
    };
    let s = String::from_utf8(bytes).ok()?;
    Some(s.trim_end_matches('\0').trim().to_string()).filter(|s| !s.is_empty())
}

fn read_meta(file: &hdf5::File) -> Meta {
    // a few values at most: a damaged file may claim any number
    let raw = |name: &str| {
        let a = file.attr(name).ok()?;
        (a.size() <= 3).then(|| a.read_raw::<f64>().ok()).flatten()
    };
    Meta {
        simulation: read_string_attr(file, "simulation"),
        step: file
            .attr("step")
            .ok()
            .filter(|a| a.size() == 1)
            .and_then(|a| a.read_raw::<u64>().ok()?.first().copied()),
        time: raw("time").and_then(|v| v.first().copied()),
        origin: raw("origin"),
        spacing: raw("spacing"),
    }
}

const AXIS_NAMES: [&str; 3] = ["x", "y", "z"];

/// Physical coordinate of index `i` along `axis` when origin and spacing are known.
fn coord(meta: &Meta, ndim: usize, axis: usize, i: usize) -> Option<f64> {
    let (o, h) = (meta.origin.as_ref()?, meta.spacing.as_ref()?);
    (o.len() == ndim && h.len() == ndim).then(|| o[axis] + i as f64 * h[axis])
}

/// `x 0..1` (coordinates of the first and last sample) or `x [0..99]` (indices).
fn axis_extent(meta: &Meta, ndim: usize, axis: usize, n: usize) -> String {
    let name = AXIS_NAMES[axis];
    match (coord(meta, ndim, axis, 0), coord(meta, ndim, axis, n - 1)) {
        (Some(a), Some(b)) => format!("{name} {}..{}", format_label(a), format_label(b)),
        _ => format!("{name} [0..{}]", n - 1),
    }
}

fn default_out(checkpoint: &Path, field: &str) -> PathBuf {
    let stem = checkpoint
        .file_stem()
        .unwrap_or(checkpoint.as_os_str())
        .to_string_lossy();
    checkpoint.with_file_name(format!("{stem}-{field}.png"))
}

/// Reads the 2D plane to draw (a 1D field becomes one row) and the dataset
/// axes that run down and right; appends the slice description to `title`.
fn read_plane(
    ds: &hdf5::Dataset,
    shape: &[usize],
    slice: Option<(usize, usize)>,
    meta: &Meta,
    title: &mut Vec<String>,
) -> Result<(Array2<f64>, Vec<usize>), String> {
    let ndim = shape.len();
    if ndim != 3 && slice.is_some() {
        return Err(format!(
            "--slice applies to 3D fields only; this one is {ndim}D"
        ));
    }
    let read_err = |e: hdf5::Error| format!("cannot read: {e}");
    match ndim {
        1 => Ok((
            ds.read_1d().map_err(read_err)?.insert_axis(Axis(0)),
            vec![0],
        )),
        2 => Ok((ds.read_2d().map_err(read_err)?, vec![0, 1])),
        3 => {
            let (axis, index) = slice.unwrap_or((0, shape[0] / 2));
            if axis > 2 {
                return Err(format!(
                    "--slice axis {axis} out of range (axes are 0, 1, 2)"
                ));
            }
            if index >= shape[axis] {
                let n = shape[axis];
                return Err(format!(
                    "--slice index {index} out of range: axis {axis} has size {n}"
                ));
            }
            let sel: Vec<SliceOrIndex> = (0..3)
                .map(|a| match a == axis {
                    true => SliceOrIndex::Index(index),
                    false => (0..shape[a]).into(),
                })
                .collect();
            let data = ds.read_slice_2d(Hyperslab::from(sel)).map_err(read_err)?;
            let mut s = format!("slice {}[{index}]", AXIS_NAMES[axis]);
            if let Some(c) = coord(meta, 3, axis, index) {
                s.push_str(&format!("={}", format_label(c)));
            }
            title.push(s);
            Ok((data, (0..3).filter(|&a| a != axis).collect()))
        }
        _ => Err(format!(
            "{ndim}D fields cannot be drawn (only 1D, 2D and 3D)"
        )),
    }
}

fn run(cli: &Cli) -> Result<String, String> {
    let path = &cli.checkpoint;
    let shown = path.display();
    // by its metadata first: a directory, FIFO, device or /proc file is never opened
    input::regular_file(path).map_err(|why| format!("{shown} {why}"))?;
    let file =
        hdf5::File::open(path).map_err(|e| format!("cannot open {shown} as an HDF5 file: {e}"))?;
    if file.dataset("particles/position").is_ok() {
        return render_particles(cli, &file);
    }
    if let Ok(history) = file.dataset("solver/residual_norm") {
        return render_solver_history(cli, &history);
    }
    let fields = file
        .group("fields")
        .map_err(|_| format!("{shown} has no /fields group (not a tessera checkpoint?)"))?;
    let mut names = fields
        .member_names()
        .map_err(|e| format!("cannot list /fields: {e}"))?;
    names.sort();
    let field = &cli.field;
    if !names.contains(field) {
        let list = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        return Err(format!("no field '{field}' in {shown} (available: {list})"));
    }
    let ds = fields
        .dataset(field)
        .map_err(|e| format!("/fields/{field} is not a dataset: {e}"))?;
    let desc = ds.dtype().and_then(|t| t.to_descriptor());
    if !matches!(
        desc,
        Ok(TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_))
    ) {
        let what = desc.map_or_else(|e| e.to_string(), |d| d.to_string());
        return Err(format!(
            "/fields/{field} has unsupported element type ({what})"
        ));
    }
    let shape = ds.shape();
    let ndim = shape.len();
    check_plane_fits(&shape, cli.slice.is_some() || ndim == 3)
        .map_err(|e| format!("/fields/{field}: {e}"))?;
    let meta = read_meta(&file);
    let mut title: Vec<String> = meta.simulation.iter().cloned().collect();
    title.push(field.clone());
    let (data, axes) = read_plane(&ds, &shape, cli.slice, &meta, &mut title)
        .map_err(|e| format!("/fields/{field}: {e}"))?;
    title.extend(meta.step.map(|s| format!("step {s}")));
    title.extend(meta.time.map(|t| format!("t = {}", format_sci(t))));

    let footer = match axes[..] {
        [a] => format!("right: {}", axis_extent(&meta, ndim, a, shape[a])),
        [a, b] => format!(
            "down: {}   right: {}",
            axis_extent(&meta, ndim, a, shape[a]),
            axis_extent(&meta, ndim, b, shape[b])
        ),
        _ => String::new(),
    };
    let labels = Labels {
        title: title.join("  "),
        footer: Some(footer),
        nan_is_empty: false,
    };
    let rendered = render_field(data.view(), &labels).map_err(|e| e.to_string())?;
    let out = cli.out.clone().unwrap_or_else(|| default_out(path, field));
    rendered.image.write_png(&out).map_err(|e| e.to_string())?;
    let (img, st) = (&rendered.image, &rendered.stats);
    Ok(format!(
        "wrote {} ({}x{} px, field {field}, {} .. {})",
        out.display(),
        img.width,
        img.height,
        format_sci(st.min),
        format_sci(st.max)
    ))
}

/// Pixels along the longer side of a particle picture.
const PARTICLE_PIXELS: usize = 600;

/// An `N x 3` dataset of `f64` under /particles, checked before it is read.
fn particle_vectors(
    file: &hdf5::File,
    name: &str,
    count: Option<usize>,
) -> Result<Vec<f64>, String> {
    let ds = file
        .dataset(&format!("particles/{name}"))
        .map_err(|_| format!("no /particles/{name}"))?;
    let shape = ds.shape();
    if shape.len() != 2 || shape[1] != 3 || count.is_some_and(|n| n != shape[0]) {
        return Err(format!("/particles/{name} has shape {shape:?}, not N x 3"));
    }
    if !ds.dtype().is_ok_and(|t| t.is::<f64>()) {
        return Err(format!("/particles/{name} does not hold f64 values"));
    }
    let bytes = (shape[0] as u64).saturating_mul(24);
    if let Some(limit) = memory::available() {
        if bytes > limit.bytes {
            return Err(format!(
                "/particles/{name} needs {} of memory, this node allows {}",
                space::human(bytes),
                space::human(limit.bytes)
            ));
        }
    }
    ds.read_raw::<f64>()
        .map_err(|e| format!("/particles/{name} cannot be read: {e}"))
}

/// Draws the particles of a slab (or all of them) seen along `--view`, coloured by speed.
fn render_particles(cli: &Cli, file: &hdf5::File) -> Result<String, String> {
    if cli.view > 2 {
        return Err(format!("--view {} is not an axis (0, 1, 2)", cli.view));
    }
    let meta = read_meta(file);
    let bodies = meta.simulation.as_deref() == Some("nbody");
    let pos = particle_vectors(file, "position", None)?;
    let n = pos.len() / 3;
    let vel = particle_vectors(file, "velocity", Some(n))?;
    let box_attr = |name: &str| -> Result<[f64; 3], String> {
        let a = file
            .attr(name)
            .map_err(|_| format!("no '{name}' attribute"))?;
        let v = if a.size() == 3 {
            a.read_raw::<f64>().ok()
        } else {
            None
        };
        v.and_then(|v| v.try_into().ok())
            .ok_or_else(|| format!("attribute '{name}' is not 3 numbers"))
    };
    let (lo, hi) = (box_attr("box_lo")?, box_attr("box_hi")?);
    let (view, across, down) = (cli.view, (cli.view + 1) % 3, (cli.view + 2) % 3);
    let (right, below) = (hi[across] - lo[across], hi[down] - lo[down]);
    if !(right > 0.0 && below > 0.0) {
        return Err("the box in the file has no extent".into());
    }
    let slab = cli.slab.unwrap_or(if bodies { 0.0 } else { 1.0 });
    let diameter = cli.diameter.unwrap_or(if bodies {
        right.max(below) / 250.0
    } else {
        1.0
    });
    let usable = slab >= 0.0 && slab.is_finite() && diameter > 0.0;
    if !(usable && diameter.is_finite()) {
        return Err("--slab must be 0 or more and --diameter positive".into());
    }
    let what = if bodies { "bodies" } else { "atoms" };
    let scale = PARTICLE_PIXELS as f64 / right.max(below);
    let (w, h) = (
        ((right * scale).round() as usize).max(1),
        ((below * scale).round() as usize).max(1),
    );
    let centre = 0.5 * (lo[view] + hi[view]);
    let mut speed = Array2::from_elem((h, w), f64::NAN);
    let mut depth = Array2::from_elem((h, w), f64::NEG_INFINITY);
    let radius = 0.5 * diameter * scale;
    let mut drawn = 0usize;
    for i in 0..n {
        let p = &pos[3 * i..3 * i + 3];
        if slab > 0.0 && (p[view] - centre).abs() > 0.5 * slab {
            continue;
        }
        drawn += 1;
        let v = &vel[3 * i..3 * i + 3];
        let s = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        // the image's top row is the high end of `down`, as on a plot
        let (cx, cy) = (
            (p[across] - lo[across]) * scale,
            (hi[down] - p[down]) * scale,
        );
        let (x0, x1) = (
            (cx - radius).floor().max(0.0) as usize,
            ((cx + radius).ceil() as usize).min(w),
        );
        let (y0, y1) = (
            (cy - radius).floor().max(0.0) as usize,
            ((cy + radius).ceil() as usize).min(h),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                // nearer the viewer (larger coordinate along the view axis) wins
                if dx * dx + dy * dy <= radius * radius && p[view] > depth[[y, x]] {
                    depth[[y, x]] = p[view];
                    speed[[y, x]] = s;
                }
            }
        }
    }
    let mut title: Vec<String> = meta.simulation.iter().cloned().collect();
    title.push("speed".into());
    title.extend(meta.step.map(|s| format!("step {s}")));
    title.extend(meta.time.map(|t| format!("t = {}", format_sci(t))));
    let slab = if slab > 0.0 {
        format!(
            "{drawn} of {n} {what} with {} in {}..{}",
            AXIS_NAMES[view],
            format_label(centre - 0.5 * slab),
            format_label(centre + 0.5 * slab)
        )
    } else {
        format!("all {n} {what}")
    };
    let labels = Labels {
        title: title.join("  "),
        footer: Some(format!(
            "{slab},  right: {} {}..{}  up: {} {}..{}",
            AXIS_NAMES[across],
            format_label(lo[across]),
            format_label(hi[across]),
            AXIS_NAMES[down],
            format_label(lo[down]),
            format_label(hi[down])
        )),
        nan_is_empty: true,
    };
    let rendered = render_field(speed.view(), &labels).map_err(|e| e.to_string())?;
    let out = cli
        .out
        .clone()
        .unwrap_or_else(|| default_out(&cli.checkpoint, "speed"));
    rendered.image.write_png(&out).map_err(|e| e.to_string())?;
    let (img, st) = (&rendered.image, &rendered.stats);
    Ok(format!(
        "wrote {} ({}x{} px, speed of {drawn} {what}, {} .. {})",
        out.display(),
        img.width,
        img.height,
        format_sci(st.min),
        format_sci(st.max)
    ))
}

/// Bytes per value of the drawn plane held at once (the values read, as `f64`, and the
/// image's pixels and their scaled copy).
const BYTES_PER_VALUE: u64 = 32;

/// Refuses a plane to draw that does not fit in memory (`sliced`: a 3D field's plane).
fn check_plane_fits(shape: &[usize], sliced: bool) -> Result<(), String> {
    let mut dims = shape.to_vec();
    if sliced && dims.len() == 3 {
        // the largest plane any slice could draw
        dims.sort_unstable();
        dims.remove(0);
    }
    let drawn = dims.iter().try_fold(1u64, |n, &x| n.checked_mul(x as u64));
    let bytes = drawn.and_then(|n| n.checked_mul(BYTES_PER_VALUE));
    match (bytes, memory::available()) {
        (None, _) => Err(format!("a {} plane is too large to draw", join_x(shape))),
        (Some(b), Some(limit)) if b > limit.bytes => Err(format!(
            "drawing the {} field needs {} of memory, this node allows {} ({}); draw a slice of a smaller field",
            join_x(shape),
            space::human(b),
            space::human(limit.bytes),
            limit.source
        )),
        _ => Ok(()),
    }
}

/// Prints `msg` as a single `render: error: ...` line and returns exit code 2.
fn fail(msg: &str) -> ExitCode {
    let line = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("render: error: {line}");
    ExitCode::from(2)
}

/// A solver checkpoint: its residual history as a convergence plot.
fn render_solver_history(cli: &Cli, dataset: &hdf5::Dataset) -> Result<String, String> {
    let values: Vec<f64> = dataset
        .read_raw()
        .map_err(|e| format!("cannot read /solver/residual_norm: {e}"))?;
    if values.is_empty() {
        return Err("/solver/residual_norm is empty".into());
    }
    let out = cli.out.clone().unwrap_or_else(|| {
        let stem = cli.checkpoint.with_extension("");
        PathBuf::from(format!("{}-residual.png", stem.display()))
    });
    let iterations = values.len() - 1;
    let reduction = values[iterations] / values[0];
    let title =
        format!("residual history: {iterations} iterations, final/initial = {reduction:.2e}");
    let img = render::render_history(&values, &title);
    img.write_png(&out).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {} ({}x{} px, residual history of {iterations} iterations)",
        out.display(),
        img.width,
        img.height
    ))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message: first paragraph only (drop usage and tips).
            let text = e.to_string();
            let para = text.split("\n\n").next().unwrap_or("invalid arguments");
            return fail(para.trim_start_matches("error: "));
        }
    };
    match run(&cli) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(msg) => fail(&msg),
    }
}
