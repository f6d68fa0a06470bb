//! A hand-written SVG chart of simulated weeks: slots wanted (shifts in progress) against slots filled, hour by
//! hour, one line per compared standby policy, and below it the gap (slots wanted but not held) per policy on
//! its own scale, because at a fill rate near 100% the gap is too thin to see against the whole demand. No
//! plotting crate: a few polylines, axes and labels are all it takes.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// One sample of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Hours since the start of the week (the first shift's start, see [`Series`]).
    pub hour: i64,
    /// Slots of the orders in progress.
    pub wanted: u32,
    /// Of those, slots held by a worker confirmed or checked in.
    pub filled: u32,
}

/// One policy's week as the chart draws it.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// The legend's name of the run (`standby auto`).
    pub name: &'a str,
    /// The hourly samples.
    pub samples: &'a [Sample],
}

const W: f64 = 1000.0;
const H: f64 = 600.0;
const PAD_L: f64 = 72.0;
const PAD_R: f64 = 24.0;
/// The top panel (wanted and filled).
const TOP_T: f64 = 64.0;
const TOP_B: f64 = 350.0;
/// The bottom panel (the gap).
const GAP_T: f64 = 400.0;
const GAP_B: f64 = 540.0;

/// One colour per compared policy, in order (colour-blind safe, after Okabe and Ito).
const COLOURS: [&str; 8] = [
    "#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442",
];

fn polyline(out: &mut String, pts: &[(f64, f64)], colour: &str, extra: &str) {
    let _ = write!(
        out,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" {extra} points=""#
    );
    for (x, y) in pts {
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.push_str("\"/>\n");
}

/// A round step for a value axis up to `max`: 1, 2 or 5 times a power of ten, about four steps in all.
fn nice_step(max: f64) -> f64 {
    let raw = (max / 4.0).max(1.0);
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow)
}

/// The value axis of a panel: ticks with round values, gridlines, and the axis's name (with its unit) turned
/// upright beside it.
fn value_axis(out: &mut String, top: f64, bottom: f64, max: f64, label: &str) {
    let step = nice_step(max);
    let top_v = (max / step).ceil().max(1.0) * step;
    let mut v = 0.0;
    while v <= top_v + 1e-9 {
        let yv = bottom - (bottom - top) * v / top_v;
        let _ = writeln!(
            out,
            r##"<line x1="{PAD_L}" y1="{yv:.1}" x2="{}" y2="{yv:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{v}</text>"##,
            W - PAD_R,
            PAD_L - 6.0,
            yv + 4.0
        );
        v += step;
    }
    let mid = (top + bottom) / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="16" y="{mid:.1}" text-anchor="middle" transform="rotate(-90 16 {mid:.1})">{}</text>"#,
        escape(label)
    );
    let _ = writeln!(
        out,
        r##"<path d="M{PAD_L},{top} V{bottom} H{}" stroke="#444" fill="none"/>"##,
        W - PAD_R
    );
}

/// The chart as an SVG document, titled `title`. `start` is the instant of hour 0 of the samples (UTC); the
/// time axis is marked at each midnight with its date. Slots wanted are the same orders under every policy,
/// so they are drawn once, from the first series.
pub fn chart(title: &str, start: DateTime<Utc>, series: &[Series<'_>]) -> String {
    let all = || series.iter().flat_map(|s| s.samples.iter());
    let max_h = all().map(|s| s.hour).max().unwrap_or(1).max(1) as f64;
    let max_v = f64::from(
        all()
            .map(|s| s.wanted.max(s.filled))
            .max()
            .unwrap_or(1)
            .max(1),
    );
    let max_gap = f64::from(
        all()
            .map(|s| s.wanted.saturating_sub(s.filled))
            .max()
            .unwrap_or(1)
            .max(1),
    );
    let top_v = (max_v / nice_step(max_v)).ceil().max(1.0) * nice_step(max_v);
    let gap_v = (max_gap / nice_step(max_gap)).ceil().max(1.0) * nice_step(max_gap);
    let x = |h: f64| PAD_L + (W - PAD_L - PAD_R) * h / max_h;
    let y = |v: u32| TOP_B - (TOP_B - TOP_T) * f64::from(v) / top_v;
    let yg = |v: u32| GAP_B - (GAP_B - GAP_T) * f64::from(v) / gap_v;
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
    value_axis(&mut out, TOP_T, TOP_B, max_v, "slots in progress (workers)");
    value_axis(
        &mut out,
        GAP_T,
        GAP_B,
        max_gap,
        "gap: wanted − filled (workers)",
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="13">Slots wanted but not held, per policy</text>"#,
        PAD_L + 4.0,
        GAP_T - 8.0
    );
    // The time axis: a gridline and the date at every midnight (UTC) within the week, the hour of day between.
    let hour0 = start
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(start);
    let offset_h = (start - hour0).num_minutes() as f64 / 60.0;
    let mut h = (24 - i64::from(hour0.hour())) % 24;
    while h as f64 - offset_h <= max_h {
        let at = hour0 + Duration::hours(h);
        let xd = x(h as f64 - offset_h);
        if xd >= PAD_L {
            let _ = writeln!(
                out,
                r##"<line x1="{xd:.1}" y1="{TOP_T}" x2="{xd:.1}" y2="{GAP_B}" stroke="#ccc"/><text x="{xd:.1}" y="{}" text-anchor="middle">{} {} {}</text>"##,
                GAP_B + 16.0,
                at.weekday(),
                at.day(),
                month(at.month()),
            );
            let noon = xd + (x(12.0) - x(0.0));
            if noon < W - PAD_R {
                let _ = writeln!(
                    out,
                    r##"<text x="{noon:.1}" y="{}" text-anchor="middle" fill="#888" font-size="10">12:00</text>"##,
                    GAP_B + 14.0
                );
            }
        }
        h += 24;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">time (UTC; date at midnight, {})</text>"#,
        (PAD_L + W - PAD_R) / 2.0,
        H - 16.0,
        start.year()
    );
    // Wanted: the demand as a shaded area, so the space between it and each filled line is the gap.
    if let Some(first) = series.first() {
        let pts: Vec<(f64, f64)> = first
            .samples
            .iter()
            .map(|s| (x(s.hour as f64), y(s.wanted)))
            .collect();
        if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
            let _ = write!(
                out,
                r##"<polygon fill="#e8e8e8" stroke="none" points="{:.1},{TOP_B} "##,
                a.0
            );
            for (px, py) in &pts {
                let _ = write!(out, "{px:.1},{py:.1} ");
            }
            let _ = writeln!(out, r#"{:.1},{TOP_B}"/>"#, b.0);
        }
        polyline(
            &mut out,
            &pts,
            "#777",
            r#"stroke-dasharray="5,3" data-series="wanted""#,
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let tag = format!(r#"data-series="{}""#, escape(s.name));
        let filled: Vec<(f64, f64)> = s
            .samples
            .iter()
            .map(|p| (x(p.hour as f64), y(p.filled)))
            .collect();
        polyline(&mut out, &filled, colour, &tag);
        let gap: Vec<(f64, f64)> = s
            .samples
            .iter()
            .map(|p| (x(p.hour as f64), yg(p.wanted.saturating_sub(p.filled))))
            .collect();
        polyline(&mut out, &gap, colour, &tag);
    }
    // The legend, top right: wanted, then each policy with its total gap in slot-hours.
    let mut ly = 40.0;
    let lx = W - PAD_R - 300.0;
    let _ = writeln!(
        out,
        r##"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="#777" stroke-dasharray="5,3"/><text x="{}" y="{}">slots wanted (same orders for all)</text>"##,
        lx + 24.0,
        lx + 30.0,
        ly + 4.0
    );
    for (i, s) in series.iter().enumerate() {
        ly += 16.0;
        let missing: u64 = s
            .samples
            .iter()
            .map(|p| u64::from(p.wanted.saturating_sub(p.filled)))
            .sum();
        let _ = writeln!(
            out,
            r##"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{}" stroke-width="2"/><text x="{}" y="{}">filled, {} (gap {missing} slot-hours)</text>"##,
            lx + 24.0,
            COLOURS[i % COLOURS.len()],
            lx + 30.0,
            ly + 4.0,
            escape(s.name),
        );
    }
    out.push_str("</svg>\n");
    out
}

fn month(m: u32) -> &'static str {
    [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m.clamp(1, 12) - 1) as usize]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(filled_less: u32) -> Vec<Sample> {
        (0..72)
            .map(|h| Sample {
                hour: h,
                wanted: 10,
                filled: 10 - filled_less,
            })
            .collect()
    }

    fn points_of(svg: &str, series: &str) -> Vec<String> {
        svg.lines()
            .filter(|l| l.contains(&format!(r#"data-series="{series}""#)))
            .filter_map(|l| l.split("points=\"").nth(1))
            .filter_map(|p| p.split('"').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_chart_draws_every_policy_with_its_gap_and_one_point_per_sample() {
        let (a, b, c) = (week(0), week(1), week(3));
        let series = [
            Series {
                name: "standby none",
                samples: &a,
            },
            Series {
                name: "standby fixed:1",
                samples: &b,
            },
            Series {
                name: "standby <auto>",
                samples: &c,
            },
        ];
        let start = "2026-11-23T06:30:00Z".parse().unwrap();
        let svg = chart("A <week>", start, &series);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("A &lt;week&gt;"));
        // Wanted once, and per policy a filled line and a gap line.
        assert_eq!(points_of(&svg, "wanted").len(), 1);
        for name in ["standby none", "standby fixed:1", "standby &lt;auto&gt;"] {
            let lines = points_of(&svg, name);
            assert_eq!(lines.len(), 2, "{name}: filled and gap");
            for pts in &lines {
                assert_eq!(pts.split_whitespace().count(), 72);
            }
            assert!(
                svg.contains(&format!("filled, {name}")),
                "{name} in the legend"
            );
        }
        assert_eq!(svg.matches("<polyline").count(), 7);
        // The gap's totals: 0, 72 and 216 slot-hours.
        assert!(svg.contains("(gap 0 slot-hours)"));
        assert!(svg.contains("(gap 72 slot-hours)"));
        assert!(svg.contains("(gap 216 slot-hours)"));
    }

    #[test]
    fn the_axes_are_labelled_with_units_and_the_time_axis_with_dates() {
        let samples = week(1);
        let start = "2026-11-23T06:30:00Z".parse().unwrap();
        let svg = chart(
            "t",
            start,
            &[Series {
                name: "standby auto",
                samples: &samples,
            }],
        );
        assert!(svg.contains("slots in progress (workers)"));
        assert!(svg.contains("gap: wanted − filled (workers)"));
        assert!(svg.contains("time (UTC; date at midnight, 2026)"));
        // 72 hours from Monday 06:30: the midnights of Tuesday, Wednesday and Thursday.
        for day in ["Tue 24 Nov", "Wed 25 Nov", "Thu 26 Nov"] {
            assert!(svg.contains(&format!(">{day}</text>")), "{day}");
        }
        assert!(
            !svg.contains("Mon 23 Nov"),
            "no tick before the first sample"
        );
        assert!(svg.contains(">12:00</text>"));
    }

    #[test]
    fn value_steps_are_round() {
        assert_eq!(nice_step(4.0), 1.0);
        assert_eq!(nice_step(37.0), 10.0);
        assert_eq!(nice_step(600.0), 200.0);
        assert_eq!(nice_step(1300.0), 500.0);
    }
}
