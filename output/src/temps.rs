//! Temporary files in flight, removed when the process is interrupted: a registry of live
//! temporary paths and, once the first is registered, a SIGINT/SIGTERM handler that removes
//! them and exits with 128 + the signal (130, 143), as a shell reports an interrupted command.
//! (SIGKILL cannot be caught: a killed run may leave a `.NAME.migsched-tmp` file beside its
//! output.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
static HANDLER: Once = Once::new();

fn live() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // A panic while holding the lock leaves the set itself intact.
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A temporary file removed when this guard drops (unless [`TempGuard::keep`] was called) and
/// when the process gets SIGINT or SIGTERM before that.
#[derive(Debug)]
pub struct TempGuard {
    path: PathBuf,
    armed: bool,
}

impl TempGuard {
    /// Registers `path` (which the caller is about to create) for removal on interrupt and drop.
    pub fn track(path: &Path) -> TempGuard {
        install_handler();
        live().insert(path.to_path_buf());
        TempGuard {
            path: path.to_path_buf(),
            armed: true,
        }
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file was renamed into place (or is otherwise taken care of): stop tracking it and
    /// do not remove it.
    pub fn keep(mut self) {
        self.armed = false;
        live().remove(&self.path);
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if self.armed {
            let mut set = live();
            let _ = std::fs::remove_file(&self.path);
            set.remove(&self.path);
        }
    }
}

/// The temporary files registered now (for tests and diagnostics).
pub fn live_temps() -> Vec<PathBuf> {
    live().iter().cloned().collect()
}

#[cfg(unix)]
fn install_handler() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    HANDLER.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            // Without a handler the default action (end the process) stays; temporary files
            // may then remain, as after SIGKILL.
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("migsched-out-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    // Hold the lock to the end: no new temporary file starts meanwhile.
                    let set = live();
                    for p in set.iter() {
                        let _ = std::fs::remove_file(p);
                    }
                    let name = if sig == SIGINT { "SIGINT" } else { "SIGTERM" };
                    eprintln!(
                        "migsched: interrupted by {name}; removed {} temporary file(s)",
                        set.len()
                    );
                    std::process::exit(128 + sig);
                }
            });
        if spawned.is_err() {
            eprintln!(
                "migsched: warning: no signal handler; an interrupt may leave temporary files"
            );
        }
    });
}

#[cfg(not(unix))]
fn install_handler() {
    HANDLER.call_once(|| {});
}
