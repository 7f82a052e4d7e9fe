//! Storing one decoded variable the way PHP's `php_register_variable_ex` does, optionally telling
//! what happened to its name on the way (for tools that explain a body, such as a signature
//! debugger; the server's path records nothing and costs nothing extra).

use crate::tree::{Key, Map, Value};

/// A change PHP makes to a variable name before storing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameRewrite {
    /// The name was cut at its first NUL byte.
    CutAtNul,
    /// Leading spaces were removed.
    LeadingSpacesRemoved,
    /// ' ' and '.' in the top-level name became '_'.
    BaseMangled { from: Vec<u8>, to: Vec<u8> },
    /// A '[' has no ']' after it, so the name is plain: that '[' and every later ' ', '.' and
    /// '[' became '_'.
    NotAnArray { plain: Vec<u8> },
    /// An unterminated bracket group at the end of the name was ignored.
    UnterminatedGroupIgnored(Vec<u8>),
    /// Text after the last ']' was ignored.
    TrailingTextIgnored(Vec<u8>),
}

/// Where a variable ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Stored under `path` (the top-level key first); `appended` lists the positions in `path`
    /// whose key an `[]` chose.
    Stored {
        path: Vec<Key>,
        appended: Vec<usize>,
    },
    /// The name is empty once leading spaces and NULs are dealt with: nothing is stored.
    EmptyName,
    /// An `[]` met an array that holds the largest integer key: the value is dropped.
    AppendRefused,
    /// More bracket groups than the nesting limit: the whole top-level entry `base` is removed.
    TooDeep { base: Key },
}

/// What [`register_variable_traced`] did with a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub rewrites: Vec<NameRewrite>,
    pub placement: Placement,
}

/// Stores one decoded variable as PHP does: the name is cut at its first NUL, leading spaces go,
/// ' ' and '.' in the base become '_', and bracket groups nest. Multipart bodies feed their parts
/// through here too.
pub fn register_variable(map: &mut Map, name: &[u8], value: Vec<u8>, max_depth: usize) {
    register(map, name, value, max_depth, &mut NoTrace);
}

/// [`register_variable`], reporting how the name was rewritten and where the value went.
pub fn register_variable_traced(
    map: &mut Map,
    name: &[u8],
    value: Vec<u8>,
    max_depth: usize,
) -> Registration {
    let mut trace = Trace::default();
    let placement = match register(map, name, value, max_depth, &mut trace) {
        Outcome::Stored => Placement::Stored {
            path: trace.path,
            appended: trace.appended,
        },
        Outcome::EmptyName => Placement::EmptyName,
        Outcome::AppendRefused => Placement::AppendRefused,
        Outcome::TooDeep(base) => Placement::TooDeep { base },
    };
    Registration {
        rewrites: trace.rewrites,
        placement,
    }
}

/// What became of a variable; where a stored one went is the recorder's to know.
enum Outcome {
    Stored,
    EmptyName,
    AppendRefused,
    TooDeep(Key),
}

/// Receives what happens while a variable is stored. Monomorphised, so the silent recorder
/// compiles away.
trait Recorder {
    fn rewrite(&mut self, rewrite: impl FnOnce() -> NameRewrite);
    fn key(&mut self, key: &Key, appended: bool);
}

struct NoTrace;

impl Recorder for NoTrace {
    fn rewrite(&mut self, _: impl FnOnce() -> NameRewrite) {}
    fn key(&mut self, _: &Key, _: bool) {}
}

#[derive(Default)]
struct Trace {
    rewrites: Vec<NameRewrite>,
    path: Vec<Key>,
    appended: Vec<usize>,
}

impl Recorder for Trace {
    fn rewrite(&mut self, rewrite: impl FnOnce() -> NameRewrite) {
        self.rewrites.push(rewrite());
    }

    fn key(&mut self, key: &Key, appended: bool) {
        if appended {
            self.appended.push(self.path.len());
        }
        self.path.push(key.clone());
    }
}

fn register(
    map: &mut Map,
    name: &[u8],
    value: Vec<u8>,
    max_depth: usize,
    recorder: &mut impl Recorder,
) -> Outcome {
    let name = match name.iter().position(|&b| b == 0) {
        Some(nul) => {
            recorder.rewrite(|| NameRewrite::CutAtNul);
            &name[..nul]
        }
        None => name,
    };
    let start = name.iter().position(|&b| b != b' ').unwrap_or(name.len());
    if start > 0 && start < name.len() {
        recorder.rewrite(|| NameRewrite::LeadingSpacesRemoved);
    }
    let name = &name[start..];

    let bracket = name.iter().position(|&b| b == b'[');
    let base_raw = &name[..bracket.unwrap_or(name.len())];
    let base = mangle(base_raw, false);
    if base.is_empty() {
        return Outcome::EmptyName;
    }
    if base != base_raw {
        recorder.rewrite(|| NameRewrite::BaseMangled {
            from: base_raw.to_vec(),
            to: base.clone(),
        });
    }
    let Some(bracket) = bracket else {
        return store_plain(map, &base, value, recorder);
    };
    let rest = &name[bracket..];
    if !rest[1..].contains(&b']') {
        let mut plain = base;
        plain.push(b'_');
        plain.extend(mangle(&rest[1..], true));
        recorder.rewrite(|| NameRewrite::NotAnArray {
            plain: plain.clone(),
        });
        return store_plain(map, &plain, value, recorder);
    }

    let base = Key::from_bytes(&base);
    let groups = bracket_groups(rest, max_depth, recorder);
    // PHP creates the arrays of a name group by group and only meets the nesting limit when it
    // reaches the group past it, so an append refused on the way ends the variable first and the
    // base then survives.
    let Some((target, slot)) = descend(map, base.clone(), &groups.groups, recorder) else {
        return Outcome::AppendRefused;
    };
    if groups.too_deep {
        map.remove(&base);
        return Outcome::TooDeep(base);
    }
    match slot {
        Some(key) => {
            recorder.key(&key, false);
            target.insert(key, Value::Bytes(value));
        }
        None => match target.push(Value::Bytes(value)) {
            Some(index) => recorder.key(&Key::Int(index), true),
            None => return Outcome::AppendRefused,
        },
    }
    Outcome::Stored
}

fn store_plain(
    map: &mut Map,
    name: &[u8],
    value: Vec<u8>,
    recorder: &mut impl Recorder,
) -> Outcome {
    let key = Key::from_bytes(name);
    recorder.key(&key, false);
    map.insert(key, Value::Bytes(value));
    Outcome::Stored
}

/// Replaces ' ' and '.' (and '[' when asked) by '_', as PHP does for variable names.
fn mangle(part: &[u8], brackets_too: bool) -> Vec<u8> {
    part.iter()
        .map(|&b| match b {
            b' ' | b'.' => b'_',
            b'[' if brackets_too => b'_',
            other => other,
        })
        .collect()
}

/// One `[...]` of a name: a key, or an append (`[]`).
enum Group<'a> {
    Key(&'a [u8]),
    Append,
}

/// The bracket groups of a name, in order.
struct Groups<'a> {
    groups: Vec<Group<'a>>,
    /// Another group starts after the last one although `max_depth` groups were read: the name
    /// nests too deep, which removes its base.
    too_deep: bool,
}

/// Reads the bracket groups of `rest` (which starts with the first `[`).
fn bracket_groups<'a>(
    rest: &'a [u8],
    max_depth: usize,
    recorder: &mut impl Recorder,
) -> Groups<'a> {
    let mut groups = Vec::new();
    let mut pos = 0; // at a '['
    loop {
        if groups.len() >= max_depth {
            return Groups {
                groups,
                too_deep: true,
            };
        }
        let key_start = pos + 1;
        let mut probe = key_start;
        if rest.get(probe).is_some_and(|&b| is_c_space(b)) {
            probe += 1;
        }
        if rest.get(probe) == Some(&b']') {
            groups.push(Group::Append);
            pos = probe + 1;
        } else {
            match rest[probe.min(rest.len())..]
                .iter()
                .position(|&b| b == b']')
            {
                Some(offset) => {
                    let close = probe + offset;
                    groups.push(Group::Key(&rest[key_start..close]));
                    pos = close + 1;
                }
                // An unterminated later group ends the sequence at the previous one.
                None => {
                    recorder
                        .rewrite(|| NameRewrite::UnterminatedGroupIgnored(rest[pos..].to_vec()));
                    break;
                }
            }
        }
        if rest.get(pos) != Some(&b'[') {
            if pos < rest.len() {
                recorder.rewrite(|| NameRewrite::TrailingTextIgnored(rest[pos..].to_vec()));
            }
            break;
        }
    }
    Groups {
        groups,
        too_deep: false,
    }
}

/// The white-space test PHP applies right after a `[`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Follows a name from its base through all groups but the last, creating arrays on the way (a
/// byte string in the way is replaced in place). Returns the array that receives the value and
/// the slot in it (`None` for an append), or `None` when an append on the way was refused.
fn descend<'m>(
    map: &'m mut Map,
    base: Key,
    groups: &[Group<'_>],
    recorder: &mut impl Recorder,
) -> Option<(&'m mut Map, Option<Key>)> {
    let mut current = map;
    let mut slot = Some(base);
    for group in groups {
        let parent = current;
        current = match slot.take() {
            Some(key) => {
                recorder.key(&key, false);
                parent.child_array(key)
            }
            None => {
                let index = parent.next_append_key()?;
                recorder.key(&Key::Int(index), true);
                parent.child_array(Key::Int(index))
            }
        };
        slot = match group {
            Group::Key(bytes) => Some(Key::from_bytes(bytes)),
            Group::Append => None,
        };
    }
    Some((current, slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(name: &[u8], state: &mut Map) -> Registration {
        register_variable_traced(state, name, b"v".to_vec(), 64)
    }

    #[test]
    fn paths_resolve_appends_to_their_index() {
        let mut state = Map::new();
        traced(b"r[5]", &mut state);
        let registration = traced(b"r[][x]", &mut state);
        assert_eq!(
            registration.placement,
            Placement::Stored {
                path: vec![Key::from("r"), Key::Int(6), Key::from("x")],
                appended: vec![1],
            }
        );
    }

    #[test]
    fn rewrites_are_reported_in_order() {
        let mut state = Map::new();
        let registration = traced(b" a.b[k]tail", &mut state);
        assert_eq!(
            registration.rewrites,
            vec![
                NameRewrite::LeadingSpacesRemoved,
                NameRewrite::BaseMangled {
                    from: b"a.b".to_vec(),
                    to: b"a_b".to_vec()
                },
                NameRewrite::TrailingTextIgnored(b"tail".to_vec()),
            ]
        );
        assert_eq!(
            traced(b"c[d.e", &mut state).rewrites,
            vec![NameRewrite::NotAnArray {
                plain: b"c_d_e".to_vec()
            }]
        );
        assert_eq!(
            traced(b"f[g][h", &mut state).rewrites,
            vec![NameRewrite::UnterminatedGroupIgnored(b"[h".to_vec())]
        );
        assert_eq!(
            traced(b"x\0y", &mut state).rewrites,
            vec![NameRewrite::CutAtNul]
        );
    }

    #[test]
    fn dropped_variables_say_why() {
        let mut state = Map::new();
        assert_eq!(traced(b"[x]", &mut state).placement, Placement::EmptyName);
        traced(b"a[9223372036854775807]", &mut state);
        assert_eq!(
            traced(b"a[]", &mut state).placement,
            Placement::AppendRefused
        );
        let deep = format!("a{}", "[k]".repeat(65));
        assert_eq!(
            traced(deep.as_bytes(), &mut state).placement,
            Placement::TooDeep {
                base: Key::from("a")
            }
        );
        assert!(state.is_empty());
    }
}
