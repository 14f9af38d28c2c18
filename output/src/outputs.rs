//! Output files: destinations checked before anything is written, atomic writes (a
//! temporary file beside the destination, fsync'd, then a rename), all-or-nothing batches of
//! several files ([`Outputs`]) and streaming writers for large outputs ([`StreamWriter`]).
//!
//! A destination must be a regular file or a new name in an existing directory. Refused,
//! with the path the user gave: a directory, a symbolic link (migsched neither replaces a
//! link nor writes through it), a device, FIFO or socket (renaming over `/dev/full` as root
//! would turn the device into a file), a file this command read as input (once
//! [`crate::protect_inputs`] is on; see there), and the same file twice in one batch. The streams `/dev/null`, `/dev/stdout` and `/dev/stderr` (named
//! exactly so) are accepted and written straight, without a temporary file: `/dev/null`
//! discards, `/dev/stdout` ends quietly on a closed pipe like [`crate::write_stdout`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::inputs::is_input;
use crate::safe::display_path;
use crate::temps::TempGuard;

/// The output paths written straight, without a temporary file and a rename.
pub const STREAM_PATHS: [&str; 3] = ["/dev/null", "/dev/stdout", "/dev/stderr"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Null,
    Stdout,
    Stderr,
}

fn stream_of(path: &Path) -> Option<Stream> {
    match path.to_str()? {
        "/dev/null" => Some(Stream::Null),
        "/dev/stdout" => Some(Stream::Stdout),
        "/dev/stderr" => Some(Stream::Stderr),
        _ => None,
    }
}

/// Where a checked output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A regular file (new or replaced); its absolute path with the directory canonical.
    File(PathBuf),
    Stream(Stream),
}

/// The temporary file beside `path` that an atomic write goes through.
pub fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("'{}' is not a file path", display_path(path)))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".migsched-tmp");
    Ok(path.with_file_name(tmp_name))
}

/// Checks that `path` may be written as an output (see the module docs for what is refused),
/// without writing anything: for commands to call before their work, so a bad output path
/// is an error before a long run rather than after it.
pub fn check_output(path: &Path) -> Result<()> {
    target(path).map(|_| ())
}

fn target(path: &Path) -> Result<Target> {
    if let Some(s) = stream_of(path) {
        return Ok(Target::Stream(s));
    }
    let shown = display_path(path);
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            if ft.is_symlink() {
                let to = std::fs::read_link(path)
                    .map(|t| format!(" (to '{}')", display_path(&t)))
                    .unwrap_or_default();
                bail!(
                    "refusing to write '{shown}': it is a symbolic link{to}; migsched does not replace a link or write through it: give the target's path, or remove the link"
                );
            }
            if ft.is_dir() {
                bail!("cannot write '{shown}': it is a directory");
            }
            if !ft.is_file() {
                bail!(
                    "refusing to write '{shown}': it is {}, not a regular file (outputs are regular files, or one of {})",
                    special_kind(&ft),
                    STREAM_PATHS.join(", ")
                );
            }
            if is_input(path, &meta) {
                bail!("refusing to write over the input '{shown}'");
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot write '{shown}'")),
    }
    let name = path
        .file_name()
        .with_context(|| format!("cannot write '{shown}': it is not a file path"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!(
            "cannot write '{shown}': '{}' is not a directory",
            display_path(dir)
        ),
        Err(_) => bail!(
            "cannot write '{shown}': the directory '{}' does not exist",
            display_path(dir)
        ),
    }
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("cannot write '{shown}': resolving its directory"))?;
    Ok(Target::File(dir.join(name)))
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// A sink for a stream destination.
struct Sink(Stream);

impl Write for Sink {
    // The output crate owns stdout; a closed pipe ends the process quietly, as in
    // `write_stdout`.
    #[allow(clippy::disallowed_methods)]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0 {
            Stream::Null => Ok(buf.len()),
            Stream::Stdout => quiet_on_closed_pipe(std::io::stdout().lock().write(buf)),
            Stream::Stderr => std::io::stderr().lock().write(buf),
        }
    }

    #[allow(clippy::disallowed_methods)]
    fn flush(&mut self) -> std::io::Result<()> {
        match self.0 {
            Stream::Null => Ok(()),
            Stream::Stdout => quiet_on_closed_pipe(std::io::stdout().lock().flush()),
            Stream::Stderr => std::io::stderr().lock().flush(),
        }
    }
}

fn quiet_on_closed_pipe<T>(r: std::io::Result<T>) -> std::io::Result<T> {
    if let Err(e) = &r
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
    r
}

/// Creates the temporary file beside `path`, tracked for removal; a stale one (left by a
/// killed run) is removed first, and the file is created new, so a link planted at the
/// temporary name is never followed.
fn create_temp(path: &Path) -> Result<(File, TempGuard)> {
    let tmp = temp_path(path)?;
    let guard = TempGuard::track(&tmp);
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            open()
        }
        r => r,
    }
    .with_context(|| {
        format!(
            "writing '{}' (creating its temporary file '{}')",
            display_path(path),
            display_path(&tmp)
        )
    })?;
    Ok((file, guard))
}

/// Renames a staged temporary file into place, after checking the destination again.
fn rename_into_place(path: &Path, guard: TempGuard) -> Result<()> {
    target(path)?;
    std::fs::rename(guard.path(), path)
        .with_context(|| format!("writing '{}'", display_path(path)))?;
    guard.keep();
    crate::inputs::record_written(path);
    Ok(())
}

/// Writes a file completely or not at all: a temporary file beside it (fsync'd), then a
/// rename. Refuses the destinations the module docs list; writes `/dev/null`, `/dev/stdout`
/// and `/dev/stderr` straight.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    write_atomic_bytes(path, contents.as_bytes())
}

/// [`write_atomic`] for bytes (Parquet, images).
pub fn write_atomic_bytes(path: &Path, contents: &[u8]) -> Result<()> {
    let mut batch = Outputs::new();
    batch.add_bytes(path, contents)?;
    batch.commit()
}

enum Staged {
    /// Checked and claimed, no contents yet.
    Reserved,
    /// Written and fsync'd to its temporary file, waiting for the rename.
    Temp(TempGuard),
    /// For a stream: the bytes to write at commit.
    Bytes(Stream, Vec<u8>),
    /// A stream already written by a [`StreamWriter`].
    Done,
}

struct Entry {
    path: PathBuf,
    target: Target,
    staged: Staged,
}

/// The output files of one command, written all or nothing: each file is checked when it is
/// added (or reserved) and staged in its temporary file; [`Outputs::commit`] renames them
/// all into place only once every one is staged. Dropped without a commit, it removes its
/// temporary files and writes nothing. One file given twice (by any spelling) is refused.
///
/// ```no_run
/// # fn main() -> anyhow::Result<()> {
/// # let (plan_path, yaml_path) = (std::path::Path::new("p.json"), std::path::Path::new("m.yaml"));
/// let mut out = migsched_out::Outputs::new();
/// out.reserve(plan_path)?; // before the work: a bad path fails fast
/// out.reserve(yaml_path)?;
/// // ... the work ...
/// out.add(plan_path, "{}")?;
/// out.add(yaml_path, "version: v1\n")?;
/// out.commit()?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Outputs {
    entries: Vec<Entry>,
}

impl Outputs {
    /// An empty batch.
    pub fn new() -> Outputs {
        Outputs::default()
    }

    /// Checks `path` as a destination and claims it for this batch, without contents yet
    /// (call before the work so that a bad path is reported first). A path reserved and
    /// never added is not written.
    pub fn reserve(&mut self, path: &Path) -> Result<()> {
        self.claim(path, false).map(|_| ())
    }

    /// The entry for `path`: a new one, or (when `fill`) its reservation; refuses a second
    /// output to the same file.
    fn claim(&mut self, path: &Path, fill: bool) -> Result<usize> {
        let target = target(path)?;
        if target == Target::Stream(Stream::Null) {
            self.entries.push(Entry {
                path: path.to_path_buf(),
                target,
                staged: Staged::Reserved,
            });
            return Ok(self.entries.len() - 1);
        }
        if let Some(i) = self.entries.iter().position(|e| e.target == target) {
            let e = &self.entries[i];
            if fill && matches!(e.staged, Staged::Reserved) {
                return Ok(i);
            }
            let also = if e.path == path {
                String::new()
            } else {
                format!(" (also given as '{}')", display_path(&e.path))
            };
            bail!(
                "refusing to write '{}' twice: it is already an output of this command{also}",
                display_path(path)
            );
        }
        self.entries.push(Entry {
            path: path.to_path_buf(),
            target,
            staged: Staged::Reserved,
        });
        Ok(self.entries.len() - 1)
    }

    /// Adds a text file: checks the destination and stages the contents now.
    pub fn add(&mut self, path: &Path, contents: &str) -> Result<()> {
        self.add_bytes(path, contents.as_bytes())
    }

    /// [`Outputs::add`] for bytes.
    pub fn add_bytes(&mut self, path: &Path, contents: &[u8]) -> Result<()> {
        let i = self.claim(path, true)?;
        let staged = match self.entries[i].target {
            Target::Stream(s) => Staged::Bytes(s, contents.to_vec()),
            Target::File(_) => {
                let (mut file, guard) = create_temp(path)?;
                file.write_all(contents)
                    .and_then(|_| file.sync_all())
                    .with_context(|| format!("writing '{}'", display_path(path)))?;
                Staged::Temp(guard)
            }
        };
        self.entries[i].staged = staged;
        Ok(())
    }

    /// Adds a finished stream: flushes and fsyncs its temporary file, which is renamed into
    /// place at the commit with the others.
    pub fn add_stream(&mut self, writer: StreamWriter) -> Result<()> {
        let i = self.claim(&writer.path, true)?;
        let staged = writer.into_staged()?;
        self.entries[i].staged = staged;
        Ok(())
    }

    /// The paths in this batch, in the order given.
    pub fn paths(&self) -> Vec<&Path> {
        self.entries.iter().map(|e| e.path.as_path()).collect()
    }

    /// Renames every staged file into place, then writes the streams. Every destination is
    /// checked again first, so nothing is renamed if one has become unwritable meanwhile.
    pub fn commit(mut self) -> Result<()> {
        for e in &self.entries {
            target(&e.path)?;
        }
        let entries = std::mem::take(&mut self.entries);
        let dirs: std::collections::BTreeSet<PathBuf> = entries
            .iter()
            .filter_map(|e| match &e.target {
                Target::File(p) => p.parent().map(Path::to_path_buf),
                Target::Stream(_) => None,
            })
            .collect();
        let mut written: Vec<String> = Vec::new();
        for e in entries {
            let r = match e.staged {
                Staged::Temp(guard) => rename_into_place(&e.path, guard),
                Staged::Bytes(s, bytes) => Sink(s)
                    .write_all(&bytes)
                    .and_then(|_| Sink(s).flush())
                    .with_context(|| format!("writing '{}'", display_path(&e.path))),
                Staged::Reserved | Staged::Done => Ok(()),
            };
            if let Err(err) = r {
                if written.is_empty() {
                    return Err(err);
                }
                return Err(err.context(format!("already written: {}", written.join(", "))));
            }
            written.push(format!("'{}'", display_path(&e.path)));
        }
        // The renames themselves durable (best effort: not every platform syncs a directory).
        for d in dirs {
            let _ = File::open(d).and_then(|f| f.sync_all());
        }
        Ok(())
    }
}

/// A large output written as it is produced (traces, logs): into a temporary file beside the
/// destination, tracked for removal on interrupt; [`StreamWriter::finish`] renames it into
/// place (or [`Outputs::add_stream`] stages it with a command's other outputs). Dropped
/// unfinished, it removes the temporary file. `/dev/null`, `/dev/stdout` and `/dev/stderr`
/// are written straight.
pub struct StreamWriter {
    path: PathBuf,
    out: Sinked,
    error: Option<std::io::Error>,
}

enum Sinked {
    File(BufWriter<File>, TempGuard),
    Stream(BufWriter<Sink>),
}

impl StreamWriter {
    /// Checks `path` as a destination and opens its temporary file.
    pub fn create(path: &Path) -> Result<StreamWriter> {
        let out = match target(path)? {
            Target::Stream(s) => Sinked::Stream(BufWriter::with_capacity(1 << 16, Sink(s))),
            Target::File(_) => {
                let (file, guard) = create_temp(path)?;
                Sinked::File(BufWriter::with_capacity(1 << 20, file), guard)
            }
        };
        Ok(StreamWriter {
            path: path.to_path_buf(),
            out,
            error: None,
        })
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes (and for a file fsyncs) what was written.
    fn into_staged(mut self) -> Result<Staged> {
        let shown = display_path(&self.path);
        if let Some(e) = self.error.take() {
            return Err(e).with_context(|| format!("writing '{shown}'"));
        }
        match self.out {
            Sinked::File(out, guard) => {
                let file = out
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("writing '{shown}'"))?;
                file.sync_all()
                    .with_context(|| format!("writing '{shown}'"))?;
                Ok(Staged::Temp(guard))
            }
            Sinked::Stream(mut out) => {
                out.flush().with_context(|| format!("writing '{shown}'"))?;
                Ok(Staged::Done)
            }
        }
    }

    /// Completes the file: flush, fsync, rename into place.
    pub fn finish(self) -> Result<()> {
        let path = self.path.clone();
        match self.into_staged()? {
            Staged::Temp(guard) => rename_into_place(&path, guard),
            _ => Ok(()),
        }
    }
}

impl Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = match &mut self.out {
            Sinked::File(out, _) => out.write(buf),
            Sinked::Stream(out) => out.write(buf),
        };
        if let Err(e) = &r {
            // Kept so `finish` reports it even if the caller ignored it.
            self.error = Some(std::io::Error::new(e.kind(), e.to_string()));
        }
        r
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Sinked::File(out, _) => out.flush(),
            Sinked::Stream(out) => out.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::scratch;

    fn err(r: Result<()>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    /// Names in `dir`, sorted (temporary files included).
    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_directory_is_refused_by_its_name() {
        let dir = scratch("out-dir");
        let sub = dir.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = err(write_atomic(&sub, "x"));
        assert!(
            e.contains(&format!("'{}': it is a directory", sub.display())),
            "{e}"
        );
        assert!(sub.is_dir());
        assert_eq!(listing(&dir), ["sub"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_neither_replaced_nor_followed() {
        let dir = scratch("out-link");
        let target = dir.join("target.json");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = err(write_atomic(&link, "new"));
        assert!(
            e.contains("link.json") && e.contains("symbolic link"),
            "{e}"
        );
        assert!(e.contains("target.json"), "names the link's target: {e}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(listing(&dir), ["link.json", "target.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_and_stay_what_they_are() {
        use std::os::unix::fs::FileTypeExt as _;
        let dir = scratch("out-special");
        let fifo = dir.join("fifo");
        let ok = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(ok.is_ok_and(|s| s.success()), "mkfifo");
        let e = err(write_atomic(&fifo, "x"));
        assert!(e.contains("'") && e.contains("fifo': it is a FIFO"), "{e}");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        // The issue's safe reproduction of `-o /dev/full` as root: a node for /dev/full.
        let full = dir.join("f");
        let made = std::process::Command::new("mknod")
            .arg(&full)
            .args(["c", "1", "7"])
            .stderr(std::process::Stdio::null())
            .status();
        if made.is_ok_and(|s| s.success()) {
            let e = err(write_atomic(&full, "x"));
            assert!(e.contains("it is a character device"), "{e}");
            let ft = std::fs::symlink_metadata(&full).unwrap().file_type();
            assert!(ft.is_char_device(), "the device is still a device");
        }
        let e = err(write_atomic(Path::new("/dev/full"), "x"));
        assert!(e.contains("'/dev/full': it is a character device"), "{e}");
        assert_eq!(
            listing(&dir).iter().filter(|n| n.contains("tmp")).count(),
            0
        );
    }

    #[test]
    fn the_streams_are_written_straight() {
        write_atomic(Path::new("/dev/null"), "discarded").unwrap();
        write_atomic(Path::new("/dev/stderr"), "").unwrap();
        let mut w = StreamWriter::create(Path::new("/dev/null")).unwrap();
        w.write_all(b"discarded too").unwrap();
        w.finish().unwrap();
        // Two outputs may both be discarded; two on stdout would interleave.
        let mut batch = Outputs::new();
        batch.add(Path::new("/dev/null"), "a").unwrap();
        batch.add(Path::new("/dev/null"), "b").unwrap();
        batch.reserve(Path::new("/dev/stdout")).unwrap();
        let e = err(batch.reserve(Path::new("/dev/stdout")));
        assert!(e.contains("'/dev/stdout' twice"), "{e}");
    }

    #[test]
    fn an_input_is_never_overwritten() {
        let dir = scratch("out-input");
        crate::protect_inputs();
        let input = dir.join("i.toml");
        std::fs::write(&input, "name = 'x'\n").unwrap();
        crate::read_text(&input, "instance").unwrap();
        let e = err(write_atomic(&input, "clobbered"));
        assert_eq!(
            e,
            format!("refusing to write over the input '{}'", input.display())
        );
        // Another spelling of the same file, and a hard link to it.
        let other = dir.join(".").join("i.toml");
        assert!(err(write_atomic(&other, "x")).contains("over the input"));
        let hard = dir.join("hard.toml");
        std::fs::hard_link(&input, &hard).unwrap();
        assert!(err(write_atomic(&hard, "x")).contains("over the input"));
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "name = 'x'\n");
        // Inputs read some other way are registered by hand.
        let table = dir.join("t.parquet");
        std::fs::write(&table, "PAR1").unwrap();
        crate::register_input(&table);
        assert!(err(write_atomic(&table, "x")).contains("over the input"));
        // An update in place on purpose (`--append`).
        crate::allow_update(&table);
        write_atomic(&table, "PAR1 appended").unwrap();
        // What this command wrote and reads back (a report from its results) is no input.
        let results = dir.join("results.json");
        write_atomic(&results, "{}").unwrap();
        crate::read_text(&results, "the results").unwrap();
        write_atomic(&results, "{\"again\": 1}").unwrap();
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = scratch("out-nodir");
        let p = dir.join("nope").join("m.yaml");
        let e = err(write_atomic(&p, "x"));
        assert!(
            e.contains("m.yaml") && e.contains("nope' does not exist"),
            "{e}"
        );
    }

    #[test]
    fn write_errors_name_the_users_path_not_the_temporary_file() {
        // /dev/full's rename target is refused; a full disk is reproduced by a temporary file
        // that cannot be created: a directory squatting on its name.
        let dir = scratch("out-errname");
        let p = dir.join("p.json");
        std::fs::create_dir(temp_path(&p).unwrap()).unwrap();
        std::fs::write(temp_path(&p).unwrap().join("x"), "").unwrap();
        let e = err(write_atomic(&p, "x"));
        assert!(e.starts_with(&format!("writing '{}'", p.display())), "{e}");
    }

    #[test]
    fn one_file_twice_in_a_batch_is_refused_by_any_spelling() {
        let dir = scratch("out-twice");
        let mut batch = Outputs::new();
        batch.add(&dir.join("p.json"), "{}").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        let e = err(batch.add(&dir.join("sub/../p.json"), "version: v1"));
        assert!(e.contains("twice") && e.contains("also given as"), "{e}");
        batch.commit().unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("p.json")).unwrap(), "{}");
        let e = err(batch_of_two(&dir.join("q.json")));
        assert!(
            e.contains("q.json' twice") && !e.contains("also given"),
            "{e}"
        );
    }

    fn batch_of_two(p: &Path) -> Result<()> {
        let mut batch = Outputs::new();
        batch.reserve(p)?;
        batch.reserve(p)
    }

    #[test]
    fn a_batch_writes_all_files_or_none() {
        let dir = scratch("out-batch");
        let (a, b) = (dir.join("p.json"), dir.join("nope").join("m.yaml"));
        let mut batch = Outputs::new();
        batch.add(&a, "plan").unwrap();
        assert_eq!(
            listing(&dir),
            [".p.json.migsched-tmp"],
            "staged, not written"
        );
        assert!(batch.add(&b, "yaml").is_err());
        drop(batch);
        assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));

        let mut batch = Outputs::new();
        batch.reserve(&a).unwrap();
        batch.reserve(&dir.join("m.yaml")).unwrap();
        batch.add(&a, "plan").unwrap();
        batch.add(&dir.join("m.yaml"), "yaml").unwrap();
        let mut w = StreamWriter::create(&dir.join("t.jsonl")).unwrap();
        w.write_all(b"{}\n").unwrap();
        batch.add_stream(w).unwrap();
        assert_eq!(batch.paths().len(), 3);
        batch.commit().unwrap();
        assert_eq!(listing(&dir), ["m.yaml", "p.json", "t.jsonl"]);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "plan");
    }

    #[test]
    fn a_stream_writer_renames_on_finish_and_cleans_up_when_dropped() {
        let dir = scratch("out-stream");
        let p = dir.join("t.jsonl");
        let mut w = StreamWriter::create(&p).unwrap();
        let tmp = temp_path(&p).unwrap();
        assert!(crate::live_temps().contains(&tmp));
        w.write_all(b"line\n").unwrap();
        drop(w);
        assert!(listing(&dir).is_empty());
        assert!(!crate::live_temps().contains(&tmp));
        let mut w = StreamWriter::create(&p).unwrap();
        w.write_all(b"line\n").unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "line\n");
        assert_eq!(listing(&dir), ["t.jsonl"]);
        assert!(!crate::live_temps().contains(&tmp));
    }

    #[test]
    fn a_stale_temporary_file_or_link_is_not_followed() {
        let dir = scratch("out-stale");
        let p = dir.join("p.json");
        let victim = dir.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, temp_path(&p).unwrap()).unwrap();
        write_atomic(&p, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
    }

    /// Run as a child process by `an_interrupt_removes_temporary_files`: stages a file, raises
    /// the signal named by the environment and waits for the handler to end the process.
    #[cfg(unix)]
    #[test]
    #[ignore = "a child process of an_interrupt_removes_temporary_files"]
    fn interrupted_child() {
        let Ok(dir) = std::env::var("MIGSCHED_OUT_CHILD_DIR") else {
            return;
        };
        let sig: i32 = std::env::var("MIGSCHED_OUT_CHILD_SIGNAL")
            .unwrap()
            .parse()
            .unwrap();
        let mut w = StreamWriter::create(&Path::new(&dir).join("t.jsonl")).unwrap();
        w.write_all(b"partial\n").unwrap();
        w.flush().unwrap();
        signal_hook::low_level::raise(sig).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(30));
        panic!("the signal handler did not end the process");
    }

    #[cfg(unix)]
    #[test]
    fn an_interrupt_removes_temporary_files() {
        for (sig, code) in [
            (signal_hook::consts::SIGINT, 130),
            (signal_hook::consts::SIGTERM, 143),
        ] {
            let dir = scratch(&format!("out-signal-{sig}"));
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "--nocapture",
                    "outputs::tests::interrupted_child",
                ])
                .env("MIGSCHED_OUT_CHILD_DIR", &dir)
                .env("MIGSCHED_OUT_CHILD_SIGNAL", sig.to_string())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{stderr}");
            assert!(stderr.contains("removed 1 temporary file"), "{stderr}");
            assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
        }
    }
}
