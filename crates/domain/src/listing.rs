//! Listing orders and partner totals over a time window (SPEC §7.6, §13.4–§13.5, §14.5): the
//! date and time parameters, the windows they make in the tenant's time zone, the `goods`
//! filter, and the queries that put them together.

use crate::model::{Order, Partner, Product, ProductId, TenantId};
use crate::ports::{OrderTime, PartnerStats, Store, StoreError, TimeWindow};
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use clickbill_protocol::value::{comma_list, parse_int, trim_ws, Malformed, Money};
use std::collections::HashSet;

/// The last second a four-digit year reaches (9999-12-31 23:59:59 UTC). Later unix times are
/// refused so that every instant a request names has a calendar day in every zone.
const LAST_UNIX_TIME: i64 = 253_402_300_799;

/// How far the one-month window reaches back from the day of its end (SPEC §13.5 step 3).
const MONTH_WINDOW_DAYS_BEFORE_END: u64 = 30;

/// A unix time given as a parameter: ASCII digits only (surrounding ASCII whitespace ignored),
/// no sign, at most [`LAST_UNIX_TIME`] (clickbill rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    pub fn parse(bytes: &[u8]) -> Result<UnixTime, Malformed> {
        let digits = trim_ws(bytes);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(Malformed);
        }
        match parse_int(digits) {
            Ok(seconds) if seconds <= LAST_UNIX_TIME => Ok(UnixTime(seconds)),
            _ => Err(Malformed),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A `d.m.yyyy` date (`getOrdersWithGoods`): day and month with one or two digits, a four-digit
/// year, a day that exists in the calendar; surrounding ASCII whitespace ignored.
pub fn parse_dotted_day(bytes: &[u8]) -> Result<NaiveDate, Malformed> {
    let text = trim_ws(bytes);
    let mut parts = text.split(|&b| b == b'.');
    let (Some(day), Some(month), Some(year), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed);
    };
    let field = |digits: &[u8], lengths: &[usize]| {
        (lengths.contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit))
            .then(|| parse_int(digits).ok())
            .flatten()
            .ok_or(Malformed)
    };
    calendar_day(
        field(year, &[4])?,
        field(month, &[1, 2])?,
        field(day, &[1, 2])?,
    )
}

/// A `YYYY-MM-DD` date (`GetPartnerStats`): exactly those digits, a day that exists in the
/// calendar; surrounding ASCII whitespace ignored.
pub fn parse_iso_day(bytes: &[u8]) -> Result<NaiveDate, Malformed> {
    let text = trim_ws(bytes);
    let digits = |range: std::ops::Range<usize>| {
        let part = &text[range];
        if part.iter().all(u8::is_ascii_digit) {
            parse_int(part)
        } else {
            Err(Malformed)
        }
    };
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return Err(Malformed);
    }
    calendar_day(digits(0..4)?, digits(5..7)?, digits(8..10)?)
}

fn calendar_day(year: i64, month: i64, day: i64) -> Result<NaiveDate, Malformed> {
    let year = i32::try_from(year).map_err(|_| Malformed)?;
    let month = u32::try_from(month).map_err(|_| Malformed)?;
    let day = u32::try_from(day).map_err(|_| Malformed)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(Malformed)
}

/// An edge of a `getOrdersWithGoods` window: a calendar day or a unix time (SPEC §13.5 step 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayOrTime {
    Day(NaiveDate),
    Time(UnixTime),
}

impl DayOrTime {
    pub fn parse(bytes: &[u8]) -> Result<DayOrTime, Malformed> {
        parse_dotted_day(bytes)
            .map(DayOrTime::Day)
            .or_else(|_| UnixTime::parse(bytes).map(DayOrTime::Time))
    }
}

/// The calendar day `at` falls on in `zone`.
pub fn day_of(at: i64, zone: Tz) -> NaiveDate {
    DateTime::from_timestamp(at, 0)
        .map(|utc| utc.with_timezone(&zone).date_naive())
        .unwrap_or(if at < 0 {
            NaiveDate::MIN
        } else {
            NaiveDate::MAX
        })
}

/// The first second of `day` in `zone`: 00:00:00 there, or, where the clocks jump over
/// midnight, the moment of the jump; the earlier one where midnight happens twice.
pub fn day_start(day: NaiveDate, zone: Tz) -> i64 {
    let midnight = day.and_time(NaiveTime::MIN);
    match zone.from_local_datetime(&midnight) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.timestamp(),
        LocalResult::None => first_second_of_day_after_gap(day, midnight, zone),
    }
}

/// Midnight of `day` does not exist in `zone`: find the first second whose date there is `day`.
/// No zone is ever more than a day away from UTC, so that second lies within a day of
/// `midnight` read as UTC.
fn first_second_of_day_after_gap(day: NaiveDate, midnight: NaiveDateTime, zone: Tz) -> i64 {
    let midnight_as_utc = midnight.and_utc().timestamp();
    let (mut before, mut at) = (midnight_as_utc - 86_400, midnight_as_utc + 86_400);
    while at - before > 1 {
        let middle = before + (at - before) / 2;
        if day_of(middle, zone) < day {
            before = middle;
        } else {
            at = middle;
        }
    }
    at
}

/// The last second of `day` in `zone`: 23:59:59 there, the later one where it happens twice.
pub fn day_end(day: NaiveDate, zone: Tz) -> i64 {
    match day.succ_opt() {
        Some(next) => day_start(next, zone) - 1,
        None => i64::MAX,
    }
}

/// The window of `GetOrders` (SPEC §13.4): from `date_s`, by default 00:00:00 of today in the
/// tenant's zone, to `date_e`, by default now; no length limit.
pub fn unix_window(
    date_s: Option<UnixTime>,
    date_e: Option<UnixTime>,
    now: i64,
    zone: Tz,
) -> TimeWindow {
    TimeWindow {
        from: Some(date_s.map_or_else(|| day_start(day_of(now, zone), zone), UnixTime::get)),
        to: Some(date_e.map_or(now, UnixTime::get)),
    }
}

/// The window of `getOrdersWithGoods` (SPEC §13.5 steps 2–3). The end is 23:59:59 of
/// `end_date` (by default now); the start 00:00:00 of `begin_date` (by default of the end's
/// day); a start before 00:00:00 of the day 30 days before the end's day is moved there, so
/// that the window spans at most 31 calendar days. Unix times are used as given.
pub fn month_window(
    begin_date: Option<DayOrTime>,
    end_date: Option<DayOrTime>,
    now: i64,
    zone: Tz,
) -> TimeWindow {
    let end = match end_date {
        None => now,
        Some(DayOrTime::Day(day)) => day_end(day, zone),
        Some(DayOrTime::Time(at)) => at.get(),
    };
    let end_day = day_of(end, zone);
    let start = match begin_date {
        None => day_start(end_day, zone),
        Some(DayOrTime::Day(day)) => day_start(day, zone),
        Some(DayOrTime::Time(at)) => at.get(),
    };
    let earliest_day = end_day
        .checked_sub_days(Days::new(MONTH_WINDOW_DAYS_BEFORE_END))
        .unwrap_or(NaiveDate::MIN);
    TimeWindow {
        from: Some(start.max(day_start(earliest_day, zone))),
        to: Some(end),
    }
}

/// The window of `GetPartnerStats` (SPEC §14.5): whole days in the tenant's zone, a blank
/// side open.
pub fn days_window(from: Option<NaiveDate>, to: Option<NaiveDate>, zone: Tz) -> TimeWindow {
    TimeWindow {
        from: from.map(|day| day_start(day, zone)),
        to: to.map(|day| day_end(day, zone)),
    }
}

/// The `goods` filter of `GetOrders` and `getOrdersWithGoods` (SPEC §13.5 step 5): product ids
/// or codes, at least one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoodsFilter {
    values: Vec<String>,
}

impl GoodsFilter {
    /// The values as received (one value, or the elements of an array), each of which may be a
    /// comma-separated list (SPEC §7.7). `None` when no value is left: no filter.
    pub fn parse(received: impl IntoIterator<Item = impl AsRef<str>>) -> Option<GoodsFilter> {
        let values: Vec<String> = received
            .into_iter()
            .flat_map(|value| comma_list(value.as_ref()))
            .collect();
        (!values.is_empty()).then_some(GoodsFilter { values })
    }

    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// The products the filter names: every value that is a product id, and every product of
    /// `named` (the live products whose codes equal a value, compared case-insensitively).
    pub fn products(&self, named: &[Product]) -> ProductSelection {
        let by_id = self
            .values
            .iter()
            .filter_map(|value| parse_int(value.as_bytes()).ok())
            .filter(|&id| id > 0)
            .map(ProductId);
        let by_code = named
            .iter()
            .filter(|product| {
                self.values
                    .iter()
                    .any(|value| value.eq_ignore_ascii_case(product.spec.code.as_str()))
            })
            .map(|product| product.id);
        ProductSelection(by_id.chain(by_code).collect())
    }
}

/// The products a [`GoodsFilter`] names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductSelection(HashSet<ProductId>);

impl ProductSelection {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether at least one item of `order` is for a selected product.
    pub fn admits(&self, order: &Order) -> bool {
        order
            .items
            .iter()
            .any(|item| self.0.contains(&item.product_id))
    }
}

/// What `GetOrders` and `getOrdersWithGoods` list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderListing {
    /// Creation time, or payment time of paid orders only (`paid`).
    pub time: OrderTime,
    pub window: TimeWindow,
    pub goods: Option<GoodsFilter>,
}

/// The non-deleted orders of `tenant` a listing shows, ordered by `bill_id`.
pub async fn list_orders(
    store: &dyn Store,
    tenant: TenantId,
    listing: &OrderListing,
) -> Result<Vec<Order>, StoreError> {
    let selection = match &listing.goods {
        None => None,
        Some(filter) => {
            let named = store.products_by_codes(tenant, filter.values()).await?;
            let selection = filter.products(&named);
            if selection.is_empty() {
                return Ok(Vec::new());
            }
            Some(selection)
        }
    };
    let mut orders = store
        .orders_in_window(tenant, listing.time, listing.window)
        .await?;
    if let Some(selection) = selection {
        orders.retain(|order| selection.admits(order));
    }
    Ok(orders)
}

/// The six totals of `GetPartnerStats` (SPEC §14.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartnerTotals {
    /// Fees on orders paid in the window.
    pub earned: Money,
    /// What is still owed to the partner.
    pub to_pay: Money,
    pub clicks: u64,
    pub leads: u64,
    /// Orders the earned fees come from.
    pub bills: u64,
    /// Direct sub-partners registered in the window.
    pub sub_partners: u64,
}

impl From<PartnerStats> for PartnerTotals {
    fn from(stats: PartnerStats) -> PartnerTotals {
        PartnerTotals {
            earned: stats.earned,
            // Payouts are not recorded, so everything earned is still owed.
            to_pay: stats.earned,
            // Clicks on partner links never reach clickbill.
            clicks: 0,
            leads: stats.leads,
            bills: stats.bills,
            sub_partners: stats.sub_partners,
        }
    }
}

/// The totals of the partner with `login` (compared case-insensitively) over `window`; `None`
/// when the tenant has no such partner.
pub async fn partner_totals(
    store: &dyn Store,
    tenant: TenantId,
    login: &str,
    window: TimeWindow,
) -> Result<Option<PartnerTotals>, StoreError> {
    let Some(Partner { id, .. }) = store.partner_by_login(tenant, login).await? else {
        return Ok(None);
    };
    let stats = store.partner_stats(tenant, id, window).await?;
    Ok(Some(stats.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillId, GoodName, Item, NewOrder, ProductSpec};
    use chrono_tz::{America, Europe, Pacific, UTC};

    const MOSCOW: Tz = Europe::Moscow;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    fn unix(text: &str) -> UnixTime {
        UnixTime::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn unix_times_are_digits_only() {
        assert_eq!(unix("1700000000").get(), 1_700_000_000);
        assert_eq!(unix(" 0 ").get(), 0);
        assert_eq!(unix("00042").get(), 42);
        assert_eq!(unix("253402300799").get(), LAST_UNIX_TIME);
        for bad in [
            "",
            " ",
            "-1",
            "+1",
            "1e9",
            "1.5",
            "12a",
            "253402300800",
            "99999999999999999999",
        ] {
            assert_eq!(UnixTime::parse(bad.as_bytes()), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn dotted_days() {
        let day = |text: &str| parse_dotted_day(text.as_bytes());
        assert_eq!(day("01.11.2019"), Ok(date(2019, 11, 1)));
        assert_eq!(day("1.1.2020"), Ok(date(2020, 1, 1)));
        assert_eq!(day(" 5.11.2019\t"), Ok(date(2019, 11, 5)));
        assert_eq!(day("29.02.2024"), Ok(date(2024, 2, 29)));
        for bad in [
            "31.02.2024",
            "29.02.2023",
            "31.04.2024",
            "00.01.2024",
            "01.13.2024",
            "01.00.2024",
            "001.01.2024",
            "01.01.24",
            "01.01.20245",
            "01-01-2024",
            "01.01.2024.",
            ".01.2024",
            "+1.01.2024",
            "a.b.cdef",
            "2024-01-01",
            "",
        ] {
            assert_eq!(day(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn iso_days() {
        let day = |text: &str| parse_iso_day(text.as_bytes());
        assert_eq!(day("2019-11-01"), Ok(date(2019, 11, 1)));
        assert_eq!(day("2024-02-29"), Ok(date(2024, 2, 29)));
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "2024-2-01",
            "2024-02-1",
            "24-02-01",
            "2024/02/01",
            "2024-02-01T00",
            "+024-02-01",
            "2024-+2-01",
            "01.02.2024",
            "",
        ] {
            assert_eq!(day(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn day_or_time_tries_the_date_first() {
        assert_eq!(
            DayOrTime::parse(b"1.11.2019"),
            Ok(DayOrTime::Day(date(2019, 11, 1)))
        );
        assert_eq!(
            DayOrTime::parse(b"1572678000"),
            Ok(DayOrTime::Time(unix("1572678000")))
        );
        assert_eq!(DayOrTime::parse(b"31.02.2024"), Err(Malformed));
        assert_eq!(DayOrTime::parse(b"yesterday"), Err(Malformed));
    }

    #[test]
    fn days_in_moscow_and_utc_differ_at_21_00_utc() {
        // 15.11.2023 in Moscow (UTC+3) is 14.11.2023 21:00:00 – 15.11.2023 20:59:59 UTC.
        let day = date(2023, 11, 15);
        assert_eq!(day_start(day, MOSCOW), 1_699_995_600);
        assert_eq!(day_end(day, MOSCOW), 1_700_081_999);
        assert_eq!(day_start(day, UTC), 1_700_006_400);
        // 22:30 UTC on the 14th is already 01:30 on the 15th in Moscow.
        let late_evening_utc = 1_700_001_000;
        assert_eq!(day_of(late_evening_utc, UTC), date(2023, 11, 14));
        assert_eq!(day_of(late_evening_utc, MOSCOW), day);
        assert_eq!(day_of(1_699_995_599, MOSCOW), date(2023, 11, 14));
    }

    #[test]
    fn a_day_ends_one_second_before_the_next_begins() {
        for day in [
            date(2019, 11, 30),
            date(2024, 2, 28),
            date(2024, 2, 29),
            date(2023, 12, 31),
        ] {
            assert_eq!(
                day_end(day, MOSCOW),
                day_start(day.succ_opt().unwrap(), MOSCOW) - 1
            );
            assert_eq!(day_end(day, MOSCOW) - day_start(day, MOSCOW), 86_399);
        }
    }

    #[test]
    fn days_around_clock_changes() {
        // São Paulo moved its clocks from 00:00 to 01:00 on 4.11.2018: the day began at 01:00
        // (03:00 UTC) and lasted 23 hours.
        let sao_paulo = America::Sao_Paulo;
        assert_eq!(day_start(date(2018, 11, 4), sao_paulo), 1_541_300_400);
        assert_eq!(day_end(date(2018, 11, 3), sao_paulo), 1_541_300_399);
        assert_eq!(
            day_end(date(2018, 11, 4), sao_paulo) - day_start(date(2018, 11, 4), sao_paulo),
            23 * 3600 - 1
        );
        // On 17.2.2019 its clocks went back from 00:00 to 23:00 of the 16th, which thus lasted
        // 25 hours; the 17th began an hour later than it would have.
        let long_day = date(2019, 2, 16);
        assert_eq!(
            day_end(long_day, sao_paulo) - day_start(long_day, sao_paulo),
            25 * 3600 - 1
        );
        assert_eq!(day_start(date(2019, 2, 17), sao_paulo), 1_550_372_400);
        // Samoa skipped 30.12.2011 altogether: the 31st began right after the 29th ended.
        let apia = Pacific::Apia;
        assert_eq!(
            day_start(date(2011, 12, 30), apia),
            day_end(date(2011, 12, 29), apia) + 1
        );
        assert_eq!(
            day_start(date(2011, 12, 30), apia),
            day_start(date(2011, 12, 31), apia)
        );
        // Moscow's summer time of 2010 started at 02:00, away from midnight.
        let spring = date(2010, 3, 28);
        assert_eq!(
            day_end(spring, MOSCOW) - day_start(spring, MOSCOW),
            23 * 3600 - 1
        );
    }

    #[test]
    fn get_orders_defaults_to_today_until_now() {
        let now = 1_700_000_100; // 15.11.2023 01:15 in Moscow
        assert_eq!(
            unix_window(None, None, now, MOSCOW),
            TimeWindow {
                from: Some(1_699_995_600),
                to: Some(now)
            }
        );
        assert_eq!(
            unix_window(Some(unix("5")), Some(unix("7")), now, MOSCOW),
            TimeWindow {
                from: Some(5),
                to: Some(7)
            }
        );
        // No length limit, and the default start stays today even for an earlier end.
        assert_eq!(
            unix_window(None, Some(unix("100")), now, MOSCOW),
            TimeWindow {
                from: Some(1_699_995_600),
                to: Some(100)
            }
        );
        assert_eq!(
            unix_window(Some(unix("0")), None, now, MOSCOW).from,
            Some(0)
        );
    }

    fn day(d: NaiveDate) -> Option<DayOrTime> {
        Some(DayOrTime::Day(d))
    }

    #[test]
    fn month_window_of_whole_days_across_a_month_boundary() {
        let window = month_window(day(date(2019, 10, 30)), day(date(2019, 11, 5)), 0, MOSCOW);
        assert_eq!(
            window,
            TimeWindow {
                from: Some(day_start(date(2019, 10, 30), MOSCOW)),
                to: Some(day_end(date(2019, 11, 5), MOSCOW)),
            }
        );
    }

    #[test]
    fn month_window_defaults_to_today_until_now() {
        let now = 1_700_000_100;
        assert_eq!(
            month_window(None, None, now, MOSCOW),
            TimeWindow {
                from: Some(1_699_995_600),
                to: Some(now)
            }
        );
        // A begin date alone ends now; an end date alone begins that day.
        let window = month_window(day(date(2023, 11, 1)), None, now, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2023, 11, 1), MOSCOW)));
        assert_eq!(window.to, Some(now));
        let window = month_window(None, day(date(2023, 11, 10)), now, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2023, 11, 10), MOSCOW)));
        assert_eq!(window.to, Some(day_end(date(2023, 11, 10), MOSCOW)));
    }

    #[test]
    fn month_window_keeps_31_days_ending_with_the_end_day() {
        // Ending on 31.3.2024 it may start on 1.3.2024 at the earliest.
        let window = month_window(day(date(2024, 1, 1)), day(date(2024, 3, 31)), 0, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2024, 3, 1), MOSCOW)));
        assert_eq!(window.to, Some(day_end(date(2024, 3, 31), MOSCOW)));
        // Across the leap day: ending on 1.3.2024 it starts on 31.1.2024 (31 days: 31.1 … 1.3
        // holds 29 days of February).
        let window = month_window(day(date(2023, 12, 1)), day(date(2024, 3, 1)), 0, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2024, 1, 31), MOSCOW)));
        // In a common year the same end reaches back to 30.1.
        let window = month_window(day(date(2022, 12, 1)), day(date(2023, 3, 1)), 0, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2023, 1, 30), MOSCOW)));
        // A start inside the month is kept as it is.
        let window = month_window(day(date(2024, 3, 2)), day(date(2024, 3, 31)), 0, MOSCOW);
        assert_eq!(window.from, Some(day_start(date(2024, 3, 2), MOSCOW)));
    }

    #[test]
    fn month_window_takes_unix_times_as_given_and_still_clips() {
        let end = 1_700_000_100; // 15.11.2023 in Moscow
        let window = month_window(
            Some(DayOrTime::Time(unix("1699999999"))),
            Some(DayOrTime::Time(unix("1700000100"))),
            0,
            MOSCOW,
        );
        assert_eq!(
            window,
            TimeWindow {
                from: Some(1_699_999_999),
                to: Some(end)
            }
        );
        let window = month_window(
            Some(DayOrTime::Time(unix("0"))),
            Some(DayOrTime::Time(unix("1700000100"))),
            0,
            MOSCOW,
        );
        assert_eq!(window.from, Some(day_start(date(2023, 10, 16), MOSCOW)));
    }

    #[test]
    fn month_window_clips_by_the_end_day_in_the_tenant_zone() {
        // 22:30 UTC on 14.11.2023 is the 15th in Moscow: the window reaches back to 16.10.
        let end = Some(DayOrTime::Time(unix("1700001000")));
        let begin = Some(DayOrTime::Time(unix("0")));
        assert_eq!(
            month_window(begin, end, 0, MOSCOW).from,
            Some(day_start(date(2023, 10, 16), MOSCOW))
        );
        assert_eq!(
            month_window(begin, end, 0, UTC).from,
            Some(day_start(date(2023, 10, 15), UTC))
        );
    }

    #[test]
    fn partner_windows_are_whole_days_or_open() {
        assert_eq!(days_window(None, None, MOSCOW), TimeWindow::default());
        let window = days_window(Some(date(2019, 11, 1)), Some(date(2019, 11, 30)), MOSCOW);
        assert_eq!(
            window,
            TimeWindow {
                from: Some(1_572_555_600),
                to: Some(1_575_147_599)
            }
        );
        assert!(window.contains(1_572_681_600));
        let window = days_window(None, Some(date(2019, 11, 30)), MOSCOW);
        assert_eq!(window.from, None);
    }

    fn product(id: i64, code: &str) -> Product {
        Product {
            id: ProductId(id),
            spec: ProductSpec::new(GoodName::parse(code).unwrap(), "", Money::default()),
        }
    }

    fn order_of(product_ids: &[i64]) -> Order {
        let items = product_ids
            .iter()
            .map(|&id| Item {
                product_id: ProductId(id),
                code: format!("code{id}"),
                title: String::new(),
                physical: false,
                price: Money::default(),
                sum: Money::default(),
                pincode: String::new(),
                partners: Vec::new(),
            })
            .collect();
        let new = NewOrder {
            items,
            ..NewOrder::default()
        };
        Order::from_new(BillId::new(1).unwrap(), new, 0).0
    }

    #[test]
    fn goods_filter_values() {
        let values = |received: &[&str]| GoodsFilter::parse(received);
        assert_eq!(values(&[]), None);
        assert_eq!(values(&["", " , "]), None);
        assert_eq!(values(&["1"]).unwrap().values(), ["1"]);
        assert_eq!(values(&["1, code2,,"]).unwrap().values(), ["1", "code2"]);
        assert_eq!(values(&["1", "2,3"]).unwrap().values(), ["1", "2", "3"]);
    }

    #[test]
    fn goods_filter_matches_ids_and_live_codes() {
        let filter = GoodsFilter::parse(["2", "BOOK1"]).unwrap();
        let selection = filter.products(&[product(3, "book1")]);
        assert!(selection.admits(&order_of(&[2])));
        assert!(selection.admits(&order_of(&[1, 3])));
        assert!(!selection.admits(&order_of(&[1])));
        // A value that names no product and is no id selects nothing.
        let nothing = GoodsFilter::parse(["nosuch", "0", "-2"])
            .unwrap()
            .products(&[]);
        assert!(nothing.is_empty());
        assert!(!nothing.admits(&order_of(&[1, 2, 3])));
    }
}
