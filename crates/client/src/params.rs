//! Parameter values and the ordered parameter list the builders fill.

use clickbill_protocol::Money;
use php_form::{Data, Key};

/// An amount of money as a request parameter.
///
/// It is sent the way a PHP client sends the same PHP value: an integer as its digits (`1000`),
/// a float as PHP prints it (`1999.5`), text as given (`"1999.50"`), a [`Money`] with two
/// decimals. The server rounds to two decimals (§7.4), so all of these are accepted; text lets
/// a caller reproduce a recorded request exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Amount(pub(crate) Data);

impl Amount {
    /// The value as it goes into the request.
    pub fn to_data(&self) -> Data {
        self.0.clone()
    }
}

impl From<i64> for Amount {
    fn from(value: i64) -> Amount {
        Amount(Data::Int(value))
    }
}

impl From<i32> for Amount {
    fn from(value: i32) -> Amount {
        Amount(Data::Int(value.into()))
    }
}

impl From<u32> for Amount {
    fn from(value: u32) -> Amount {
        Amount(Data::Int(value.into()))
    }
}

impl From<f64> for Amount {
    fn from(value: f64) -> Amount {
        Amount(Data::Float(value))
    }
}

impl From<&str> for Amount {
    fn from(value: &str) -> Amount {
        Amount(Data::from(value))
    }
}

impl From<String> for Amount {
    fn from(value: String) -> Amount {
        Amount(Data::from(value))
    }
}

impl From<Money> for Amount {
    fn from(value: Money) -> Amount {
        Amount(Data::from(value.to_string()))
    }
}

/// Parameters in the order they were first set, like the PHP array a PHP client hands to
/// `http_build_query`: setting a name again replaces its value in place.
///
/// The order matters because the signature covers the parameters in the order sent (§5.2), and
/// keeping the caller's order lets a builder reproduce a recorded request byte for byte.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Params(Vec<(Key, Data)>);

impl Params {
    pub(crate) fn set(&mut self, name: &str, value: Data) {
        set_in(&mut self.0, Key::from(name), value);
    }

    pub(crate) fn set_key(&mut self, key: Key, value: Data) {
        set_in(&mut self.0, key, value);
    }

    /// The nested array stored under `name`, created at the end when absent (a scalar there is
    /// replaced in place, as PHP does when a name becomes an array).
    pub(crate) fn nested(&mut self, name: &str) -> &mut Vec<(Key, Data)> {
        nested_in(&mut self.0, Key::from(name))
    }

    pub(crate) fn as_slice(&self) -> &[(Key, Data)] {
        &self.0
    }
}

pub(crate) fn set_in(list: &mut Vec<(Key, Data)>, key: Key, value: Data) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key, value)),
    }
}

fn nested_in(list: &mut Vec<(Key, Data)>, key: Key) -> &mut Vec<(Key, Data)> {
    let index = match list.iter().position(|(k, _)| *k == key) {
        Some(index) => index,
        None => {
            list.push((key, Data::Array(Vec::new())));
            list.len() - 1
        }
    };
    let slot = &mut list[index].1;
    if !matches!(slot, Data::Array(_)) {
        *slot = Data::Array(Vec::new());
    }
    match slot {
        Data::Array(entries) => entries,
        _ => unreachable!("the slot was just made an array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use php_form::build_query_data;

    #[test]
    fn setting_again_keeps_the_first_position() {
        let mut params = Params::default();
        params.set("a", Data::from("1"));
        params.set("b", Data::from("2"));
        params.set("a", Data::from("3"));
        params.nested("u").push((Key::from("x"), Data::from("4")));
        params.set("c", Data::Int(5));
        params.nested("u").push((Key::from("y"), Data::from("6")));
        assert_eq!(
            build_query_data(params.as_slice()),
            b"a=3&b=2&u%5Bx%5D=4&u%5By%5D=6&c=5"
        );
    }

    #[test]
    fn amounts_print_like_php_values() {
        let amounts: [(Amount, &[u8]); 5] = [
            (Amount::from(1000), b"s=1000"),
            (Amount::from(1999.5), b"s=1999.5"),
            (Amount::from("1999.50"), b"s=1999.50"),
            (Amount::from(Money::from_minor(199_950)), b"s=1999.50"),
            (Amount::from(0u32), b"s=0"),
        ];
        for (amount, expected) in amounts {
            assert_eq!(build_query_data(&[(Key::from("s"), amount.0)]), expected);
        }
    }
}
