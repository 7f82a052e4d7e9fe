//! Parsing parameter values (§7) and tenant logins (§3.1): "parse, don't validate".
//!
//! Parameters arrive as raw bytes in a [`php_form::Map`]. The functions and newtypes here turn them
//! into checked values once, so the layers above never handle an unchecked amount, e-mail or login.

#![warn(missing_docs)]

use php_form::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use thiserror::Error;

/// A value that does not have the syntax its parameter requires. Each method decides whether that
/// is an error (usually `3` / `Wrong posted data`) or counts as absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[error("malformed value")]
pub struct Malformed;

/// The whitespace "blank" is made of (§1.4): ASCII space, tab, CR and LF. Trimming uses the same
/// set, so a value is blank exactly when trimming leaves nothing.
fn is_ws(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Removes leading and trailing ASCII whitespace (space, tab, CR, LF), as the integer, money,
/// e-mail and API-key rules require before looking at a value.
pub fn trim_ws(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// Whether a single value is blank (§1.4): empty or only ASCII spaces, tabs, CR and LF.
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| is_ws(b))
}

/// A boolean parameter (§7.3): false when blank, `0` or `false` (any ASCII case), true otherwise.
pub fn parse_bool(bytes: &[u8]) -> bool {
    !(is_blank(bytes) || bytes == b"0" || bytes.eq_ignore_ascii_case(b"false"))
}

/// An integer parameter (§7.4): after trimming, an optional sign and one or more ASCII digits
/// within the signed 64-bit range.
pub fn parse_int(bytes: &[u8]) -> Result<i64, Malformed> {
    let text = trim_ws(bytes);
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Malformed);
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut value: i64 = 0;
    for &d in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_sub(i64::from(d - b'0')))
            .ok_or(Malformed)?;
    }
    if negative {
        Ok(value)
    } else {
        value.checked_neg().ok_or(Malformed)
    }
}

/// Text for storing or echoing (§7.2): the bytes as UTF-8, with every invalid sequence replaced
/// by U+FFFD.
pub fn clean_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// [`clean_text`] without a copy when the bytes are already valid UTF-8.
pub fn clean_text_cow(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// A comma-separated list (§7.7): split at `,`, each element trimmed of ASCII whitespace, empty
/// elements dropped.
pub fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|part| part.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|part| !part.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Rounds `numerator / denominator` to the nearest integer, halves away from zero.
fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator.abs() {
        quotient + numerator.signum() * denominator.signum()
    } else {
        quotient
    }
}

/// Parses `digits` or `digits.digits` (no sign), rounded half up to two decimals, as hundredths.
/// `None` when the syntax is wrong or the value exceeds `max_hundredths`.
fn parse_hundredths(bytes: &[u8], max_hundredths: i64) -> Option<i64> {
    let text = trim_ws(bytes);
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let all_digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let mut value: i64 = 0;
    for &d in whole {
        value = value.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        if value > max_hundredths {
            return None;
        }
    }
    let fraction = fraction.unwrap_or(b"");
    let digit = |i: usize| fraction.get(i).map_or(0, |d| i64::from(d - b'0'));
    let mut hundredths = value.checked_mul(100)? + digit(0) * 10 + digit(1);
    // Everything after the second decimal is below one hundredth: it rounds up exactly when its
    // first digit is 5 or more (the value is never negative).
    if digit(2) >= 5 {
        hundredths += 1;
    }
    (hundredths <= max_hundredths).then_some(hundredths)
}

/// An amount of money in minor units (kopecks). On the wire it is a string with exactly two
/// decimals (§7.4); inside, all arithmetic is exact on integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// The largest amount a money parameter may carry: 999999999999.99.
    pub const MAX: Money = Money(99_999_999_999_999);
    /// Nothing.
    pub const ZERO: Money = Money(0);

    /// An amount from minor units.
    pub const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    /// The amount in minor units.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses a money parameter (§7.4): after trimming, `digits` or `digits.digits`, no sign, no
    /// exponent, rounded to two decimals halves away from zero, at most [`Money::MAX`] after
    /// rounding.
    pub fn parse(bytes: &[u8]) -> Result<Money, Malformed> {
        parse_hundredths(bytes, Money::MAX.0)
            .map(Money)
            .ok_or(Malformed)
    }

    /// `round2(self × percent / 100)`, halves away from zero (§7.4).
    pub fn percent_of(self, percent: Percent) -> Money {
        let exact = i128::from(self.0) * i128::from(percent.hundredths());
        let minor = div_round_half_away(exact, 10_000);
        Money(i64::try_from(minor).expect("a percentage of at most 100 keeps the range"))
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`, or `None` on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }
}

/// Sums and differences saturate: amounts are bounded far below the range, so saturation only
/// guards against hostile input without a panic path.
impl std::ops::Add for Money {
    type Output = Money;

    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Money {
    type Output = Money;

    fn sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(amounts: I) -> Money {
        amounts.fold(Money::ZERO, |total, amount| total + amount)
    }
}

impl fmt::Display for Money {
    /// `1999.50`, `0.00`, `-0.05`: two decimals, a `.` point, no separators.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
    }
}

impl serde::Serialize for Money {
    /// Money in results is always a JSON string with two decimals.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A percentage with two decimals (`10`, `7.5`), from 0 to 100, as coupons and partner
/// commissions use it (§9.3, §9.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Percent(i64);

impl Percent {
    /// One hundred percent.
    pub const HUNDRED: Percent = Percent(10_000);

    /// A percentage from hundredths of a percent (`750` is 7.5 %); `None` outside 0–100 %.
    pub const fn from_hundredths(hundredths: i64) -> Option<Percent> {
        if hundredths >= 0 && hundredths <= 10_000 {
            Some(Percent(hundredths))
        } else {
            None
        }
    }

    /// The percentage in hundredths of a percent.
    pub const fn hundredths(self) -> i64 {
        self.0
    }

    /// Parses `digits` or `digits.digits` (without the `%` sign) with the money syntax of §7.4,
    /// rounded to two decimals, from 0 to 100. Whether 0 is acceptable is the caller's rule.
    pub fn parse(bytes: &[u8]) -> Result<Percent, Malformed> {
        parse_hundredths(bytes, Percent::HUNDRED.0)
            .map(Percent)
            .ok_or(Malformed)
    }
}

impl fmt::Display for Percent {
    /// `7.5`, `10`, `0.25`: no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / 100, self.0 % 100);
        match fraction {
            0 => write!(f, "{whole}"),
            n if n % 10 == 0 => write!(f, "{whole}.{}", n / 10),
            n => write!(f, "{whole}.{n:02}"),
        }
    }
}

/// A valid, normalised e-mail address (§7.5): trimmed, ASCII letters lower-cased, matching
/// `^[^\s@]+@([A-Za-z0-9_-]+\.)+[A-Za-z0-9_-]{2,}$`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    /// Normalises and validates an e-mail parameter. Invalid UTF-8 is first replaced as in §7.2.
    pub fn parse(bytes: &[u8]) -> Result<Email, Malformed> {
        let mut text = clean_text(trim_ws(bytes));
        text.make_ascii_lowercase();
        if is_valid_email(&text) {
            Ok(Email(text))
        } else {
            Err(Malformed)
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The normalised address, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The pattern of §7.5, by hand. `\s` is taken as Unicode white space.
fn is_valid_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.chars().any(char::is_whitespace) {
        return false;
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let mut labels = domain.split('.');
    let last = labels.next_back().expect("split yields at least one piece");
    let mut inner = 0;
    for label in labels {
        if !label_ok(label) {
            return false;
        }
        inner += 1;
    }
    inner >= 1 && label_ok(last) && last.len() >= 2
}

/// A tenant login (§3.1): 1–63 characters from `a`–`z`, `0`–`9`, `-`, `_`, starting with a letter
/// or digit, stored in lower case. It is the first DNS label of the tenant's host and part of the
/// request signature.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Login(String);

impl Login {
    /// Lower-cases ASCII letters and checks the character set and length.
    pub fn parse(text: &str) -> Result<Login, Malformed> {
        let lower = text.to_ascii_lowercase();
        let bytes = lower.as_bytes();
        let allowed =
            |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
        let valid = (1..=63).contains(&bytes.len())
            && bytes.iter().all(allowed)
            && bytes[0].is_ascii_alphanumeric();
        if valid {
            Ok(Login(lower))
        } else {
            Err(Malformed)
        }
    }

    /// The login in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Login {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for Login {
    type Err = Malformed;
    fn from_str(text: &str) -> Result<Login, Malformed> {
        Login::parse(text)
    }
}

impl std::str::FromStr for Money {
    type Err = Malformed;
    fn from_str(text: &str) -> Result<Money, Malformed> {
        Money::parse(text.as_bytes())
    }
}

/// `pay_status` (§9.5.3): where an order stands with its payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayStatus {
    /// Not paid in full yet.
    Waiting,
    /// Paid in full.
    Paid,
    /// Cancelled before payment.
    Cancel,
    /// Refunded.
    Moneyback,
}

impl PayStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            PayStatus::Waiting => "waiting",
            PayStatus::Paid => "paid",
            PayStatus::Cancel => "cancel",
            PayStatus::Moneyback => "moneyback",
        }
    }

    /// The status a wire value names, compared exactly.
    pub fn parse(text: &str) -> Option<PayStatus> {
        [
            PayStatus::Waiting,
            PayStatus::Paid,
            PayStatus::Cancel,
            PayStatus::Moneyback,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A read-only view of a method's parameters applying the shape rules of §7.1: a value read as a
/// single value but sent as an array is the empty string; a list accepts one value or an array.
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    map: &'a Map,
}

impl<'a> Params<'a> {
    /// Views `map` (the authenticated parameters).
    pub fn new(map: &'a Map) -> Params<'a> {
        Params { map }
    }

    /// The underlying map.
    pub fn map(&self) -> &'a Map {
        self.map
    }

    /// The value as parsed, byte string or array; `None` when absent.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get_str(name)
    }

    /// Whether the parameter was sent at all (with any value).
    pub fn contains(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    /// A single value's bytes: empty when absent or an array (§7.1).
    pub fn bytes(&self, name: &str) -> &'a [u8] {
        self.raw(name).and_then(Value::as_bytes).unwrap_or(b"")
    }

    /// A single value as text (§7.1, §7.2): empty when absent or an array, invalid UTF-8 replaced.
    pub fn text(&self, name: &str) -> Cow<'a, str> {
        clean_text_cow(self.bytes(name))
    }

    /// Whether a single value is blank (absent, an array, or only whitespace).
    pub fn is_blank(&self, name: &str) -> bool {
        is_blank(self.bytes(name))
    }

    /// A list parameter (§7.1): a single non-blank value is a list of one, a blank one is empty,
    /// an array gives its values in order (a nested array counting as the empty string).
    pub fn list(&self, name: &str) -> Vec<&'a [u8]> {
        match self.raw(name) {
            None => Vec::new(),
            Some(Value::Bytes(b)) if is_blank(b) => Vec::new(),
            Some(Value::Bytes(b)) => vec![b.as_slice()],
            Some(Value::Array(map)) => map
                .iter()
                .map(|(_, v)| v.as_bytes().unwrap_or(b""))
                .collect(),
        }
    }

    /// A boolean parameter (§7.3); absent is false.
    pub fn bool(&self, name: &str) -> bool {
        parse_bool(self.bytes(name))
    }

    /// An integer parameter (§7.4): `Ok(None)` when blank.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Malformed> {
        let bytes = self.bytes(name);
        if is_blank(bytes) {
            Ok(None)
        } else {
            parse_int(bytes).map(Some)
        }
    }

    /// A money parameter (§7.4): `Ok(None)` when blank.
    pub fn money(&self, name: &str) -> Result<Option<Money>, Malformed> {
        let bytes = self.bytes(name);
        if is_blank(bytes) {
            Ok(None)
        } else {
            Money::parse(bytes).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blank_and_trim() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r\n"));
        assert!(!is_blank(b"0"));
        assert!(!is_blank(b"\x0b"));
        assert_eq!(trim_ws(b"  a b\t\n"), b"a b");
        assert_eq!(trim_ws(b" \t "), b"");
    }

    #[test]
    fn booleans() {
        for f in [&b""[..], b"  ", b"0", b"false", b"FALSE", b"FaLsE"] {
            assert!(!parse_bool(f), "{f:?}");
        }
        for t in [
            &b"1"[..],
            b"true",
            b"yes",
            b"00",
            b" 0",
            b"false ",
            b"no",
            b"-",
        ] {
            assert!(parse_bool(t), "{t:?}");
        }
    }

    #[test]
    fn comma_lists() {
        assert_eq!(comma_list(" grp1, ,grp 2,"), ["grp1", "grp 2"]);
        assert_eq!(comma_list("\ta,\r\nb "), ["a", "b"]);
        assert_eq!(comma_list("one"), ["one"]);
        assert!(comma_list("").is_empty());
        assert!(comma_list(" , ,").is_empty());
        // Only ASCII whitespace is trimmed.
        assert_eq!(comma_list("\u{a0}x"), ["\u{a0}x"]);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_int(b"12345"), Ok(12345));
        assert_eq!(parse_int(b" +7 \n"), Ok(7));
        assert_eq!(parse_int(b"-0"), Ok(0));
        assert_eq!(parse_int(b"007"), Ok(7));
        assert_eq!(parse_int(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            &b""[..],
            b" ",
            b"+",
            b"-",
            b"1.0",
            b"1e3",
            b"0x10",
            b"1 2",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"--1",
            b"\xd9\xa1",
        ] {
            assert_eq!(parse_int(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn money_parsing_and_rounding() {
        let m = |s: &str| Money::parse(s.as_bytes()).map(|m| m.to_string());
        assert_eq!(m("1999.5"), Ok("1999.50".into()));
        assert_eq!(m("0.125"), Ok("0.13".into()));
        assert_eq!(m("0.1249999"), Ok("0.12".into()));
        assert_eq!(m("0.005"), Ok("0.01".into()));
        assert_eq!(m("0.004999"), Ok("0.00".into()));
        assert_eq!(m("1000"), Ok("1000.00".into()));
        assert_eq!(m(" 490\t"), Ok("490.00".into()));
        assert_eq!(m("0"), Ok("0.00".into()));
        assert_eq!(m("007.10"), Ok("7.10".into()));
        assert_eq!(m("9.995"), Ok("10.00".into()));
        assert_eq!(m("999999999999.99"), Ok("999999999999.99".into()));
        assert_eq!(m("999999999999.994"), Ok("999999999999.99".into()));
        for bad in [
            "",
            " ",
            "-1",
            "+1",
            "1.",
            ".5",
            "1,5",
            "1e3",
            "1 000",
            "1.2.3",
            "999999999999.995",
            "1000000000000",
            "99999999999999999999999999",
            "NaN",
        ] {
            assert_eq!(Money::parse(bad.as_bytes()), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn money_display_and_percentages() {
        assert_eq!(Money::from_minor(0).to_string(), "0.00");
        assert_eq!(Money::from_minor(5).to_string(), "0.05");
        assert_eq!(Money::from_minor(-5).to_string(), "-0.05");
        assert_eq!(Money::from_minor(199950).to_string(), "1999.50");
        assert_eq!(
            Money::from_minor(i64::MIN).to_string(),
            "-92233720368547758.08"
        );
        let pct = |s: &str| Percent::parse(s.as_bytes()).unwrap();
        // 1999.50 × 10 % = 199.95
        assert_eq!(
            Money::from_minor(199950).percent_of(pct("10")).minor(),
            19995
        );
        // 0.25 × 50 % = 0.125 → 0.13
        assert_eq!(Money::from_minor(25).percent_of(pct("50")).minor(), 13);
        // −0.25 × 50 % = −0.125 → −0.13
        assert_eq!(Money::from_minor(-25).percent_of(pct("50")).minor(), -13);
        // 1000.00 × 7.5 % = 75.00
        assert_eq!(
            Money::from_minor(100000).percent_of(pct("7.5")).minor(),
            7500
        );
        assert_eq!(
            Money::from_minor(12345)
                .percent_of(Percent::HUNDRED)
                .minor(),
            12345
        );
        assert_eq!(Money::MAX.percent_of(Percent::HUNDRED), Money::MAX);
        assert_eq!(pct("7.5").to_string(), "7.5");
        assert_eq!(pct("10").to_string(), "10");
        assert_eq!(pct("0.25").to_string(), "0.25");
        assert_eq!(Percent::parse(b"100.01"), Err(Malformed));
        assert_eq!(Percent::from_hundredths(10_001), None);
        assert_eq!(
            serde_json::to_string(&Money::from_minor(100)).unwrap(),
            "\"1.00\""
        );
    }

    #[test]
    fn emails() {
        let e = |s: &str| Email::parse(s.as_bytes()).map(Email::into_string);
        assert_eq!(e("lead+1@example.com"), Ok("lead+1@example.com".into()));
        assert_eq!(e("  Client@Example.COM\n"), Ok("client@example.com".into()));
        assert_eq!(e("a@b.cd"), Ok("a@b.cd".into()));
        assert_eq!(e("a@sub.b-c.d_e"), Ok("a@sub.b-c.d_e".into()));
        assert_eq!(e("Иван@example.com"), Ok("Иван@example.com".into()));
        for bad in [
            "",
            "client.example.com",
            "a@b.c",
            "a@b",
            "@b.cd",
            "a@@b.cd",
            "a@b@c.de",
            "a b@c.de",
            "a@b..cd",
            "a@.b.cd",
            "a@b.cd.",
            "a@bü.cd",
            "a\u{a0}b@c.de",
            "a@b.c d",
        ] {
            assert_eq!(Email::parse(bad.as_bytes()), Err(Malformed), "{bad:?}");
        }
        // Invalid UTF-8 in the local part is replaced, then accepted like any other character.
        assert_eq!(
            Email::parse(b"a\xff@b.cd").unwrap().as_str(),
            "a\u{fffd}@b.cd"
        );
    }

    #[test]
    fn logins() {
        assert_eq!(Login::parse("Demo").unwrap().as_str(), "demo");
        assert!(Login::parse("a").is_ok());
        assert!(Login::parse("0shop_1-x").is_ok());
        assert!(Login::parse(&"a".repeat(63)).is_ok());
        for bad in ["", "-a", "_a", "a.b", "a b", "дом", &"a".repeat(64)] {
            assert_eq!(Login::parse(bad), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn cleaning_text() {
        assert_eq!(clean_text(b"ok"), "ok");
        assert_eq!(clean_text(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(clean_text(b"\xe2\x82"), "\u{fffd}");
        assert_eq!(clean_text("Иван".as_bytes()), "Иван");
        assert!(matches!(clean_text_cow(b"abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn params_view() {
        let map =
            php_form::parse(b"a=x&b[]=1&r=grp1&rid[]=g1&rid[]=&rid[x][]=1&blank=+&n=+12&m=1.005");
        let p = Params::new(&map);
        assert_eq!(p.text("a"), "x");
        assert_eq!(p.text("b"), "");
        assert_eq!(p.text("missing"), "");
        assert!(p.is_blank("b"));
        assert!(p.is_blank("blank"));
        assert!(p.contains("blank"));
        assert!(p.raw("b").unwrap().as_array().is_some());
        assert_eq!(p.list("r"), vec![&b"grp1"[..]]);
        assert_eq!(p.list("blank"), Vec::<&[u8]>::new());
        assert_eq!(p.list("missing"), Vec::<&[u8]>::new());
        assert_eq!(p.list("rid"), vec![&b"g1"[..], b"", b""]);
        assert_eq!(p.int("n"), Ok(Some(12)));
        assert_eq!(p.int("blank"), Ok(None));
        assert_eq!(p.int("a"), Err(Malformed));
        assert_eq!(p.money("m"), Ok(Some(Money::from_minor(101))));
        assert!(!p.bool("missing"));
        assert!(p.bool("a"));
    }

    proptest! {
        #[test]
        fn money_display_parses_back(minor in 0i64..=Money::MAX.minor()) {
            let money = Money::from_minor(minor);
            prop_assert_eq!(Money::parse(money.to_string().as_bytes()), Ok(money));
        }

        #[test]
        fn money_rounds_half_away_from_zero(
            whole in 0i64..=999_999_999_998,
            fraction in "[0-9]{0,8}",
        ) {
            let text = if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            };
            // Reference: exact decimal arithmetic on the padded fraction.
            let padded = format!("{fraction:0<8}");
            let exact: i128 = i128::from(whole) * 100_000_000 + padded.parse::<i128>().unwrap();
            let expected = (exact + 500_000) / 1_000_000;
            let parsed = Money::parse(text.as_bytes()).unwrap();
            prop_assert_eq!(i128::from(parsed.minor()), expected);
        }

        #[test]
        fn integers_round_trip(n in any::<i64>()) {
            prop_assert_eq!(parse_int(n.to_string().as_bytes()), Ok(n));
        }

        #[test]
        fn percent_of_matches_exact_rounding(minor in -10_000_000_000i64..10_000_000_000, p in 0i64..=10_000) {
            let got = Money::from_minor(minor).percent_of(Percent::from_hundredths(p).unwrap());
            let exact = i128::from(minor) * i128::from(p);
            let magnitude = (exact.abs() + 5_000) / 10_000;
            let expected = if exact < 0 { -magnitude } else { magnitude };
            prop_assert_eq!(i128::from(got.minor()), expected);
        }
    }
}
