//! LAMMPS data files (`read_data`, as `write_data` writes them) for `atom_style atomic`
//! in an orthogonal box: the header (atom count, one atom type, box bounds), `Masses`,
//! `Atoms` (`id type x y z [ix iy iz]`) and optionally `Velocities` (`id vx vy vz`).
//! `Pair Coeffs` and other force-field sections are skipped (the potential is chosen on
//! the command line). No MPI: every rank streams the file and keeps the atoms that
//! `keep` accepts (those its sub-box owns), so no rank holds all of a large model.
//!
//! Refused with the line that is wrong: other atom styles, triclinic boxes, molecular
//! topology (bonds, angles ...), more than one atom type, malformed or missing numbers,
//! ids that are zero or repeated within a rank's share, atoms outside the box, a
//! `Velocities` section before `Atoms`.

use super::domain::PeriodicBox;
use super::store::MAX_ID;
use crate::error::{Error, Result};
use crate::partition::DIMS;
use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

/// What a rank keeps of a data file.
#[derive(Clone, Debug, PartialEq)]
pub struct DataFile {
    /// Atoms in the whole file (the header's count).
    pub atoms: u64,
    pub bounds: PeriodicBox,
    pub mass: f64,
    /// Whether the file has a `Velocities` section.
    pub has_velocities: bool,
    /// The kept atoms: id, position (wrapped into the box), velocity (zero if none).
    pub kept: Vec<(u64, [f64; DIMS], [f64; DIMS])>,
}

fn numbers<T: std::str::FromStr>(fields: &[&str]) -> Option<Vec<T>> {
    fields.iter().map(|f| f.parse().ok()).collect()
}

/// Reads `path`, keeping the atoms whose wrapped position `keep` accepts.
pub fn read(path: &Path, keep: &dyn Fn(&PeriodicBox, [f64; DIMS]) -> bool) -> Result<DataFile> {
    let file = std::fs::File::open(path).map_err(|e| Error::input(path, 0, e.to_string()))?;
    parse(std::io::BufReader::new(file), path, keep, false)
}

/// The atom count and box of `path`, from its header alone (the sections are not read).
pub fn read_header(path: &Path) -> Result<(u64, PeriodicBox)> {
    let file = std::fs::File::open(path).map_err(|e| Error::input(path, 0, e.to_string()))?;
    let d = parse(std::io::BufReader::new(file), path, &|_, _| false, true)?;
    Ok((d.atoms, d.bounds))
}

/// [`read`] from any reader (`path` names it in messages); with `header_only`, the
/// header alone (no atoms, mass 0).
pub fn parse(
    reader: impl BufRead,
    path: &Path,
    keep: &dyn Fn(&PeriodicBox, [f64; DIMS]) -> bool,
    header_only: bool,
) -> Result<DataFile> {
    let bad = |line: usize, m: String| Error::input(path, line, m);
    let mut lines = reader.lines().enumerate().map(|(n, l)| (n + 1, l));
    let mut next = move || -> Result<Option<(usize, String)>> {
        match lines.next() {
            None => Ok(None),
            Some((n, Ok(l))) => Ok(Some((n, l))),
            Some((n, Err(e))) => Err(Error::input(path, n, format!("unreadable ({e})"))),
        }
    };
    // the first line is a title
    if next()?.is_none() {
        return Err(bad(0, "is empty, not a LAMMPS data file".into()));
    }
    let (mut atoms, mut types) = (None::<u64>, None::<u64>);
    let mut lo = [f64::NAN; DIMS];
    let mut hi = [f64::NAN; DIMS];
    let mut section: Option<(usize, String)> = None;
    // header: "N keyword" lines until the first section name
    while let Some((n, line)) = next()? {
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let f: Vec<&str> = text.split_whitespace().collect();
        let keyword = f
            .iter()
            .skip_while(|w| w.parse::<f64>().is_ok())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let values = &f[..f.len() - keyword.split_whitespace().count()];
        let count = || -> Result<u64> {
            match values {
                [v] => v
                    .parse()
                    .map_err(|_| bad(n, format!("'{v}' is not a count"))),
                _ => Err(bad(n, format!("expected one count before '{keyword}'"))),
            }
        };
        match keyword.as_str() {
            "atoms" => atoms = Some(count()?),
            "atom types" => types = Some(count()?),
            "xlo xhi" | "ylo yhi" | "zlo zhi" => {
                let a = usize::from(keyword.as_bytes()[0] - b'x');
                let Some([l, h]) =
                    numbers::<f64>(values).and_then(|v| <[f64; 2]>::try_from(v).ok())
                else {
                    return Err(bad(n, format!("expected two numbers before '{keyword}'")));
                };
                (lo[a], hi[a]) = (l, h);
            }
            "xy xz yz" => {
                return Err(bad(
                    n,
                    "a triclinic box; tessera's md supports orthogonal boxes only".into(),
                ))
            }
            k if k.ends_with("types")
                || [
                    "bonds",
                    "angles",
                    "dihedrals",
                    "impropers",
                    "ellipsoids",
                    "lines",
                    "triangles",
                    "bodies",
                ]
                .contains(&k) =>
            {
                if count()? > 0 {
                    return Err(bad(n, format!("'{k}': molecular topology and other atom styles are not supported (atom_style atomic only)")));
                }
            }
            _ if values.is_empty() => {
                section = Some((n, line.trim().to_string()));
                break;
            }
            k => return Err(bad(n, format!("unknown header keyword '{k}'"))),
        }
    }
    let atoms = atoms.ok_or_else(|| bad(0, "has no 'atoms' line in its header".into()))?;
    match types {
        Some(1) => {}
        Some(t) => {
            return Err(bad(
                0,
                format!("has {t} atom types; tessera's md supports one atom type"),
            ))
        }
        None => return Err(bad(0, "has no 'atom types' line in its header".into())),
    }
    if lo.iter().chain(&hi).any(|x| x.is_nan()) {
        return Err(bad(
            0,
            "does not give all of xlo xhi, ylo yhi, zlo zhi".into(),
        ));
    }
    let bounds = PeriodicBox::new(lo, hi).map_err(|e| bad(0, e.to_string()))?;
    if header_only {
        return Ok(DataFile {
            atoms,
            bounds,
            mass: 0.0,
            has_velocities: false,
            kept: Vec::new(),
        });
    }

    let mut mass = None;
    let mut kept = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut read_atoms = 0u64;
    let mut has_velocities = false;
    while let Some((start, name)) = section.take() {
        let style = name.split('#').nth(1).map(str::trim).unwrap_or("");
        let name = name.split('#').next().unwrap_or("").trim().to_string();
        let _ = style;
        // section rows until the next section name (a line that does not start with a number)
        let mut rows = 0u64;
        while let Some((n, line)) = next()? {
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let body = text.split('#').next().unwrap_or("").trim();
            let f: Vec<&str> = body.split_whitespace().collect();
            if f.first().is_some_and(|w| w.parse::<f64>().is_err()) {
                section = Some((n, text.to_string()));
                break;
            }
            rows += 1;
            match name.as_str() {
                "Masses" => {
                    let Some([t, m]) = numbers::<f64>(&f).and_then(|v| <[f64; 2]>::try_from(v).ok()) else {
                        return Err(bad(n, "a Masses line is 'type mass'".into()));
                    };
                    if t != 1.0 || !(m > 0.0 && m.is_finite()) {
                        return Err(bad(n, format!("mass of type {t} is {m}: need type 1 with a positive mass")));
                    }
                    mass = Some(m);
                }
                "Atoms" => {
                    if !(f.len() == 5 || f.len() == 8) {
                        return Err(bad(n, format!("an atom_style atomic line is 'id type x y z [ix iy iz]', this one has {} fields", f.len())));
                    }
                    let id: u64 = f[0].parse().ok().filter(|i| (1..=MAX_ID).contains(i)).ok_or_else(|| {
                        bad(n, format!("atom id '{}' is not a whole number from 1 to 2^53-1", f[0]))
                    })?;
                    if f[1] != "1" {
                        return Err(bad(n, format!("atom {id} has type {}, the file has one type", f[1])));
                    }
                    let Some(p) = numbers::<f64>(&f[2..5]).filter(|p| p.iter().all(|x| x.is_finite())) else {
                        return Err(bad(n, format!("atom {id} has no finite x y z")));
                    };
                    let wrapped: Option<Vec<f64>> = (0..DIMS).map(|a| bounds.wrap(a, p[a])).collect();
                    let Some(w) = wrapped else {
                        return Err(bad(n, format!("atom {id} at ({}, {}, {}) is outside the box", p[0], p[1], p[2])));
                    };
                    let pos = [w[0], w[1], w[2]];
                    read_atoms += 1;
                    if keep(&bounds, pos) {
                        if index.insert(id, kept.len()).is_some() {
                            return Err(bad(n, format!("atom id {id} appears twice")));
                        }
                        kept.push((id, pos, [0.0; DIMS]));
                    }
                }
                "Velocities" => {
                    if read_atoms == 0 {
                        return Err(bad(n, "a Velocities section before the Atoms section is not supported".into()));
                    }
                    if f.len() != 4 {
                        return Err(bad(n, format!("a Velocities line is 'id vx vy vz', this one has {} fields", f.len())));
                    }
                    let Some(v) = numbers::<f64>(&f[1..]).filter(|v| v.iter().all(|x| x.is_finite())) else {
                        return Err(bad(n, "velocities must be finite numbers".into()));
                    };
                    let id: u64 = f[0].parse().map_err(|_| bad(n, format!("atom id '{}' is not a number", f[0])))?;
                    if let Some(&k) = index.get(&id) {
                        kept[k].2 = [v[0], v[1], v[2]];
                    }
                    has_velocities = true;
                }
                "Pair Coeffs" | "PairIJ Coeffs" => {}
                other => {
                    return Err(bad(start, format!("section '{other}' is not supported (atom_style atomic: Masses, Atoms, Velocities)")))
                }
            }
        }
        if name == "Velocities" && rows != atoms {
            return Err(bad(
                start,
                format!("the Velocities section has {rows} lines, the header says {atoms} atoms"),
            ));
        }
        if name == "Atoms" && rows != atoms {
            return Err(bad(
                start,
                format!("the Atoms section has {rows} lines, the header says {atoms} atoms"),
            ));
        }
        if name == "Atoms" && !(style.is_empty() || style == "atomic") {
            return Err(bad(
                start,
                format!("atom style '{style}': tessera's md reads atom_style atomic only"),
            ));
        }
    }
    if read_atoms == 0 && atoms > 0 {
        return Err(bad(0, "has no Atoms section".into()));
    }
    let mass = mass.ok_or_else(|| bad(0, "has no Masses section (the mass of type 1)".into()))?;
    Ok(DataFile {
        atoms,
        bounds,
        mass,
        has_velocities,
        kept,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "LAMMPS data file via write_data, version 29 Sep 2021, timestep = 200

3 atoms
1 atom types

0 4.0 xlo xhi
-1 3.0 ylo yhi
0 4.0 zlo zhi

Masses

1 2.5

Pair Coeffs # lj/cut

1 1 1

Atoms # atomic

1 1 0.5 0.5 0.5 0 0 0
3 1 3.9 2.9 1.0 0 -1 0
2 1 4.1 -1.0 2.0 1 0 0

Velocities

1 0.1 0.2 0.3
2 -0.1 0 0
3 0 0 1e-3
";

    fn all(_: &PeriodicBox, _: [f64; 3]) -> bool {
        true
    }

    fn parse_str(s: &str) -> Result<DataFile> {
        parse(s.as_bytes(), Path::new("test.data"), &all, false)
    }

    #[test]
    fn a_write_data_file_is_read_with_velocities_and_wrapped_positions() {
        let d = parse_str(SMALL).unwrap();
        assert_eq!((d.atoms, d.mass, d.has_velocities), (3, 2.5, true));
        assert_eq!(d.bounds.lo, [0.0, -1.0, 0.0]);
        assert_eq!(d.kept.len(), 3);
        let two = d.kept.iter().find(|a| a.0 == 2).unwrap();
        assert!((two.1[0] - 0.1).abs() < 1e-15, "4.1 wraps to 0.1");
        assert_eq!(two.2, [-0.1, 0.0, 0.0]);
        let left = parse(SMALL.as_bytes(), Path::new("t"), &|_, p| p[0] < 2.0, false).unwrap();
        let header = parse(SMALL.as_bytes(), Path::new("t"), &all, true).unwrap();
        assert_eq!(
            (header.atoms, header.bounds, header.kept.len()),
            (3, d.bounds, 0)
        );
        assert_eq!(left.kept.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn unsupported_and_malformed_files_are_refused_with_their_line() {
        let cases = [
            (
                SMALL.replace("1 atom types", "2 atom types"),
                "2 atom types",
            ),
            (
                SMALL.replace("0 4.0 zlo zhi", "0 4.0 zlo zhi\n0 0 0 xy xz yz"),
                "triclinic",
            ),
            (
                SMALL.replace("Atoms # atomic", "Atoms # full"),
                "atom style 'full'",
            ),
            (
                SMALL.replace("3 1 3.9 2.9 1.0 0 -1 0", "3 1 3.9 abc 1.0 0 -1 0"),
                "line 21",
            ),
            (SMALL.replace("3 atoms", "4 atoms"), "header says 4 atoms"),
            (SMALL.replace("3 1 3.9", "1 1 3.9"), "appears twice"),
            (
                SMALL.replace("2 1 4.1 -1.0", "2 1 9.1 -1.0"),
                "outside the box",
            ),
            (SMALL.replace("1 2.5", "1 -2.5"), "positive mass"),
            (
                SMALL.replace("3 atoms", "3 atoms\n2 bonds"),
                "atom_style atomic only",
            ),
            (SMALL.replace("Velocities", "Bonds"), "section 'Bonds'"),
            (String::new(), "empty"),
        ];
        for (text, want) in cases {
            let e = parse_str(&text).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert!(e.starts_with("test.data"), "{e}");
        }
    }
}
