use super::*;
use crate::dataset::stats;

const DAY: i64 = 86_400;
const T0: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z

fn date(i: usize) -> String {
    chrono::DateTime::from_timestamp(T0 + i as i64 * DAY, 0)
        .expect("in range")
        .format("%Y-%m-%d")
        .to_string()
}

/// A valid daily file of `n` rows; `edit(row, default)` may replace data row `row` (1-based).
fn file(n: usize, edit: impl Fn(usize, String) -> String) -> String {
    let mut out = String::from("Date,Open,High,Low,Close,Volume\n");
    for i in 0..n {
        let p = 100.0 + i as f64;
        let row = format!("{},{p},{},{},{},1000", date(i), p + 2.0, p - 1.0, p + 1.0);
        out.push_str(&edit(i + 1, row));
        out.push('\n');
    }
    out
}

fn invalid(text: &str) -> DataError {
    match parse(text.as_bytes(), 1_000) {
        Err(CsvError::Invalid(e)) => e,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn eurusd_file_loads_as_it_is() {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/EURUSD.csv");
    let bytes = std::fs::read(repo)
        .or_else(|_| std::fs::read("/work/shared/data/EURUSD.csv"))
        .expect("EURUSD.csv in testdata/ or /work/shared/data/");
    let bars = parse(&bytes, 2_000_000).expect("EURUSD.csv is valid");
    assert_eq!(bars.len(), 5000);
    assert_eq!(bars.time[0], 1_492_592_400, "2017-04-19T09:00:00Z");
    assert_eq!(bars.time[4999], 1_518_015_600, "2018-02-07T15:00:00Z");
    assert_eq!(
        (
            bars.open[0],
            bars.high[0],
            bars.low[0],
            bars.close[0],
            bars.volume[0]
        ),
        (1.0716, 1.0722, 1.07083, 1.07219, 1413.0)
    );
    assert_eq!(stats::frequency(&bars), "1h");
}

#[test]
fn yahoo_export_with_bom_and_crlf_loads_ignoring_adj_close() {
    let mut text = String::from("\u{feff}Date,Open,High,Low,Close,Adj Close,Volume\r\n");
    for i in 0..40 {
        text.push_str(&format!("{},10.5,11.0,10.0,10.75,9.1,123456\r\n", date(i)));
    }
    let bars = parse(text.as_bytes(), 1_000).expect("a Yahoo export is valid");
    assert_eq!(bars.len(), 40);
    assert_eq!(bars.time[1] - bars.time[0], DAY);
    assert_eq!(bars.close[0], 10.75, "Close, not Adj Close");
    assert_eq!(bars.volume[39], 123_456.0);
    assert_eq!(stats::frequency(&bars), "1d");
}

#[test]
fn the_same_bars_in_other_formats_hash_the_same() {
    let yahoo = parse(file(40, |_, r| r).as_bytes(), 1_000).expect("valid");
    let mut other =
        String::from("\"timestamp\";\"CLOSE\";\"open\";\"low\";\"high\";\"volume\";\"extra\"\n");
    for i in 0..40 {
        let p = 100.0 + i as f64;
        let t = T0 + i as i64 * DAY;
        other.push_str(&format!(
            "{t};{};\"{p}\";{};{};1000.0;x\n",
            p + 1.0,
            p - 1.0,
            p + 2.0
        ));
    }
    let unix = parse(other.as_bytes(), 1_000).expect("valid");
    assert_eq!(yahoo, unix);
    assert_eq!(yahoo.content_hash(), unix.content_hash());
    assert_eq!(yahoo.content_hash().len(), 64);
}

#[test]
fn times_are_iso_dates_datetimes_or_unix_seconds() {
    let t = 1_492_592_400;
    for s in [
        "2017-04-19 09:00:00",
        "2017-04-19T09:00:00",
        "2017-04-19T09:00:00Z",
        "2017-04-19T09:00:00.250Z",
        "2017-04-19 09:00",
        "2017-04-19T11:00:00+02:00",
        "2017-04-19T11:00:00+0200",
        "2017-04-19 04:00:00 -05:00",
        "2017-04-19 09:00:00 UTC",
        "1492592400",
    ] {
        assert_eq!(parse_time(s), Ok(t), "{s}");
    }
    assert_eq!(parse_time("2017-04-19"), Ok(t - 9 * 3600));
    for bad in [
        "19/04/2017",
        "2017-02-30",
        "2017-04-19 25:00",
        "1492592400000",
        "x",
        "2017-04-19T09:00:00+2",
    ] {
        assert!(parse_time(bad).is_err(), "{bad} is refused");
    }
}

#[test]
fn each_invalid_value_names_its_row_line_and_column() {
    let bad = |row: usize, line: String| {
        move |i: usize, r: String| if i == row { line.clone() } else { r }
    };
    let check = |row: usize, edit: String, column: &str, words: &str| {
        let e = invalid(&file(40, bad(row, edit.clone())));
        assert_eq!(e.row, Some(row), "{edit}: {e}");
        assert_eq!(e.line, Some(row + 1), "the header is line 1: {e}");
        assert_eq!(e.column.as_deref(), Some(column), "{edit}: {e}");
        assert!(e.message.contains(words), "{edit}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("row {row} (line {}): ", row + 1)),
            "{e}"
        );
        assert_eq!(e.field(), format!("rows.{row}.{column}"));
    };
    check(
        7,
        format!("{},1,2,0.5,1.5,10", date(4)),
        "date",
        "earlier than row 6",
    );
    check(
        7,
        format!("{},1,2,0.5,1.5,10", date(5)),
        "date",
        "duplicate timestamp",
    );
    check(
        3,
        format!("{},1,,0.5,1.5,10", date(2)),
        "high",
        "missing value for high",
    );
    check(
        3,
        format!("{},1,2,0.5", date(2)),
        "close",
        "missing value for close",
    );
    check(
        4,
        format!("{},1,2,abc,1.5,10", date(3)),
        "low",
        "\"abc\" is not a number",
    );
    check(5, format!("{},NaN,2,0.5,1.5,10", date(4)), "open", "finite");
    check(5, format!("{},1,inf,0.5,1.5,10", date(4)), "high", "finite");
    check(6, format!("{},0,2,0.5,1.5,10", date(5)), "open", "positive");
    check(6, format!("{},1,2,-0.5,1.5,10", date(5)), "low", "positive");
    check(
        8,
        format!("{},1,1.2,0.5,1.5,10", date(7)),
        "high",
        "below close",
    );
    check(
        8,
        format!("{},1.6,1.55,0.5,1.5,10", date(7)),
        "high",
        "below open",
    );
    check(
        9,
        format!("{},1,2,1.2,1.5,10", date(8)),
        "low",
        "above open",
    );
    check(9, format!("{},1,1,2,1,10", date(8)), "high", "below low");
    check(
        10,
        format!("{},1,2,0.5,1.5,-3", date(9)),
        "volume",
        "zero or more",
    );
    check(
        11,
        "31.12.2024,1,2,0.5,1.5,3".to_owned(),
        "date",
        "not a date",
    );
}

#[test]
fn whole_file_problems_are_explained() {
    assert!(invalid("").message.contains("empty"));
    assert!(invalid("\u{feff}\r\n  \r\n").message.contains("empty"));
    let few = invalid(&file(29, |_, r| r));
    assert_eq!((few.row, few.field()), (None, "body".to_owned()));
    assert!(
        few.message.contains("29 data rows") && few.message.contains("30"),
        "{few}"
    );
    let no_close = invalid("Date,Open,High,Low,Volume\n2024-01-01,1,2,0.5,3\n");
    assert_eq!(no_close.field(), "header.close");
    assert!(
        no_close
            .to_string()
            .starts_with("line 1: missing required column: close"),
        "{no_close}"
    );
    let no_time = invalid("When,Open,High,Low,Close\n");
    assert_eq!(no_time.field(), "header.date");
    let twice = invalid("Date,Open,High,Low,Close,close\n");
    assert!(twice.message.contains("twice"), "{twice}");
    let binary = invalid("Date,Open,High,Low,Close\n\u{0}\n").row;
    assert_eq!(binary, Some(1), "a garbage row is a row error");
    match parse(b"Date,Open,High,Low,Close\n\xff\xfe\n", 10) {
        Err(CsvError::Invalid(e)) => assert_eq!(e.line, Some(2), "{e}"),
        other => panic!("non-UTF-8 is refused: {other:?}"),
    }
}

#[test]
fn a_header_wider_than_the_limit_is_refused_before_any_work() {
    let mut header = String::from("Date,Open,High,Low,Close");
    for i in 0..300_000 {
        header.push_str(&format!(",c{i}"));
    }
    let wide = invalid(&format!("{header}\n"));
    assert_eq!(wide.line, Some(1));
    assert!(wide.message.contains("300005 columns"), "{wide}");
    let mut ok = String::from("Date,Open,High,Low,Close");
    for i in 0..MAX_COLUMNS - 5 {
        ok.push_str(&format!(",c{i}"));
    }
    let text = file(40, |_, r| r).replacen("Date,Open,High,Low,Close,Volume", &ok, 1);
    assert_eq!(
        parse(text.as_bytes(), 1_000).expect("at the limit").len(),
        40
    );
}

#[test]
fn a_data_line_is_read_only_as_far_as_the_header_goes() {
    let commas = ",".repeat(5_000_000);
    let text = file(40, |i, r| if i == 7 { format!("{r}{commas}") } else { r });
    let bars = parse(text.as_bytes(), 1_000).expect("extra fields are ignored");
    assert_eq!(bars.len(), 40);
}

#[test]
fn blank_lines_are_skipped_but_counted_as_lines() {
    let text = file(40, |i, r| if i == 3 { format!("\n{r}") } else { r });
    let ok = parse(text.as_bytes(), 1_000).expect("blank lines are fine");
    assert_eq!(ok.len(), 40);
    let text = file(40, |i, r| match i {
        3 => format!("\n{r}"),
        5 => "2024-01-05,1,2,3,1.5,10".into(),
        _ => r,
    });
    let e = invalid(&text);
    assert_eq!((e.row, e.line), (Some(5), Some(7)), "{e}");
}

#[test]
fn more_rows_than_the_limit_is_too_many_rows() {
    assert_eq!(
        parse(file(50, |_, r| r).as_bytes(), 49),
        Err(CsvError::TooManyRows { max: 49 })
    );
    assert!(parse(file(50, |_, r| r).as_bytes(), 50).is_ok());
}
