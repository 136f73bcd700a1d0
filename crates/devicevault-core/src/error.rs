//! Whether a retry can help: the one question every consumer loop asks of an
//! error before it decides to ack, retry later or dead-letter.

/// The retry class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retry {
    /// Trying again later may succeed (timeout, connection reset, lock held).
    Transient,
    /// Trying again cannot succeed without a change of input or configuration.
    Permanent,
}

/// Implemented by every error type of the library crates.
pub trait RetryClass {
    /// Whether a retry of the failed operation can help.
    fn retry(&self) -> Retry;

    /// Shorthand for `self.retry() == Retry::Transient`.
    fn is_transient(&self) -> bool {
        self.retry() == Retry::Transient
    }
}
