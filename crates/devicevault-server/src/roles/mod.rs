//! The pipeline's roles. Each `run_*` function runs until its shutdown
//! token is cancelled and can be the whole of a process.

pub mod collector;
pub mod device_results;
pub mod dispatcher;
pub mod storage_results;
pub mod storage_worker;
mod stream;

use devicevault_core::Retry;

pub use stream::{GROUP, StreamConsumer, consume_stream};

/// A random UUID (version 4), the form Celery uses for task ids.
pub fn new_task_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Why handling one message failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct HandleError {
    pub retry: Retry,
    pub reason: String,
}

impl HandleError {
    pub fn transient(reason: impl std::fmt::Display) -> Self {
        Self {
            retry: Retry::Transient,
            reason: reason.to_string(),
        }
    }

    pub fn permanent(reason: impl std::fmt::Display) -> Self {
        Self {
            retry: Retry::Permanent,
            reason: reason.to_string(),
        }
    }

    /// Classifies any error that knows whether a retry helps.
    pub fn from_class<E: devicevault_core::RetryClass + std::fmt::Display>(e: E) -> Self {
        Self {
            retry: e.retry(),
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn task_ids_are_uuid_v4() {
        let id = super::new_task_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, super::new_task_id());
    }
}
