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
    fn leap_years_follow_the_gregorian_rule() {
        // Every fourth year, except centuries, except every fourth century.
        for (year, leap) in [
            (0, true),
            (1, false),
            (4, true),
            (1600, true),
            (1900, false),
            (1996, true),
            (2000, true),
            (2023, false),
            (2024, true),
            (2100, false),
            (2400, true),
        ] {
            assert_eq!(is_leap(year), leap, "{year}");
            assert_eq!(days_in_month(year, 2), if leap { 29 } else { 28 }, "{year}");
        }
    }

    #[test]
    fn months_have_their_lengths() {
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        for (month, days) in (1..=12).zip(lengths) {
            assert_eq!(days_in_month(2023, month), days, "2023-{month:02}");
            assert_eq!(days_in_month(2024, month), days + i64::from(month == 2), "2024-{month:02}");
        }
    }

    /// Walks every date of the years a timestamp can name (0000 to 9999), month by month by
    /// the month lengths: each must be the day after the one before, both ways.
    #[test]
    fn every_date_from_0000_to_9999_is_the_day_after_the_one_before() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        let mut day = days_from_civil(0, 1, 1);
        assert_eq!(day, -719_528);
        for year in 0..=9999 {
            let first = day;
            for month in 1..=12 {
                for date in 1..=days_in_month(year, month) {
                    assert!(days_from_civil(year, month, date) == day, "{year}-{month}-{date}");
                    assert!(civil_from_days(day) == (year, month, date), "{year}-{month}-{date}");
                    day += 1;
                }
            }
            assert_eq!(day - first, if is_leap(year) { 366 } else { 365 }, "{year}");
        }
        assert_eq!((day, civil_from_days(day)), (days_from_civil(10_000, 1, 1), (10_000, 1, 1)));
    }

    #[test]
    fn every_field_is_accepted_at_its_limit() {
        for (s, secs) in [
            ("0000-01-01T00:00:00Z", -62_167_219_200),
            ("1900-03-01T00:00:00Z", -2_203_891_200),
            ("1969-12-31T23:59:00Z", -60),
            ("2023-01-01T00:00:00Z", 1_672_531_200),
            ("2023-01-31T00:00:00Z", 1_675_123_200),
            ("2023-03-01T12:34:56Z", 1_677_674_096),
            ("2023-04-30T00:00:00Z", 1_682_812_800),
            ("2023-12-31T23:59:59Z", 1_704_067_199),
            ("2024-02-29T12:00:00Z", 1_709_208_000),
            ("2038-01-19T03:14:07Z", 2_147_483_647),
            ("2100-02-28T23:59:59Z", 4_107_542_399),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
            // A fraction of one to nine digits is accepted and dropped.
            ("2023-03-01T12:34:56.9Z", 1_677_674_096),
            ("2023-03-01T12:34:56.999999999Z", 1_677_674_096),
        ] {
            assert_eq!(parse_utc(s), Some(secs), "{s}");
        }
    }

    #[test]
    fn every_field_is_refused_one_past_its_limit() {
        for bad in [
            "2023-00-01T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-00T00:00:00Z",
            "2023-01-32T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T23:60:00Z",
            "2023-01-01T23:59:60Z",
            "2023-03-01T12:34:56.Z",
            "2023-03-01T12:34:56.1234567890Z",
            "2023-03-01T12:34:56.12a4Z",
            "2023-03-01T12:34:56,5Z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_shape_is_exact() {
        for bad in [
            // Too short, though ending in Z.
            "Z",
            "2023-01-01Z",
            "2023-01-01T00:00Z",
            "2023-01-01T00:00:0Z",
            // Each separator in turn.
            "2023/01-01T00:00:00Z",
            "2023-01/01T00:00:00Z",
            "2023-01-01t00:00:00Z",
            "2023-01-01T00-00:00Z",
            "2023-01-01T00:00-00Z",
            // Signs that `i64::from_str` would take.
            "2023-+1-01T00:00:00Z",
            "2023-01-+1T00:00:00Z",
            "2023-01-01T+1:00:00Z",
            "2023-01-01T00:+1:00Z",
            "2023-01-01T00:00:+1Z",
            "2023-01-01T00:00:00z",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn minutes_round_trip() {
        assert_eq!(format_minute(-1), "1969-12-31T23:59:00Z");
        assert_eq!(format_minute(1_677_674_096), "2023-03-01T12:34:00Z");
        assert_eq!(format_minute(253_402_300_799), "9999-12-31T23:59:00Z");
        // Every minute of a leap day's neighbourhood, and a stride over the years.
        let leap_day = parse_utc("2024-02-28T00:00:00Z").unwrap();
        let near = (leap_day..leap_day + 3 * 86_400).step_by(60);
        let far = (-62_167_219_200..253_402_300_799).step_by(7_777_777);
        for secs in near.chain(far) {
            assert_eq!(parse_utc(&format_minute(secs)), Some(secs - secs.rem_euclid(60)), "{secs}");
        }
    }

    #[test]
    fn minute_precision_drops_seconds() {
        let t = parse_utc("2023-12-17T15:04:59.999Z").unwrap();
        assert_eq!(format_minute(t), "2023-12-17T15:04:00Z");
        assert_eq!(format_minute(0), "1970-01-01T00:00:00Z");
    }
}
