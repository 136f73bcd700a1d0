//! The open-files limit of a process that holds thousands of sockets:
//! `serve`, the roles, the simulator and the benchmarks.

use rustix::process::{Resource, getrlimit, setrlimit};

/// Why the open-files limit could not be made large enough. Neither is
/// helped by a retry: the limit has to be raised outside the process.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("raise the open-files limit (RLIMIT_NOFILE): {0}")]
    Raise(#[source] std::io::Error),
    #[error(
        "this needs about {needed} open files but the hard limit is {hard}; \
         raise it (`ulimit -Hn {needed}` as root, or LimitNOFILE= in the service unit)"
    )]
    TooLow { needed: u64, hard: u64 },
}

/// Raises the soft limit of open files to the hard limit, and fails with
/// the fix if even that is below `needed`. Returns the new soft limit.
pub fn raise_nofile_limit(needed: u64) -> Result<u64, LimitError> {
    let mut lim = getrlimit(Resource::Nofile);
    let hard = lim.maximum;
    if lim.current != hard {
        lim.current = hard;
        setrlimit(Resource::Nofile, lim).map_err(|e| LimitError::Raise(e.into()))?;
    }
    let soft = hard.unwrap_or(u64::MAX);
    if soft < needed {
        return Err(LimitError::TooLow { needed, hard: soft });
    }
    Ok(soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        let soft = raise_nofile_limit(16).unwrap();
        assert_eq!(
            Some(soft),
            getrlimit(Resource::Nofile).current.or(Some(u64::MAX))
        );
        if let Some(hard) = getrlimit(Resource::Nofile).maximum {
            let err = raise_nofile_limit(hard + 1).unwrap_err().to_string();
            assert!(err.contains("ulimit -Hn"), "{err}");
        }
    }
}
