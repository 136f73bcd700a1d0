//! The side-by-side comparison as HTML table rows, from the rows of the
//! application's diff engine ([`devicevault_pipeline::app::diff`]).
//!
//! These rows are the largest markup the UI makes (every line of two
//! 20,000-line configurations, measured by `devicevault bench web`). maud
//! renders them faster than the hand-escaping fast path it replaced, with
//! the same bytes: 3.2–4.8 ms against 4.7–8.6 ms for the 5.3 MB of rows of
//! a 20,000-line comparison with every line shown (release build, best and
//! worst of three runs of ten; maud writes the line numbers with itoa), so
//! there is no hand-written HTML here.

use std::ops::Range;

use devicevault_pipeline::app::diff::{Diff, Row, Side};
use maud::{Markup, html};

/// The side-by-side table rows (`<tr>`…): only the changes with `context`
/// lines around them, or every line when `context` is `None`. Hidden
/// unchanged stretches become one row saying how many lines.
pub fn render_rows(diff: &Diff<'_>, context: Option<usize>) -> Markup {
    rows_markup(&diff.rows(context))
}

/// The table rows of `rows` (the API's JSON hunks carry the same rows, so
/// a client can show what this page shows).
pub fn rows_markup(rows: &[Row<'_>]) -> Markup {
    window_markup(rows, 0..rows.len())
}

/// How many rows one page of "every line" shows. A 20,000-line comparison
/// is ten of them: the browser lays out a page at once, and the next one is
/// appended as the reader scrolls (or followed as a link without
/// JavaScript), instead of building every row before the first shows.
pub const ROWS_PER_PAGE: usize = 2_000;

/// The rows `window` of `rows`, their runs of changes numbered as in the
/// whole list, so `change-<n>` names the same run on every page.
pub fn window_markup(rows: &[Row<'_>], window: Range<usize>) -> Markup {
    // The first row of each run of changes is `change-<n>`, what "next
    // change" (the key `n`) and "previous change" (`p`) move between.
    let mut changes = 0usize;
    let mut in_change = false;
    for row in &rows[..window.start] {
        let changed = matches!(row, Row::Changed { .. });
        if changed && !in_change {
            changes += 1;
        }
        in_change = changed;
    }
    html! {
        @for row in &rows[window] {
            @match *row {
                Row::Same { old_number, new_number, text } => {
                    ({ in_change = false; "" })
                    tr {
                        td class="n" data-n=(old_number) {} td class="t" { (text) }
                        td class="n" data-n=(new_number) {} td class="t" { (text) }
                    }
                    "\n"
                }
                Row::Changed { ref old, ref new } => {
                    @let first = !std::mem::replace(&mut in_change, true);
                    @if first { ({ changes += 1; "" }) }
                    tr class="chg" id=[first.then(|| format!("change-{changes}"))] {
                        (side(old.as_ref(), "del")) (side(new.as_ref(), "ins"))
                    }
                    "\n"
                }
                Row::Skipped { count, old_from, new_from } => {
                    ({ in_change = false; "" })
                    tr class="skip" data-old-from=(old_from) data-new-from=(new_from) data-count=(count) {
                        td colspan="4" {
                            "⋯ " (count) " unchanged line" @if count != 1 { "s" }
                            " (old " (old_from) "–" (old_from + count - 1)
                            ", new " (new_from) "–" (new_from + count - 1) ") ⋯"
                            " " button type="button" class="expand small subtle js-only" { "Show these lines" }
                        }
                    }
                    "\n"
                }
            }
        }
    }
}

/// One side of a changed row (`del` old, `ins` new); either may be empty.
fn side(side: Option<&Side<'_>>, class: &str) -> Markup {
    html! {
        @match side {
            Some(s) => {
                td class={ "n " (class) } data-n=(s.number) {}
                td class={ "t " (class) } {
                    @match &s.marks {
                        Some(m) => (marked(s.text, m, class == "ins")),
                        None => (s.text),
                    }
                }
            }
            None => { td class="n none" {} td class="t none" {} }
        }
    }
}

/// `text` with the byte ranges `marks` wrapped in `<ins>` or `<del>`.
fn marked(text: &str, marks: &[Range<usize>], ins: bool) -> Markup {
    let parts: Vec<(&str, &str)> = marks
        .iter()
        .scan(0, |pos, r| {
            let part = (&text[*pos..r.start], &text[r.clone()]);
            *pos = r.end;
            Some(part)
        })
        .collect();
    let rest = &text[marks.last().map_or(0, |r| r.end)..];
    html! {
        @for (plain, changed) in parts {
            (plain) @if ins { ins { (changed) } } @else { del { (changed) } }
        }
        (rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(old: &str, new: &str, context: Option<usize>) -> String {
        render_rows(&Diff::new(old, new), context).into_string()
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
    fn each_run_of_changes_is_numbered_for_next_and_previous() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 50\n", "line fifty\nline fifty-one\n")
            .replace("line 80\n", "line eighty\n");
        for context in [Some(3), None] {
            let html = rows(&old, &new, context);
            assert!(html.contains(r#"<tr class="chg" id="change-1">"#), "{html}");
            assert!(html.contains(r#"<tr class="chg" id="change-2">"#), "{html}");
            assert!(!html.contains("change-3"), "{html}");
        }
    }

    #[test]
    fn an_added_line_has_an_empty_old_side_and_folds_are_counted() {
        let html = rows("", "a\nb\n", Some(3));
        // One run of two changed rows: the first is the run's anchor.
        assert_eq!(
            html.matches(r#"<tr class="chg" id="change-1">"#).count(),
            1,
            "{html}"
        );
        assert_eq!(html.matches(r#"<tr class="chg">"#).count(), 1, "{html}");
        assert!(html.contains(r#"<td class="n none"></td>"#));
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 50\n", "line fifty\n");
        let html = rows(&old, &new, Some(3));
        assert!(
            html.contains("⋯ 47 unchanged lines (old 1–47, new 1–47) ⋯"),
            "{html}"
        );
        assert!(
            html.contains(
                r#"<tr class="skip" data-old-from="1" data-new-from="1" data-count="47">"#
            ),
            "{html}"
        );
        assert!(
            html.contains("⋯ 46 unchanged lines (old 55–100, new 55–100) ⋯"),
            "{html}"
        );
    }

    #[test]
    fn a_page_of_rows_numbers_its_changes_as_the_whole_comparison_does() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 10\n", "line ten\n")
            .replace("line 50\n", "line fifty\nline fifty-one\n")
            .replace("line 80\n", "line eighty\n");
        let d = Diff::new(&old, &new);
        let rows = d.rows(None);
        // A page starting inside the second run (its second row) goes on
        // with that run unnumbered, then numbers the third.
        let second = rows
            .iter()
            .position(|r| matches!(r, Row::Changed { new: Some(s), .. } if s.text == "line fifty"))
            .unwrap();
        let html = window_markup(&rows, second + 1..rows.len()).into_string();
        assert!(
            !html.contains("change-1") && !html.contains("change-2"),
            "{html}"
        );
        assert!(html.contains(r#"<tr class="chg" id="change-3">"#), "{html}");
        let html = window_markup(&rows, 0..second + 1).into_string();
        assert!(
            html.contains(r#"id="change-2""#) && !html.contains("change-3"),
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
