//! Days and times as a tenant's people read them: in its time zone (SPEC §7.6). The instants
//! a day stands for are the domain's rule; this is only the command line's side of it.

use anyhow::anyhow;
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use clickbill_domain::listing::parse_iso_day;

/// A `YYYY-MM-DD` date given to `option`.
pub fn parse_day(option: &str, text: &str) -> anyhow::Result<NaiveDate> {
    parse_iso_day(text.as_bytes()).map_err(|_| {
        anyhow!("{option}: expected a date YYYY-MM-DD such as 2024-12-31, got {text:?}")
    })
}

/// `YYYY-MM-DD HH:MM:SS` in `zone`.
pub fn local_time(zone: Tz, at: i64) -> String {
    match DateTime::from_timestamp(at, 0) {
        Some(utc) => utc
            .with_timezone(&zone)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        // Beyond any calendar: show the number rather than fail a listing over one row.
        None => format!("@{at}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_name_their_option_when_refused() {
        assert_eq!(
            parse_day("--to", "2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "29.02.2024",
            "2024-02-29T00:00",
            "",
        ] {
            let error = parse_day("--expires", bad).unwrap_err().to_string();
            assert!(
                error.starts_with("--expires: expected a date YYYY-MM-DD"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn times_read_as_the_zone_shows_them() {
        // 2030-01-31 23:59:59 in Tokyo (+09:00).
        let at = 1_896_101_999;
        assert_eq!(
            local_time(chrono_tz::Asia::Tokyo, at),
            "2030-01-31 23:59:59"
        );
        assert_eq!(local_time(chrono_tz::UTC, at), "2030-01-31 14:59:59");
    }
}
