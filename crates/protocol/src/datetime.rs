//! The date-times of API 2.0 `createorder` (§15.2): a calendar date and a time of day as a clock
//! on the wall shows them, in one of three spellings. Which instant they mean depends on the
//! tenant's time zone, which the domain knows and this crate does not.

#![warn(missing_docs)]

use crate::value::{trim_ws, Malformed};

/// A valid calendar date with a time of day (24-hour clock), without a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl LocalDateTime {
    /// Reads `dd.mm.yyyy hh:mm:ss`, `yyyy-mm-dd hh:mm:ss` or `mm/dd/yyyy hh:mm:ss` (surrounding
    /// ASCII whitespace ignored): every field with exactly the digits shown, one space between
    /// date and time, a date that exists in the Gregorian calendar and a time from `00:00:00` to
    /// `23:59:59`.
    pub fn parse(bytes: &[u8]) -> Result<LocalDateTime, Malformed> {
        let text = trim_ws(bytes);
        let (date, time) = match text {
            [date @ .., b' ', h1, h2, b':', m1, m2, b':', s1, s2] if date.len() == 10 => {
                (date, [*h1, *h2, *m1, *m2, *s1, *s2])
            }
            _ => return Err(Malformed),
        };
        let (year, month, day) = match *date {
            [d1, d2, b'.', m1, m2, b'.', y1, y2, y3, y4] => (
                number(&[y1, y2, y3, y4])?,
                number(&[m1, m2])?,
                number(&[d1, d2])?,
            ),
            [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] => (
                number(&[y1, y2, y3, y4])?,
                number(&[m1, m2])?,
                number(&[d1, d2])?,
            ),
            [m1, m2, b'/', d1, d2, b'/', y1, y2, y3, y4] => (
                number(&[y1, y2, y3, y4])?,
                number(&[m1, m2])?,
                number(&[d1, d2])?,
            ),
            _ => return Err(Malformed),
        };
        let [hour, minute, second] = [&time[0..2], &time[2..4], &time[4..6]].map(number);
        let parsed = LocalDateTime {
            year: u16::try_from(year).map_err(|_| Malformed)?,
            month: u8::try_from(month).map_err(|_| Malformed)?,
            day: u8::try_from(day).map_err(|_| Malformed)?,
            hour: u8::try_from(hour?).map_err(|_| Malformed)?,
            minute: u8::try_from(minute?).map_err(|_| Malformed)?,
            second: u8::try_from(second?).map_err(|_| Malformed)?,
        };
        let valid = parsed.year >= 1
            && (1..=12).contains(&parsed.month)
            && (1..=days_in_month(parsed.year, parsed.month)).contains(&parsed.day)
            && parsed.hour < 24
            && parsed.minute < 60
            && parsed.second < 60;
        if valid {
            Ok(parsed)
        } else {
            Err(Malformed)
        }
    }

    /// The year, 1 to 9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The hour, 0 to 23.
    pub fn hour(self) -> u8 {
        self.hour
    }

    /// The minute, 0 to 59.
    pub fn minute(self) -> u8 {
        self.minute
    }

    /// The second, 0 to 59.
    pub fn second(self) -> u8 {
        self.second
    }
}

/// A run of ASCII digits as a number.
fn number(digits: &[u8]) -> Result<u32, Malformed> {
    digits.iter().try_fold(0u32, |value, &d| {
        if d.is_ascii_digit() {
            Ok(value * 10 + u32::from(d - b'0'))
        } else {
            Err(Malformed)
        }
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Option<(u16, u8, u8, u8, u8, u8)> {
        LocalDateTime::parse(text.as_bytes()).ok().map(|t| {
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            )
        })
    }

    #[test]
    fn the_three_spellings_name_one_time() {
        let expected = Some((2023, 11, 16, 10, 0, 5));
        assert_eq!(fields("16.11.2023 10:00:05"), expected);
        assert_eq!(fields("2023-11-16 10:00:05"), expected);
        assert_eq!(fields("11/16/2023 10:00:05"), expected);
        assert_eq!(fields(" 2023-11-16 10:00:05\t"), expected);
    }

    #[test]
    fn calendar_and_clock_limits() {
        assert_eq!(
            fields("29.02.2024 23:59:59"),
            Some((2024, 2, 29, 23, 59, 59))
        );
        assert_eq!(fields("2000-02-29 00:00:00"), Some((2000, 2, 29, 0, 0, 0)));
        for bad in [
            "29.02.2023 10:00:00",
            "1900-02-29 10:00:00",
            "31.04.2023 10:00:00",
            "2023-13-01 10:00:00",
            "2023-00-01 10:00:00",
            "2023-01-00 10:00:00",
            "0000-01-01 10:00:00",
            "2023-11-16 24:00:00",
            "2023-11-16 10:60:00",
            "2023-11-16 10:00:60",
        ] {
            assert_eq!(fields(bad), None, "{bad}");
        }
    }

    #[test]
    fn other_spellings_are_malformed() {
        for bad in [
            "",
            "2023-11-16",
            "16.11.2023",
            "2023-11-16T10:00:00",
            "2023-11-16  10:00:00",
            "2023-11-16 10:00",
            "16-11-2023 10:00:00",
            "2023/11/16 10:00:00",
            "16.11.23 10:00:00",
            "6.11.2023 10:00:00",
            "2023-11-16 9:00:00",
            "2023-11-16 10:00:00 +03",
            "2023-1a-16 10:00:00",
            "1700118000",
            "２０２３-11-16 10:00:00",
        ] {
            assert_eq!(fields(bad), None, "{bad}");
        }
    }
}
