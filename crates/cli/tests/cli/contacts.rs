//! `clickbill group` and `clickbill contact`: groups, listings, and an export/import round trip
//! of 100,000 contacts that keeps every field in memory that does not grow with the list.

use crate::support::{bin, Scratch};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The longest one import or export of the big list may take.
const BIG_COMMAND_LIMIT: Duration = Duration::from_secs(600);

fn setup(scratch: &Scratch, login: &str) {
    scratch.ok(&["tenant", "add", login, "--secret", "s3cret"]);
    assert_eq!(
        scratch
            .ok(&["group", "add", login, "grp1", "--title", "Newsletter"])
            .trim(),
        "1"
    );
    assert_eq!(
        scratch
            .ok(&[
                "group",
                "add",
                login,
                "grp 2",
                "--title",
                "Клиенты, \"VIP\"",
                "--kind",
                "client"
            ])
            .trim(),
        "2"
    );
}

/// `n` contacts with every field set and text that needs quoting: commas, quotes, newlines,
/// Cyrillic, JSON inside JSON.
fn contacts_csv(n: usize) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "email",
            "name",
            "first_name",
            "middle_name",
            "last_name",
            "phone",
            "city",
            "tags",
            "partner_id",
            "created_at",
            "extras",
            "subscriptions",
        ])
        .unwrap();
    for i in 0..n {
        let statuses = [
            "STATUS_SUBSCRIBE",
            "STATUS_WAIT",
            "STATUS_UNSUBSCRIBE",
            "STATUS_UNSUBSCRIBE_BY_SERVICE",
            "STATUS_INVALID_EMAIL",
        ];
        let subscriptions = serde_json::json!([
            {"rass_name": "grp1", "status": statuses[i % 5], "time": 1_700_000_000 + i as i64,
             "ip": format!("10.0.{}.{}", i / 256 % 256, i % 256),
             "utm": {"medium": "affiliate", "source": format!("p{i}"), "campaign": "c,\"q\"", "content": "", "term": "курс"},
             "aff_utm": {"medium": "", "source": "", "campaign": "", "content": "x", "term": ""},
             "doneurl2": format!("https://site.example/ok?i={i}&b=2")},
            {"rass_name": "grp 2", "status": statuses[(i + 1) % 5], "time": 1_600_000_000,
             "ip": "", "utm": {"medium": "", "source": "", "campaign": "", "content": "", "term": ""},
             "aff_utm": {"medium": "", "source": "", "campaign": "", "content": "", "term": ""},
             "doneurl2": ""}
        ]);
        let subscriptions = if i % 7 == 0 {
            serde_json::json!([])
        } else {
            subscriptions
        };
        let extras = serde_json::json!({"lead_utc": "+03", "lead_telegram": format!("@u{i}")});
        writer
            .write_record([
                format!("user{i}@example.com"),
                format!("Иван \"{i}\", Петров\nвторая строка"),
                format!("Иван{i}"),
                "Иванович".into(),
                "Петров".into(),
                format!("+7 900 {i:07}"),
                if i % 3 == 0 {
                    String::new()
                } else {
                    "Москва".into()
                },
                serde_json::to_string(&["vip", &format!("t{}", i % 10), "Tag,with comma"]).unwrap(),
                if i % 2 == 0 {
                    (i % 50 + 1).to_string()
                } else {
                    String::new()
                },
                (1_500_000_000 + i as i64).to_string(),
                extras.to_string(),
                subscriptions.to_string(),
            ])
            .unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// The records of a CSV text without its header, ordered by e-mail and creation time, with
/// the JSON columns (tags, extras, subscriptions) parsed, so that key order inside them does
/// not count.
fn sorted_records(text: &str) -> Vec<serde_json::Value> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut records: Vec<(String, String, serde_json::Value)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let cells: Vec<serde_json::Value> = r
                .iter()
                .enumerate()
                .map(|(i, cell)| match i {
                    7 | 10 | 11 => serde_json::from_str(cell).unwrap(),
                    _ => serde_json::Value::from(cell),
                })
                .collect();
            (
                r[0].to_owned(),
                r[9].to_owned(),
                serde_json::Value::Array(cells),
            )
        })
        .collect();
    records.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    records.into_iter().map(|(_, _, record)| record).collect()
}

/// Runs `clickbill --database URL ARGS` under `/usr/bin/time`, standard output into `out`;
/// returns the standard error and the peak resident memory in KiB.
fn measured(database_url: &str, args: &[&str], out: &Path) -> (String, u64) {
    let report = out.with_extension("time");
    let mut child = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(&report)
        .args(["-f", "%M"])
        .arg(bin())
        .args(["--database", database_url])
        .args(args)
        .env_remove("CLICKBILL_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(File::create(out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/time runs clickbill");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BIG_COMMAND_LIMIT {
            child.kill().unwrap();
            panic!("clickbill {args:?} did not finish within {BIG_COMMAND_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "clickbill {args:?}: {stderr}");
    let peak = std::fs::read_to_string(&report).unwrap();
    let peak = peak.lines().last().unwrap().trim().parse().unwrap();
    (stderr, peak)
}

#[test]
fn groups_are_added_and_listed() {
    let scratch = Scratch::new();
    setup(&scratch, "demo");
    scratch.ok(&[
        "group", "add", "demo", "all", "--title", "All", "--kind", "auto", "--id", "10",
    ]);
    assert_eq!(
        scratch.ok(&["group", "list", "demo"]),
        "1\tgrp1\tstandard\tNewsletter\n2\tgrp 2\tclient\tКлиенты, \"VIP\"\n10\tall\tauto\tAll\n"
    );
    let taken = scratch.run(&["group", "add", "demo", "GRP1", "--title", "x"]);
    assert_eq!(taken.code, 2, "{taken:?}");
    let kind = scratch.run(&["group", "add", "demo", "x", "--title", "x", "--kind", "vip"]);
    assert_eq!(kind.code, 2, "{kind:?}");
    assert_eq!(scratch.run(&["group", "list", "nobody"]).code, 2);
}

#[test]
fn contacts_are_listed_and_shown_by_filter() {
    let scratch = Scratch::new();
    setup(&scratch, "demo");
    let file = scratch.path().join("few.csv");
    std::fs::write(&file, contacts_csv(10)).unwrap();
    let out = scratch.run(&["contact", "import", "demo", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("10 created or changed, 0 unchanged"),
        "{}",
        out.stderr
    );
    let listed = scratch.ok(&[
        "contact",
        "list",
        "demo",
        "--group",
        "grp1",
        "--status",
        "STATUS_WAIT",
    ]);
    let emails: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(emails, ["user1@example.com", "user6@example.com"]);
    let tagged = scratch.ok(&["contact", "list", "demo", "--tag", "t3"]);
    assert_eq!(tagged.lines().count(), 1);
    let shown = scratch.ok(&["contact", "show", "demo", "USER1@example.com"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["extras"]["lead_telegram"], "@u1");
    assert_eq!(shown["subscriptions"][1]["rass_name"], "grp 2");
    assert_eq!(
        scratch
            .run(&["contact", "show", "demo", "nobody@example.com"])
            .code,
        2
    );
    assert_eq!(
        scratch
            .run(&["contact", "list", "demo", "--group", "nosuch"])
            .code,
        2
    );
}

/// 100,000 contacts out of one database and into another: every field arrives; importing
/// again changes nothing; and the peak memory of export and import does not grow with the
/// list (measured against a list ten times smaller).
#[test]
fn a_hundred_thousand_contacts_round_trip_in_bounded_memory() {
    let source = Scratch::new();
    setup(&source, "big");
    setup(&source, "small");
    let big_csv = contacts_csv(100_000);
    let big_file = source.path().join("big.csv");
    std::fs::write(&big_file, &big_csv).unwrap();
    let small_file = source.path().join("small.csv");
    std::fs::write(&small_file, contacts_csv(10_000)).unwrap();

    let url = source.db_url();
    let sink = source.path().join("import.out");
    let (_, small_import) = measured(
        &url,
        &["contact", "import", "small", small_file.to_str().unwrap()],
        &sink,
    );
    let (stderr, big_import) = measured(
        &url,
        &["contact", "import", "big", big_file.to_str().unwrap()],
        &sink,
    );
    assert!(
        stderr.contains("100000 created or changed, 0 unchanged"),
        "{stderr}"
    );
    let (stderr, _) = measured(
        &url,
        &["contact", "import", "big", big_file.to_str().unwrap()],
        &sink,
    );
    assert!(
        stderr.contains("0 created or changed, 100000 unchanged"),
        "{stderr}"
    );

    let small_out = source.path().join("small.out.csv");
    let big_out = source.path().join("big.out.csv");
    let (_, small_export) = measured(&url, &["contact", "export", "small"], &small_out);
    let (_, big_export) = measured(&url, &["contact", "export", "big"], &big_out);
    let exported = std::fs::read_to_string(&big_out).unwrap();
    let expected = sorted_records(&big_csv);
    assert_eq!(expected.len(), 100_000);
    assert!(
        sorted_records(&exported) == expected,
        "the export differs from the import"
    );

    let target = Scratch::new();
    setup(&target, "big");
    let target_url = target.db_url();
    let (stderr, _) = measured(
        &target_url,
        &["contact", "import", "big", big_out.to_str().unwrap()],
        &sink,
    );
    assert!(stderr.contains("100000 created or changed"), "{stderr}");
    let again = target.path().join("again.csv");
    measured(&target_url, &["contact", "export", "big"], &again);
    assert!(
        sorted_records(&std::fs::read_to_string(&again).unwrap()) == expected,
        "the second database holds other contacts"
    );

    let import_ratio = big_import as f64 / small_import as f64;
    let export_ratio = big_export as f64 / small_export as f64;
    eprintln!(
        "peak memory, 100,000 vs 10,000 contacts: import {import_ratio:.2}x ({big_import} / {small_import} KiB), export {export_ratio:.2}x ({big_export} / {small_export} KiB)"
    );
    assert!(
        import_ratio < 1.5,
        "import memory grows with the list: {import_ratio:.2}x"
    );
    assert!(
        export_ratio < 1.5,
        "export memory grows with the list: {export_ratio:.2}x"
    );
}
