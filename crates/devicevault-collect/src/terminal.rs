//! Turning what a PTY shell prints into plain lines.
//!
//! Devices write for a terminal: ANSI colour and cursor sequences, `\r\n`
//! line ends, carriage returns and backspaces that erase a pager prompt. This
//! module replays those the way a terminal would, line by line, so that the
//! text we store is what an engineer would have seen on screen.

use std::sync::LazyLock;

use regex::bytes::Regex;

static ANSI: LazyLock<Regex> = LazyLock::new(|| {
    // CSI sequences, OSC sequences ended by BEL or ST, and two-byte escapes.
    Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[@-Z\\-_=>78]")
        .expect("static regex")
});

/// Removes ANSI escape sequences.
pub fn strip_ansi(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    ANSI.replace_all(raw, &b""[..])
}

/// Replays one line (without its `\n`) as a terminal would: `\r` returns to
/// column 0 and later characters overwrite, `\b` moves back one column. A line
/// that was overwritten loses its trailing blanks, which were the eraser of a
/// pager prompt; other lines are kept byte for byte.
pub fn render_line(line: &str) -> String {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if !line.contains(['\r', '\x08']) {
        return line
            .chars()
            .filter(|c| *c != '\x07' && *c != '\0')
            .collect();
    }
    let mut cells: Vec<char> = Vec::with_capacity(line.len());
    let mut col = 0usize;
    for c in line.chars() {
        match c {
            '\r' => col = 0,
            '\x08' => col = col.saturating_sub(1),
            '\x07' | '\0' => {}
            c => {
                if col < cells.len() {
                    cells[col] = c;
                } else {
                    cells.push(c);
                }
                col += 1;
            }
        }
    }
    let s: String = cells.into_iter().collect();
    s.trim_end_matches(' ').to_owned()
}

/// Cleans a whole block of output into `\n`-separated lines.
pub fn clean(raw: &[u8]) -> String {
    let no_ansi = strip_ansi(raw);
    let text = String::from_utf8_lossy(&no_ansi);
    let mut out = String::with_capacity(text.len());
    let mut first = true;
    for line in text.split('\n') {
        if !first {
            out.push('\n');
        }
        first = false;
        out.push_str(&render_line(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_colours_and_crlf_are_removed() {
        assert_eq!(clean(b"\x1b[1;32mR1\x1b[0m>\r\nline\r\n"), "R1>\nline\n");
    }

    #[test]
    fn a_pager_prompt_erased_with_cr_and_spaces_leaves_nothing() {
        assert_eq!(
            clean(b"a\r\n\r          \rhostname R1\r\n"),
            "a\nhostname R1\n"
        );
    }

    #[test]
    fn backspaces_erase_like_a_terminal() {
        assert_eq!(clean(b" --More-- \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08          \x08\x08\x08\x08\x08\x08\x08\x08\x08\x08x"), "x");
    }

    #[test]
    fn untouched_lines_keep_trailing_blanks() {
        assert_eq!(clean(b"banner  \r\n"), "banner  \n");
    }
}
