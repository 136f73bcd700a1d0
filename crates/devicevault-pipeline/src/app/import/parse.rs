//! The import formats' parsers: bytes (or one NetBox page of JSON) in,
//! records out. No I/O and no database: what a record means for the
//! inventory is decided by `app::import`.
//!
//! Every record carries the line it came from (for NetBox: its position in
//! the listing, from 1), and a line that cannot be read is a record with
//! an error, never the end of the run: a 1 MB line, a NUL byte or bytes
//! that are not UTF-8 are reported on their line and the others go on.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest line read; a longer one is an error for that line (and its
/// bytes are not kept).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The cell characters a spreadsheet reads as the start of a formula: an
/// exported cell starting with one is written with a `'` before it, and
/// an imported one has that `'` taken off again.
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A login given with a device (Oxidized's `username`/`password`
/// columns). Its `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// What one line of a source says about one device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    /// Device fields by their API name, as text (CSV cells; the address
    /// of the other formats).
    pub fields: Vec<(String, String)>,
    /// The source's model, type or platform, to map to a driver.
    pub model: Option<String>,
    pub login: Option<Login>,
}

/// One line of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// From 1.
    pub line: usize,
    /// The device's name when the line names one (also for an error, so a
    /// sync never archives a device whose line was only malformed).
    pub name: Option<String>,
    pub row: Result<Row, String>,
}

impl Record {
    fn error(line: usize, name: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            line,
            name,
            row: Err(reason.into()),
        }
    }
}

/// The lines of a file: `\n` or `\r\n` line ends, a UTF-8 byte order mark
/// dropped; each line checked for length, NUL bytes and UTF-8.
fn lines(input: &[u8]) -> impl Iterator<Item = (usize, Result<&str, String>)> {
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    let input = input.strip_suffix(b"\n").unwrap_or(input);
    let mut pieces = input.split(|b| *b == b'\n');
    if input.is_empty() {
        // An empty input has no lines (split would give one empty line).
        pieces.next();
    }
    pieces.enumerate().map(|(i, raw)| {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        (i + 1, check_line(raw))
    })
}

fn check_line(raw: &[u8]) -> Result<&str, String> {
    if raw.len() > MAX_LINE_BYTES {
        return Err(format!(
            "the line is {} bytes long; the limit is {MAX_LINE_BYTES}",
            raw.len()
        ));
    }
    if raw.contains(&0) {
        return Err("the line contains a NUL byte".into());
    }
    std::str::from_utf8(raw).map_err(|_| "the line is not UTF-8 text".to_owned())
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

// ---- Oxidized ---------------------------------------------------------------

/// Oxidized's `source.csv`: the delimiter and which column holds what
/// (`map`), from 0. The default reads `name:model[:username:password]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OxidizedSource {
    /// A literal string (Oxidized takes a regular expression; a plain
    /// delimiter such as `:` or `,` is the same thing).
    pub delimiter: String,
    pub map: OxidizedMap,
}

impl Default for OxidizedSource {
    fn default() -> Self {
        Self {
            delimiter: ":".into(),
            map: OxidizedMap::default(),
        }
    }
}

/// Columns of an Oxidized `router.db`, from 0. Given as a map, the
/// columns it leaves out are absent (`name` 0 and `model` 1 unless said);
/// without one, the default reads `name:model[:username:password]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OxidizedMap {
    #[serde(default)]
    pub name: usize,
    #[serde(default = "one")]
    pub model: usize,
    /// Oxidized's `ip`: the address to connect to; without it, the name.
    #[serde(default)]
    pub ip: Option<usize>,
    #[serde(default)]
    pub username: Option<usize>,
    /// When it is the last column, it takes the rest of the line, so a
    /// password may contain the delimiter.
    #[serde(default)]
    pub password: Option<usize>,
}

fn one() -> usize {
    1
}

impl Default for OxidizedMap {
    fn default() -> Self {
        Self {
            name: 0,
            model: 1,
            ip: None,
            username: Some(2),
            password: Some(3),
        }
    }
}

/// An Oxidized `router.db`: comments (`#`) and blank lines skipped.
pub fn oxidized(input: &[u8], source: &OxidizedSource) -> Vec<Record> {
    let mut out = Vec::new();
    let m = &source.map;
    let delimiter = if source.delimiter.is_empty() {
        ":"
    } else {
        source.delimiter.as_str()
    };
    let last = [Some(m.name), Some(m.model), m.ip, m.username, m.password]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    for (n, line) in lines(input) {
        let line = match line {
            Ok(l) if is_blank_or_comment(l) => continue,
            Ok(l) => l,
            Err(e) => {
                out.push(Record::error(n, None, e));
                continue;
            }
        };
        let cols: Vec<&str> = if m.password == Some(last) {
            line.splitn(last + 1, delimiter).collect()
        } else {
            line.split(delimiter).collect()
        };
        let col = |i: usize| cols.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
        let name = col(m.name).map(str::to_owned);
        let Some(model) = col(m.model) else {
            out.push(Record::error(
                n,
                name,
                format!("no model in column {} (delimiter {delimiter:?})", m.model),
            ));
            continue;
        };
        let Some(name_) = name.clone() else {
            out.push(Record::error(
                n,
                None,
                format!("no name in column {}", m.name),
            ));
            continue;
        };
        let address = m.ip.and_then(col).unwrap_or(&name_).to_owned();
        // The password is not trimmed: spaces may be part of it.
        let password = m
            .password
            .and_then(|i| cols.get(i).copied())
            .filter(|s| !s.is_empty());
        let login = match (m.username.and_then(col), password) {
            (Some(u), Some(p)) => Some(Login {
                username: u.to_owned(),
                password: p.to_owned(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                out.push(Record::error(n, name, "a username without a password"));
                continue;
            }
            (None, Some(_)) => {
                out.push(Record::error(n, name, "a password without a username"));
                continue;
            }
        };
        out.push(Record {
            line: n,
            name,
            row: Ok(Row {
                fields: vec![("address".into(), address)],
                model: Some(model.to_owned()),
                login,
            }),
        });
    }
    out
}

// ---- RANCID -----------------------------------------------------------------

/// What a RANCID line says besides the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RancidState {
    Up,
    /// `down` or anything else: RANCID does not collect it, nor do we.
    Other(String),
}

/// A RANCID `router.db`: `name;type;state[;comment]` (RANCID 3), or the
/// older `name:type:state`. Only `up` devices are imported; the others
/// come back as records with `row` = `Ok` and no model, and their state in
/// `skipped`.
pub fn rancid(input: &[u8]) -> (Vec<Record>, Vec<(usize, String)>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (n, line) in lines(input) {
        let line = match line {
            Ok(l) if is_blank_or_comment(l) => continue,
            Ok(l) => l,
            Err(e) => {
                out.push(Record::error(n, None, e));
                continue;
            }
        };
        let sep = if line.contains(';') { ';' } else { ':' };
        let cols: Vec<&str> = line.split(sep).map(str::trim).collect();
        let name = cols
            .first()
            .filter(|s| !s.is_empty())
            .map(|s| (*s).to_owned());
        let (Some(name_), Some(kind), Some(state)) = (
            name.clone(),
            cols.get(1).filter(|s| !s.is_empty()),
            cols.get(2).filter(|s| !s.is_empty()),
        ) else {
            out.push(Record::error(
                n,
                name,
                format!("expected name{sep}type{sep}state"),
            ));
            continue;
        };
        if !state.eq_ignore_ascii_case("up") {
            skipped.push((
                n,
                format!("state {state:?}: only \"up\" devices are imported"),
            ));
            out.push(Record {
                line: n,
                name,
                row: Ok(Row::default()),
            });
            continue;
        }
        out.push(Record {
            line: n,
            name,
            row: Ok(Row {
                fields: vec![("address".into(), name_)],
                model: Some((*kind).to_owned()),
                login: None,
            }),
        });
    }
    (out, skipped)
}

// ---- CSV --------------------------------------------------------------------

/// A CSV cell as a spreadsheet shows it: a cell that would start a
/// formula gets a `'` before it.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A cell as read back: the `'` of [`csv_cell`] taken off.
fn unescape_cell(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest.to_owned(),
        _ => cell,
    }
}

/// Splits CSV text (RFC 4180: `,`, `"` quoting with `""`, line breaks
/// inside quotes) into records of cells, each with the line it starts on.
/// A record that stays open past [`MAX_LINE_BYTES`] is an error.
fn csv_records(text: &str, first_line: usize) -> Vec<(usize, Result<Vec<String>, String>)> {
    let mut out = Vec::new();
    let mut line = first_line;
    let mut start_line = line;
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut record_bytes = 0usize;
    let mut chars = text.chars().peekable();
    fn push_cell(cells: &mut Vec<String>, cell: &mut String, was_quoted: bool) {
        let c = std::mem::take(cell);
        cells.push(if was_quoted { c } else { c.trim().to_owned() });
    }
    while let Some(c) = chars.next() {
        record_bytes += c.len_utf8();
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push('\n');
                }
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                push_cell(&mut cells, &mut cell, was_quoted);
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                push_cell(&mut cells, &mut cell, was_quoted);
                was_quoted = false;
                let record = std::mem::take(&mut cells);
                if !(record.len() == 1 && record[0].is_empty()) {
                    out.push((start_line, Ok(record)));
                }
                line += 1;
                start_line = line;
                record_bytes = 0;
            }
            c => cell.push(c),
        }
        if record_bytes > MAX_LINE_BYTES && quoted {
            out.push((
                start_line,
                Err(format!(
                    "a quoted cell runs on past {MAX_LINE_BYTES} bytes (a missing closing quote?)"
                )),
            ));
            return out;
        }
    }
    if quoted {
        out.push((start_line, Err("a quoted cell is not closed".into())));
        return out;
    }
    if !cell.is_empty() || !cells.is_empty() {
        push_cell(&mut cells, &mut cell, was_quoted);
        if !(cells.len() == 1 && cells[0].is_empty()) {
            out.push((start_line, Ok(cells)));
        }
    }
    out
}

/// A problem of a whole CSV file (its header), reported on line 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

/// A CSV file with a header row of device field names (`columns`: the
/// ones allowed). Each row's cells come back by field name; an empty cell
/// is an empty value.
pub fn csv(input: &[u8], columns: &[&str]) -> Result<Vec<Record>, HeaderError> {
    // Lines are checked one by one first (length, NUL, UTF-8), then the
    // good ones are read as CSV, so a bad line costs only itself.
    let mut out = Vec::new();
    let mut text = String::new();
    let mut text_start = None;
    let mut chunks: Vec<(usize, String)> = Vec::new();
    for (n, line) in lines(input) {
        match line {
            Ok(l) => {
                if text_start.is_none() {
                    text_start = Some(n);
                }
                text.push_str(l);
                text.push('\n');
            }
            Err(e) => {
                if let Some(s) = text_start.take() {
                    chunks.push((s, std::mem::take(&mut text)));
                }
                out.push(Record::error(n, None, e));
            }
        }
    }
    if let Some(s) = text_start {
        chunks.push((s, text));
    }
    let mut records: Vec<(usize, Result<Vec<String>, String>)> = Vec::new();
    for (start, chunk) in chunks {
        records.extend(csv_records(&chunk, start));
    }
    let mut records = records.into_iter();
    let header = match records.next() {
        Some((_, Ok(h))) => h,
        Some((_, Err(e))) => return Err(HeaderError(format!("the header row: {e}"))),
        None => return Err(HeaderError("no header row".into())),
    };
    let mut header_names = Vec::new();
    for h in &header {
        let h = h.trim().to_ascii_lowercase();
        if !columns.contains(&h.as_str()) {
            return Err(HeaderError(format!(
                "unknown column {h:?}; the columns are the API's device fields: {}",
                columns.join(", ")
            )));
        }
        if header_names.contains(&h) {
            return Err(HeaderError(format!("column {h:?} appears twice")));
        }
        header_names.push(h);
    }
    if !header_names.iter().any(|h| h == "name") {
        return Err(HeaderError("the header has no \"name\" column".into()));
    }
    for (n, cells) in records {
        let cells = match cells {
            Ok(c) => c,
            Err(e) => {
                out.push(Record::error(n, None, e));
                continue;
            }
        };
        let fields: Vec<(String, String)> = header_names
            .iter()
            .cloned()
            .zip(cells.iter().cloned().map(unescape_cell))
            .collect();
        let name = fields
            .iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty());
        if cells.len() != header_names.len() {
            out.push(Record::error(
                n,
                name,
                format!(
                    "{} cells where the header has {} columns",
                    cells.len(),
                    header_names.len()
                ),
            ));
            continue;
        }
        if name.is_none() {
            out.push(Record::error(n, None, "the name is empty"));
            continue;
        }
        out.push(Record {
            line: n,
            name,
            row: Ok(Row {
                fields,
                model: None,
                login: None,
            }),
        });
    }
    out.sort_by_key(|r| r.line);
    Ok(out)
}

// ---- NetBox -----------------------------------------------------------------

/// One page of NetBox's `/api/dcim/devices/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetboxPage {
    pub count: Option<u64>,
    /// The next page's URL, as NetBox gives it.
    pub next: Option<String>,
    pub records: Vec<Record>,
}

#[derive(Deserialize)]
struct RawPage {
    count: Option<u64>,
    next: Option<String>,
    results: Vec<serde_json::Value>,
}

/// Reads one page; its devices are numbered from `first` (their position
/// in the listing).
pub fn netbox_page(json: &[u8], first: usize) -> Result<NetboxPage, String> {
    let page: RawPage = serde_json::from_slice(json)
        .map_err(|e| format!("not a NetBox device list (count, next, results): {e}"))?;
    let records = page
        .results
        .iter()
        .enumerate()
        .map(|(i, d)| netbox_device(first + i, d))
        .collect();
    Ok(NetboxPage {
        count: page.count,
        next: page.next.filter(|n| !n.is_empty()),
        records,
    })
}

fn netbox_device(n: usize, d: &serde_json::Value) -> Record {
    fn text(v: &serde_json::Value) -> Option<&str> {
        v.as_str().map(str::trim).filter(|s| !s.is_empty())
    }
    let name = text(&d["name"]).map(str::to_owned);
    if name.is_none() {
        return Record::error(n, None, format!("device {} has no name", d["id"]));
    }
    let Some(address) = text(&d["primary_ip"]["address"]) else {
        return Record::error(n, name, "no primary IP address");
    };
    // NetBox writes an address with its prefix length (192.0.2.1/24).
    let address = address.split('/').next().unwrap_or(address).to_owned();
    let Some(platform) = text(&d["platform"]["slug"]) else {
        return Record::error(n, name, "no platform");
    };
    Record {
        line: n,
        name,
        row: Ok(Row {
            fields: vec![("address".into(), address)],
            model: Some(platform.to_owned()),
            login: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Oxidized router.db as people keep it.
    const ROUTER_DB: &str = "# core\n\
        core1.example.net:ios\n\
        \n\
        core2.example.net:junos:backup:s3cr:et\n\
          # edge\n\
        edge1:routeros:admin\n\
        edge2\n";

    #[test]
    fn oxidized_skips_comments_and_blank_lines_and_keeps_line_numbers() {
        let r = oxidized(ROUTER_DB.as_bytes(), &OxidizedSource::default());
        let lines: Vec<usize> = r.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 6, 7]);
        let core2 = r[1].row.as_ref().unwrap();
        assert_eq!(core2.model.as_deref(), Some("junos"));
        let login = core2.login.as_ref().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("backup", "s3cr:et"),
            "the last column takes the rest of the line"
        );
        assert!(!format!("{login:?}").contains("s3cr"));
        assert_eq!(r[2].row, Err("a username without a password".into()));
        assert_eq!(r[3].name.as_deref(), Some("edge2"));
        assert!(r[3].row.is_err());
    }

    #[test]
    fn oxidized_follows_the_delimiter_and_map_of_source_csv() {
        let src = OxidizedSource {
            delimiter: ",".into(),
            map: OxidizedMap {
                name: 1,
                model: 2,
                ip: Some(0),
                username: None,
                password: None,
            },
        };
        let r = oxidized(b"192.0.2.1,r1,eos\n", &src);
        let row = r[0].row.as_ref().unwrap();
        assert_eq!(r[0].name.as_deref(), Some("r1"));
        assert_eq!(row.fields, [("address".to_owned(), "192.0.2.1".to_owned())]);
    }

    #[test]
    fn a_long_line_a_nul_byte_and_bad_utf8_are_errors_of_their_own_line() {
        let mut input = b"r1:ios\n".to_vec();
        input.extend(vec![b'a'; 1 << 20]);
        input.extend(b"\nr2:i\0os\nr3:\xff\xfe\nr4:eos\n");
        let r = oxidized(&input, &OxidizedSource::default());
        assert_eq!(r.len(), 5);
        assert!(r[0].row.is_ok() && r[4].row.is_ok());
        assert!(r[1].row.as_ref().unwrap_err().contains("1048576 bytes"));
        assert!(r[2].row.as_ref().unwrap_err().contains("NUL"));
        assert!(r[3].row.as_ref().unwrap_err().contains("UTF-8"));
    }

    #[test]
    fn rancid_reads_both_separators_and_only_up_devices() {
        let (r, skipped) =
            rancid(b"# rancid 3\nr1;cisco;up\nr2;juniper;down;moved\nold1:cisco:up\nbad;cisco\n");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].row.as_ref().unwrap().model.as_deref(), Some("cisco"));
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0, 3);
        assert_eq!(r[2].name.as_deref(), Some("old1"));
        assert!(r[3].row.is_err());
    }

    #[test]
    fn csv_from_a_spreadsheet_with_bom_crlf_and_quotes() {
        let input = "\u{feff}name,address,driver,credential\r\n\
            r1,192.0.2.1,cisco_ios,\"lab, main\"\r\n\
            \"r2\",192.0.2.2,arista_eos,\"multi\r\nline\"\r\n\
            '=cmd|x,192.0.2.3,cisco_ios,\r\n";
        let r = csv(
            input.as_bytes(),
            &["name", "address", "driver", "credential"],
        )
        .unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].line, 2);
        let f = &r[0].row.as_ref().unwrap().fields;
        assert_eq!(f[3], ("credential".to_owned(), "lab, main".to_owned()));
        assert_eq!(r[1].line, 3);
        assert_eq!(
            r[1].row.as_ref().unwrap().fields[3].1,
            "multi\r\nline".replace('\r', "")
        );
        assert_eq!(r[2].line, 5);
        assert_eq!(r[2].name.as_deref(), Some("=cmd|x"));
    }

    #[test]
    fn a_csv_header_must_name_known_fields() {
        let e = csv(b"name,colour\n", &["name"]).unwrap_err();
        assert!(e.0.contains("colour"));
        assert!(csv(b"address\n", &["name", "address"]).is_err());
        assert!(csv(b"", &["name"]).is_err());
    }

    #[test]
    fn formula_cells_are_escaped_and_read_back() {
        for v in [
            "=cmd|' /C calc'!A0",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "plain",
            "a,b",
        ] {
            let cell = csv_cell(v);
            let line = format!("name\n{cell}\n");
            let r = csv(line.as_bytes(), &["name"]).unwrap();
            assert_eq!(r[0].name.as_deref(), Some(v), "{cell}");
        }
        assert_eq!(csv_cell("=1+2"), "'=1+2");
    }

    #[test]
    fn netbox_pages_give_address_without_prefix_and_platform() {
        let page = serde_json::json!({
            "count": 3, "next": "http://nb/api/dcim/devices/?limit=2&offset=2", "previous": null,
            "results": [
                {"id": 1, "name": "r1", "status": {"value": "active", "label": "Active"},
                 "platform": {"id": 4, "slug": "cisco-ios", "name": "Cisco IOS"},
                 "primary_ip": {"id": 9, "address": "192.0.2.1/24", "family": 4}},
                {"id": 2, "name": "r2", "platform": null, "primary_ip": null}
            ]
        });
        let p = netbox_page(page.to_string().as_bytes(), 1).unwrap();
        assert_eq!(p.count, Some(3));
        assert!(p.next.is_some());
        let r1 = p.records[0].row.as_ref().unwrap();
        assert_eq!(r1.fields[0].1, "192.0.2.1");
        assert_eq!(r1.model.as_deref(), Some("cisco-ios"));
        assert_eq!(p.records[1].line, 2);
        assert!(p.records[1].row.is_err());
    }
}
