//! Matrix Market files (NIST's `.mtx` exchange format), read in parallel.
//!
//! A sparse matrix is a `coordinate` file: the banner `%%MatrixMarket matrix coordinate
//! real general` (or `integer`; or `symmetric`, which lists one triangle), `%` comment
//! lines, the size line `M N NNZ`, then `NNZ` lines `i j value` with 1-based indices.
//! Every rank reads the banner and size line, then parses only its share of the entry
//! lines: the bytes after the size line split evenly, each share extended to whole lines.
//! The entries stay in file order (rank by rank), which keeps the summation of duplicates
//! independent of the rank count once they are routed to their rows' owners. A problem
//! anywhere is reported by its line number in the file.
//!
//! A vector (a right-hand side) is an `array` file `%%MatrixMarket matrix array real
//! general` with size line `M 1` and `M` values, read whole by every rank.

use crate::error::{Error, Result};
use crate::parallel::Parallel;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// This rank's share of a coordinate file.
pub struct Coordinate {
    pub rows: u64,
    pub cols: u64,
    /// Entries the file declares.
    pub declared: u64,
    /// Whether the file lists one triangle of a symmetric matrix.
    pub symmetric: bool,
    /// This rank's entries, 0-based, with the mirror of every off-diagonal entry of a
    /// symmetric file.
    pub entries: Vec<(u64, u64, f64)>,
}

/// The banner's fields and where the data starts.
struct Header {
    format: String,
    symmetric: bool,
    size: Vec<u64>,
    /// Byte offset of the first data line, and the line number before it.
    data_start: u64,
    lines_before: usize,
}

fn header(path: &Path, bytes: &[u8]) -> Result<Header> {
    let text = String::from_utf8_lossy(bytes);
    let mut offset = 0u64;
    let mut banner: Option<Vec<String>> = None;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        offset += line.len() as u64;
        let trimmed = line.trim();
        if n == 0 {
            let words: Vec<String> = trimmed
                .split_whitespace()
                .map(|w| w.to_lowercase())
                .collect();
            if words.len() != 5 || words[0] != "%%matrixmarket" || words[1] != "matrix" {
                return Err(Error::input(
                    path,
                    1,
                    "not a Matrix Market file (no '%%MatrixMarket matrix ...' banner)",
                ));
            }
            if !["coordinate", "array"].contains(&words[2].as_str()) {
                return Err(Error::input(
                    path,
                    1,
                    format!("format '{}' is not coordinate or array", words[2]),
                ));
            }
            if !["real", "integer", "double"].contains(&words[3].as_str()) {
                return Err(Error::input(
                    path,
                    1,
                    format!("field '{}' is not supported (real or integer)", words[3]),
                ));
            }
            if !["general", "symmetric"].contains(&words[4].as_str()) {
                return Err(Error::input(
                    path,
                    1,
                    format!(
                        "symmetry '{}' is not supported (general or symmetric)",
                        words[4]
                    ),
                ));
            }
            banner = Some(words);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('%') {
            continue;
        }
        let words = banner.expect("the banner is line 1");
        let size: std::result::Result<Vec<u64>, _> =
            trimmed.split_whitespace().map(str::parse).collect();
        let size = size.map_err(|_| {
            Error::input(
                path,
                n + 1,
                format!("size line '{trimmed}' is not whole numbers"),
            )
        })?;
        let wanted = if words[2] == "coordinate" { 3 } else { 2 };
        if size.len() != wanted {
            return Err(Error::input(
                path,
                n + 1,
                format!(
                    "size line has {} numbers, a {} file has {wanted}",
                    size.len(),
                    words[2]
                ),
            ));
        }
        return Ok(Header {
            format: words[2].clone(),
            symmetric: words[4] == "symmetric",
            size,
            data_start: offset,
            lines_before: n + 1,
        });
    }
    Err(Error::input(path, 0, "no size line"))
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// The first `limit` bytes of the file (enough for its banner, comments and size line).
fn head(path: &Path, limit: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    open(path)?
        .take(limit as u64)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    Ok(buf)
}

/// The offset of the first line that starts at or after `raw` (whole lines only).
fn line_start(
    file: &mut std::fs::File,
    raw: u64,
    data_start: u64,
    len: u64,
) -> std::io::Result<u64> {
    if raw <= data_start {
        return Ok(data_start);
    }
    file.seek(SeekFrom::Start(raw - 1))?;
    let mut at = raw - 1;
    let mut buf = [0u8; 4096];
    loop {
        let got = file.read(&mut buf)?;
        if got == 0 {
            return Ok(len);
        }
        if let Some(i) = buf[..got].iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        at += got as u64;
    }
}

/// Reads this rank's share of coordinate file `path`. Collective; every rank gets the
/// same error (the first by line number).
pub fn read_coordinate(parallel: &Parallel, path: &Path) -> Result<Coordinate> {
    let (header, text) = parallel.agree(read_chunk(path, parallel.rank(), parallel.size()))?;
    let lines_here = text.split_inclusive('\n').count() as u64;
    let lines_before = parallel.exclusive_prefix_sum(lines_here) as usize + header.lines_before;
    let (entries, listed, bad) = parse_entries(&header, &text, lines_before);
    // the first bad line over all ranks is reported by the rank that read it
    let first = parallel.min(bad.as_ref().map_or(u64::MAX, |b| b.0 as u64));
    if first != u64::MAX {
        let result = match bad {
            Some((line, why)) if line as u64 == first => Err(Error::input(path, line, why)),
            _ => Err(Error::ReportedElsewhere),
        };
        return parallel.agree(result);
    }
    let listed = parallel.sum(listed);
    let (rows, cols, declared) = (header.size[0], header.size[1], header.size[2]);
    let result = if listed != declared {
        Err(Error::input(
            path,
            0,
            format!("has {listed} entries, its size line declares {declared}"),
        ))
    } else {
        Ok(Coordinate {
            rows,
            cols,
            declared,
            symmetric: header.symmetric,
            entries,
        })
    };
    parallel.agree(result)
}

/// The header and the whole lines of share `rank` of `ranks` of the entry lines.
fn read_chunk(path: &Path, rank: usize, ranks: usize) -> Result<(Header, String)> {
    let header = header(path, &head(path, 1 << 16)?)?;
    if header.format != "coordinate" {
        return Err(Error::input(
            path,
            1,
            "a matrix must be in coordinate format",
        ));
    }
    let io = |e: std::io::Error| Error::io(format!("reading {}", path.display()), e);
    let mut file = open(path)?;
    let len = file.metadata().map_err(io)?.len();
    let (ranks, rank) = (ranks as u64, rank as u64);
    let span = len - header.data_start;
    let raw = |r: u64| header.data_start + (span as u128 * r as u128 / ranks as u128) as u64;
    let start = line_start(&mut file, raw(rank), header.data_start, len).map_err(io)?;
    let end = if rank + 1 == ranks {
        len
    } else {
        line_start(&mut file, raw(rank + 1), header.data_start, len).map_err(io)?
    };
    let mut bytes = vec![0u8; (end.max(start) - start) as usize];
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    file.read_exact(&mut bytes).map_err(io)?;
    Ok((header, String::from_utf8_lossy(&bytes).into_owned()))
}

/// Entries, the number of entry lines, and the first bad line with what is wrong.
type Parsed = (Vec<(u64, u64, f64)>, u64, Option<(usize, String)>);

/// The entries of `text` (whose first line is line `lines_before + 1` of the file), the
/// number of entry lines, and the first bad line with what is wrong.
fn parse_entries(header: &Header, text: &str, lines_before: usize) -> Parsed {
    let (rows, cols) = (header.size[0], header.size[1]);
    let mut entries = Vec::new();
    let mut listed = 0u64;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        listed += 1;
        let w: Vec<&str> = t.split_whitespace().collect();
        let parsed = (w.len() == 3).then(|| {
            (
                w[0].parse::<u64>(),
                w[1].parse::<u64>(),
                w[2].parse::<f64>(),
            )
        });
        let why = match parsed {
            Some((Ok(i), Ok(j), Ok(v))) => {
                if i == 0 || j == 0 || i > rows || j > cols {
                    Some(format!(
                        "entry ({i}, {j}) lies outside the {rows}x{cols} matrix"
                    ))
                } else if !v.is_finite() {
                    Some(format!("entry ({i}, {j}) is {v}"))
                } else if header.symmetric && j > i {
                    Some(format!(
                        "entry ({i}, {j}) is above the diagonal of a symmetric file (which lists the lower triangle)"
                    ))
                } else {
                    entries.push((i - 1, j - 1, v));
                    if header.symmetric && i != j {
                        entries.push((j - 1, i - 1, v));
                    }
                    None
                }
            }
            _ => Some(format!("'{t}' is not 'row column value'")),
        };
        if let Some(why) = why {
            return (entries, listed, Some((lines_before + n + 1, why)));
        }
    }
    (entries, listed, None)
}

/// Reads a vector of `n` values from array file `path` (every rank reads all of it).
/// Collective in its error.
pub fn read_vector(parallel: &Parallel, path: &Path, n: u64) -> Result<Vec<f64>> {
    parallel.agree(read_vector_local(path, n))
}

fn read_vector_local(path: &Path, n: u64) -> Result<Vec<f64>> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let h = header(path, &bytes)?;
    if h.format != "array" || h.size[1] != 1 {
        return Err(Error::input(
            path,
            1,
            "a vector must be an array file of one column ('M 1')",
        ));
    }
    if h.size[0] != n {
        return Err(Error::input(
            path,
            h.lines_before,
            format!("has {} values, the matrix has {n} rows", h.size[0]),
        ));
    }
    let text = String::from_utf8_lossy(&bytes[h.data_start as usize..]);
    let mut values = Vec::with_capacity(n as usize);
    for (k, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let v: f64 = t
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| {
                Error::input(
                    path,
                    h.lines_before + k + 1,
                    format!("'{t}' is not a finite number"),
                )
            })?;
        values.push(v);
    }
    if values.len() as u64 != n {
        return Err(Error::input(
            path,
            0,
            format!("lists {} values, its size line declares {n}", values.len()),
        ));
    }
    Ok(values)
}
