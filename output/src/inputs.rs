//! Input files: read with a size limit, naming the file, and recorded so that no output of
//! the same command writes over one of them.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result, bail};

use crate::safe::display_path;

/// The largest input file read by default: 256 MiB (far above any bundled input; a larger
/// file is more likely a mistake, such as `/dev/zero`, than an instance or a table).
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 256 << 20;

/// The environment variable that overrides [`DEFAULT_MAX_INPUT_BYTES`] (a whole number of
/// bytes, at least 1).
pub const MAX_INPUT_BYTES_ENV: &str = "MIGSCHED_MAX_INPUT_BYTES";

/// The input size limit in effect: [`MAX_INPUT_BYTES_ENV`] when set, else the default.
pub fn max_input_bytes() -> Result<u64> {
    limit_from(std::env::var(MAX_INPUT_BYTES_ENV))
}

fn limit_from(value: Result<String, std::env::VarError>) -> Result<u64> {
    match value {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_INPUT_BYTES),
        Err(std::env::VarError::NotUnicode(v)) => {
            bail!("{MAX_INPUT_BYTES_ENV}={v:?} is not a whole number of bytes")
        }
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => bail!(
                "{MAX_INPUT_BYTES_ENV}='{}' is not a whole number of bytes from 1 to {}",
                crate::display_safe(&v),
                u64::MAX
            ),
        },
    }
}

/// One input this process read: its canonical path and, on unix, its (device, inode).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Input {
    canonical: Option<PathBuf>,
    id: Option<(u64, u64)>,
}

static INPUTS: Mutex<Vec<Input>> = Mutex::new(Vec::new());

/// Files this process wrote (device, inode): reading one back is not reading an input.
static WRITTEN: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// Whether writes refuse recorded inputs ([`protect_inputs`]).
static PROTECT: AtomicBool = AtomicBool::new(false);

fn inputs() -> MutexGuard<'static, Vec<Input>> {
    INPUTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// From now on, every write of this process ([`crate::write_atomic`], [`crate::Outputs`],
/// [`crate::StreamWriter`]) refuses a file this process read as input ("refusing to write
/// over the input 'X'"). A binary calls it once at the start of `main`; a command that
/// updates a file in place on purpose (`--append`) calls [`allow_update`] for it. Inputs are
/// recorded whether or not protection is on.
pub fn protect_inputs() {
    PROTECT.store(true, Ordering::SeqCst);
}

/// Lets this command rewrite `path` although it read it (an in-place update such as
/// `profile import --append`): forgets it as an input.
pub fn allow_update(path: &Path) {
    let id = std::fs::metadata(path).ok().as_ref().and_then(file_id);
    let canonical = std::fs::canonicalize(path).ok();
    inputs().retain(|i| {
        !((id.is_some() && i.id == id) || (canonical.is_some() && i.canonical == canonical))
    });
}

/// Records a file this process has just written, so that reading it back (a report rendered
/// from the results a command wrote) does not make it an input.
pub(crate) fn record_written(path: &Path) {
    if let Some(id) = std::fs::metadata(path).ok().as_ref().and_then(file_id) {
        let mut w = WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
        if !w.contains(&id) {
            w.push(id);
        }
    }
}

#[cfg(unix)]
pub(crate) fn file_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub(crate) fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// Records `path` as an input of this command (as [`read_text`] does for what it reads), so
/// that [`crate::write_atomic`], [`crate::Outputs`] and [`crate::StreamWriter`] refuse to
/// write over it (once [`protect_inputs`] is on). For inputs read some other way (a Parquet reader, a directory walk).
pub fn register_input(path: &Path) {
    let meta = std::fs::metadata(path).ok();
    record(path, meta.as_ref());
}

fn record(path: &Path, meta: Option<&std::fs::Metadata>) {
    let input = Input {
        canonical: std::fs::canonicalize(path).ok(),
        id: meta.and_then(file_id),
    };
    if let Some(id) = input.id {
        let written = WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
        if written.contains(&id) {
            return;
        }
    }
    let mut list = inputs();
    if !list.contains(&input) {
        list.push(input);
    }
}

/// Whether the existing file with metadata `meta` at `path` is one this command read.
/// Always false until [`protect_inputs`].
pub(crate) fn is_input(path: &Path, meta: &std::fs::Metadata) -> bool {
    if !PROTECT.load(Ordering::SeqCst) {
        return false;
    }
    let id = file_id(meta);
    let canonical = std::fs::canonicalize(path).ok();
    inputs()
        .iter()
        .any(|i| (id.is_some() && i.id == id) || (canonical.is_some() && i.canonical == canonical))
}

/// Reads a whole text file, naming it in errors; refuses directories, files over
/// [`max_input_bytes`] (without reading past the limit, so `/dev/zero` ends too) and text that
/// is not UTF-8. Records the file as an input ([`register_input`]).
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = read_bytes(path, what)?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "reading {what} '{}': not UTF-8 text (invalid byte at offset {})",
            display_path(path),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a whole file as bytes, with [`read_text`]'s limits and recording.
pub fn read_bytes(path: &Path, what: &str) -> Result<Vec<u8>> {
    let shown = display_path(path);
    let limit = max_input_bytes()?;
    let file = std::fs::File::open(path).with_context(|| format!("reading {what} '{shown}'"))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading {what} '{shown}'"))?;
    if meta.is_dir() {
        bail!("reading {what} '{shown}': it is a directory, not a file");
    }
    let too_big = || {
        anyhow::anyhow!(
            "reading {what} '{shown}': larger than the input limit of {limit} bytes (set {MAX_INPUT_BYTES_ENV} to raise it)"
        )
    };
    if meta.is_file() && meta.len() > limit {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {what} '{shown}'"))?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    record(path, Some(&meta));
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_refused_by_name() {
        let dir = crate::tests::scratch("read-dir");
        let e = read_text(&dir, "instance").unwrap_err().to_string();
        assert!(
            e.contains("is a directory") && e.contains("instance"),
            "{e}"
        );
    }

    #[test]
    fn endless_inputs_stop_at_the_limit() {
        // /dev/zero never ends: the read stops one byte past the limit. The default limit
        // (256 MiB) is checked the same way; a small one keeps the test fast.
        if !Path::new("/dev/zero").exists() {
            return;
        }
        let e = read_text(Path::new("/dev/zero"), "instance")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'/dev/zero'") && e.contains("input limit of 268435456 bytes"),
            "{e}"
        );
    }

    #[test]
    fn the_limit_comes_from_the_environment_when_set() {
        use std::env::VarError;
        assert_eq!(
            limit_from(Err(VarError::NotPresent)).unwrap(),
            DEFAULT_MAX_INPUT_BYTES
        );
        assert_eq!(limit_from(Ok("1024".into())).unwrap(), 1024);
        for bad in ["0", "-1", "1e6", "lots", "99999999999999999999"] {
            let e = limit_from(Ok(bad.into())).unwrap_err().to_string();
            assert!(e.contains(MAX_INPUT_BYTES_ENV) && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn regular_files_over_the_limit_are_refused_without_reading() {
        let dir = crate::tests::scratch("read-big");
        let p = dir.join("big.csv");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(DEFAULT_MAX_INPUT_BYTES + 1).unwrap(); // sparse: no disk used
        let e = read_text(&p, "profile table").unwrap_err().to_string();
        assert!(e.contains("big.csv") && e.contains("268435456"), "{e}");
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let dir = crate::tests::scratch("read-utf8");
        let p = dir.join("x.toml");
        std::fs::write(&p, b"ab\xffc").unwrap();
        let e = read_text(&p, "instance").unwrap_err().to_string();
        assert!(e.contains("not UTF-8") && e.contains("offset 2"), "{e}");
    }
}
