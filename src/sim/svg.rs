//! A hand-written SVG chart of a simulated week: slots wanted (shifts in progress) against slots filled, hour by
//! hour. No plotting crate: a few polylines, axes and labels are all it takes.

use std::fmt::Write as _;

/// One sample of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Hours since the start of the week.
    pub hour: i64,
    /// Slots of the orders in progress.
    pub wanted: u32,
    /// Of those, slots held by a worker confirmed or checked in.
    pub filled: u32,
}

const W: f64 = 960.0;
const H: f64 = 360.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 40.0;
const PAD_B: f64 = 40.0;

fn polyline(out: &mut String, pts: &[(f64, f64)], colour: &str, dash: &str) {
    let _ = write!(
        out,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" {dash} points=""#
    );
    for (x, y) in pts {
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.push_str("\"/>\n");
}

/// The chart as an SVG document, titled `title`.
pub fn chart(title: &str, samples: &[Sample]) -> String {
    let max_h = samples.iter().map(|s| s.hour).max().unwrap_or(1).max(1) as f64;
    let max_v = samples.iter().map(|s| s.wanted).max().unwrap_or(1).max(1) as f64;
    let x = |h: i64| PAD_L + (W - PAD_L - PAD_R) * h as f64 / max_h;
    let y = |v: u32| H - PAD_B - (H - PAD_T - PAD_B) * f64::from(v) / max_v;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        out,
        r#"<text x="{PAD_L}" y="22" font-size="15">{}</text>"#,
        escape(title)
    );
    // Axes, day ticks and a few value ticks.
    let _ = writeln!(
        out,
        r##"<path d="M{PAD_L},{PAD_T} V{} H{}" stroke="#444" fill="none"/>"##,
        H - PAD_B,
        W - PAD_R
    );
    let mut day = 0;
    while (day * 24) as f64 <= max_h {
        let xd = x(day * 24);
        let _ = writeln!(
            out,
            r##"<line x1="{xd:.1}" y1="{PAD_T}" x2="{xd:.1}" y2="{}" stroke="#ddd"/><text x="{xd:.1}" y="{}" text-anchor="middle">day {}</text>"##,
            H - PAD_B,
            H - PAD_B + 16.0,
            day + 1
        );
        day += 1;
    }
    for i in 0..=4 {
        let v = (max_v * f64::from(i) / 4.0).round() as u32;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            PAD_L - 6.0,
            y(v) + 4.0
        );
    }
    let wanted: Vec<(f64, f64)> = samples.iter().map(|s| (x(s.hour), y(s.wanted))).collect();
    let filled: Vec<(f64, f64)> = samples.iter().map(|s| (x(s.hour), y(s.filled))).collect();
    polyline(&mut out, &wanted, "#999", r#"stroke-dasharray="5,3""#);
    polyline(&mut out, &filled, "#1f77b4", "");
    let _ = writeln!(
        out,
        r##"<text x="{}" y="22" text-anchor="end"><tspan fill="#999">- - slots wanted</tspan>   <tspan fill="#1f77b4">— slots filled</tspan></text>"##,
        W - PAD_R
    );
    out.push_str("</svg>\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_has_both_series_with_one_point_per_sample() {
        let samples: Vec<Sample> = (0..48)
            .map(|h| Sample {
                hour: h,
                wanted: 10,
                filled: 9,
            })
            .collect();
        let svg = chart("A <week>", &samples);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        let points = svg
            .split("points=\"")
            .nth(2)
            .and_then(|p| p.split('"').next())
            .unwrap();
        assert_eq!(points.split_whitespace().count(), 48);
        assert!(svg.contains("A &lt;week&gt;"));
    }
}
