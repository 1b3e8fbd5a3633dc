//! What a command prints: a table for people, JSON for programs, or only the id (`--quiet`).
//! Results go to stdout; progress and errors to stderr, so `$(marketplace ... -q)` is the id.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use serde_json::Value;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns.
    Table,
    /// The API's JSON, one document (a list as an array).
    Json,
}

/// The printer a command writes through.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Out {
    pub(crate) format: Format,
    /// Only ids, one per line.
    pub(crate) quiet: bool,
}

/// A column: its header and the JSON pointer of its value (`/standards_report/passed`); a
/// pointer written `$/price` is an amount of money, shown with its two decimals (`100.00`).
pub(crate) type Column = (&'static str, &'static str);

/// The cell of column `pointer` in `v`.
fn cell_at(v: &Value, pointer: &str) -> String {
    match pointer.strip_prefix('$') {
        Some(p) => match v.pointer(p).and_then(Value::as_f64) {
            Some(units) => format!("{units:.2}"),
            None => cell(v.pointer(p)),
        },
        None => cell(v.pointer(pointer)),
    }
}

fn json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A cell's text.
pub(crate) fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if n.is_f64() => trim_float(f),
            _ => n.to_string(),
        },
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(other) => {
            let text = other.to_string();
            if text.chars().count() > 80 {
                format!("{}…", text.chars().take(79).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn trim_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.0}")
    } else {
        let s = format!("{f:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn table() -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // A terminal that reports no usable width (a pty without a size, a pipe) gets the cells
    // whole rather than squeezed to a character each.
    if t.width().is_none_or(|w| w < 40) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    t
}

impl Out {
    /// One resource: a two-column table of `fields`, its JSON, or its `id`.
    pub(crate) fn one<T: Serialize>(&self, value: &T, fields: &[Column]) {
        let v = json(value);
        if self.quiet {
            println!("{}", cell(id_of(&v)));
            return;
        }
        match self.format {
            Format::Json => print_json(&v),
            Format::Table => {
                let mut t = table();
                for (name, pointer) in fields {
                    t.add_row(vec![(*name).to_owned(), cell_at(&v, pointer)]);
                }
                println!("{t}");
            }
        }
    }

    /// A list: one row per item with `columns`, a JSON array, or the ids.
    pub(crate) fn list<T: Serialize>(&self, items: &[T], columns: &[Column]) {
        let values: Vec<Value> = items.iter().map(json).collect();
        if self.quiet {
            for v in &values {
                println!("{}", cell(id_of(v)));
            }
            return;
        }
        match self.format {
            Format::Json => print_json(&Value::Array(values)),
            Format::Table => {
                if values.is_empty() {
                    eprintln!("(none)");
                    return;
                }
                let mut t = table();
                t.set_header(columns.iter().map(|(h, _)| *h));
                for v in &values {
                    t.add_row(columns.iter().map(|(_, p)| cell_at(v, p)));
                }
                println!("{t}");
            }
        }
    }

    /// A line for people (stderr, not in the way of piped output).
    pub(crate) fn note(&self, text: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }
}

fn id_of(v: &Value) -> Option<&Value> {
    v.get("id")
        .or_else(|| v.get("record_id"))
        .or_else(|| v.get("tool_id"))
        .or_else(|| v.get("version"))
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_as_people_write_them() {
        assert_eq!(cell(Some(&json!(74.98))), "74.98");
        assert_eq!(cell(Some(&json!(2.0))), "2");
        assert_eq!(cell(Some(&json!(0.123456))), "0.1235");
        assert_eq!(cell(Some(&json!(12))), "12");
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some(&json!(true))), "yes");
        assert_eq!(cell(Some(&json!({"fast": 10}))), "{\"fast\":10}");
        assert_eq!(cell_at(&json!({"balance": 100.0}), "$/balance"), "100.00");
        assert_eq!(cell_at(&json!({"balance": 74.98}), "$/balance"), "74.98");
        assert_eq!(cell_at(&json!({}), "$/balance"), "-");
    }
}
