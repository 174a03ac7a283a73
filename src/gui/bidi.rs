//! Names in right-to-left scripts, in the order people read them. egui shapes each run of text
//! (an Arabic run is laid out right to left) but does not reorder runs, and a run that starts
//! with Arabic is shaped right to left as a whole, Latin letters included. Here the Unicode
//! bidirectional algorithm splits a line into runs and puts them in display order, one layout
//! section each.

use egui::text::{LayoutJob, TextFormat};
use unicode_bidi::BidiInfo;

/// The byte ranges of `text`'s directional runs, in display order (left to right). Text with
/// nothing right-to-left is one run.
pub fn display_runs(text: &str) -> Vec<std::ops::Range<usize>> {
    let info = BidiInfo::new(text, None);
    if !info.has_rtl() {
        return std::iter::once(0..text.len()).collect();
    }
    let mut runs = Vec::new();
    for paragraph in &info.paragraphs {
        let (_, line_runs) = info.visual_runs(paragraph, paragraph.range.clone());
        runs.extend(line_runs);
    }
    runs
}

/// A layout of `text` with its runs in display order.
pub fn layout_job(text: &str, format: &TextFormat) -> LayoutJob {
    let mut job = LayoutJob::default();
    for run in display_runs(text) {
        job.append(&text[run], 0.0, format.clone());
    }
    job
}

/// A label for a name or other text typed by people, in any script.
pub fn label(ui: &mut egui::Ui, text: &str) -> egui::Response {
    if !text.chars().any(is_strong_rtl) {
        return ui.label(text);
    }
    let format = TextFormat {
        font_id: egui::TextStyle::Body.resolve(ui.style()),
        color: ui.visuals().text_color(),
        ..TextFormat::default()
    };
    // The accessible name stays in reading order; only the drawing is reordered.
    let response = ui.label(layout_job(text, &format));
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, ui.is_enabled(), text));
    response
}

fn is_strong_rtl(c: char) -> bool {
    matches!(
        unicode_bidi::bidi_class(c),
        unicode_bidi::BidiClass::R | unicode_bidi::BidiClass::AL
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arabic_name_before_a_latin_one_is_drawn_to_its_right() {
        let text = "أحمد Ahmed";
        let runs: Vec<&str> = display_runs(text).into_iter().map(|r| &text[r]).collect();
        // A right-to-left line: the Latin word on the left, the Arabic one on the right, each
        // still in reading order (the shaper lays the Arabic run out right to left).
        assert_eq!(runs.first().copied(), Some("Ahmed"));
        assert_eq!(runs.last().map(|r| r.trim()), Some("أحمد"));
    }

    #[test]
    fn latin_text_is_one_run() {
        assert_eq!(display_runs("Ana Lima"), vec![0..8]);
    }
}
