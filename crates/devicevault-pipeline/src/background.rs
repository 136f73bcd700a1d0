//! CPU work nobody is waiting on — a notification's masked diff — runs on
//! threads at the lowest scheduling priority (nice 19), so that on a busy
//! machine the pipeline and the people using the API get the cores first
//! and such work takes what is left. On an idle machine it runs as fast
//! as anywhere else.

use std::sync::{Arc, Mutex, mpsc};

type Job = Box<dyn FnOnce() + Send>;

/// The niced threads; they end when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct BackgroundCpu {
    jobs: mpsc::Sender<Job>,
}

/// The background threads are gone (none could be started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no background thread is running")]
pub struct BackgroundStopped;

/// The lowest priority a thread can ask for.
const NICE: i32 = 19;

impl BackgroundCpu {
    /// Starts `threads` threads named `<name>-<i>`.
    pub fn start(name: &str, threads: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    // Linux keeps a nice value per thread: this one only.
                    if let Err(e) = rustix::process::setpriority_process(None, NICE) {
                        tracing::warn!(error = %e, "a background thread could not lower its priority");
                    }
                    loop {
                        let next = queue
                            .lock()
                            .map_err(|_| ())
                            .and_then(|q| q.recv().map_err(|_| ()));
                        let Ok(job) = next else {
                            return;
                        };
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a background thread");
            }
        }
        Self { jobs }
    }

    /// Runs `work` on a background thread and waits for its answer.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, BackgroundStopped> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = reply.send(work());
            }))
            .map_err(|_| BackgroundStopped)?;
        answer.await.map_err(|_| BackgroundStopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_niced_thread_and_answers() {
        let caller = rustix::process::getpriority_process(None).ok();
        let cpu = BackgroundCpu::start("test-background", 1);
        let (name, nice) = cpu
            .run(|| {
                (
                    std::thread::current().name().map(str::to_owned),
                    rustix::process::getpriority_process(None).ok(),
                )
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-background-0"));
        assert_eq!(nice, Some(NICE));
        // The caller's thread keeps its priority.
        assert_eq!(rustix::process::getpriority_process(None).ok(), caller);
    }
}
