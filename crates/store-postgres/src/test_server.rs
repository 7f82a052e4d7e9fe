//! The server the unit tests that need one run against: `CLICKBILL_TEST_POSTGRES_URL`, or a
//! loud notice that the test was skipped.

use crate::PostgresOptions;
use std::io::Write;

/// The options for the test server, or `None` after telling the person running the tests that
/// `test` was skipped. Written to the stderr handle itself: the test harness captures
/// `eprintln!`, and this notice must be seen even though the test passes.
pub(crate) fn options(test: &str) -> Option<PostgresOptions> {
    const VARIABLE: &str = "CLICKBILL_TEST_POSTGRES_URL";
    if let Ok(url) = std::env::var(VARIABLE) {
        let mut options = PostgresOptions::new(url);
        options.pool_size = 2;
        return Some(options);
    }
    let rule = "#".repeat(90);
    let notice = format!(
        "\n{rule}\n## {test}: SKIPPED, NO POSTGRESQL SERVER WAS USED\n\
         ## {VARIABLE} is not set, e.g. {VARIABLE}=postgres://postgres@127.0.0.1:5432/test\n\
         {rule}\n\n"
    );
    let _ = std::io::stderr().write_all(notice.as_bytes());
    None
}
