//! Tables on disk: profile tables and results tables, as CSV or Parquet (through polars),
//! chosen by the file extension.

use std::path::Path;

use anyhow::{Context, Result, bail};
use migsched_core::{Catalog, ProfileTable};
use migsched_out::{read_text, write_atomic};

/// The on-disk format of a table path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Parquet,
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

/// Writes a profile table atomically.
pub fn write_profile_table(path: &Path, table: &ProfileTable) -> Result<()> {
    match format_of(path)? {
        Format::Csv => write_atomic(path, &table.to_csv()),
        Format::Parquet => parquet::write(path, table),
    }
}

#[cfg(feature = "parquet")]
mod parquet {
    use std::fs::File;
    use std::path::Path;

    use anyhow::{Context, Result, anyhow};
    use migsched_core::{Catalog, ProfileTable, RawRow, TableError};
    use polars::prelude::{Column, DataFrame, DataType, ParquetReader, ParquetWriter, SerReader};

    pub fn write(path: &Path, table: &ProfileTable) -> Result<()> {
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
        write_frame(path, &mut df)
    }

    pub fn write_columns(path: &Path, columns: &[(&str, super::ColumnData)]) -> Result<()> {
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
        write_frame(path, &mut df)
    }

    /// Writes a frame through a temporary file, removed on failure.
    fn write_frame(path: &Path, df: &mut DataFrame) -> Result<()> {
        let tmp = migsched_out::temp_path(path)?;
        let result = (|| -> Result<()> {
            let file =
                File::create(&tmp).with_context(|| format!("writing '{}'", tmp.display()))?;
            ParquetWriter::new(file)
                .finish(df)
                .with_context(|| format!("writing '{}'", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing '{}'", path.display()))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    pub fn read(catalog: &Catalog, path: &Path) -> Result<ProfileTable> {
        let origin = path.display().to_string();
        let file = File::open(path).with_context(|| format!("reading profile table '{origin}'"))?;
        let df = ParquetReader::new(file)
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
            let missing = |name: &str| TableError {
                origin: origin.clone(),
                line: Some(row),
                column: Some(name.to_string()),
                message: "is empty".into(),
            };
            let s = |c: &Column, name: &str| -> Result<String> {
                Ok(c.str()?.get(i).ok_or_else(|| missing(name))?.to_string())
            };
            let n = |c: &Column, name: &str| -> Result<u32> {
                let v = c.i64()?.get(i).ok_or_else(|| missing(name))?;
                u32::try_from(v).ok().filter(|&v| v >= 1).ok_or_else(|| {
                    anyhow!(TableError {
                        origin: origin.clone(),
                        line: Some(row),
                        column: Some(name.into()),
                        message: format!("'{v}' is not a whole number ≥ 1")
                    })
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

    pub fn write(path: &Path, _: &ProfileTable) -> Result<()> {
        bail!("'{}': {WHY}", path.display())
    }

    pub fn read(_: &Catalog, path: &Path) -> Result<ProfileTable> {
        bail!("'{}': {WHY}", path.display())
    }

    pub fn write_columns(path: &Path, _: &[(&str, super::ColumnData)]) -> Result<()> {
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
            write_atomic(path, &s)
        }
        Format::Parquet => parquet::write_columns(path, columns),
    }
}
