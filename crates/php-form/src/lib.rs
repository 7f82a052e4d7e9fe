//! PHP's form codec.
//!
//! [`parse`] turns an `application/x-www-form-urlencoded` body into exactly the ordered tree PHP 8.2
//! builds in `$_POST` (name mangling, bracket nesting, `[]` appends, duplicate keys, invalid escapes,
//! `max_input_vars` and `max_input_nesting_level`). [`build_query`] turns a tree back into the string
//! `http_build_query` produces, and [`build_query_data`] does the same for typed PHP values.
//!
//! ```
//! let form = php_form::parse(b"goods[0][good_name]=code1&good_info=1&a.b=x");
//! assert_eq!(
//!     php_form::build_query(&form),
//!     b"goods%5B0%5D%5Bgood_name%5D=code1&good_info=1&a_b=x"
//! );
//! ```
//!
//! Nothing here panics on any input; there is no I/O.

mod build;
mod float;
mod parse;
mod register;
mod tree;

pub use build::{
    build_query, build_query_data, build_query_into, encode_path, url_encode, url_encode_into, Data,
};
pub use float::format_g;
pub use parse::{parse, parse_with, split_segments, url_decode, Limits, RawSegment};
pub use register::{
    register_variable, register_variable_traced, NameRewrite, Placement, Registration,
};
pub use tree::{Key, Map, Value};
