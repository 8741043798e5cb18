//! An OS-level advisory lock on a timeline file (`flock`), held while a record is written and
//! fsynced, so two processes on one machine never interleave a record. Released on drop or death.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Exclusive for writers and repairs, shared for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// Holds the lock until dropped; the kernel also drops it when the process dies.
/// It owns a duplicate of the descriptor (same open file description, so the same lock), which
/// leaves the caller free to use its `File` mutably while locked.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Blocks until the lock is granted.
    pub fn acquire(file: &File, mode: LockMode) -> io::Result<Self> {
        let file = file.try_clone()?;
        let op = match mode {
            LockMode::Shared => libc::LOCK_SH,
            LockMode::Exclusive => libc::LOCK_EX,
        };
        loop {
            // SAFETY: the fd is owned by `file`, open until this guard drops.
            if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
                return Ok(FileLock { file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; unlocking an fd we locked cannot break memory safety.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}
