//! Drawing, with plotters' SVG backend: a line per path, grouped bars per path, step curves,
//! each an SVG document as a string. The measured charts ([`crate::charts`]) and the modelled
//! ones ([`crate::model::charts`]) draw with it, in the same colours per path.

use plotters::prelude::*;

/// A chart, titled, as SVG.
#[derive(Debug, Clone)]
pub struct Chart {
    /// A file-name-safe id (`latency-cdf`, ...).
    pub id: &'static str,
    /// Its title.
    pub title: &'static str,
    /// The SVG document.
    pub svg: String,
}

/// Why a chart could not be drawn (plotters' drawing error, as text).
#[derive(Debug, thiserror::Error)]
#[error("drawing the {chart} chart failed: {message}")]
pub struct ChartError {
    /// Which chart.
    pub chart: &'static str,
    /// What plotters said.
    pub message: String,
}

const SIZE: (u32, u32) = (760, 340);
const QUEUE: RGBColor = RGBColor(31, 119, 180);
const DIRECT: RGBColor = RGBColor(230, 110, 20);

fn failed(chart: &'static str) -> impl Fn(String) -> ChartError {
    move |message| ChartError { chart, message }
}

/// Draws into an SVG string; `draw` gets the root area.
pub(crate) fn svg(
    id: &'static str,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<String, ChartError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string()).map_err(failed(id))?;
        draw(&root).map_err(failed(id))?;
        root.present().map_err(|e| e.to_string()).map_err(failed(id))?;
    }
    Ok(out)
}

pub(crate) fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

/// One path's line or bars in a chart.
pub(crate) struct Series<T> {
    /// `queue` or `direct`: the legend and the colour.
    pub(crate) path: &'static str,
    /// The points or values.
    pub(crate) data: T,
}

pub(crate) fn path_colour(path: &str) -> RGBColor {
    if path == "queue" { QUEUE } else { DIRECT }
}

/// A line per path; `series` holds (x, y) points.
pub(crate) fn lines(
    id: &'static str,
    title: &'static str,
    x_desc: &str,
    unit: &str,
    series: &[Series<Vec<(f64, f64)>>],
) -> Result<Chart, ChartError> {
    let end = series.iter().flat_map(|s| s.data.iter().map(|p| p.0)).fold(1e-9f64, f64::max);
    let top = series.iter().flat_map(|s| s.data.iter().map(|p| p.1)).fold(1.0f64, f64::max);
    let svg = svg(id, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..end * 1.02, 0f64..top * 1.1)
            .map_err(|e| e.to_string())?;
        chart.configure_mesh().x_desc(x_desc).y_desc(unit).draw().map_err(|e| e.to_string())?;
        for s in series {
            let colour = path_colour(s.path);
            chart
                .draw_series(LineSeries::new(s.data.iter().copied(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(s.path)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Chart { id, title, svg })
}

/// `(t, level)` change points as a step line: each level holds until the next change.
pub(crate) fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    let mut level = 0.0;
    for &(t, n) in points {
        out.push((t, level));
        out.push((t, n));
        level = n;
    }
    out
}

/// Grouped bars: one group per category, one bar per series.
pub(crate) fn grouped_bars(
    id: &'static str,
    title: &'static str,
    categories: &'static [&'static str],
    series: &[Series<Vec<f64>>],
) -> Result<Chart, ChartError> {
    let top = series.iter().flat_map(|s| s.data.iter().copied()).fold(0.0f64, f64::max).max(1e-9);
    let width = 1.0 / (series.len() as f64 + 1.0);
    let svg = svg(id, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.1f64..categories.len() as f64, 0f64..top * 1.15)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(categories.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let slot = x - x.floor();
                if (slot - 0.5).abs() < 0.26 {
                    categories.get(x.floor() as usize).map(|s| s.to_string()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, s) in series.iter().enumerate() {
            let colour = path_colour(s.path);
            let left = |k: usize| k as f64 + width * (i as f64 + 0.5);
            chart
                .draw_series(
                    s.data
                        .iter()
                        .enumerate()
                        .map(|(k, v)| Rectangle::new([(left(k), 0.0), (left(k) + width, *v)], colour.filled())),
                )
                .map_err(|e| e.to_string())?
                .label(s.path)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Chart { id, title, svg })
}

/// Colours of the segments of stacked bars, by the segment's first appearance.
const SEGMENTS: [RGBColor; 8] = [
    RGBColor(141, 160, 203),
    RGBColor(102, 194, 165),
    RGBColor(252, 141, 98),
    RGBColor(231, 138, 195),
    RGBColor(166, 216, 84),
    RGBColor(255, 217, 47),
    RGBColor(229, 196, 148),
    RGBColor(179, 179, 179),
];

/// One bar of [`stacked_bars`]: its path (the underline's colour), its label and its segments.
pub(crate) struct StackedBar {
    pub(crate) path: &'static str,
    pub(crate) label: String,
    /// `(name, value)`, left to right.
    pub(crate) segments: Vec<(&'static str, f64)>,
}

/// Horizontal stacked bars, each underlined in its path's colour; a segment name has one
/// colour wherever it appears.
pub(crate) fn stacked_bars(
    id: &'static str,
    title: &'static str,
    unit: &str,
    bars: &[StackedBar],
) -> Result<Chart, ChartError> {
    let total = bars.iter().map(|b| b.segments.iter().map(|(_, v)| v).sum::<f64>()).fold(1e-9f64, f64::max);
    let mut names: Vec<&'static str> = Vec::new();
    for bar in bars {
        for (name, _) in &bar.segments {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    let colour = |name: &str| SEGMENTS[names.iter().position(|n| *n == name).unwrap_or(0) % SEGMENTS.len()];
    let svg = svg(id, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..total * 1.6, -0.5f64..bars.len() as f64 - 0.5)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(bars.len())
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 0.01 && i >= 0.0 {
                    bars.get(i as usize).map(|b| b.label.clone()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for name in &names {
            let fill = colour(name);
            let rects: Vec<Rectangle<(f64, f64)>> = bars
                .iter()
                .enumerate()
                .filter_map(|(i, bar)| {
                    let segments = &bar.segments;
                    let at = segments.iter().position(|(n, _)| n == name)?;
                    let start: f64 = segments[..at].iter().map(|(_, v)| v).sum();
                    let y = i as f64;
                    Some(Rectangle::new([(start, y - 0.35), (start + segments[at].1, y + 0.35)], fill.filled()))
                })
                .collect();
            chart
                .draw_series(rects)
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill.filled()));
        }
        // Each bar underlined in its path's colour.
        let underlines = bars.iter().enumerate().map(|(i, bar)| {
            let end: f64 = bar.segments.iter().map(|(_, v)| v).sum();
            let y = i as f64;
            Rectangle::new([(0.0, y - 0.45), (end, y - 0.37)], path_colour(bar.path).filled())
        });
        chart.draw_series(underlines).map_err(|e| e.to_string())?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })?;
    Ok(Chart { id, title, svg })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_line_holds_each_level_until_the_next_change() {
        assert_eq!(steps(&[(0.0, 1.0), (2.0, 3.0)]), vec![(0.0, 0.0), (0.0, 1.0), (2.0, 1.0), (2.0, 3.0)]);
    }
}
