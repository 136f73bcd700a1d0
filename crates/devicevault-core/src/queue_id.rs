//! The `rabbitmq_queue_id` of a collection group: the `<id>` of the
//! seed's queue `collector.group.<rabbitmq_queue_id>`.

use std::fmt;

/// Longest accepted queue id, in bytes.
pub const MAX_QUEUE_ID_BYTES: usize = 100;

/// Why a string is not a queue id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a queue id: 1–100 characters of A–Z, a–z, 0–9, '-', '_' and '.'")]
pub struct QueueIdError {
    pub value: String,
}

/// A queue id: 1–100 ASCII letters, digits, `-`, `_` and `.` — safe in
/// an AMQP queue name, a log line and a command line.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(String);

impl QueueId {
    pub fn parse(s: &str) -> Result<Self, QueueIdError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_QUEUE_ID_BYTES
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(QueueIdError {
                value: s.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The queue its collectors consume: `collector.group.<id>`.
    pub fn queue(&self) -> String {
        format!("collector.group.{}", self.0)
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueueId({:?})", self.0)
    }
}

impl std::str::FromStr for QueueId {
    type Err = QueueIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_are_short_plain_ascii_names() {
        assert_eq!(
            QueueId::parse("dmz-1.a_b").unwrap().queue(),
            "collector.group.dmz-1.a_b"
        );
        for bad in ["", "a b", "a/b", "ä", "a\n", &"x".repeat(101)] {
            assert!(QueueId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(QueueId::parse(&"x".repeat(100)).is_ok());
    }
}
