//! The ordered tree PHP builds from a form: a hash table whose keys are integers or byte strings.

use indexmap::IndexMap;
use std::fmt;

/// A key of a PHP array. A byte string in canonical decimal form is always an integer key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Int(i64),
    Bytes(Vec<u8>),
}

impl Key {
    /// The key PHP stores for these bytes: an integer when they are the canonical decimal form of a
    /// signed 64-bit integer (`0`, `7`, `-3`; not `07`, `-0`, `+1`), a byte string otherwise.
    pub fn from_bytes(bytes: &[u8]) -> Key {
        match canonical_integer(bytes) {
            Some(n) => Key::Int(n),
            None => Key::Bytes(bytes.to_vec()),
        }
    }

    /// The key as PHP would print it: decimal for integers.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Key::Int(n) => n.to_string().into_bytes(),
            Key::Bytes(b) => b.clone(),
        }
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::from_bytes(s.as_bytes())
    }
}

impl From<i64> for Key {
    fn from(n: i64) -> Key {
        Key::Int(n)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(n) => write!(f, "{n}"),
            Key::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
        }
    }
}

/// PHP's `ZEND_HANDLE_NUMERIC_STR`: an optional `-`, then digits without a leading zero (a lone `0`
/// is allowed, `-0` is not), within the range of a signed 64-bit integer.
fn canonical_integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && bytes.len() > 1 {
        return None;
    }
    let magnitude: i128 = digits
        .iter()
        .fold(0i128, |acc, d| acc * 10 + i128::from(d - b'0'));
    let value = if bytes[0] == b'-' {
        -magnitude
    } else {
        magnitude
    };
    i64::try_from(value).ok()
}

/// A value in the tree: a byte string or a nested array.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    Bytes(Vec<u8>),
    Array(Map),
}

impl Value {
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Array(_) => None,
        }
    }

    pub fn as_array(&self) -> Option<&Map> {
        match self {
            Value::Array(m) => Some(m),
            Value::Bytes(_) => None,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Value::Array(m) => m.fmt(f),
        }
    }
}

/// An ordered PHP array. Replacing a key keeps its position; new keys go to the end; the next
/// append index is one past the largest integer key ever inserted, as in PHP 8.
#[derive(Clone)]
pub struct Map {
    entries: IndexMap<Key, Value>,
    next_free: i64,
}

/// PHP marks "no integer key inserted yet" with the smallest integer.
const NO_INTEGER_KEY: i64 = i64::MIN;

impl Default for Map {
    fn default() -> Self {
        Map {
            entries: IndexMap::new(),
            next_free: NO_INTEGER_KEY,
        }
    }
}

impl PartialEq for Map {
    /// Two arrays are equal when they hold the same keys in the same order with equal values.
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(other.entries.iter())
                .all(|(a, b)| a == b)
    }
}

impl Eq for Map {}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        self.entries.iter()
    }

    pub fn get(&self, key: &Key) -> Option<&Value> {
        self.entries.get(key)
    }

    /// Looks up a key given as PHP would spell it in source (`"5"` finds the integer key 5).
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.entries.get(&Key::from(key))
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    /// Sets `key`, replacing an existing value in place or adding the key at the end.
    pub fn insert(&mut self, key: Key, value: Value) {
        if let Key::Int(n) = key {
            self.note_integer_key(n);
        }
        self.entries.insert(key, value);
    }

    /// Removes `key`, keeping the order of the others. The next append index is unaffected.
    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        self.entries.shift_remove(key)
    }

    /// The key an append (`[]`) would use, or `None` when the array can take no more appends.
    pub fn next_append_key(&self) -> Option<i64> {
        let candidate = if self.next_free == NO_INTEGER_KEY {
            0
        } else {
            self.next_free
        };
        (!self.entries.contains_key(&Key::Int(candidate))).then_some(candidate)
    }

    /// Appends like `$a[] = $value`; returns the key used, or `None` when PHP would refuse.
    pub fn push(&mut self, value: Value) -> Option<i64> {
        let key = self.next_append_key()?;
        self.insert(Key::Int(key), value);
        Some(key)
    }

    fn note_integer_key(&mut self, n: i64) {
        if n >= self.next_free {
            self.next_free = n.saturating_add(1);
        }
    }

    /// Returns the array stored at `key`, creating it at the end when absent and replacing a byte
    /// string in place.
    pub(crate) fn child_array(&mut self, key: Key) -> &mut Map {
        if let Key::Int(n) = key {
            self.note_integer_key(n);
        }
        let slot = self
            .entries
            .entry(key)
            .or_insert_with(|| Value::Array(Map::new()));
        if let Value::Bytes(_) = slot {
            *slot = Value::Array(Map::new());
        }
        match slot {
            Value::Array(map) => map,
            Value::Bytes(_) => unreachable!("the slot was just made an array"),
        }
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a Key, &'a Value);
    type IntoIter = indexmap::map::Iter<'a, Key, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers_become_integer_keys() {
        assert_eq!(Key::from("0"), Key::Int(0));
        assert_eq!(Key::from("7"), Key::Int(7));
        assert_eq!(Key::from("-3"), Key::Int(-3));
        assert_eq!(Key::from("9223372036854775807"), Key::Int(i64::MAX));
        assert_eq!(Key::from("-9223372036854775808"), Key::Int(i64::MIN));
        for text in [
            "07",
            "-0",
            "+1",
            "1.5",
            " 1",
            "",
            "-",
            "9223372036854775808",
            "-9223372036854775809",
            "1e3",
        ] {
            assert_eq!(
                Key::from(text),
                Key::Bytes(text.as_bytes().to_vec()),
                "{text}"
            );
        }
    }

    #[test]
    fn append_follows_the_largest_integer_key() {
        let mut m = Map::new();
        assert_eq!(m.push(Value::Bytes(b"a".to_vec())), Some(0));
        m.insert(Key::Int(5), Value::Bytes(b"b".to_vec()));
        assert_eq!(m.push(Value::Bytes(b"c".to_vec())), Some(6));
        let mut n = Map::new();
        n.insert(Key::Int(-3), Value::Bytes(b"a".to_vec()));
        assert_eq!(n.push(Value::Bytes(b"b".to_vec())), Some(-2));
        let mut full = Map::new();
        full.insert(Key::Int(i64::MAX), Value::Bytes(b"a".to_vec()));
        assert_eq!(full.push(Value::Bytes(b"b".to_vec())), None);
    }

    #[test]
    fn replacing_keeps_the_position_and_removal_keeps_the_append_index() {
        let mut m = Map::new();
        m.insert(Key::from("x"), Value::Bytes(b"1".to_vec()));
        m.insert(Key::from("3"), Value::Bytes(b"2".to_vec()));
        m.insert(Key::from("x"), Value::Bytes(b"3".to_vec()));
        let keys: Vec<_> = m.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, vec![Key::from("x"), Key::Int(3)]);
        m.remove(&Key::Int(3));
        assert_eq!(m.next_append_key(), Some(4));
    }
}
