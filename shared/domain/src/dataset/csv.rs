//! Reading OHLCV bars from CSV text: pure parsing and validation, no I/O.
//!
//! Accepts what common exports look like as they are: Yahoo-style daily files
//! (`Date,Open,High,Low,Close,Adj Close,Volume`), files whose unnamed first column is the time
//! (backtesting.py's `EURUSD.csv`), a UTF-8 byte order mark, CRLF line ends, quoted fields,
//! `;` or tab separators. Header names are case-insensitive; unknown columns are ignored.
//!
//! Every error names where it is: the data row (1-based, the header is not a row) and the line
//! of the file (1-based, blank lines count), so a user can find it in an editor.

use chrono::NaiveDate;

use super::{Bars, DataError, MIN_BARS, check_bar};

/// Why a CSV body was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// More data rows than allowed (the caller answers 413).
    #[error("more than {max} rows")]
    TooManyRows {
        /// The limit.
        max: usize,
    },
    /// Not a valid set of bars (the caller answers 422).
    #[error(transparent)]
    Invalid(#[from] DataError),
}

/// Header names of the time column, in order of preference.
const TIME_NAMES: [&str; 8] = [
    "datetime",
    "date_time",
    "timestamp",
    "date",
    "time",
    "gmt time",
    "local time",
    "open time",
];
const VOLUME_NAMES: [&str; 4] = ["volume", "vol", "tickvol", "tick volume"];
/// Unix seconds accepted: 1800-01-01 to 2200-01-01 (so milliseconds are caught, not misread).
const UNIX_RANGE: std::ops::RangeInclusive<i64> = -5_364_662_400..=7_258_118_400;

/// Most columns a header may have. Price files have a handful; a wider header is refused before
/// any work is done on it, and a data line is never split into more fields than its header has.
pub const MAX_COLUMNS: usize = 256;

struct Columns {
    time: usize,
    time_name: String,
    prices: [usize; 4],
    volume: Option<usize>,
}

const PRICE_NAMES: [&str; 4] = ["open", "high", "low", "close"];

fn header_error(line: usize, column: Option<&str>, message: String) -> CsvError {
    CsvError::Invalid(DataError {
        row: None,
        line: Some(line),
        column: column.map(str::to_owned),
        message,
    })
}

impl Columns {
    fn find(names: &[String], line: usize) -> Result<Self, CsvError> {
        let position = |wanted: &str| names.iter().position(|n| n == wanted);
        let mut seen = std::collections::HashSet::with_capacity(names.len());
        for name in names {
            if !name.is_empty() && !seen.insert(name.as_str()) {
                return Err(header_error(
                    line,
                    Some(name),
                    format!("column {name:?} appears twice in the header"),
                ));
            }
        }
        let (time, time_name) = match TIME_NAMES.iter().find_map(|t| position(t).map(|i| (i, *t))) {
            Some((i, t)) => (i, t.to_owned()),
            // backtesting.py and pandas write the index as an unnamed first column.
            None if names.first().is_some_and(String::is_empty) => (0, "time".to_owned()),
            None => {
                return Err(header_error(
                    line,
                    Some("date"),
                    "missing required column: a time column named Date, Datetime, Timestamp or \
                     Time (or an unnamed first column)"
                        .into(),
                ));
            }
        };
        let mut prices = [0; 4];
        for (slot, name) in prices.iter_mut().zip(PRICE_NAMES) {
            *slot = position(name).ok_or_else(|| {
                header_error(
                    line,
                    Some(name),
                    format!(
                        "missing required column: {name} (found: {})",
                        names.join(", ")
                    ),
                )
            })?;
        }
        let volume = VOLUME_NAMES.iter().find_map(|v| position(v));
        Ok(Self {
            time,
            time_name,
            prices,
            volume,
        })
    }
}

/// Splits one line into at most `max` fields (the rest of the line is not read); a field in
/// double quotes may hold the separator.
fn split_fields<'a>(line: &'a str, sep: char, out: &mut Vec<&'a str>, max: usize) {
    out.clear();
    let mut rest = line;
    while out.len() < max {
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(&quoted[..end]);
            let after = &quoted[(end + 1).min(quoted.len())..];
            match after.find(sep) {
                Some(i) => rest = &after[i + sep.len_utf8()..],
                None => return,
            }
        } else {
            match rest.find(sep) {
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i + sep.len_utf8()..];
                }
                None => {
                    out.push(rest);
                    return;
                }
            }
        }
    }
}

fn header_name(raw: &str) -> String {
    raw.trim()
        .trim_matches(|c| c == '<' || c == '>')
        .to_ascii_lowercase()
}

/// Parses and validates a CSV body into bars, refusing more than `max_rows` data rows.
///
/// # Errors
/// [`CsvError::TooManyRows`] past the limit; [`CsvError::Invalid`] naming the row, line and
/// column of the first problem.
pub fn parse(bytes: &[u8], max_rows: usize) -> Result<Bars, CsvError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        header_error(line, None, format!("line {line} is not UTF-8 text"))
    })?;
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_line, header)) = lines.next() else {
        return Err(CsvError::Invalid(DataError {
            row: None,
            line: None,
            column: None,
            message: "the body is empty: expected a CSV header (Date,Open,High,Low,Close,Volume) \
                      and at least one row per bar"
                .into(),
        }));
    };
    let sep = [',', ';', '\t']
        .into_iter()
        .find(|s| header.contains(*s))
        .unwrap_or(',');
    let width = header.matches(sep).count() + 1;
    if width > MAX_COLUMNS {
        return Err(header_error(
            header_line,
            None,
            format!(
                "the header has {width} columns; at most {MAX_COLUMNS} are accepted \
                 (Date, Open, High, Low, Close, Volume and others, which are ignored)"
            ),
        ));
    }
    let mut fields = Vec::with_capacity(width);
    split_fields(header, sep, &mut fields, width);
    let names: Vec<String> = fields.iter().map(|f| header_name(f)).collect();
    let columns = Columns::find(&names, header_line)?;
    let mut bars = Bars::with_capacity((text.len() / header.len().max(32)).min(max_rows));
    for (line, content) in lines {
        let row = bars.len() + 1;
        if row > max_rows {
            return Err(CsvError::TooManyRows { max: max_rows });
        }
        let at = |column: &str, message: String| {
            CsvError::Invalid(DataError {
                row: Some(row),
                line: Some(line),
                column: Some(column.to_owned()),
                message,
            })
        };
        split_fields(content, sep, &mut fields, width);
        let value = |index: usize, name: &str| {
            fields
                .get(index)
                .map(|f| f.trim())
                .filter(|f| !f.is_empty())
                .ok_or_else(|| at(name, format!("missing value for {name}")))
        };
        let raw_time = value(columns.time, &columns.time_name)?;
        let time = parse_time(raw_time).map_err(|m| {
            at(
                &columns.time_name,
                format!("{} {raw_time:?} {m}", columns.time_name),
            )
        })?;
        let mut prices = [0.0; 4];
        for ((slot, index), name) in prices.iter_mut().zip(columns.prices).zip(PRICE_NAMES) {
            let raw = value(index, name)?;
            *slot = raw
                .parse()
                .map_err(|_| at(name, format!("{name} {raw:?} is not a number")))?;
        }
        let volume = match columns.volume {
            Some(index) => {
                let raw = value(index, "volume")?;
                raw.parse::<f64>()
                    .map_err(|_| at("volume", format!("volume {raw:?} is not a number")))?
            }
            None => 0.0,
        };
        let [open, high, low, close] = prices;
        check_bar(open, high, low, close, volume).map_err(|(column, m)| at(column, m))?;
        if let Some(&previous) = bars.time.last() {
            if time == previous {
                return Err(at(
                    &columns.time_name,
                    format!("duplicate timestamp {raw_time:?} (same as row {})", row - 1),
                ));
            }
            if time < previous {
                return Err(at(
                    &columns.time_name,
                    format!(
                        "timestamps must increase: {raw_time:?} is earlier than row {}",
                        row - 1
                    ),
                ));
            }
        }
        // `+ 0.0` turns a -0 volume into 0, so equal bars always encode (and hash) the same.
        bars.push(time, open, high, low, close, volume + 0.0);
    }
    if bars.len() < MIN_BARS {
        return Err(CsvError::Invalid(DataError {
            row: None,
            line: None,
            column: None,
            message: format!(
                "{} data rows: at least {MIN_BARS} bars are needed",
                bars.len()
            ),
        }));
    }
    Ok(bars)
}

/// Parses an ISO 8601 date or date-time (zone optional, UTC when absent) or Unix seconds.
/// The error completes the sentence "date "x" ...".
fn parse_time(s: &str) -> Result<i64, &'static str> {
    const EXPECTED: &str = "is not a date, a date-time or Unix seconds \
                            (expected e.g. 2017-04-19, 2017-04-19 09:00:00, 2017-04-19T09:00:00Z)";
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .filter(|t| UNIX_RANGE.contains(t))
            .ok_or(
                "is out of range for Unix seconds (years 1800-2200; milliseconds are not accepted)",
            );
    }
    let mut c = Cursor(s.as_bytes());
    let date = (|| {
        let year = c.number(4)?;
        c.expect(b"-")?;
        let month = c.number(2)?;
        c.expect(b"-")?;
        let day = c.number(2)?;
        NaiveDate::from_ymd_opt(year as i32, month, day)
    })()
    .ok_or(EXPECTED)?;
    let (mut hour, mut minute, mut second, mut offset) = (0, 0, 0, 0_i64);
    if !c.0.is_empty() {
        c.expect(b" ")
            .or_else(|| c.expect(b"T"))
            .or_else(|| c.expect(b"t"))
            .ok_or(EXPECTED)?;
        hour = c.number(2).ok_or(EXPECTED)?;
        c.expect(b":").ok_or(EXPECTED)?;
        minute = c.number(2).ok_or(EXPECTED)?;
        if c.expect(b":").is_some() {
            second = c.number(2).ok_or(EXPECTED)?;
            // Fractions of a second are dropped: bars are keyed by whole seconds.
            if c.expect(b".").or_else(|| c.expect(b",")).is_some() {
                c.number_any().ok_or(EXPECTED)?;
            }
        }
        let _ = c.expect(b" ");
        offset = c.zone().ok_or(EXPECTED)?;
    }
    let time = date.and_hms_opt(hour, minute, second).ok_or(EXPECTED)?;
    let t = time.and_utc().timestamp() - offset;
    if UNIX_RANGE.contains(&t) {
        Ok(t)
    } else {
        Err("is out of range (years 1800-2200)")
    }
}

struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn expect(&mut self, token: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(token)?;
        Some(())
    }

    /// Exactly `n` ASCII digits.
    fn number(&mut self, n: usize) -> Option<u32> {
        let digits = self.0.get(..n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[n..];
        Some(digits.iter().fold(0, |v, d| v * 10 + u32::from(d - b'0')))
    }

    /// One or more digits, skipped.
    fn number_any(&mut self) -> Option<()> {
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        (n > 0).then(|| self.0 = &self.0[n..])
    }

    /// The rest is a zone: nothing (UTC), `Z`, `UTC`, or `+hh`, `+hhmm`, `+hh:mm` (and `-`).
    fn zone(&mut self) -> Option<i64> {
        match self.0 {
            [] | [b'Z' | b'z'] | [b'U', b'T', b'C'] => return Some(0),
            _ => {}
        }
        let sign = match self.0.first()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.0 = &self.0[1..];
        let hours = i64::from(self.number(2)?);
        let _ = self.expect(b":");
        let minutes = if self.0.is_empty() {
            0
        } else {
            i64::from(self.number(2)?)
        };
        (self.0.is_empty() && hours < 24 && minutes < 60)
            .then_some(sign * (hours * 3600 + minutes * 60))
    }
}

#[cfg(test)]
mod tests;
