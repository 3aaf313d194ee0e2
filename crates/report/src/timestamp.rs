//! UTC timestamps in the one form reports use: RFC 3339 with a `Z` (`2023-12-17T15:00:00.000Z`,
//! what JavaScript's `Date.toISOString()` gives), and the minute precision kept in storage.

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` into seconds since the Unix epoch.
pub fn parse_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let frac = &s[19..s.len() - 1];
    if !(frac.is_empty()
        || (frac.len() >= 2
            && frac.len() <= 10
            && frac.starts_with('.')
            && frac[1..].bytes().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:00Z`, dropping the seconds: the
/// precision at which the collector keeps time.
pub fn format_minute(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:00Z", rem / 3600, (rem % 3600) / 60)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_javascript_iso_strings() {
        // The Pakistan outage began about 15:00 UTC on 17 December 2023.
        assert_eq!(parse_utc("2023-12-17T15:00:00.000Z"), Some(1_702_825_200));
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2024-02-29T23:59:59.5Z"), Some(1_709_251_199));
    }

    #[test]
    fn rejects_what_is_not_a_utc_timestamp() {
        for bad in [
            "",
            "2023-12-17",
            "2023-12-17T15:00:00",
            "2023-12-17T15:00:00+05:00",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-12-17T24:00:00Z",
            "2023-12-17 15:00:00Z",
            "2023-12-17T15:00:00.Z",
            "+023-12-17T15:00:00Z",
            "2023-12-17T15:00:00.0000000000000Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn minute_precision_drops_seconds() {
        let t = parse_utc("2023-12-17T15:04:59.999Z").unwrap();
        assert_eq!(format_minute(t), "2023-12-17T15:04:00Z");
        assert_eq!(format_minute(0), "1970-01-01T00:00:00Z");
    }
}
