//! `devicevault drivers check DIR`: every problem of a directory of user
//! drivers, each with its file and line.
//!
//! Loading stops at the first error and names the driver; a person writing
//! a driver wants every mistake at once and where it is. The check parses
//! the file keeping spans (`toml`'s `DeTable`), compiles each regex where it
//! is written so a bad one is reported on its own line, then loads the file
//! as the collector does ([`Driver::from_toml`]) so nothing the loader
//! refuses passes the check. A semantic refusal (no `[complete]` rule, an
//! `author` rule without a capture group) is placed on the line of the key
//! it names when the file has that key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use regex::RegexBuilder;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::driver::{Driver, DriverSource, file_error};
use crate::error::CollectError;

/// One problem of a driver file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverProblem {
    /// 1-based line of the file it is on; `None` when it is about the file
    /// as a whole (a rule it lacks).
    pub line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

/// The problems of one file of a driver directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Empty when the file loads.
    pub problems: Vec<DriverProblem>,
}

/// Keys whose values are regexes: the key's path (array indexes left out)
/// and the name the loader's errors use.
const REGEX_KEYS: &[&[&str]] = &[
    &["prompt"],
    &["privileged_prompt"],
    &["error_patterns"],
    &["remove_lines"],
    &["author"],
    &["enable", "password_prompt"],
    &["enable", "failure"],
    &["login", "expect"],
    &["pager", "expect"],
    &["secrets", "pattern"],
    &["complete", "ends_with"],
    &["complete", "starts_with"],
    &["requests", "extract", "regex"],
    &["requests", "config", "regex"],
];

/// 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Checks the text of one driver file; `stem` is the file's name without
/// `.toml`, which must equal the driver's `name`.
pub fn check_driver_text(text: &str, stem: &str, path: &Path) -> Vec<DriverProblem> {
    let doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![DriverProblem {
                line: e.span().map(|s| line_of(text, s.start)),
                message: e.message().trim().to_owned(),
            }];
        }
    };
    if let Some(e) = file_error(text) {
        return vec![DriverProblem {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_owned(),
        }];
    }
    let mut problems = Vec::new();
    let mut path_now = Vec::new();
    walk_table(doc.get_ref(), &mut path_now, &mut |keys, value, span| {
        let Some(name) = regex_key(keys) else {
            return;
        };
        if let DeValue::String(pattern) = value
            && let Err(e) = RegexBuilder::new(pattern).multi_line(true).build()
        {
            problems.push(DriverProblem {
                line: Some(line_of(text, span.start)),
                message: format!("`{name}`: invalid regex: {e}"),
            });
        }
    });
    if !problems.is_empty() {
        return problems;
    }
    match Driver::from_toml(text, DriverSource::User(path.to_owned())) {
        Ok(d) => {
            if d.name != stem {
                problems.push(DriverProblem {
                    line: key_line(text, doc.get_ref(), &["name"]),
                    message: format!(
                        "the file is named `{stem}.toml` but declares `name = \"{}\"`: they must be equal",
                        d.name
                    ),
                });
            }
        }
        Err(CollectError::InvalidDriver { reason, .. }) => {
            problems.push(DriverProblem {
                line: named_key(&reason).and_then(|k| key_line(text, doc.get_ref(), &k)),
                message: reason,
            });
        }
        Err(e) => problems.push(DriverProblem {
            line: None,
            message: e.to_string(),
        }),
    }
    problems
}

/// Checks every `*.toml` of `dir`, sorted by name. `Err` when the
/// directory cannot be read.
pub fn check_driver_dir(dir: &Path) -> Result<Vec<FileReport>, CollectError> {
    let unreadable = |e: std::io::Error| CollectError::InvalidDriver {
        name: dir.display().to_string(),
        reason: format!("cannot read driver directory: {e}"),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|path| {
            let problems = match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let stem = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                        .to_owned();
                    check_driver_text(&text, &stem, &path)
                }
                Err(e) => vec![DriverProblem {
                    line: None,
                    message: format!("cannot read: {e}"),
                }],
            };
            FileReport { path, problems }
        })
        .collect())
}

/// The name the loader gives a regex key, e.g. `enable.password_prompt`;
/// `None` when `keys` is not a regex.
fn regex_key(keys: &[&str]) -> Option<String> {
    REGEX_KEYS.iter().find(|k| **k == keys).map(|k| k.join("."))
}

/// What [`walk_table`] calls for each scalar: its key path, value and span.
type Visit<'f> = dyn FnMut(&[&str], &DeValue<'_>, Range<usize>) + 'f;

/// Calls `f` with the key path, value and span of every scalar of `table`,
/// descending into tables and arrays (arrays add no key).
fn walk_table<'a>(table: &'a DeTable<'_>, keys: &mut Vec<&'a str>, f: &mut Visit<'_>) {
    for (k, v) in table.iter() {
        keys.push(k.get_ref().as_ref());
        walk_value(v, keys, f);
        keys.pop();
    }
}

fn walk_value<'a>(v: &'a Spanned<DeValue<'_>>, keys: &mut Vec<&'a str>, f: &mut Visit<'_>) {
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, keys, f),
        DeValue::Array(items) => {
            for item in items.iter() {
                walk_value(item, keys, f);
            }
        }
        other => f(keys, other, v.span()),
    }
}

/// The key a loader message is about: its leading `key:` (`author: ...`,
/// `complete.ends_with: ...`) or its first backquoted key (`` `commands` is
/// empty``, `` `[complete]` gives no ending``).
fn named_key(reason: &str) -> Option<Vec<String>> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    let key = match reason.split_once(':') {
        Some((head, _)) if plain(head) => head.to_owned(),
        _ => {
            let quoted = reason.split('`').nth(1)?;
            let quoted = quoted.trim_start_matches('[');
            let end = quoted
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(quoted.len());
            quoted[..end].to_owned()
        }
    };
    plain(&key).then(|| key.split('.').map(str::to_owned).collect())
}

/// The line where `keys` is written (for a table, its header), if it is.
fn key_line(text: &str, table: &DeTable<'_>, keys: &[impl AsRef<str>]) -> Option<usize> {
    let (first, rest) = keys.split_first()?;
    let (k, v) = table.iter().find(|(k, _)| k.get_ref() == first.as_ref())?;
    if rest.is_empty() {
        return Some(line_of(text, k.span().start));
    }
    match v.get_ref() {
        DeValue::Table(t) => key_line(text, t, rest).or(Some(line_of(text, k.span().start))),
        _ => Some(line_of(text, k.span().start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<DriverProblem> {
        check_driver_text(text, "x", Path::new("x.toml"))
    }

    const GOOD: &str = "name = \"x\"\ndescription = \"x\"\nprompt = '>'\ncommands = [\"show\"]\n[complete]\nends_with = '^end$'\n";

    #[test]
    fn a_good_file_has_no_problem() {
        assert_eq!(check(GOOD), vec![]);
    }

    #[test]
    fn every_bad_regex_is_reported_on_its_own_line() {
        let text = "name = \"x\"\ndescription = \"x\"\nprompt = '>'\ncommands = [\"show\"]\nremove_lines = [\n  '^ok',\n  '^(unclosed',\n]\n[[secrets]]\npattern = '[z-a]'\nreplace = 'x'\n[complete]\nends_with = '^end$'\n";
        let p = check(text);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!(p[0].line, Some(7));
        assert!(
            p[0].message.starts_with("`remove_lines`: invalid regex"),
            "{}",
            p[0].message
        );
        assert_eq!(p[1].line, Some(10));
        assert!(
            p[1].message.starts_with("`secrets.pattern`"),
            "{}",
            p[1].message
        );
    }

    #[test]
    fn syntax_and_schema_errors_carry_the_line_toml_points_at() {
        let p = check("name = \"x\"\ndescription = \"x\"\nprompt = '>\ncommands = [\"show\"]\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(3), "{p:#?}");
        let p = check(&GOOD.replace("prompt", "promt"));
        assert_eq!(p[0].line, Some(3), "{p:#?}");
        assert!(p[0].message.contains("promt"), "{p:#?}");
        let p = check(&GOOD.replace("commands = [\"show\"]", "commands = 3"));
        assert_eq!(p[0].line, Some(4), "{p:#?}");
    }

    #[test]
    fn loader_refusals_land_on_the_key_they_name() {
        let p = check(&GOOD.replace("ends_with = '^end$'", "starts_with = '^!'"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(5), "{p:#?}");
        assert!(p[0].message.contains("[complete]"), "{p:#?}");
        let p = check(&GOOD.replace("commands = [\"show\"]", "commands = []"));
        assert_eq!(p[0].line, Some(4), "{p:#?}");
        let p = check(&GOOD.replace("prompt = '>'", "prompt = '>'\nauthor = 'by'"));
        assert_eq!(p[0].line, Some(4), "{p:#?}");
        assert!(p[0].message.contains("capture group"), "{p:#?}");
        // A file without any rule is wrong as a whole.
        let p = check(&GOOD[..GOOD.find("[complete]").unwrap()]);
        assert_eq!(p[0].line, None, "{p:#?}");
    }

    #[test]
    fn file_input_mistakes_land_on_the_key_they_name() {
        const FILES: &str = "name = \"x\"\ndescription = \"x\"\ninput = \"sftp\"\nfiles = [\"/conf/config.xml\"]\n[complete]\nends_with = '^</x>$'\n";
        assert_eq!(check(FILES), vec![]);
        // `commands` with a file input: on the `commands` line.
        let p = check(&FILES.replace("input", "commands = [\"show\"]\ninput"));
        assert_eq!(p[0].line, Some(3), "{p:#?}");
        assert!(p[0].message.contains("cannot be combined"), "{p:#?}");
        // A relative path, a `..`, an empty list: on the `files` line.
        for bad in ["\"conf/config.xml\"", "\"/conf/../etc/passwd\"", ""] {
            let p = check(&FILES.replace("\"/conf/config.xml\"", bad));
            assert_eq!(p[0].line, Some(4), "{bad}: {p:#?}");
            assert!(p[0].message.starts_with("`files`"), "{p:#?}");
        }
        // `files` with the CLI input, and an unknown input.
        let p = check(&GOOD.replace("commands", "files = [\"/a\"]\ncommands"));
        assert_eq!(p[0].line, Some(4), "{p:#?}");
        let p = check(&FILES.replace("\"sftp\"", "\"ftp\""));
        assert_eq!(p[0].line, Some(3), "{p:#?}");
        assert!(p[0].message.contains("`sftp`, `scp` or `https`"), "{p:#?}");
    }

    #[test]
    fn binary_mistakes_land_on_the_key_they_name() {
        const BIN: &str = "name = \"x\"\ndescription = \"x\"\ninput = \"sftp\"\nbinary = true\nfiles = [\"/a.ucs\"]\n[complete]\nreason = \"binary\"\nmin_bytes = 100\n";
        assert_eq!(check(BIN), vec![]);
        // `binary` with the CLI input: on the `binary` line.
        let p = check(&GOOD.replace("commands", "binary = true\ncommands"));
        assert_eq!(p[0].line, Some(4), "{p:#?}");
        assert!(p[0].message.contains("needs a file input"), "{p:#?}");
        // A text filter on a binary driver: on its own line.
        let p = check(&BIN.replace("files", "remove_lines = ['^x']\nfiles"));
        assert_eq!(p[0].line, Some(5), "{p:#?}");
        assert!(p[0].message.contains("reads text"), "{p:#?}");
        // A text rule of `[complete]`: on that rule's line.
        let p = check(&BIN.replace("min_bytes = 100", "ends_with = '^end$'"));
        assert_eq!(p[0].line, Some(8), "{p:#?}");
        assert!(p[0].message.starts_with("`complete.ends_with`"), "{p:#?}");
    }

    #[test]
    fn https_requests_are_checked_where_they_are_written() {
        let api = "name = \"x\"\ndescription = \"x\"\ninput = \"https\"\n\
                   [[requests]]\npath = \"/api/\"\nquery = { key = \"{key}\" }\n\
                   [complete]\nends_with = '^end$'\n";
        let p = check(api);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!(p[0].line, Some(4), "{p:#?}");
        assert!(p[0].message.contains("`{key}`"), "{p:#?}");
        let p = check(&api.replace(
            "query = { key = \"{key}\" }",
            "extract = { name = \"k\", regex = '(' }",
        ));
        assert_eq!(p[0].line, Some(6), "{p:#?}");
        assert!(p[0].message.contains("invalid regex"), "{p:#?}");
        // Without `input = "https"` it is a CLI driver, which sends no
        // requests.
        let p = check(&api.replace("input = \"https\"\n", ""));
        assert!(
            p[0].message.contains("belong to `input = \"https\"`"),
            "{p:#?}"
        );
        let p = check(&api.replace("\"https\"", "\"ftp\""));
        assert_eq!(p[0].line, Some(3), "{p:#?}");
    }

    #[test]
    fn the_file_name_must_be_the_driver_name() {
        let p = check_driver_text(GOOD, "y", Path::new("y.toml"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, Some(1));
        assert!(p[0].message.contains("`y.toml`"), "{p:#?}");
    }

    #[test]
    fn every_builtin_driver_passes_the_check() {
        for (name, text) in crate::driver::builtin_files() {
            assert_eq!(
                check_driver_text(text, name, Path::new(name)),
                vec![],
                "{name}"
            );
        }
    }
}
