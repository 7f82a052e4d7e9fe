//! PHP's `%.*G` conversion (`php_gcvt`), which `http_build_query` applies to floats.

/// Formats `value` with `precision` significant digits the way PHP's `spprintf("%.*G")` does:
/// `1999.5`, `0.1`, `1.0E+25`, `-0`, `INF`, `NAN`.
pub fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return "NAN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "INF" } else { "-INF" }.to_owned();
    }
    let precision = precision.max(1);
    let (digits, decimal_point) = significant_digits(value.abs(), precision);
    let mut out = String::new();
    if value.is_sign_negative() {
        out.push('-');
    }
    let exponential = if decimal_point < 0 {
        decimal_point < -3
    } else {
        decimal_point > precision as i32
    };
    if exponential {
        let exponent = decimal_point - 1;
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push(if exponent < 0 { '-' } else { '+' });
        out.push_str(&exponent.abs().to_string());
    } else if decimal_point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            decimal_point.unsigned_abs() as usize,
        ));
        out.push_str(&digits);
    } else {
        let point = decimal_point as usize;
        if digits.len() <= point {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// The shortest digit string of `value` rounded to `precision` significant digits (trailing zeros
/// removed) and the position of the decimal point relative to its start, as `zend_dtoa` mode 2
/// returns them. Zero is `("0", 1)`.
fn significant_digits(value: f64, precision: usize) -> (String, i32) {
    if value == 0.0 {
        return ("0".to_owned(), 1);
    }
    if let Some(kept) = integer_tie_rounded_down(value, precision) {
        return kept;
    }
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("exponential formatting always has an exponent");
    let exponent: i32 = exponent.parse().expect("the exponent is an integer");
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exponent + 1)
}

/// `zend_dtoa` takes its own path for integers below 10^15 whenever its fast estimate cannot decide
/// the rounding, which for integers happens only at an exact tie. On that path a tie that rounds
/// down (the last kept digit is even) returns the kept digits as they are, trailing zeros
/// included, so PHP prints 100000000000005.0 as `1.0000000000000E+14` and 944389163004305.0 as
/// `9.4438916300430E+14`. Returns those digits and the decimal point, or `None` for every other
/// value.
fn integer_tie_rounded_down(value: f64, precision: usize) -> Option<(String, i32)> {
    if value.fract() != 0.0 || value >= 1e15 {
        return None;
    }
    // Exact: an integer below 10^15 fits in a u64 and has at most 15 digits.
    let exact = (value as u64).to_string();
    if exact.len() <= precision {
        return None;
    }
    let (kept, dropped) = exact.split_at(precision);
    let tie = dropped.starts_with('5') && dropped[1..].bytes().all(|b| b == b'0');
    let rounds_down = b"02468".contains(&kept.as_bytes()[precision - 1]);
    (tie && rounds_down).then(|| (kept.to_owned(), exact.len() as i32))
}

#[cfg(test)]
mod tests {
    use super::format_g;

    #[test]
    fn formats_like_php() {
        let cases = [
            (1999.5, "1999.5"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.3"),
            (100.0, "100"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e14, "1.0E+14"),
            (12345678901234.0, "12345678901234"),
            (1e25, "1.0E+25"),
            (1.5e-7, "1.5E-7"),
            (0.0001, "0.0001"),
            (0.00001, "1.0E-5"),
            (-2.5, "-2.5"),
            (1e100, "1.0E+100"),
            (f64::INFINITY, "INF"),
            (f64::NEG_INFINITY, "-INF"),
            (f64::NAN, "NAN"),
            (1.0 / 3.0, "0.33333333333333"),
            (4.76837158203125e-7, "4.7683715820312E-7"),
            (12345678901234.5, "12345678901234"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_g(value, 14), expected, "{value:e}");
        }
    }

    /// An integer below 10^15 that ties at the last kept digit and rounds down keeps its
    /// trailing zeros in PHP; every other integer loses them.
    #[test]
    fn integer_ties_rounded_down_keep_their_zeros() {
        let cases = [
            (100000000000005.0, "1.0000000000000E+14"),
            (-100000000000005.0, "-1.0000000000000E+14"),
            (944389163004305.0, "9.4438916300430E+14"),
            (120000000000005.0, "1.2000000000000E+14"),
            (500000000000005.0, "5.0000000000000E+14"),
            // rounded up, or not a tie, or not an integer below 10^15: zeros go
            (120000000000015.0, "1.2000000000002E+14"),
            (100000000000006.0, "1.0000000000001E+14"),
            (100000000000001.0, "1.0E+14"),
            (100000000000004.0, "1.0E+14"),
            (999999999999995.0, "1.0E+15"),
            (1000000000000005.0, "1.0E+15"),
            (100000000000005.5, "1.0000000000001E+14"),
            (12345678901230.5, "12345678901230"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_g(value, 14), expected, "{value:e}");
        }
        assert_eq!(format_g(1005.0, 3), "1.00E+3");
        assert_eq!(format_g(1015.0, 3), "1.02E+3");
        assert_eq!(format_g(10005.0, 3), "1.0E+4");
    }
}
