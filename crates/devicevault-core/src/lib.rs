//! DeviceVault's domain types and wire contract.
//!
//! Everything that crosses a process boundary is defined here: the
//! `storage.store` task payload, the records of the `device:results` and
//! `storage:results` streams, and the `storage_ref` handed back by a storage
//! backend. The names are fixed by the user's specification
//! (`STORAGE_PIPELINE.md`) and never change; extra optional fields may be
//! added, none may be renamed.
//!
//! Inputs are parsed at the boundary into newtypes ([`RelPath`],
//! [`BranchName`], [`CommitId`], [`StorageRef`]) that cannot hold an unsafe
//! value, so code further in never re-validates and can never be handed a
//! path that escapes a store.
//!
//! Device secrets travel sealed ([`SealingKey`], XChaCha20-Poly1305): the
//! database, the bus and the streams only ever see ciphertext.
//!
//! This crate performs no I/O beyond reading the clock and the system's random
//! source: it depends on serde, time and the AEAD crate only, so every
//! adapter (storage, collection, bus, database) can depend on it without
//! pulling the others in.

pub mod bus;
mod error;
pub mod layout;
mod name;
mod names;
mod queue_id;
mod relpath;
mod role;
mod sealed;
mod storage_ref;
mod time_fmt;
mod wire;

pub use error::{Retry, RetryClass};
pub use layout::{StorageLayout, UnknownLayout, shard_of};
pub use name::{MAX_NAME_CHARS, Name, NameError};
pub use names::{BranchName, BranchNameError, CommitId, CommitIdError};
pub use queue_id::{MAX_QUEUE_ID_BYTES, QueueId, QueueIdError};
pub use relpath::{MAX_REL_PATH_BYTES, MAX_SEGMENT_BYTES, RelPath, RelPathError};
pub use role::{Role, UnknownRole};
pub use sealed::{SealError, SealingKey};
pub use storage_ref::{StorageRef, StorageRefError};
pub use time_fmt::{Timestamp, TimestampError};
pub use wire::{
    DeviceResult, LogEntry, Operation, Severity, Status, StorageBackendKind, StorageResult,
    StoreTask, UnknownBackend, WireError, is_author_name, is_change_key,
};
