//! Turning what a PTY shell prints into plain lines.
//!
//! Devices write for a terminal: ANSI colour and cursor sequences, `\r\n`
//! line ends, carriage returns and backspaces that erase a pager prompt, and
//! on some platforms VT100 line breaks instead of `\n`. [`Screen`] replays
//! those the way a terminal would, byte by byte and line by line, so that the
//! text we store is what an engineer would have seen on screen.
//!
//! The replay is a state machine fed with each chunk as it arrives: every
//! byte is looked at once, so output without a single newline costs the same
//! as output with many (the shell path used to re-clean the unterminated last
//! line on every chunk, quadratic in its length).
//!
//! Line breaks, besides `\n`:
//! - `ESC E` (NEL, next line) ends the line. HP ProCurve / ArubaOS-Switch
//!   separate lines with it (netmiko `base_connection.py`
//!   `strip_ansi_escape_codes`: "HP does ESC-E"; oxidized `procurve.rb`
//!   replaces it with a newline).
//! - `ESC [ n L` (insert n lines) is n line breaks: "Aruba and ProCurve
//!   switches can use code_insert_line for <enter>" (netmiko, same function).
//! - A cursor move to column 1 of a row (`ESC [ r ; 1 H`, `ESC [ H`) ends
//!   the current line if it holds text: ProCurve redraws its prompt with
//!   `ESC[24;1H ESC[2K` (oxidized `procurve.rb` prompt regex). Such a move
//!   followed at once by an explicit break (`ESC[1L`, `ESC E`, `\n`) is one
//!   break, not two, the way netmiko and oxidized render ProCurve's
//!   `ESC[1M ESC[24;1H ESC[1L`.
//!
//! `ESC [ 2K` erases the current line, `ESC [ K` the rest of it from the
//! cursor; every other escape sequence (colours, scroll regions, cursor
//! visibility, other cursor moves) is dropped.

/// Where the escape-sequence parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Esc {
    /// Plain text.
    Ground,
    /// After `ESC`.
    Escape,
    /// After `ESC [`, collecting parameter and intermediate bytes.
    Csi,
    /// After `ESC ]`, until BEL or `ESC \`.
    Osc,
    /// After `ESC` inside an OSC: `\` ends it.
    OscEscape,
    /// After `ESC (` or `ESC )`: one charset byte follows.
    Charset,
}

/// The longest CSI parameter string kept; a longer one is garbage and its
/// excess is dropped (memory stays bounded whatever a device sends).
const MAX_CSI_PARAMS: usize = 32;

/// A virtual terminal line by line: feed it bytes, take finished lines.
#[derive(Debug)]
pub struct Screen {
    esc: Esc,
    params: Vec<u8>,
    /// The current line's cells (bytes; decoded when the line ends).
    cells: Vec<u8>,
    /// The cursor's column in `cells`.
    col: usize,
    /// A cell was overwritten (by `\r` or `\b` and later text): the line's
    /// trailing blanks were the eraser of a pager prompt and are dropped.
    overwritten: bool,
    /// The last thing that happened was a cursor move to column 1 that
    /// ended a line: an explicit break right after it is the same break.
    soft_broken: bool,
}

impl Default for Screen {
    fn default() -> Self {
        Screen::new()
    }
}

impl Screen {
    /// An empty screen, cursor at column 0.
    pub fn new() -> Screen {
        Screen {
            esc: Esc::Ground,
            params: Vec::new(),
            cells: Vec::new(),
            col: 0,
            overwritten: false,
            soft_broken: false,
        }
    }

    /// Replays `bytes`, appending every line they finish to `out`, each
    /// followed by `\n`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut String) {
        for &b in bytes {
            match self.esc {
                Esc::Ground => self.ground(b, out),
                Esc::Escape => {
                    self.esc = Esc::Ground;
                    match b {
                        b'[' => {
                            self.params.clear();
                            self.esc = Esc::Csi;
                        }
                        b']' => self.esc = Esc::Osc,
                        b'(' | b')' => self.esc = Esc::Charset,
                        // NEL: next line.
                        b'E' => self.hard_break(1, out),
                        // Any other two-byte sequence (save/restore cursor,
                        // keypad modes, index, ...) moves nothing we keep.
                        _ => {}
                    }
                }
                Esc::Csi => {
                    if (0x40..=0x7e).contains(&b) {
                        self.esc = Esc::Ground;
                        self.csi(b, out);
                    } else if self.params.len() < MAX_CSI_PARAMS {
                        self.params.push(b);
                    }
                }
                Esc::Osc => match b {
                    0x07 => self.esc = Esc::Ground,
                    0x1b => self.esc = Esc::OscEscape,
                    _ => {}
                },
                Esc::OscEscape => {
                    self.esc = if b == b'\\' { Esc::Ground } else { Esc::Osc };
                }
                Esc::Charset => self.esc = Esc::Ground,
            }
        }
    }

    fn ground(&mut self, b: u8, out: &mut String) {
        match b {
            0x1b => self.esc = Esc::Escape,
            b'\n' => self.hard_break(1, out),
            b'\r' => self.col = 0,
            0x08 => self.col = self.col.saturating_sub(1),
            0x00 | 0x07 => {}
            b => self.put(b),
        }
    }

    fn put(&mut self, b: u8) {
        self.soft_broken = false;
        if self.col < self.cells.len() {
            self.cells[self.col] = b;
            self.overwritten = true;
        } else {
            // Text after a cursor that moved past the end pads with blanks.
            self.cells.resize(self.col, b' ');
            self.cells.push(b);
        }
        self.col += 1;
    }

    /// The first two numeric parameters of the current CSI sequence
    /// (missing ones 0).
    fn numbers(&self) -> (usize, usize) {
        let mut n = self.params.split(|&c| c == b';').map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        });
        (n.next().unwrap_or(0), n.next().unwrap_or(0))
    }

    fn csi(&mut self, final_byte: u8, out: &mut String) {
        if self
            .params
            .first()
            .is_some_and(|c| matches!(c, b'?' | b'>' | b'='))
        {
            // Private modes (cursor visibility, bracketed paste, ...).
            return;
        }
        match final_byte {
            // Insert lines: each one is a line break on a transcript.
            b'L' => {
                let n = self.numbers().0.clamp(1, 1000);
                self.hard_break(n, out);
            }
            // Cursor position: row;column, both 1-based, missing = 1.
            b'H' | b'f' if self.numbers().1.max(1) == 1 => self.soft_break(out),
            b'K' => match self.numbers().0 {
                0 => self.cells.truncate(self.col),
                1 => {
                    let end = self.col.min(self.cells.len());
                    self.cells[..end].fill(b' ');
                }
                _ => self.cells.clear(),
            },
            // Colours, scroll regions, other cursor moves: nothing to keep.
            _ => {}
        }
    }

    /// A cursor move to column 1 of a row: ends a line that holds text.
    fn soft_break(&mut self, out: &mut String) {
        if !self.cells.is_empty() {
            self.finish(out);
            self.soft_broken = true;
        }
        self.col = 0;
    }

    /// `\n`, `ESC E`, `ESC [ n L`: `n` line breaks; the first one is the
    /// break a cursor move to column 1 just made, if it made one.
    fn hard_break(&mut self, n: usize, out: &mut String) {
        let mut n = n;
        if self.soft_broken && self.cells.is_empty() {
            n -= 1;
            self.soft_broken = false;
        }
        for _ in 0..n {
            self.finish(out);
        }
    }

    fn finish(&mut self, out: &mut String) {
        out.push_str(&self.render());
        out.push('\n');
        self.cells.clear();
        self.col = 0;
        self.overwritten = false;
        self.soft_broken = false;
    }

    fn render(&self) -> String {
        let text = String::from_utf8_lossy(&self.cells);
        if self.overwritten {
            text.trim_end_matches(' ').to_owned()
        } else {
            text.into_owned()
        }
    }

    /// Bytes in the current, unfinished line.
    pub fn current_len(&self) -> usize {
        self.cells.len()
    }

    /// The current, unfinished line as it shows now.
    pub fn current_line(&self) -> String {
        self.render()
    }

    /// Forgets the current line (a pager prompt or banner that was answered).
    pub fn clear_current(&mut self) {
        self.cells.clear();
        self.col = 0;
        self.overwritten = false;
    }

    /// Takes the current line and starts a new one.
    pub fn take_current(&mut self) -> String {
        let line = self.render();
        self.clear_current();
        line
    }
}

/// Replays one line (without its `\n`) as a terminal would: `\r` returns to
/// column 0 and later characters overwrite, `\b` moves back one column. A line
/// that was overwritten loses its trailing blanks, which were the eraser of a
/// pager prompt; other lines are kept byte for byte.
pub fn render_line(line: &str) -> String {
    let mut s = Screen::new();
    let mut out = String::new();
    s.feed(line.as_bytes(), &mut out);
    out.push_str(&s.current_line());
    out
}

/// Cleans a whole block of output into `\n`-separated lines.
pub fn clean(raw: &[u8]) -> String {
    let mut s = Screen::new();
    let mut out = String::with_capacity(raw.len());
    s.feed(raw, &mut out);
    out.push_str(&s.current_line());
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

    #[test]
    fn esc_e_is_a_line_break() {
        // ProCurve separates lines with NEL (netmiko: "HP does ESC-E").
        assert_eq!(
            clean(b"hostname \"SW1\"\x1bEvlan 1\x1bE   name \"DEFAULT_VLAN\"\x1bE"),
            "hostname \"SW1\"\nvlan 1\n   name \"DEFAULT_VLAN\"\n"
        );
    }

    #[test]
    fn insert_lines_are_as_many_line_breaks() {
        assert_eq!(clean(b"a\x1b[1Lb\x1b[3Lc"), "a\nb\n\n\nc");
        assert_eq!(clean(b"a\x1b[Lb"), "a\nb", "a missing count is 1");
    }

    #[test]
    fn a_cursor_move_to_column_one_of_another_row_ends_the_line() {
        assert_eq!(clean(b"exit\x1b[24;1Hswitch# "), "exit\nswitch# ");
        assert_eq!(clean(b"one\x1b[Htwo"), "one\ntwo");
        // Other columns are not a line break.
        assert_eq!(clean(b"abc\x1b[24;27Hdef"), "abcdef");
    }

    #[test]
    fn procurve_scroll_sequence_is_one_line_break() {
        // Delete line, cursor to column 1 of the last row, insert line:
        // one break, as netmiko and oxidized render it.
        assert_eq!(
            clean(b"vlan 1\x1b[1M\x1b[24;1H\x1b[1L   name x\x1b[1M\x1b[24;1H\x1b[1Lexit"),
            "vlan 1\n   name x\nexit"
        );
    }

    #[test]
    fn a_prompt_redrawn_with_erase_line_reads_as_the_prompt() {
        let raw = b"\x1b[1;24r\x1b[24;1H\x1b[2KSW1# \x1b[?25h";
        assert_eq!(clean(raw), "SW1# ");
        assert_eq!(clean(b"junk\r\x1b[2KSW1# "), "SW1# ");
        assert_eq!(clean(b"abcdef\rxy\x1b[K"), "xy");
    }

    #[test]
    fn a_sequence_split_across_chunks_is_still_one_sequence() {
        let raw = b"line one\x1b[24;1H\x1b[2Kline two\x1bE\x1b[1;32mthree\x1b[0m\r\n";
        let whole = clean(raw);
        for cut in 0..raw.len() {
            let mut s = Screen::new();
            let mut out = String::new();
            s.feed(&raw[..cut], &mut out);
            s.feed(&raw[cut..], &mut out);
            out.push_str(&s.current_line());
            assert_eq!(out, whole, "cut at {cut}");
        }
        assert_eq!(whole, "line one\nline two\nthree\n");
    }

    #[test]
    fn osc_titles_and_charset_selections_are_dropped() {
        assert_eq!(clean(b"\x1b]0;title\x07a\x1b]2;t\x1b\\b\x1b(Bc"), "abc");
    }
}
