//! What the API asks of the pipeline, as an object the HTTP layer can hold
//! without knowing which bus carries it.

use std::sync::Arc;

use base64::Engine as _;
use devicevault_core::StorageBackendKind;
use devicevault_core::bus::{BoxFuture, BusError, Task, TaskBus};
use devicevault_db::{DbError, Device};
use serde_json::{Map, Value};

use crate::Settings;
use crate::roles::dispatcher::{Accepted, DispatchError, Dispatcher};
use crate::roles::new_task_id;
use crate::roles::storage_worker::READ_TASK;

/// A `storage.read` request.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub storage_backend: StorageBackendKind,
    pub storage_config: Map<String, Value>,
    pub storage_ref: String,
    pub task_identifier: String,
    pub is_binary: bool,
}

/// Why a read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("malformed storage.read reply: {0}")]
    BadReply(String),
}

/// The pipeline operations the API needs.
pub trait Pipeline: Send + Sync + 'static {
    /// Accepts a "backup now" of `device`.
    fn backup_now<'a>(
        &'a self,
        device: &'a Device,
    ) -> BoxFuture<'a, Result<Accepted, DispatchError>>;

    /// Accepts a "backup now" of each of `devices`, their jobs created in
    /// one transaction; per device, in order, accepted or why not.
    fn backup_now_many<'a>(
        &'a self,
        devices: &'a [Device],
    ) -> BoxFuture<'a, Result<Vec<Result<Accepted, DispatchError>>, DbError>>;

    /// Reads a stored backup through the storage worker of its backend.
    fn read(&self, request: ReadRequest) -> BoxFuture<'_, Result<Vec<u8>, ReadError>>;
}

/// The pipeline over a task bus.
#[derive(Debug, Clone)]
pub struct BusPipeline<B> {
    pub dispatcher: Dispatcher<B>,
    pub bus: B,
    pub settings: Arc<Settings>,
}

impl<B: TaskBus> Pipeline for BusPipeline<B> {
    fn backup_now<'a>(
        &'a self,
        device: &'a Device,
    ) -> BoxFuture<'a, Result<Accepted, DispatchError>> {
        Box::pin(self.dispatcher.backup_now(device))
    }

    fn backup_now_many<'a>(
        &'a self,
        devices: &'a [Device],
    ) -> BoxFuture<'a, Result<Vec<Result<Accepted, DispatchError>>, DbError>> {
        Box::pin(self.dispatcher.backup_now_many(devices))
    }

    fn read(&self, r: ReadRequest) -> BoxFuture<'_, Result<Vec<u8>, ReadError>> {
        Box::pin(async move {
            let mut kwargs = Map::new();
            kwargs.insert("storage_backend".into(), r.storage_backend.as_str().into());
            kwargs.insert("storage_ref".into(), r.storage_ref.into());
            kwargs.insert("storage_config".into(), Value::Object(r.storage_config));
            kwargs.insert("task_identifier".into(), r.task_identifier.into());
            kwargs.insert("is_binary".into(), r.is_binary.into());
            let task = Task {
                id: new_task_id(),
                name: READ_TASK.into(),
                args: Vec::new(),
                kwargs,
                retries: 0,
            };
            let reply = self
                .bus
                .call(r.storage_backend.queue(), task, self.settings.read_timeout)
                .await?;
            decode_read_reply(&reply)
        })
    }
}

/// The content of a `storage.read` result object.
pub fn decode_read_reply(reply: &Value) -> Result<Vec<u8>, ReadError> {
    let content = reply
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| ReadError::BadReply("no \"content\" string".into()))?;
    if reply.get("is_binary").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| ReadError::BadReply(format!("content is not base64: {e}")))
    } else {
        Ok(content.as_bytes().to_vec())
    }
}
