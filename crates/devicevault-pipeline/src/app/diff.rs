//! Comparing two configurations — the one engine behind the web UI's
//! compare page, the API's diffs and the notifications: a line diff
//! (patience, falling back to Myers between unique lines, from the
//! `similar` crate) as rows a front end renders, with the changed words of
//! each changed line pair marked, and a unified diff.
//!
//! Both steps are bounded so that a pathological pair of files cannot hold
//! a server thread: the line diff has a deadline after which `similar`
//! returns a correct but less minimal diff, and intra-line marks are only
//! computed for lines of reasonable length within a time budget (past it,
//! changed lines are still marked changed, just not word by word).

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffOp, capture_diff_slices_deadline, group_diff_ops};

/// How long the line diff may search for a minimal diff.
const LINE_DEADLINE: Duration = Duration::from_millis(150);
/// How long all the intra-line diffs of one comparison may take together.
const INLINE_BUDGET: Duration = Duration::from_millis(60);
/// Lines longer than this are marked whole.
const INLINE_MAX_LEN: usize = 2000;

/// The lines of a text, without their line ends (`\n` or `\r\n`).
pub fn lines(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.is_empty() || text.ends_with('\n') {
        v.pop();
    }
    v
}

/// Line counts of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Lines only in the new text.
    pub added: usize,
    /// Lines only in the old text.
    pub removed: usize,
    pub unchanged: usize,
}

/// One side of a changed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side<'a> {
    /// 1-based line number in its version.
    pub number: usize,
    pub text: &'a str,
    /// The changed byte ranges of `text`, word by word; `None` when the
    /// whole line counts as changed.
    pub marks: Option<Vec<Range<usize>>>,
}

/// A row of a side-by-side comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row<'a> {
    /// The same line in both versions.
    Same {
        old_number: usize,
        new_number: usize,
        text: &'a str,
    },
    /// A line removed (`new` is `None`), added (`old` is `None`) or
    /// replaced (both).
    Changed {
        old: Option<Side<'a>>,
        new: Option<Side<'a>>,
    },
    /// Unchanged lines left out (1-based first line numbers).
    Skipped {
        count: usize,
        old_from: usize,
        new_from: usize,
    },
}

/// The line diff of two texts.
#[derive(Debug)]
pub struct Diff<'a> {
    pub old: Vec<&'a str>,
    pub new: Vec<&'a str>,
    ops: Vec<DiffOp>,
}

impl<'a> Diff<'a> {
    /// The diff of two texts, its search bounded by the line deadline.
    pub fn new(old: &'a str, new: &'a str) -> Self {
        Self::within(old, new, Some(LINE_DEADLINE))
    }

    /// The diff of two texts, searching at most `deadline` for a minimal
    /// one (`None`: as long as it takes).
    pub fn within(old: &'a str, new: &'a str, deadline: Option<Duration>) -> Self {
        let old = lines(old);
        let new = lines(new);
        let ops = capture_diff_slices_deadline(
            Algorithm::Patience,
            &old,
            &new,
            deadline.map(|d| Instant::now() + d),
        );
        Self { old, new, ops }
    }

    pub fn is_identical(&self) -> bool {
        self.ops.iter().all(|op| matches!(op, DiffOp::Equal { .. }))
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats::default();
        for op in &self.ops {
            match *op {
                DiffOp::Equal { len, .. } => s.unchanged += len,
                DiffOp::Delete { old_len, .. } => s.removed += old_len,
                DiffOp::Insert { new_len, .. } => s.added += new_len,
                DiffOp::Replace {
                    old_len, new_len, ..
                } => {
                    s.removed += old_len;
                    s.added += new_len;
                }
            }
        }
        s
    }

    /// The rows of a side-by-side comparison: only the changes with
    /// `context` lines around them (the rest as [`Row::Skipped`]), or every
    /// line when `context` is `None`. Identical texts have no rows around
    /// their (no) changes.
    pub fn rows(&self, context: Option<usize>) -> Vec<Row<'a>> {
        self.rows_within(context, Some(INLINE_BUDGET))
    }

    /// [`Diff::rows`], with all intra-line marks computed within `budget`
    /// (`None`: as long as they take).
    pub fn rows_within(&self, context: Option<usize>, budget: Option<Duration>) -> Vec<Row<'a>> {
        let mut out = Vec::new();
        let mut budget = InlineBudget::new(budget);
        match context {
            None => {
                for op in &self.ops {
                    self.op_rows(op, &mut out, &mut budget);
                }
            }
            Some(n) => {
                let groups = group_diff_ops(self.ops.clone(), n);
                let mut old_pos = 0;
                let mut new_pos = 0;
                for group in &groups {
                    let Some(first) = group.first() else { continue };
                    let start = first.old_range().start;
                    if start > old_pos {
                        out.push(Row::Skipped {
                            count: start - old_pos,
                            old_from: old_pos + 1,
                            new_from: new_pos + 1,
                        });
                    }
                    for op in group {
                        self.op_rows(op, &mut out, &mut budget);
                    }
                    if let Some(last) = group.last() {
                        old_pos = last.old_range().end;
                        new_pos = last.new_range().end;
                    }
                }
                if self.old.len() > old_pos && !groups.is_empty() {
                    out.push(Row::Skipped {
                        count: self.old.len() - old_pos,
                        old_from: old_pos + 1,
                        new_from: new_pos + 1,
                    });
                }
            }
        }
        out
    }

    fn op_rows(&self, op: &DiffOp, out: &mut Vec<Row<'a>>, budget: &mut InlineBudget) {
        let side = |number: usize, text: &'a str, marks| Side {
            number: number + 1,
            text,
            marks,
        };
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for i in 0..len {
                    out.push(Row::Same {
                        old_number: old_index + i + 1,
                        new_number: new_index + i + 1,
                        text: self.new[new_index + i],
                    });
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for o in old_index..old_index + old_len {
                    out.push(Row::Changed {
                        old: Some(side(o, self.old[o], None)),
                        new: None,
                    });
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for n in new_index..new_index + new_len {
                    out.push(Row::Changed {
                        old: None,
                        new: Some(side(n, self.new[n], None)),
                    });
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for i in 0..old_len.max(new_len) {
                    let o = (i < old_len).then(|| old_index + i);
                    let n = (i < new_len).then(|| new_index + i);
                    let (om, nm) = match (o, n) {
                        (Some(o), Some(n)) => match budget.inline(self.old[o], self.new[n]) {
                            Some((a, b)) => (Some(a), Some(b)),
                            None => (None, None),
                        },
                        _ => (None, None),
                    };
                    out.push(Row::Changed {
                        old: o.map(|o| side(o, self.old[o], om)),
                        new: n.map(|n| side(n, self.new[n], nm)),
                    });
                }
            }
        }
    }
}

/// Words, runs of spaces and single punctuation characters: the units in
/// which intra-line changes are marked.
fn tokens(s: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in s.char_indices() {
        let k = class(c);
        if let Some(p) = prev
            && (p != k || k == Class::Other)
        {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(k);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// The changed byte ranges of the old and of the new version of a line.
pub type Marks = (Vec<Range<usize>>, Vec<Range<usize>>);

/// Time left for intra-line diffs.
struct InlineBudget {
    until: Option<Instant>,
}

impl InlineBudget {
    fn new(budget: Option<Duration>) -> Self {
        Self {
            until: budget.map(|b| Instant::now() + b),
        }
    }

    fn inline(&mut self, old: &str, new: &str) -> Option<Marks> {
        if self.until.is_some_and(|u| Instant::now() > u) {
            return None;
        }
        inline_changes(old, new)
    }
}

/// The byte ranges that differ between two versions of a line, word by
/// word; `None` when the lines have too little in common for marks to help
/// (or are too long to bother).
pub fn inline_changes(old: &str, new: &str) -> Option<Marks> {
    if old.len() > INLINE_MAX_LEN || new.len() > INLINE_MAX_LEN {
        return None;
    }
    let a = tokens(old);
    let b = tokens(new);
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &a, &b, None);
    let offsets = |toks: &[&str]| {
        let mut v = Vec::with_capacity(toks.len() + 1);
        let mut pos = 0;
        v.push(0);
        for t in toks {
            pos += t.len();
            v.push(pos);
        }
        v
    };
    let (oa, ob) = (offsets(&a), offsets(&b));
    let mut same = 0;
    let mut ra: Vec<Range<usize>> = Vec::new();
    let mut rb: Vec<Range<usize>> = Vec::new();
    let add = |v: &mut Vec<Range<usize>>, r: Range<usize>| {
        if r.is_empty() {
            return;
        }
        match v.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => v.push(r),
        }
    };
    for op in &ops {
        let (o, n) = (op.old_range(), op.new_range());
        match op {
            DiffOp::Equal { .. } => {
                same += a[o.clone()].iter().map(|t| t.trim().len()).sum::<usize>();
            }
            _ => {
                add(&mut ra, oa[o.start]..oa[o.end]);
                add(&mut rb, ob[n.start]..ob[n.end]);
            }
        }
    }
    let longest = old.trim().len().max(new.trim().len());
    // Marks on lines that share little are noise: mark them whole.
    if longest == 0 || same * 10 < longest * 4 {
        return None;
    }
    Some((ra, rb))
}

/// A unified diff (`diff -u` format) with `context` lines around changes.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str, context: usize) -> String {
    similar::TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(LINE_DEADLINE)
        .diff_lines(old, new)
        .unified_diff()
        .context_radius(context)
        .header(old_name, new_name)
        .to_string()
}

/// Two stored versions as a person may see them, ready to compare.
#[derive(Debug, Clone)]
pub struct Versions {
    pub old: String,
    pub new: String,
    /// Secrets were masked in either.
    pub masked: bool,
}

/// Why two stored versions cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("binary versions cannot be compared line by line; download them instead")]
    Binary,
    #[error(transparent)]
    Read(#[from] super::reading::ReadFailure),
}

/// Reads two stored versions (in parallel) as `user` may see them, secrets
/// masked by the same rules as downloads: what the web compare page, the
/// API's diffs and anything else comparing versions for a person read.
/// The caller has checked that `user` may see both devices.
pub async fn read_versions(
    app: &super::App,
    user: &devicevault_db::User,
    a: &devicevault_db::StoredBackup,
    b: &devicevault_db::StoredBackup,
) -> Result<Versions, CompareError> {
    if a.is_binary || b.is_binary {
        return Err(CompareError::Binary);
    }
    let (ra, rb) = tokio::join!(
        super::reading::read_for(app, user, a),
        super::reading::read_for(app, user, b)
    );
    let (ra, rb) = (ra?, rb?);
    let text = |bytes: Vec<u8>| -> String {
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    Ok(Versions {
        masked: ra.masked || rb.masked,
        old: text(ra.content),
        new: text(rb.content),
    })
}

/// A stretch of [`Row`]s between folded unchanged lines, with the line
/// ranges it covers (as in a unified diff's `@@ -old_start,old_lines
/// +new_start,new_lines @@`: a side without lines starts at the line
/// before, 0 at the start of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk<'a> {
    /// Unchanged lines folded away just before this hunk.
    pub skipped_before: usize,
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub rows: Vec<Row<'a>>,
}

/// The rows of a comparison (from [`Diff::rows`]) grouped into hunks,
/// and the unchanged lines folded after the last one.
pub fn hunks<'a>(rows: Vec<Row<'a>>) -> (Vec<Hunk<'a>>, usize) {
    let mut out: Vec<Hunk<'a>> = Vec::new();
    let (mut old_pos, mut new_pos) = (0, 0);
    let mut skipped = 0;
    let mut current: Option<Hunk<'a>> = None;
    for row in rows {
        if let Row::Skipped { count, .. } = row {
            out.extend(current.take());
            old_pos += count;
            new_pos += count;
            skipped = count;
            continue;
        }
        let h = current.get_or_insert_with(|| Hunk {
            skipped_before: std::mem::take(&mut skipped),
            old_start: old_pos,
            old_lines: 0,
            new_start: new_pos,
            new_lines: 0,
            rows: Vec::new(),
        });
        let (has_old, has_new) = match &row {
            Row::Same { .. } => (true, true),
            Row::Changed { old, new } => (old.is_some(), new.is_some()),
            Row::Skipped { .. } => (false, false),
        };
        if has_old {
            if h.old_lines == 0 {
                h.old_start = old_pos + 1;
            }
            h.old_lines += 1;
            old_pos += 1;
        }
        if has_new {
            if h.new_lines == 0 {
                h.new_start = new_pos + 1;
            }
            h.new_lines += 1;
            new_pos += 1;
        }
        h.rows.push(row);
    }
    out.extend(current);
    (out, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(rows: &[Row<'_>]) -> usize {
        rows.iter()
            .filter(|r| matches!(r, Row::Changed { .. }))
            .count()
    }

    #[test]
    fn a_changed_word_is_marked_inside_its_line() {
        let (a, b) = inline_changes(" description link-0 rev0", " description link-0 rev1")
            .expect("similar lines get marks");
        assert_eq!(&" description link-0 rev0"[a[0].clone()], "rev0");
        assert_eq!(&" description link-0 rev1"[b[0].clone()], "rev1");
        assert_eq!((a.len(), b.len()), (1, 1));
        let rows = Diff::new(
            "hostname r1\n description link-0 rev0\nend\n",
            "hostname r1\n description link-0 rev1\nend\n",
        )
        .rows(None);
        let Row::Changed {
            old: Some(o),
            new: Some(n),
        } = &rows[1]
        else {
            panic!("{rows:?}")
        };
        assert_eq!((o.number, n.number), (2, 2));
        assert_eq!(&o.text[o.marks.as_ref().unwrap()[0].clone()], "rev0");
    }

    #[test]
    fn an_inserted_word_marks_only_the_new_side() {
        let (a, b) =
            inline_changes("ip address 10.0.0.1", "ip address 10.0.0.1 secondary").unwrap();
        assert!(a.is_empty());
        assert_eq!(&"ip address 10.0.0.1 secondary"[b[0].clone()], " secondary");
    }

    #[test]
    fn lines_with_nothing_in_common_are_marked_whole() {
        assert_eq!(inline_changes("interface Gi0/1", "router bgp 65000"), None);
        let rows = Diff::new("a\ninterface Gi0/1\nz\n", "a\nrouter bgp 65000\nz\n").rows(None);
        assert!(matches!(&rows[1], Row::Changed { old: Some(o), .. } if o.marks.is_none()));
    }

    #[test]
    fn identical_files_have_no_changes() {
        let text = "hostname r1\ninterface Gi0/1\n shutdown\n";
        let d = Diff::new(text, text);
        assert!(d.is_identical());
        assert_eq!(
            d.stats(),
            Stats {
                added: 0,
                removed: 0,
                unchanged: 3
            }
        );
        assert!(
            d.rows(Some(3)).is_empty(),
            "nothing to show around no change"
        );
        assert_eq!(unified(text, text, "a", "b", 3), "");
    }

    #[test]
    fn an_empty_file_against_a_full_one_is_all_additions() {
        let d = Diff::new("", "a\nb\n");
        assert_eq!(d.stats().added, 2);
        assert_eq!(d.stats().removed, 0);
        assert!(!d.is_identical());
        let rows = d.rows(Some(3));
        assert_eq!(changed(&rows), 2);
        assert!(matches!(
            &rows[0],
            Row::Changed {
                old: None,
                new: Some(_)
            }
        ));
        assert!(Diff::new("", "").is_identical());
        assert_eq!(lines(""), Vec::<&str>::new());
        assert_eq!(lines("a\r\nb"), vec!["a", "b"]);
    }

    #[test]
    fn unchanged_stretches_are_folded_around_the_context() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 50\n", "line fifty\n");
        let rows = Diff::new(&old, &new).rows(Some(3));
        assert_eq!(
            rows.first(),
            Some(&Row::Skipped {
                count: 47,
                old_from: 1,
                new_from: 1
            })
        );
        assert_eq!(
            rows.last(),
            Some(&Row::Skipped {
                count: 46,
                old_from: 55,
                new_from: 55
            })
        );
        let same = rows
            .iter()
            .filter(|r| matches!(r, Row::Same { .. }))
            .count();
        assert_eq!(same, 6, "3 lines of context each side");
        let full = Diff::new(&old, &new).rows(None);
        assert_eq!(full.len(), 100);
        assert!(!full.iter().any(|r| matches!(r, Row::Skipped { .. })));
    }

    #[test]
    fn hunks_split_at_the_folds_and_number_their_lines_like_a_unified_diff() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 10\n", "line ten\n")
            .replace("line 80\n", "");
        let rows = Diff::new(&old, &new).rows(Some(3));
        let (hunks, after) = hunks(rows);
        assert_eq!(hunks.len(), 2);
        let h = &hunks[0];
        assert_eq!(h.skipped_before, 7);
        assert_eq!(
            (h.old_start, h.old_lines, h.new_start, h.new_lines),
            (8, 7, 8, 7)
        );
        let h = &hunks[1];
        assert_eq!(
            (h.old_start, h.old_lines, h.new_start, h.new_lines),
            (78, 7, 78, 6)
        );
        assert_eq!(after, 100 - 84);
        let unified = unified(&old, &new, "a", "b", 3);
        assert!(unified.contains("@@ -8,7 +8,7 @@"), "{unified}");
        assert!(unified.contains("@@ -78,7 +78,6 @@"), "{unified}");
        assert_eq!(super::hunks(Vec::new()), (Vec::new(), 0));
    }

    #[test]
    fn the_unified_diff_has_headers_and_hunks() {
        let u = unified("a\nb\nc\n", "a\nB\nc\n", "r1 old", "r1 new", 3);
        assert!(
            u.starts_with("--- r1 old\n+++ r1 new\n@@ -1,3 +1,3 @@\n"),
            "{u}"
        );
        assert!(u.contains("\n-b\n+B\n"), "{u}");
    }

    /// Two 20,000-line configurations with scattered edits diff exactly
    /// (their speed is `bench web`'s business, not a test's).
    #[test]
    fn twenty_thousand_lines_diff_exactly() {
        let old: String = (0..10_000)
            .map(|i| format!("interface Gi0/{i}\n description link-{i} rev0\n"))
            .collect();
        let new: String = old
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i % 500 == 1 {
                    format!("{}\n", l.replace("rev0", "rev1"))
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert_eq!(lines(&old).len(), 20_000);
        // Exactness, not speed: a loaded machine must not cut the search.
        let d = Diff::within(&old, &new, None);
        let rows = d.rows_within(Some(3), None);
        assert_eq!(d.stats().added, 40);
        let marked = rows
            .iter()
            .filter(|r| {
                matches!(r, Row::Changed { new: Some(n), .. }
                    if n.marks.as_ref().is_some_and(|m| &n.text[m[0].clone()] == "rev1"))
            })
            .count();
        assert_eq!(marked, 40);
    }

    /// Completely different files stop searching at the deadline and still
    /// give a diff that turns one into the other.
    #[test]
    fn unrelated_files_are_bounded_by_the_deadline() {
        let old: String = (0..20_000)
            .map(|i| format!("a {}\n", i * 7919 % 20_011))
            .collect();
        let new: String = (0..20_000)
            .map(|i| format!("b {}\n", i * 104_729 % 20_011))
            .collect();
        let started = Instant::now();
        let d = Diff::new(&old, &new);
        let _ = d.rows(Some(3));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(d.stats().removed, 20_000);
        assert_eq!(d.stats().added, 20_000);
    }
}
