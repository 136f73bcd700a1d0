//! Implementations of [`devicevault_core::bus`]'s traits.
//!
//! [`local`] is the in-process bus of embedded mode: queues and streams in
//! memory, with the same delivery semantics as the networked ones (explicit
//! settle, redelivery of what a dropped consumer left unsettled, consumer
//! groups with pending entries and reclaim). It keeps nothing across a
//! restart on purpose: the database's job rows are the durable record, and a
//! job whose messages vanished is re-dispatched when its deadline passes.

pub mod amqp;
pub mod local;
pub mod redis;

pub use amqp::{AmqpBus, AmqpConsumer};
pub use local::{LocalBus, LocalLog};
pub use redis::{RedisLog, RedisLogOptions, Trimmed};
