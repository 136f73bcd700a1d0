//! One device's configuration as the engine searches it: the full content
//! and, prepared once, the view of a reader who may not see secrets.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use devicevault_core::Timestamp;
use serde::Serialize;

/// A device as the caller lists it, after applying the user's scope and
/// the query's filters. Its name orders the results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DeviceRef {
    pub id: i64,
    pub name: String,
}

impl DeviceRef {
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
        }
    }
}

/// Whose eyes a search is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A user with `view_secrets`: the configuration as stored.
    Everything,
    /// A user without it: the configuration with secrets masked. Matching
    /// runs on the masked text, so a secret cannot be found by searching
    /// for it; a configuration that could not be masked is not searched.
    Masked,
}

/// A stored configuration ready to be searched: its content, the stored
/// backup it comes from, and its reader view (secrets masked), computed
/// once when the document is built rather than on every search.
///
/// `Debug` shows the identifiers and sizes, never the content.
///
/// The content and the reader view are shared: a version stored unchanged
/// is [`Document::relabeled`] without a copy (at 10,000 devices, copies
/// made that way were 82 MB of the API's 201 MB peak heap).
pub struct Document {
    stored_backup_id: i64,
    stored_at: Timestamp,
    content: Arc<[u8]>,
    reader: Arc<ReaderView>,
}

/// What a reader without `view_secrets` sees.
#[derive(Clone)]
enum ReaderView {
    /// Masking changed nothing.
    Same,
    /// Masking kept every line where it was and changed these (0-based
    /// line indexes, ascending, and the masked lines without their `\n`).
    /// Secrets are a few lines of a configuration, so this costs little
    /// memory and lets a search read the full content once, skipping the
    /// listed lines and matching their masked form instead.
    Lines {
        index: Box<[u32]>,
        lines: Box<[Box<[u8]>]>,
    },
    /// Masking changed the number of lines: the whole masked text.
    Whole(Box<[u8]>),
    /// The content could not be masked (not UTF-8, or no masking rules
    /// are known for the device), so readers do not search it.
    Unavailable,
    /// The content is a binary configuration (a UCS archive, a tarball):
    /// nobody searches it, not even with `view_secrets`, since a match in
    /// compressed or packed bytes means nothing.
    Binary,
}

/// A document's content as one audience sees it, borrowed.
pub(crate) enum View<'a> {
    Plain(&'a [u8]),
    /// `content` where the lines at `index` read as `lines`.
    Overlay {
        content: &'a [u8],
        index: &'a [u32],
        lines: &'a [Box<[u8]>],
    },
}

impl Document {
    /// A document whose reader view is `mask(content)`, the text with the
    /// device's secret rules applied (`Cow::Borrowed` when nothing
    /// changed). Content that is not UTF-8 cannot be masked, so readers do
    /// not search it, as they may not read it.
    pub fn new(
        stored_backup_id: i64,
        stored_at: Timestamp,
        content: Vec<u8>,
        mask: impl FnOnce(&str) -> Cow<'_, str>,
    ) -> Self {
        let reader = match std::str::from_utf8(&content) {
            Ok(text) => match mask(text) {
                Cow::Borrowed(_) => ReaderView::Same,
                Cow::Owned(masked) => ReaderView::diff(&content, masked.into_bytes()),
            },
            Err(_) => ReaderView::Unavailable,
        };
        Self {
            stored_backup_id,
            stored_at,
            content: Arc::from(content),
            reader: Arc::new(reader),
        }
    }

    /// A document that readers without `view_secrets` do not search: its
    /// secrets cannot be masked (e.g. the device's driver is gone).
    pub fn unmaskable(stored_backup_id: i64, stored_at: Timestamp, content: Vec<u8>) -> Self {
        Self {
            stored_backup_id,
            stored_at,
            content: Arc::from(content),
            reader: Arc::new(ReaderView::Unavailable),
        }
    }

    /// A binary configuration: kept (a compliance rule reads it and says
    /// it is binary) but never searched, whoever asks.
    pub fn binary(stored_backup_id: i64, stored_at: Timestamp, content: Vec<u8>) -> Self {
        Self {
            stored_backup_id,
            stored_at,
            content: Arc::from(content),
            reader: Arc::new(ReaderView::Binary),
        }
    }

    pub fn stored_backup_id(&self) -> i64 {
        self.stored_backup_id
    }

    /// The same content and reader view as another stored backup's: a
    /// version stored unchanged (same SHA-256) is not read or masked again.
    pub fn relabeled(&self, stored_backup_id: i64, stored_at: Timestamp) -> Self {
        Self {
            stored_backup_id,
            stored_at,
            content: Arc::clone(&self.content),
            reader: Arc::clone(&self.reader),
        }
    }

    pub fn stored_at(&self) -> Timestamp {
        self.stored_at
    }

    /// The content as stored.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// The content as `audience` may see it, or `None` when a reader may
    /// not see it at all.
    pub fn text_for(&self, audience: Audience) -> Option<Cow<'_, [u8]>> {
        Some(match self.view(audience)? {
            View::Plain(b) => Cow::Borrowed(b),
            View::Overlay {
                content,
                index,
                lines,
            } => {
                let mut out = Vec::with_capacity(content.len());
                let mut next = 0;
                for (i, line) in content.split(|&b| b == b'\n').enumerate() {
                    if i > 0 {
                        out.push(b'\n');
                    }
                    if index.get(next).is_some_and(|&n| n as usize == i) {
                        out.extend_from_slice(&lines[next]);
                        next += 1;
                    } else {
                        out.extend_from_slice(line);
                    }
                }
                Cow::Owned(out)
            }
        })
    }

    /// Approximately the heap and inline bytes this document holds.
    pub fn memory_bytes(&self) -> usize {
        let reader = match &*self.reader {
            ReaderView::Same | ReaderView::Unavailable | ReaderView::Binary => 0,
            ReaderView::Lines { index, lines } => {
                index.len() * size_of::<u32>()
                    + lines
                        .iter()
                        .map(|l| l.len() + size_of::<Box<[u8]>>())
                        .sum::<usize>()
            }
            ReaderView::Whole(b) => b.len(),
        };
        size_of::<Self>() + self.content.len() + reader
    }

    pub(crate) fn view(&self, audience: Audience) -> Option<View<'_>> {
        Some(match (audience, &*self.reader) {
            (_, ReaderView::Binary) => return None,
            (Audience::Everything, _) | (Audience::Masked, ReaderView::Same) => {
                View::Plain(&self.content)
            }
            (Audience::Masked, ReaderView::Lines { index, lines }) => View::Overlay {
                content: &self.content,
                index,
                lines,
            },
            (Audience::Masked, ReaderView::Whole(b)) => View::Plain(b),
            (Audience::Masked, ReaderView::Unavailable) => return None,
        })
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reader = match &*self.reader {
            ReaderView::Same => "same",
            ReaderView::Lines { .. } => "masked lines",
            ReaderView::Whole(_) => "masked whole",
            ReaderView::Unavailable => "unavailable",
            ReaderView::Binary => "binary",
        };
        f.debug_struct("Document")
            .field("stored_backup_id", &self.stored_backup_id)
            .field("stored_at", &self.stored_at)
            .field("content_bytes", &self.content.len())
            .field("reader_view", &reader)
            .finish()
    }
}

impl ReaderView {
    fn diff(content: &[u8], masked: Vec<u8>) -> Self {
        if masked == content {
            return Self::Same;
        }
        let mut index = Vec::new();
        let mut lines = Vec::new();
        let mut full = content.split(|&b| b == b'\n');
        let mut reader = masked.split(|&b| b == b'\n');
        for i in 0u32.. {
            match (full.next(), reader.next()) {
                (Some(a), Some(b)) => {
                    if a != b {
                        index.push(i);
                        lines.push(Box::from(b));
                    }
                }
                (None, None) => break,
                _ => return Self::Whole(masked.into_boxed_slice()),
            }
        }
        Self::Lines {
            index: index.into_boxed_slice(),
            lines: lines.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2026-01-12T12:34:56.789Z").unwrap()
    }

    fn mask_secret(text: &str) -> Cow<'_, str> {
        if text.contains("S3cr3t") {
            Cow::Owned(text.replace("S3cr3t", "<removed>"))
        } else {
            Cow::Borrowed(text)
        }
    }

    #[test]
    fn the_reader_view_is_the_masked_text_byte_for_byte() {
        let text = "hostname r1\r\nsnmp-server community S3cr3t RO\r\nntp server 10.0.0.1\r\n";
        let doc = Document::new(1, at(), text.into(), mask_secret);
        assert!(matches!(*doc.reader, ReaderView::Lines { .. }), "{doc:?}");
        assert_eq!(
            doc.text_for(Audience::Masked).unwrap().as_ref(),
            mask_secret(text).as_bytes()
        );
        assert_eq!(
            doc.text_for(Audience::Everything).unwrap().as_ref(),
            text.as_bytes()
        );
    }

    #[test]
    fn masking_that_changes_the_line_count_keeps_the_whole_masked_text() {
        let doc = Document::new(1, at(), b"a\nkey S3cr3t\nb".to_vec(), |t| {
            Cow::Owned(t.replace("key S3cr3t\n", ""))
        });
        assert!(matches!(*doc.reader, ReaderView::Whole(_)));
        assert_eq!(doc.text_for(Audience::Masked).unwrap().as_ref(), b"a\nb");
    }

    #[test]
    fn content_that_is_not_utf8_is_hidden_from_readers() {
        let doc = Document::new(1, at(), vec![0xff, b'\n'], |t| Cow::Borrowed(t));
        assert!(doc.text_for(Audience::Masked).is_none());
        assert!(doc.text_for(Audience::Everything).is_some());
        let doc = Document::unmaskable(1, at(), b"x".to_vec());
        assert!(doc.text_for(Audience::Masked).is_none());
    }

    #[test]
    fn binary_content_is_searched_by_nobody_but_kept() {
        let doc = Document::binary(1, at(), b"\x1f\x8bhostname r1".to_vec());
        assert!(doc.text_for(Audience::Everything).is_none());
        assert!(doc.text_for(Audience::Masked).is_none());
        assert_eq!(doc.content(), b"\x1f\x8bhostname r1");
        assert!(
            doc.relabeled(2, at())
                .text_for(Audience::Everything)
                .is_none()
        );
    }

    /// A relabeled document is the same bytes under another stored
    /// backup's id, not a copy of them.
    #[test]
    fn a_relabeled_document_shares_its_content_and_reader_view() {
        let doc = Document::new(
            1,
            at(),
            b"enable secret S3cr3t\nhostname r1\n".to_vec(),
            mask_secret,
        );
        let again = doc.relabeled(2, at());
        assert_eq!(again.stored_backup_id(), 2);
        assert!(Arc::ptr_eq(&doc.content, &again.content));
        assert!(Arc::ptr_eq(&doc.reader, &again.reader));
        assert_eq!(
            again.text_for(Audience::Masked),
            doc.text_for(Audience::Masked)
        );
    }

    #[test]
    fn debug_never_shows_the_content() {
        let doc = Document::new(7, at(), b"enable secret S3cr3t".to_vec(), mask_secret);
        let shown = format!("{doc:?}");
        assert!(!shown.contains("S3cr3t") && shown.contains('7'), "{shown}");
    }
}
