//! Properties of the codec that hold without asking PHP.
//!
//! * `parse(build(tree)) == tree` for every tree PHP itself can carry through a form body (see
//!   `representable_form` for what that excludes and why);
//! * every tree `parse` produces is such a tree, so a parsed body survives being rebuilt;
//! * registering a body's variables one by one with the tracing entry point builds the same tree
//!   as `parse`, and every variable it reports stored sits at its reported path;
//! * `parse` and the builders never panic, whatever the bytes, however long or deeply bracketed
//!   the names.

use php_form::{
    build_query, build_query_data, format_g, parse, parse_with, register_variable_traced,
    split_segments, url_decode, url_encode, Data, Key, Limits, Map, Placement, Value,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// The white-space bytes PHP skips right after a `[` when it looks for an append (`[ ]`).
const C_SPACE: &[u8] = b" \t\n\x0b\x0c\r";

/// A top-level key PHP keeps as it is.
///
/// PHP strips leading spaces from a name, turns ' ' and '.' before the first '[' into '_', starts
/// bracket parsing at a '[', drops an empty name and cuts a name at its first NUL. A key without
/// ' ', '.', '[' and NUL, and not empty, passes unchanged (']' is harmless up here). Strings that
/// are canonical integers become integer keys, as PHP's arrays do, hence `Key::from_bytes`.
fn top_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        any::<i64>().prop_map(Key::Int),
        vec(any::<u8>(), 1..6).prop_filter_map("not a plain PHP variable name", |bytes| {
            let plain = !bytes.iter().any(|b| matches!(b, b' ' | b'.' | b'[' | 0));
            plain.then(|| Key::from_bytes(&bytes))
        }),
    ]
}

/// A key inside brackets PHP reads back as it is.
///
/// A ']' would end the group early and a NUL would cut the name; an empty key, or a single
/// white-space byte, reads as an append (`[]`, `[ ]`, `[\t]` ...). Anything else, including '[',
/// leading spaces, '.', '&', '=', '%' and '+', survives because the builder escapes it.
fn nested_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        any::<i64>().prop_map(Key::Int),
        vec(any::<u8>(), 1..6).prop_filter_map("PHP would read this key differently", |bytes| {
            let lone_space = bytes.len() == 1 && C_SPACE.contains(&bytes[0]);
            let clean = !bytes.iter().any(|&b| b == b']' || b == 0);
            (clean && !lone_space).then(|| Key::from_bytes(&bytes))
        }),
    ]
}

/// Values are kept whole by PHP, NUL bytes included.
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..8)
}

/// A non-empty array of nested keys: `http_build_query` writes nothing for an empty array, so
/// one could never come back.
fn nested_map() -> impl Strategy<Value = Map> {
    let leaf = value_bytes().prop_map(Value::Bytes);
    let node = leaf.prop_recursive(3, 48, 5, |inner| {
        vec((nested_key(), inner), 1..5).prop_map(|entries| Value::Array(map_of(entries)))
    });
    vec((nested_key(), node), 1..5).prop_map(map_of)
}

/// A whole form PHP carries unchanged through `http_build_query` and back into `$_POST`.
///
/// Besides the key rules above: no empty arrays (see `nested_map`), at most 3 levels of
/// brackets here (PHP allows 64, `sixty_four_levels_round_trip` covers the edge) and at most
/// 5 * 5^3 + 6 leaves per form, far below the 1000 variables PHP reads.
fn representable_form() -> impl Strategy<Value = Map> {
    let entry = (
        top_key(),
        prop_oneof![
            value_bytes().prop_map(Value::Bytes),
            nested_map().prop_map(Value::Array),
        ],
    );
    vec(entry, 0..6).prop_map(map_of)
}

/// Builds a map; a repeated key keeps its first position and its last value, as PHP does.
fn map_of(entries: Vec<(Key, Value)>) -> Map {
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert(key, value);
    }
    map
}

/// Bytes that mean something to the parser, drawn often so that arbitrary input is interesting.
fn form_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => proptest::sample::select(b"[] .&=%+\0\t\n\x0b\x0c\r-09ax_Ff".to_vec()),
        1 => any::<u8>(),
    ];
    vec(byte, 0..max_len)
}

fn count_leaves(map: &Map) -> usize {
    map.iter()
        .map(|(_, value)| match value {
            Value::Bytes(_) => 1,
            Value::Array(child) => count_leaves(child),
        })
        .sum()
}

fn typed_data() -> impl Strategy<Value = Data> {
    let leaf = prop_oneof![
        Just(Data::Null),
        any::<bool>().prop_map(Data::Bool),
        any::<i64>().prop_map(Data::Int),
        any::<u64>().prop_map(|bits| Data::Float(f64::from_bits(bits))),
        any::<f64>().prop_map(Data::Float),
        vec(any::<u8>(), 0..8).prop_map(Data::Bytes),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let key = prop_oneof![
            any::<i64>().prop_map(Key::Int),
            vec(any::<u8>(), 0..4).prop_map(|b| Key::from_bytes(&b)),
        ];
        vec((key, inner), 0..6).prop_map(Data::Array)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn representable_forms_round_trip(form in representable_form()) {
        let built = build_query(&form);
        prop_assert_eq!(parse(&built), form, "rebuilt as {}", built.escape_ascii());
    }

    #[test]
    fn parsed_forms_are_representable(body in form_bytes(120)) {
        let form = parse(&body);
        prop_assert!(count_leaves(&form) <= 1001);
        let built = build_query(&form);
        prop_assert_eq!(parse(&built), form, "rebuilt as {}", built.escape_ascii());
    }

    #[test]
    fn tracing_stores_what_parse_stores(body in form_bytes(120)) {
        let limits = Limits::default();
        let mut traced = Map::new();
        for segment in split_segments(&body).take(limits.max_vars + 1) {
            let value = url_decode(segment.raw_value);
            let name = url_decode(segment.raw_name);
            let registration =
                register_variable_traced(&mut traced, &name, value.clone(), limits.max_depth);
            if let Placement::Stored { path, appended } = registration.placement {
                prop_assert!(appended.iter().all(|&i| matches!(path[i], Key::Int(_))));
                let mut found = traced.get(&path[0]);
                for key in &path[1..] {
                    found = found.and_then(Value::as_array).and_then(|m| m.get(key));
                }
                prop_assert_eq!(found.and_then(Value::as_bytes), Some(value.as_slice()));
            }
        }
        prop_assert_eq!(traced, parse(&body));
    }

    #[test]
    fn parse_never_panics(body in vec(any::<u8>(), 0..300), extra in form_bytes(300)) {
        let mut body = body;
        body.extend(extra);
        let form = parse(&body);
        let _ = build_query(&form);
        let _ = url_decode(&body);
        let _ = url_encode(&body);
    }

    #[test]
    fn tight_limits_never_panic(
        body in form_bytes(200),
        max_vars in 0usize..4,
        max_depth in 0usize..4,
    ) {
        let form = parse_with(&body, Limits { max_vars, max_depth });
        prop_assert!(count_leaves(&form) <= max_vars + 1);
    }

    #[test]
    fn long_bracketed_names_never_panic(
        head in form_bytes(8),
        group in form_bytes(6),
        repeat in 1usize..3000,
        tail in form_bytes(8),
    ) {
        let mut body = head;
        for _ in 0..repeat {
            body.extend_from_slice(&group);
        }
        body.extend(tail);
        let _ = build_query(&parse(&body));
    }

    #[test]
    fn build_query_data_never_panics(entries in vec((any::<i64>(), typed_data()), 0..6)) {
        let entries: Vec<(Key, Data)> =
            entries.into_iter().map(|(k, v)| (Key::Int(k), v)).collect();
        let _ = build_query_data(&entries);
    }

    #[test]
    fn format_g_never_panics(bits in any::<u64>(), precision in 0usize..60) {
        let text = format_g(f64::from_bits(bits), precision);
        prop_assert!(!text.is_empty());
    }
}

#[test]
fn huge_bracketed_names_never_panic() {
    let shapes: [&[u8]; 7] = [b"[", b"]", b"[]", b"[x]", b"[ ]", b"][", b"[["];
    for shape in shapes {
        for prefix in [&b"a"[..], b"", b" ", b"a.b"] {
            let mut body = prefix.to_vec();
            for _ in 0..200_000 {
                body.extend_from_slice(shape);
            }
            body.extend_from_slice(b"=1&b=2");
            let form = parse(&body);
            let _ = build_query(&form);
        }
    }
}

/// PHP's limit is 64 bracket groups: a 64-group name round-trips, one more removes the base.
#[test]
fn sixty_four_levels_round_trip() {
    let mut deepest = Map::new();
    deepest.insert(Key::from("leaf"), Value::Bytes(b"v".to_vec()));
    let mut form = deepest;
    for level in (0..63).rev() {
        let mut parent = Map::new();
        parent.insert(Key::Int(level), Value::Array(form));
        form = parent;
    }
    let mut top = Map::new();
    top.insert(Key::from("top"), Value::Array(form));
    let built = build_query(&top);
    assert_eq!(parse(&built), top);

    let mut too_deep = Map::new();
    too_deep.insert(Key::from("top"), Value::Array(top.clone()));
    assert!(parse(&build_query(&too_deep)).is_empty());
}
