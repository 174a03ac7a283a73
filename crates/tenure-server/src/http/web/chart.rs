//! Requests per day as bar charts, drawn on the server as inline SVG (no script, no image
//! requests), each with the same figures in a table for screen readers and for copying.

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::store::DayUsage;

/// The drawing's size in SVG units; it scales to the page's width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 150.0;
/// Room on the left for the scale and below for the days.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 22.0;

/// Every day from `from` to `to`, with the figures `days` has for it (zero where none).
pub(in crate::http) fn every_day(
    days: &[DayUsage],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<DayUsage> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            days.iter()
                .find(|d| d.day == day)
                .copied()
                .unwrap_or(DayUsage {
                    day,
                    validations: 0,
                    activations: 0,
                    refusals: 0,
                })
        })
        .collect()
}

/// Validations and refusals per day, a chart each (each on its own scale: refusals are
/// usually far fewer), and the table of every day's figures.
pub(in crate::http) fn usage(days: &[DayUsage]) -> Markup {
    let validations: Vec<(NaiveDate, u64)> = days.iter().map(|d| (d.day, d.validations)).collect();
    let refusals: Vec<(NaiveDate, u64)> = days.iter().map(|d| (d.day, d.refusals)).collect();
    html! {
        figure.chart {
            figcaption { "Validations per day" }
            (bars("Validations per day", "validations", &validations, "#0b3954"))
        }
        figure.chart {
            figcaption { "Refusals per day" }
            (bars("Refusals per day", "refusals", &refusals, "#8b0000"))
        }
        details {
            summary { "The figures, day by day" }
            div.scroll { table {
                thead { tr { th { "Day" } th { "Validations" } th { "Activations" } th { "Refusals" } } }
                tbody { @for d in days.iter().rev() { tr {
                    td { (d.day) } td { (d.validations) } td { (d.activations) } td { (d.refusals) }
                } } }
            } }
        }
    }
}

/// One series as bars, with its largest value on the scale and the first and last day below.
#[expect(
    clippy::cast_precision_loss,
    reason = "a bar's place and height need far fewer than 52 bits"
)]
fn bars(title: &str, unit: &str, values: &[(NaiveDate, u64)], color: &str) -> Markup {
    let top = values.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - BOTTOM;
    let slot = plot_width / values.len().max(1) as f64;
    let total: u64 = values.iter().map(|(_, v)| v).sum();
    let label = format!("{title}: {total} in all, at most {top} in a day");
    html! {
        svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(label) {
            title { (label) }
            line x1=(LEFT) y1="0" x2=(LEFT) y2=(plot_height) stroke="#555" {}
            line x1=(LEFT) y1=(plot_height) x2=(WIDTH) y2=(plot_height) stroke="#555" {}
            text x=(LEFT - 6.0) y="12" text-anchor="end" font-size="12" { (top) }
            text x=(LEFT - 6.0) y=(plot_height) text-anchor="end" font-size="12" { "0" }
            @for (i, (day, value)) in values.iter().enumerate() {
                @let height = plot_height * (*value as f64) / (top as f64);
                rect x=(format!("{:.1}", LEFT + slot * i as f64 + slot * 0.15))
                     y=(format!("{:.1}", plot_height - height))
                     width=(format!("{:.1}", (slot * 0.7).max(1.0)))
                     height=(format!("{height:.1}")) fill=(color) {
                    title { (day) ": " (value) " " (unit) }
                }
            }
            @if let (Some((first, _)), Some((last, _))) = (values.first(), values.last()) {
                text x=(LEFT) y=(HEIGHT - 4.0) font-size="12" { (first) }
                text x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" font-size="12" { (last) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a day")
    }

    #[test]
    fn missing_days_are_drawn_as_zero_and_the_tallest_bar_fills_the_chart() {
        let known = [DayUsage {
            day: day("2026-12-02"),
            validations: 40,
            activations: 1,
            refusals: 3,
        }];
        let days = every_day(&known, day("2026-12-01"), day("2026-12-03"));
        assert_eq!(
            days.iter().map(|d| d.validations).collect::<Vec<_>>(),
            [0, 40, 0]
        );
        let drawn = usage(&days).into_string();
        assert!(
            drawn.contains("Validations per day: 40 in all, at most 40 in a day"),
            "{drawn}"
        );
        assert!(drawn.contains("Refusals per day: 3 in all"), "{drawn}");
        // The tallest bar is the plot's full height; an empty day's is none.
        assert!(drawn.contains(r#"height="128.0""#), "{drawn}");
        assert!(drawn.contains("2026-12-02: 40 validations"), "{drawn}");
    }
}
