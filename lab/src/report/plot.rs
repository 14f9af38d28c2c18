//! Line and grouped bar charts as SVG and PNG, drawn by plotters with an embedded font (no
//! system font or graphics library needed).

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colors of the series, in order (distinguishable, printable).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

const SIZE: (u32, u32) = (900, 540);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // plotters draws PNG text with this font; SVG text is left to the viewer.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// One named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points, drawn in order.
    pub points: Vec<(f64, f64)>,
}

/// A line chart with markers.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// Where the legend goes (out of the way of the curves).
    pub legend: Legend,
}

/// Legend corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    /// Top left (rising curves).
    UpperLeft,
    /// Bottom left (falling curves).
    LowerLeft,
}

/// Grouped bars: for each category, one bar per group.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Category names along the x axis.
    pub categories: Vec<String>,
    /// (group name, one value per category).
    pub groups: Vec<(String, Vec<f64>)>,
}

/// Writes a chart as `<stem>.svg` and `<stem>.png` in `dir`.
pub fn write_both<C: Chart>(chart: &C, dir: &Path, stem: &str) -> Result<()> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        chart
            .draw(&root)
            .map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        chart
            .draw(&root)
            .map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
        root.present()
            .map_err(|e| anyhow!("writing {}: {e}", png.display()))?;
    }
    Ok(())
}

/// Something that draws itself on a drawing area.
pub trait Chart {
    /// Draws onto `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (lo / 1.3, hi * 1.3)
    } else {
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.05).max(1e-9);
        ((lo - pad).min(0.0_f64.max(lo - pad)), hi + pad)
    }
}

impl Chart for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let (x0, x1) = bounds(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.0)),
            self.log_x,
        );
        let (y0, y1) = bounds(
            self.series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1)),
            self.log_y,
        );
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72);
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|x| e(&x))?;
                chart
                    .configure_mesh()
                    .x_desc(&self.x_label)
                    .y_desc(&self.y_label)
                    .label_style(("sans-serif", 14))
                    .draw()
                    .map_err(|x| e(&x))?;
                for (i, s) in self.series.iter().enumerate() {
                    let color = PALETTE[i % PALETTE.len()];
                    let pts: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .copied()
                        .filter(|p| {
                            p.0.is_finite()
                                && p.1.is_finite()
                                && (!self.log_x || p.0 > 0.0)
                                && (!self.log_y || p.1 > 0.0)
                        })
                        .collect();
                    chart
                        .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                        .map_err(|x| e(&x))?
                        .label(s.name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                        .map_err(|x| e(&x))?;
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 14))
                    .position(match self.legend {
                        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
                    })
                    .draw()
                    .map_err(|x| e(&x))?;
            }};
        }
        match (self.log_x, self.log_y) {
            (false, false) => finish!(builder.build_cartesian_2d(x0..x1, y0..y1)),
            (true, false) => finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)),
            (false, true) => finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())),
            (true, true) => {
                finish!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()))
            }
        }
        Ok(())
    }
}

impl Chart for BarChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let n = self.categories.len().max(1);
        let g = self.groups.len().max(1);
        let (_, y1) = bounds(
            self.groups
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .chain(std::iter::once(0.0)),
            false,
        );
        // Many categories: their names run vertically, in an x label area tall enough for the
        // longest (about 7 px per character at 13 px).
        let vertical = n > 6;
        let longest = self.categories.iter().map(|c| c.chars().count()).max();
        let x_area = if vertical {
            (longest.unwrap_or(0) as u32 * 8 + 16).clamp(48, 240)
        } else {
            48
        };
        // Categories sit on the integers, where plotters puts its ticks.
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(x_area)
            .y_label_area_size(72)
            .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..y1)
            .map_err(|x| e(&x))?;
        let cats = self.categories.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    let name = cats.get(i as usize).cloned().unwrap_or_default();
                    if vertical {
                        // plotters centres axis labels on their tick, also when rotated: as many
                        // figure spaces before the name put its start at the axis instead.
                        "\u{2007}".repeat(name.chars().count()) + &name
                    } else {
                        name
                    }
                } else {
                    String::new()
                }
            })
            .y_desc(&self.y_label)
            .label_style(("sans-serif", 14))
            .x_label_style(if vertical {
                TextStyle::from(
                    ("sans-serif", 13)
                        .into_font()
                        .transform(FontTransform::Rotate90),
                )
                .pos(Pos::new(HPos::Left, VPos::Center))
            } else {
                ("sans-serif", 14).into_font().into()
            })
            .draw()
            .map_err(|x| e(&x))?;
        let width = 0.8 / g as f64;
        for (k, (name, values)) in self.groups.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(i, &v)| {
                            let x = i as f64 - 0.4 + k as f64 * width;
                            Rectangle::new([(x, 0.0), (x + width * 0.95, v)], color.filled())
                        }),
                )
                .map_err(|x| e(&x))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|x| e(&x))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_write_valid_svg_and_png_with_their_series() {
        let dir = std::env::temp_dir().join(format!("migsched-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let line = LineChart {
            title: "Latency".into(),
            x_label: "load".into(),
            y_label: "ms".into(),
            series: vec![
                Series {
                    name: "lazy".into(),
                    points: vec![(1.0, 2.0), (2.0, 3.0), (4.0, 9.0)],
                },
                Series {
                    name: "graph".into(),
                    points: vec![(1.0, 5.0), (2.0, 6.0), (4.0, 12.0)],
                },
            ],
            log_x: true,
            log_y: false,
            legend: Legend::UpperLeft,
        };
        write_both(&line, &dir, "line").unwrap();
        let svg = std::fs::read_to_string(dir.join("line.svg")).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("lazy") && svg.contains("graph"),
            "{}",
            &svg[..200]
        );
        let png = std::fs::read(dir.join("line.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let bars = BarChart {
            title: "Peak load".into(),
            y_label: "load".into(),
            categories: vec!["a".into(), "b".into()],
            groups: vec![
                ("x".into(), vec![1.0, 2.0]),
                ("y".into(), vec![1.5, f64::NAN]),
            ],
        };
        write_both(&bars, &dir, "bars").unwrap();
        assert!(
            std::fs::read_to_string(dir.join("bars.svg"))
                .unwrap()
                .contains("Peak load")
        );
        // MIGSCHED_KEEP_PLOTS=DIR keeps copies to look at.
        if let Some(keep) = std::env::var_os("MIGSCHED_KEEP_PLOTS") {
            for f in ["line.png", "bars.png"] {
                std::fs::copy(dir.join(f), Path::new(&keep).join(f)).unwrap();
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
