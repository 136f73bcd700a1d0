//! DeviceVault's assembly: the processes built from the pipeline
//! ([`devicevault_pipeline`]) and the HTTP front ends
//! ([`devicevault_http`]).
//!
//! [`embedded`] runs every role and the API in one process on the
//! in-process bus; distributed mode runs each role in its own process over
//! RabbitMQ and Redis, assembled by the same functions.

pub mod assembly;
pub mod config;
pub mod embedded;
pub mod limits;
