//! The side-by-side comparison as HTML table rows, from the rows of the
//! application's diff engine ([`devicevault_pipeline::app::diff`]).

use std::fmt::Write as _;
use std::ops::Range;

use devicevault_pipeline::app::diff::{Diff, Row, Side};

use super::html::push_esc;

/// The side-by-side table rows (`<tr>`…): only the changes with `context`
/// lines around them, or every line when `context` is `None`. Hidden
/// unchanged stretches become one row saying how many lines.
pub fn render_rows(diff: &Diff<'_>, context: Option<usize>, out: &mut String) {
    for row in diff.rows(context) {
        match row {
            Row::Same {
                old_number,
                new_number,
                text,
            } => {
                let _ = write!(
                    out,
                    r#"<tr><td class="n" data-n="{old_number}"></td><td class="t">"#
                );
                push_esc(out, text);
                let _ = write!(
                    out,
                    r#"</td><td class="n" data-n="{new_number}"></td><td class="t">"#
                );
                push_esc(out, text);
                out.push_str("</td></tr>\n");
            }
            Row::Changed { old, new } => changed(out, old.as_ref(), new.as_ref()),
            Row::Skipped {
                count,
                old_from,
                new_from,
            } => {
                let _ = writeln!(
                    out,
                    r#"<tr class="skip"><td colspan="4">⋯ {count} unchanged line{} (old {}–{}, new {}–{}) ⋯</td></tr>"#,
                    if count == 1 { "" } else { "s" },
                    old_from,
                    old_from + count - 1,
                    new_from,
                    new_from + count - 1
                );
            }
        }
    }
}

/// A changed row: the old side deleted, the new side inserted, either may
/// be empty.
fn changed(out: &mut String, old: Option<&Side<'_>>, new: Option<&Side<'_>>) {
    out.push_str(r#"<tr class="chg">"#);
    for (side, class) in [(old, "del"), (new, "ins")] {
        match side {
            Some(s) => {
                let _ = write!(
                    out,
                    r#"<td class="n {class}" data-n="{}"></td><td class="t {class}">"#,
                    s.number
                );
                match &s.marks {
                    Some(m) => push_marked(out, s.text, m, class),
                    None => push_esc(out, s.text),
                }
                out.push_str("</td>");
            }
            None => out.push_str(r#"<td class="n none"></td><td class="t none"></td>"#),
        }
    }
    out.push_str("</tr>\n");
}

/// `text` escaped, with the byte ranges `marks` wrapped in `<tag>`.
fn push_marked(out: &mut String, text: &str, marks: &[Range<usize>], tag: &str) {
    let mut pos = 0;
    for r in marks {
        push_esc(out, &text[pos..r.start]);
        let _ = write!(out, "<{tag}>");
        push_esc(out, &text[r.clone()]);
        let _ = write!(out, "</{tag}>");
        pos = r.end;
    }
    push_esc(out, &text[pos..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(old: &str, new: &str, context: Option<usize>) -> String {
        let mut out = String::new();
        render_rows(&Diff::new(old, new), context, &mut out);
        out
    }

    #[test]
    fn changed_words_are_marked_inside_their_cells() {
        let html = rows(
            "hostname r1\n description link-0 rev0\nend\n",
            "hostname r1\n description link-0 rev1\nend\n",
            None,
        );
        assert!(
            html.contains(r#"<td class="t del"> description link-0 <del>rev0</del></td>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<td class="t ins"> description link-0 <ins>rev1</ins></td>"#),
            "{html}"
        );
    }

    #[test]
    fn an_added_line_has_an_empty_old_side_and_folds_are_counted() {
        let html = rows("", "a\nb\n", Some(3));
        assert_eq!(html.matches(r#"<tr class="chg">"#).count(), 2, "{html}");
        assert!(html.contains(r#"<td class="n none"></td>"#));
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 50\n", "line fifty\n");
        let html = rows(&old, &new, Some(3));
        assert!(
            html.contains("⋯ 47 unchanged lines (old 1–47, new 1–47) ⋯"),
            "{html}"
        );
        assert!(
            html.contains("⋯ 46 unchanged lines (old 55–100, new 55–100) ⋯"),
            "{html}"
        );
    }

    #[test]
    fn markup_in_configurations_is_escaped() {
        let html = rows("banner <b>\n", "banner <i>&\n", None);
        assert!(html.contains("&lt;"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<i>"), "{html}");
    }
}
