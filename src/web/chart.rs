//! Charts drawn by the server as inline SVG, for the report pages: no script and no inline
//! style (the Content-Security-Policy forbids both), only SVG presentation attributes and the
//! classes of `static/app.css`. Each chart is an image with its figures in words (`role="img"`,
//! `aria-label` and `<title>`), and each page shows the same figures in a table beside it, so the
//! chart is never the only way to read them. A series is told apart by its fill pattern and by
//! the legend's words, never by colour alone.

use std::fmt::Write;

/// The widest a chart is drawn (it scales down with the page, `viewBox`).
const WIDTH: f64 = 640.0;
/// Room for a bar's label on the left of a horizontal bar chart.
const LABEL_WIDTH: f64 = 190.0;
/// Room for a bar's value on the right of its bar.
const VALUE_WIDTH: f64 = 150.0;
const ROW_HEIGHT: f64 = 28.0;
const BAR_HEIGHT: f64 = 18.0;
const LEGEND_HEIGHT: f64 = 28.0;
/// A label longer than this is cut, with `…`; the table has it whole.
pub const LABEL_CHARS: usize = 24;

/// One series of a chart: its name in the legend, its class (fill, stroke) in app.css, and
/// whether it is hatched (so that it differs from the others without colour).
pub struct Series {
    pub name: &'static str,
    pub class: &'static str,
    pub hatched: bool,
}

impl Series {
    /// The presentation attribute of a hatched series (a pattern of this chart, which a style
    /// sheet cannot name reliably).
    fn fill(&self) -> &'static str {
        if self.hatched { " fill=\"url(#hatch)\"" } else { "" }
    }
}

/// One bar: its label and a value per series (stacked in the order of the series), and what is
/// written after it (e.g. the median lead time) besides its total.
pub struct Bar {
    pub label: String,
    pub values: Vec<u64>,
    pub note: Option<String>,
}

/// A whole number as Danish text writes it: `1.234`.
pub fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A fraction as a Danish percentage: `33,3 %`.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0).replace('.', ",")
}

/// A decimal number with one decimal, Danish: `60,5`; whole numbers without: `60`.
pub fn decimal(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}").replace('.', ",")
    }
}

/// A label cut to `LABEL_CHARS` characters.
pub fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Text for SVG content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The length of `value` on a scale where `max` is `length`: the largest value fills the
/// room, zero is nothing, and a scale of nothing but zeros draws nothing.
pub fn scale(value: u64, max: u64, length: f64) -> f64 {
    if max == 0 {
        return 0.0;
    }
    let scaled = value as f64 / max as f64 * length;
    (scaled * 10.0).round() / 10.0
}

/// The opening of a chart: an image described by `label` (its figures in words).
fn open(out: &mut String, height: f64, title: &str, label: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" viewBox=\"0 0 {WIDTH} {height}\" \
         aria-label=\"{}\"><title>{}</title>",
        escape(label),
        escape(title)
    );
    // Patterns tell the series apart without colour.
    out.push_str(
        "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" class=\"hatch-ground\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" class=\"hatch-line\" stroke-width=\"3\"/></pattern></defs>",
    );
}

fn legend(out: &mut String, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
    let mut x = LABEL_WIDTH;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"6\" width=\"14\" height=\"14\" class=\"{}\"{}/>\
             <text x=\"{}\" y=\"18\" class=\"chart-text\">{}</text>",
            s.class,
            s.fill(),
            x + 20.0,
            escape(s.name)
        );
        x += 30.0 + 8.0 * s.name.chars().count() as f64;
    }
}

/// Horizontal bars, one row each, stacked when there are several series; the bars scale to the
/// largest total.
pub fn bars(title: &str, label: &str, series: &[Series], bars: &[Bar]) -> String {
    let top = if series.len() > 1 { LEGEND_HEIGHT } else { 0.0 };
    let height = top + ROW_HEIGHT * bars.len().max(1) as f64 + 4.0;
    let mut out = String::new();
    open(&mut out, height, title, label);
    legend(&mut out, series);
    let max = bars.iter().map(|b| b.values.iter().sum::<u64>()).max().unwrap_or(0);
    let room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    for (row, bar) in bars.iter().enumerate() {
        let y = top + ROW_HEIGHT * row as f64 + 2.0;
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"chart-text\">{}</text>",
            LABEL_WIDTH - 8.0,
            y + 14.0,
            escape(&cut(&bar.label))
        );
        let mut x = LABEL_WIDTH;
        for (value, s) in bar.values.iter().zip(series) {
            let width = scale(*value, max, room);
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{BAR_HEIGHT}\" class=\"{}\"{}><title>{}: {} {}</title></rect>",
                s.class,
                s.fill(),
                escape(&bar.label),
                escape(s.name),
                number(*value)
            );
            x += width;
        }
        let total: u64 = bar.values.iter().sum();
        let text = match &bar.note {
            Some(note) => format!("{} ({note})", number(total)),
            None => number(total),
        };
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" class=\"chart-text\">{}</text>",
            x + 6.0,
            y + 14.0,
            escape(&text)
        );
    }
    out.push_str("</svg>");
    out
}

/// Vertical columns over time, one series: the columns scale to the largest value, each with
/// its value above it and its (short) label below.
pub fn columns(title: &str, label: &str, class: &str, points: &[(String, u64)]) -> String {
    let height = 240.0;
    let (bottom, top, left) = (height - 28.0, 24.0, 8.0);
    let room = bottom - top;
    let band = (WIDTH - 2.0 * left) / points.len().max(1) as f64;
    let width = (band * 0.6 * 10.0).round() / 10.0;
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let mut out = String::new();
    open(&mut out, height, title, label);
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" class=\"chart-axis\" stroke-width=\"1\"/>",
        WIDTH - left
    );
    for (i, (name, value)) in points.iter().enumerate() {
        let middle = left + band * i as f64 + band / 2.0;
        let h = scale(*value, max, room);
        let x = ((middle - width / 2.0) * 10.0).round() / 10.0;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"{h}\" class=\"{class}\"><title>{}: {}</title></rect>\
             <text x=\"{middle}\" y=\"{}\" text-anchor=\"middle\" class=\"chart-text\">{}</text>\
             <text x=\"{middle}\" y=\"{}\" text-anchor=\"middle\" class=\"chart-text small-text\">{}</text>",
            bottom - h,
            escape(name),
            number(*value),
            bottom - h - 6.0,
            number(*value),
            bottom + 18.0,
            escape(&cut(name))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(svg: &str) -> Vec<f64> {
        svg.split("<rect x=")
            .skip(1)
            .filter(|r| r.contains("<title>"))
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap().split('"').next().unwrap();
                w.parse().unwrap()
            })
            .collect()
    }

    fn one(label: &str, value: u64) -> Bar {
        Bar {
            label: label.to_owned(),
            values: vec![value],
            note: None,
        }
    }

    const NOTICES: &[Series] = &[Series {
        name: "Meddelelser",
        class: "bar-a",
        hatched: false,
    }];

    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = bars("t", "l", NOTICES, &[one("A", 10), one("B", 5), one("C", 1)]);
        let room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
        assert_eq!(widths(&svg), [room, room / 2.0, scale(1, 10, room)]);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\""));
        assert!(!svg.contains("style"), "no inline style: the policy forbids it");
    }

    #[test]
    fn zero_values_draw_nothing_and_all_zero_draws_no_nan() {
        let svg = bars("t", "l", NOTICES, &[one("A", 0), one("B", 4)]);
        assert_eq!(widths(&svg)[0], 0.0);
        let svg = bars("t", "l", NOTICES, &[one("A", 0), one("B", 0)]);
        assert_eq!(widths(&svg), [0.0, 0.0]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let svg = columns("t", "l", "bar-a", &[("uge 1".into(), 0), ("uge 2".into(), 0)]);
        assert!(svg.contains("height=\"0\""));
        assert!(!svg.contains("NaN"));
        assert!(
            bars("t", "l", NOTICES, &[]).ends_with("</svg>"),
            "an empty chart is still an image"
        );
    }

    #[test]
    fn one_value_fills_the_room() {
        let svg = bars("t", "l", NOTICES, &[one("A", 1)]);
        assert_eq!(widths(&svg), [WIDTH - LABEL_WIDTH - VALUE_WIDTH]);
        let svg = columns("t", "l", "bar-a", &[("nu".into(), 7)]);
        assert!(svg.contains("height=\"188\""), "{svg}");
    }

    #[test]
    fn stacked_bars_sit_end_to_end_and_scale_to_the_largest_total() {
        let series = [
            Series {
                name: "Overholdt",
                class: "bar-a",
                hatched: false,
            },
            Series {
                name: "Overskredet",
                class: "bar-b",
                hatched: true,
            },
        ];
        let bar = Bar {
            label: "intake".into(),
            values: vec![3, 1],
            note: None,
        };
        let svg = bars("t", "l", &series, &[bar, one("b", 2)]);
        let room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
        let w = widths(&svg);
        assert_eq!(w[0] + w[1], room);
        assert_eq!(w[0], room * 0.75);
        assert!(svg.contains(&format!("<rect x=\"{}\"", LABEL_WIDTH + room * 0.75)));
        assert!(svg.contains("Overskredet"), "the legend names each series in words");
        assert!(
            svg.contains("class=\"bar-b\" fill=\"url(#hatch)\""),
            "and hatches one of them"
        );
    }

    #[test]
    fn long_labels_are_cut_and_all_text_is_escaped() {
        let long = "Anstalten ved Horsens, afdeling for længere straffe";
        assert_eq!(cut(long).chars().count(), LABEL_CHARS);
        assert!(cut(long).ends_with('…'));
        assert_eq!(cut("Vestre Fængsel"), "Vestre Fængsel");
        let svg = bars("<t>", "a & b", NOTICES, &[one(long, 1), one("<script>", 2)]);
        assert!(svg.contains(&format!(">{}</text>", cut(long))));
        assert!(svg.contains(long), "the whole label is in the bar's title");
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains("aria-label=\"a &amp; b\""));
    }

    #[test]
    fn numbers_read_as_danish_text_writes_them() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1234), "1.234");
        assert_eq!(number(1_234_567), "1.234.567");
        assert_eq!(percent(0.333), "33,3 %");
        assert_eq!(decimal(60.0), "60");
        assert_eq!(decimal(2.5), "2,5");
    }
}
