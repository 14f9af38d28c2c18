//! Tables on disk: profile tables and results tables, as CSV or Parquet (through polars),
//! chosen by the file extension.

use std::path::Path;

use anyhow::{Context, Result, bail};
use migsched_core::{Catalog, ProfileTable};
use migsched_out::{read_text, write_atomic_bytes};

/// The on-disk format of a table path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
}

/// Checks that `path` names a table format (.csv or .parquet), before any work is done.
pub fn check_table_path(path: &Path) -> Result<()> {
    format_of(path).map(|_| ())
}

fn format_of(path: &Path) -> Result<Format> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("parquet") | Some("pq") => Ok(Format::Parquet),
        _ => bail!(
            "'{}': a table file ends in .csv or .parquet",
            path.display()
        ),
    }
}

/// Reads and validates a profile table.
pub fn read_profile_table(catalog: &Catalog, path: &Path) -> Result<ProfileTable> {
    let origin = path.display().to_string();
    match format_of(path)? {
        Format::Csv => Ok(ProfileTable::from_csv_str(
            catalog,
            &read_text(path, "profile table")?,
            &origin,
        )?),
        Format::Parquet => parquet::read(catalog, path),
    }
}

/// A profile table encoded as its path's format says.
pub fn encode_profile_table(path: &Path, table: &ProfileTable) -> Result<Vec<u8>> {
    match format_of(path)? {
        Format::Csv => Ok(table.to_csv().into_bytes()),
        Format::Parquet => parquet::encode(path, table),
    }
}

/// Writes a profile table atomically.
pub fn write_profile_table(path: &Path, table: &ProfileTable) -> Result<()> {
    write_atomic_bytes(path, &encode_profile_table(path, table)?)
}

#[cfg(feature = "parquet")]
mod parquet {
    use std::path::Path;

    use anyhow::{Context, Result, anyhow};
    use migsched_core::profile_table::table_error;
    use migsched_core::{Catalog, ProfileTable, RawRow};
    use polars::prelude::{Column, DataFrame, DataType, ParquetReader, ParquetWriter, SerReader};

    pub fn encode(path: &Path, table: &ProfileTable) -> Result<Vec<u8>> {
        let rows = table.rows();
        let text =
            |f: fn(&migsched_core::ProfileRow) -> &str| rows.iter().map(f).collect::<Vec<&str>>();
        let columns = vec![
            Column::new("gpu".into(), text(|r| &r.key.gpu)),
            Column::new("profile".into(), text(|r| &r.key.profile)),
            Column::new("model".into(), text(|r| &r.key.model)),
            Column::new(
                "batch".into(),
                rows.iter().map(|r| r.key.batch).collect::<Vec<u32>>(),
            ),
            Column::new(
                "procs".into(),
                rows.iter().map(|r| r.key.procs).collect::<Vec<u32>>(),
            ),
            Column::new(
                "latency_ms".into(),
                rows.iter().map(|r| r.latency_ms).collect::<Vec<f64>>(),
            ),
            Column::new(
                "throughput_rps".into(),
                rows.iter().map(|r| r.throughput_rps).collect::<Vec<f64>>(),
            ),
            Column::new(
                "memory_mib".into(),
                rows.iter()
                    .map(|r| r.memory_mib)
                    .collect::<Vec<Option<f64>>>(),
            ),
            Column::new("source".into(), text(|r| &r.source)),
        ];
        let mut df = DataFrame::new_infer_height(columns)
            .map_err(|e| anyhow!("building the Parquet table: {e}"))?;
        frame_bytes(path, &mut df)
    }

    pub fn encode_columns(path: &Path, columns: &[(&str, super::ColumnData)]) -> Result<Vec<u8>> {
        let cols: Vec<Column> = columns
            .iter()
            .map(|(name, data)| match data {
                super::ColumnData::U64(v) => Column::new((*name).into(), v.clone()),
                super::ColumnData::F64(v) => Column::new((*name).into(), v.clone()),
                super::ColumnData::OptF64(v) => Column::new((*name).into(), v.clone()),
                super::ColumnData::Str(v) => Column::new((*name).into(), v.clone()),
            })
            .collect();
        let mut df = DataFrame::new_infer_height(cols)
            .map_err(|e| anyhow!("building the Parquet table: {e}"))?;
        frame_bytes(path, &mut df)
    }

    /// A frame as Parquet bytes (written to disk by the output layer).
    fn frame_bytes(path: &Path, df: &mut DataFrame) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .finish(df)
            .with_context(|| format!("encoding '{}'", path.display()))?;
        Ok(bytes)
    }

    pub fn read(catalog: &Catalog, path: &Path) -> Result<ProfileTable> {
        let origin = path.display().to_string();
        // Through the output layer: size-limited, and recorded as an input (never overwritten).
        let bytes = migsched_out::read_bytes(path, "profile table")?;
        let df = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .map_err(|e| anyhow!("{origin}: not a readable Parquet file: {e}"))?;
        let column = |name: &str, dtype: DataType| -> Result<Column> {
            let c = df.column(name).map_err(|_| {
                anyhow!(
                    "{origin}: missing column '{name}'; the columns are {}",
                    migsched_core::profile_table::COLUMNS.join(",")
                )
            })?;
            c.cast(&dtype).map_err(|_| {
                anyhow!(
                    "{origin}: column {name}: expected {dtype}, found {}",
                    c.dtype()
                )
            })
        };
        let (gpu, profile, model, source) = (
            column("gpu", DataType::String)?,
            column("profile", DataType::String)?,
            column("model", DataType::String)?,
            column("source", DataType::String)?,
        );
        let (batch, procs) = (
            column("batch", DataType::Int64)?,
            column("procs", DataType::Int64)?,
        );
        let (latency, throughput, memory) = (
            column("latency_ms", DataType::Float64)?,
            column("throughput_rps", DataType::Float64)?,
            column("memory_mib", DataType::Float64)?,
        );
        let mut raw = Vec::with_capacity(df.height());
        for i in 0..df.height() {
            let row = i + 1;
            let missing = |name: &str| table_error(&origin, Some(row), Some(name), "is empty");
            let s = |c: &Column, name: &str| -> Result<String> {
                Ok(c.str()?.get(i).ok_or_else(|| missing(name))?.to_string())
            };
            let n = |c: &Column, name: &str| -> Result<u32> {
                let v = c.i64()?.get(i).ok_or_else(|| missing(name))?;
                u32::try_from(v).ok().filter(|&v| v >= 1).ok_or_else(|| {
                    anyhow!(table_error(
                        &origin,
                        Some(row),
                        Some(name),
                        format!("'{v}' is not a whole number ≥ 1")
                    ))
                })
            };
            let f = |c: &Column, name: &str| -> Result<f64> {
                Ok(c.f64()?.get(i).ok_or_else(|| missing(name))?)
            };
            raw.push(RawRow {
                gpu: s(&gpu, "gpu")?,
                profile: s(&profile, "profile")?,
                model: s(&model, "model")?,
                batch: n(&batch, "batch")?,
                procs: n(&procs, "procs")?,
                latency_ms: f(&latency, "latency_ms")?,
                throughput_rps: f(&throughput, "throughput_rps")?,
                memory_mib: memory.f64()?.get(i),
                source: source.str()?.get(i).unwrap_or("").to_string(),
                line: Some(row),
            });
        }
        if raw.is_empty() {
            return Err(anyhow!("{origin}: the table has no rows"));
        }
        Ok(ProfileTable::from_raw(catalog, raw, &origin)?)
    }
}

#[cfg(not(feature = "parquet"))]
mod parquet {
    use std::path::Path;

    use anyhow::{Result, bail};
    use migsched_core::{Catalog, ProfileTable};

    const WHY: &str = "this migsched was built without the `parquet` feature; use .csv or rebuild with default features";

    pub fn encode(path: &Path, _: &ProfileTable) -> Result<Vec<u8>> {
        bail!("'{}': {WHY}", path.display())
    }

    pub fn read(_: &Catalog, path: &Path) -> Result<ProfileTable> {
        bail!("'{}': {WHY}", path.display())
    }

    pub fn encode_columns(path: &Path, _: &[(&str, super::ColumnData)]) -> Result<Vec<u8>> {
        bail!("'{}': {WHY}", path.display())
    }
}

/// Reads several tables and merges them; a later file's row replaces an earlier one's.
pub fn read_profile_tables(
    catalog: &Catalog,
    paths: &[std::path::PathBuf],
) -> Result<ProfileTable> {
    let mut tables = Vec::with_capacity(paths.len());
    for p in paths {
        tables.push(
            read_profile_table(catalog, p).with_context(|| format!("loading '{}'", p.display()))?,
        );
    }
    Ok(ProfileTable::merged(&tables.iter().collect::<Vec<_>>()))
}

/// One column of a generic results table.
#[derive(Debug, Clone)]
pub enum ColumnData {
    /// Unsigned integers.
    U64(Vec<u64>),
    /// Floating-point numbers.
    F64(Vec<f64>),
    /// Floating-point numbers that may be missing (an empty CSV field, a Parquet null).
    OptF64(Vec<Option<f64>>),
    /// Text.
    Str(Vec<String>),
}

impl ColumnData {
    fn len(&self) -> usize {
        match self {
            ColumnData::U64(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::OptF64(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }
    fn cell(&self, i: usize) -> String {
        match self {
            ColumnData::U64(v) => v[i].to_string(),
            ColumnData::F64(v) => v[i].to_string(),
            ColumnData::OptF64(v) => v[i].map_or(String::new(), |x| x.to_string()),
            ColumnData::Str(v) => {
                let s = &v[i];
                if s.contains([',', '"', '\n']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.clone()
                }
            }
        }
    }
}

/// Writes a table of named columns (equal lengths) as CSV or Parquet, by extension, atomically.
pub fn write_table(path: &Path, columns: &[(&str, ColumnData)]) -> Result<()> {
    write_atomic_bytes(path, &encode_table(path, columns)?)
}

/// A table of named columns (equal lengths) encoded as CSV or Parquet, by extension.
pub fn encode_table(path: &Path, columns: &[(&str, ColumnData)]) -> Result<Vec<u8>> {
    let rows = columns.first().map_or(0, |c| c.1.len());
    if columns.iter().any(|c| c.1.len() != rows) {
        bail!(
            "internal error: columns of different lengths for '{}'",
            path.display()
        );
    }
    match format_of(path)? {
        Format::Csv => {
            let mut s = columns.iter().map(|c| c.0).collect::<Vec<_>>().join(",");
            s.push('\n');
            for i in 0..rows {
                let cells: Vec<String> = columns.iter().map(|c| c.1.cell(i)).collect();
                s.push_str(&cells.join(","));
                s.push('\n');
            }
            Ok(s.into_bytes())
        }
        Format::Parquet => parquet::encode_columns(path, columns),
    }
}
