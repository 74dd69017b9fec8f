//! The housing allocation office's CSV export of housing offers, turned into indgang's canonical
//! housing-offer JSON (`schemas/housing-offer.v1.json`).
//!
//! The file is semicolon-separated UTF-8 (with or without a byte order mark) with a header row
//! naming the columns; `README.md` beside this crate lists the columns and the cell formats.
//! [`parse_batch`] is pure: bytes in, one outcome per data row out, no I/O. It never panics, and
//! its time and memory are bounded by [`MAX_BYTES`] and [`MAX_ROWS`].
//!
//! Two kinds of fault: a fault of the file (no header, an unknown, repeated or missing column,
//! not UTF-8, too big) refuses the whole file; a fault of a row rejects that row only, with every
//! reason, and the other rows stand. A row that is accepted here still goes through the gateway's
//! own checks (the CPR birth date, the list of 98 municipalities, dates that agree).
//!
//! Each row's `message_id` is stable, so that the same file sent twice gives the same ids and the
//! gateway's de-duplication by (sender, message_id) creates nothing twice: see [`message_id`].

mod cells;
mod columns;
pub mod message_id;
mod offer;

use serde_json::Value;
use std::fmt;

/// The largest file accepted, in bytes (10 MiB).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most data rows accepted in one file; split larger exports.
pub const MAX_ROWS: usize = 10_000;

/// The sending institution, as the gateway authenticated it. It is not read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The institution code, e.g. `boligtildeling-kbh`.
    pub id: String,
    /// The name people know it by, e.g. "Den Sociale Boligtildeling, Københavns Kommune".
    pub name: String,
}

/// One fault: where (line and column, when known) and what, in plain words. A message never
/// repeats a CPR number, a name, an address or free text from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The line in the file (the header is line 1); `None` for the file as a whole.
    pub row: Option<usize>,
    /// The column, as the header spells it; `None` for the whole row or file.
    pub column: Option<String>,
    pub message: String,
}

impl Fault {
    pub(crate) fn new(row: Option<usize>, column: Option<&str>, message: impl Into<String>) -> Fault {
        Fault {
            row,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.row, &self.column) {
            (Some(row), Some(column)) => write!(f, "line {row}, column {column}: {}", self.message),
            (Some(row), None) => write!(f, "line {row}: {}", self.message),
            (None, Some(column)) => write!(f, "column {column}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// The outcome of one data row.
#[derive(Clone, PartialEq)]
pub struct Row {
    /// The line the row starts on, as a person counts lines in the file: the header is line 1,
    /// so the first data row is usually line 2. Blank lines count; a quoted cell that spans
    /// lines makes the row start where its first cell is.
    pub row: usize,
    /// The canonical housing offer, or every reason the row was rejected.
    pub result: Result<Value, Vec<Fault>>,
}

/// Leaves the offer out: it holds CPR numbers, names and addresses.
impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Row");
        s.field("row", &self.row);
        match &self.result {
            Ok(_) => s.field("result", &"Ok(..)"),
            Err(faults) => s.field("result", faults),
        };
        s.finish()
    }
}

/// Reads a CSV export of housing offers. `Err` holds the faults of the file as a whole; `Ok`
/// holds one [`Row`] per data row, in file order, each accepted or rejected on its own. Rows
/// whose cells are all empty (`;;;;`) are skipped.
pub fn parse_batch(csv: &[u8], sender: &Sender) -> Result<Vec<Row>, Vec<Fault>> {
    if csv.len() > MAX_BYTES {
        return Err(vec![Fault::new(
            None,
            None,
            format!(
                "the file is {} bytes; at most {MAX_BYTES} bytes (10 MiB) are accepted: split it",
                csv.len()
            ),
        )]);
    }
    let bytes = csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(csv);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        vec![Fault::new(
            Some(line),
            None,
            "the file is not UTF-8 text: save or export it as \"CSV UTF-8\"",
        )]
    })?;

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = Lines {
        text: text.as_bytes(),
        at: 0,
        line: 1,
    };
    let read = |reader: &mut csv::Reader<&[u8]>, record: &mut csv::StringRecord| {
        reader
            .read_record(record)
            .map_err(|_| vec![Fault::new(None, None, "the file could not be read as CSV")])
    };

    // The header, after an optional `sep=;` line that spreadsheet programs write.
    let mut header_line;
    loop {
        if !read(&mut reader, &mut record)? {
            return Err(vec![Fault::new(
                None,
                None,
                "the file is empty: the first line must be a header naming the columns",
            )]);
        }
        header_line = lines.of(&record);
        // `sep=;` splits at its own semicolon, unless it was quoted.
        let joined = record.iter().collect::<Vec<_>>().join(";");
        if !joined.trim().eq_ignore_ascii_case("sep=;") {
            break;
        }
    }
    let cells: Vec<&str> = record.iter().collect();
    let header = columns::Header::parse(&cells, header_line)?;

    let mut rows = Vec::new();
    while read(&mut reader, &mut record)? {
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let line = lines.of(&record);
        if rows.len() == MAX_ROWS {
            return Err(vec![Fault::new(
                Some(line),
                None,
                format!("the file has more than {MAX_ROWS} data rows: split it"),
            )]);
        }
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        rows.push(Row {
            row: line,
            result: offer::build(&header, &cells, sender, line),
        });
    }
    Ok(rows)
}

/// Line numbers as a person counts them. The CSV reader gives the byte where it began reading a
/// record, which is just after the previous record's last cell: the line break and any blank
/// lines it then skipped come first. Records come in order, so counting goes on from the last.
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl Lines<'_> {
    fn of(&mut self, record: &csv::StringRecord) -> usize {
        let byte = record
            .position()
            .map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
        let mut start = byte.clamp(self.at, self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let between = &self.text[self.at..start];
        for (i, &b) in between.iter().enumerate() {
            // \r\n, \n and a lone \r each end a line.
            if b == b'\n' || (b == b'\r' && between.get(i + 1) != Some(&b'\n')) {
                self.line += 1;
            }
        }
        self.at = start;
        self.line
    }
}
