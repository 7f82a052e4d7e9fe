//! Contact and group methods (SPEC §12, §15.3–§15.7): the examples in document order with the
//! recorded requests, every error with its code and text, and the ties to partners, payments,
//! the per-IP limit and the unsubscribe events.

use crate::helpers::{
    envelope, history_of_11_3, signed, spawn_app, Answer, TestApp, EXAMPLES_TIME,
};
use clickbill_domain::contacts::{
    ContactCommand, GroupId, GroupKind, StoredContact, SubscriptionStatus, UnsubscribeEvent,
};

const OK: &str = r#"{"error_code":0,"error_text":"OK","hash":"b60bb23ab72ead13463d1205065965a5"}"#;
const OK_EMPTY_LIST: &str =
    r#"{"error_code":0,"error_text":"OK","result":[],"hash":"b60bb23ab72ead13463d1205065965a5"}"#;

/// The recorded requests of §5.4 for `method`, in recording order.
pub(crate) fn recorded(method: &str) -> Vec<String> {
    include_str!("../../../../testdata/vectors/real-client-requests.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|vector| vector["method"] == method)
        .map(|vector| vector["raw_body"].as_str().unwrap().to_owned())
        .collect()
}

impl TestApp {
    /// POSTs `body` as is from `ip`, as a trusted reverse proxy in front of the server reports
    /// it.
    async fn post_from(&self, ip: &str, method: &str, body: impl Into<Vec<u8>>) -> Answer {
        let response = self
            .client
            .post(self.url(&format!("/api/{method}")))
            .header("Host", "demo.justclick.ru")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Forwarded-For", ip)
            .body(body.into())
            .send()
            .await
            .expect("request");
        Answer::read(response).await
    }

    async fn contact(&self, email: &str) -> Option<StoredContact> {
        self.store
            .inner
            .contact_by_email(self.demo.id, email)
            .await
            .unwrap()
    }

    async fn unsubscribe_events(&self) -> Vec<UnsubscribeEvent> {
        self.store
            .inner
            .unsubscribe_events(self.demo.id, 0, 1000)
            .await
            .unwrap()
    }

    async fn all_contacts(&self) -> Vec<StoredContact> {
        self.store
            .inner
            .contacts_page(self.demo.id, None, 100_000)
            .await
            .unwrap()
    }
}

/// §11.3 item 1: the two WordPress subscriptions from 203.0.113.7.
pub(crate) async fn wordpress_history(app: &TestApp) {
    app.clock.set(1_699_990_000);
    for body in recorded("AddLeadToGroup").into_iter().skip(1) {
        app.post_from("203.0.113.7", "AddLeadToGroup", body)
            .await
            .assert_body(OK);
    }
    app.clock.set(EXAMPLES_TIME);
}

#[tokio::test]
async fn examples_of_12_in_document_order() {
    let Some(app) = spawn_app().await else { return };
    wordpress_history(&app).await;
    history_of_11_3(&app).await;

    // §12.1, the Python client's request, twice, then a group that does not exist.
    let lead = &recorded("AddLeadToGroup")[0];
    app.post("AddLeadToGroup", lead.as_str())
        .await
        .assert_body(OK);
    app.post("AddLeadToGroup", lead.as_str())
        .await
        .assert_body(r#"{"error_code":0,"error_text":"The subscriber is already registered","hash":"8bab27acf9e0dbde57359c668dd2faf7"}"#);
    app.post(
        "AddLeadToGroup",
        "rid%5B0%5D=nosuch&lead_email=x%40example.com&hash=d471d09023b5f0957d0c81211dd0a424",
    )
    .await
    .assert_body(r#"{"error_code":0,"error_text":"Has an invalid subscriptions group","hash":"236e0d688de318b3eca89972d8178e07"}"#);
    assert!(
        app.contact("x@example.com").await.is_none(),
        "nothing stored"
    );
    let stored = app.contact("lead+1@example.com").await.unwrap().contact;
    assert_eq!(stored.name, "Вася Пупкин");
    assert_eq!(
        stored.subscriptions[0].doneurl2,
        "https://site.example/ok?a=1&b=2"
    );

    // §12.2
    app.post(
        "UpdateSubscriberData",
        "lead_email=lead%2B1%40example.com&lead_name=%D0%92%D0%B0%D1%81%D0%B8%D0%BB%D0%B8%D0%B9+%D0%9F%D1%83%D0%BF%D0%BA%D0%B8%D0%BD&lead_phone=%2B79990000000&lead_tags=vip%2Cwebinar&hash=647063f8b6c411b0ee156bbed710f63a",
    )
    .await
    .assert_body(OK);
    let stored = app.contact("lead+1@example.com").await.unwrap().contact;
    assert_eq!(stored.name, "Василий Пупкин");
    assert_eq!(stored.phone, "+79990000000");
    assert_eq!(stored.tags, ["vip", "webinar"]);

    // §12.3, the WordPress plugin's request; §16.9 records its notification.
    app.post("DeleteSubscribe", recorded("DeleteSubscribe")[0].as_str())
        .await
        .assert_body(OK);
    let events = app.unsubscribe_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (
            event.name.as_str(),
            event.email.as_str(),
            event.phone.as_str(),
            event.city.as_str(),
            event.group,
            event.ip.as_str(),
            event.at
        ),
        (
            "Иван Петров",
            "user8@example.com",
            "",
            "",
            GroupId(1),
            "203.0.113.7",
            EXAMPLES_TIME
        )
    );

    // §12.4, §12.5
    app.post("GetLeadGroups", "email=lead%2B1%40example.com&hash=89f3bcbca2d6b9387268fe2ce344bf28")
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":[{"rass_name":"grp1","rass_title":"Newsletter"},{"rass_name":"grp 2","rass_title":"Webinar"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
    app.post("GetLeadGroupStatuses", recorded("GetLeadGroupStatuses")[0].as_str())
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":[{"rass_name":"grp1","rass_title":"Newsletter","rass_status":"STATUS_SUBSCRIBE","subscription_time":"1700000100"},{"rass_name":"grp 2","rass_title":"Webinar","rass_status":"STATUS_SUBSCRIBE","subscription_time":"1700000100"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"#);

    // §12.6, signed and with the key.
    let all_groups = r##"{"error_code":0,"error_text":"OK","result":[{"rass_id":"1","rass_name":"grp1","rass_title":"Newsletter"},{"rass_id":"2","rass_name":"grp 2","rass_title":"Webinar"},{"rass_id":"3","rass_name":"1605189997.0025174394","rass_title":"#27950"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"##;
    app.post("GetAllGroups", "hash=07d7c258e970b0e2fd9c7694ed0046c8")
        .await
        .assert_body(all_groups);
    app.post("GetAllGroups", "rpsKey=secret")
        .await
        .assert_body(all_groups);

    // §12.7
    app.post("GetCountSubscribe", "group_name=grp1&hash=9c707e6b0f9b754e9ffca75c0d0afeac")
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":2,"hash":"b60bb23ab72ead13463d1205065965a5"}"#);

    // §15.3–§15.7
    app.post(
        "addupdatelead",
        "rpsKey=secret&lead_email=test%40example.com&lead_first_name=Test&add_to_lists=1605189997.0025174394%2C+grp1&add_tags=tag2020",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    let test = app.contact("test@example.com").await.unwrap().contact;
    assert_eq!(
        (test.name.as_str(), test.first_name.as_str()),
        ("Test", "Test")
    );
    assert_eq!(test.tags, ["tag2020"]);
    let joined: Vec<GroupId> = test.subscriptions.iter().map(|s| s.group).collect();
    assert_eq!(joined, [GroupId(1), GroupId(3)]);
    app.post(
        "addtagtolead",
        "rpsKey=secret&lead_email=test%40example.com&add_tags=vip",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    app.post(
        "removetagfromlead",
        "rpsKey=secret&lead_email=test%40example.com&remove_tags=tag2020",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    assert_eq!(
        app.contact("test@example.com").await.unwrap().contact.tags,
        ["vip"]
    );
    app.post(
        "removeleadfromlist",
        "rpsKey=secret&lead_email=test%40example.com&remove_from_lists=grp1",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    assert_eq!(app.unsubscribe_events().await.len(), 2);
    app.post("getalllists", "rpsKey=secret")
        .await
        .assert_body(r##"{"error_code":0,"error_text":"OK","result":[{"id":1,"rass_id":1,"rass_name":"grp1","rass_title":"Newsletter"},{"id":2,"rass_id":2,"rass_name":"grp 2","rass_title":"Webinar"},{"id":3,"rass_id":3,"rass_name":"1605189997.0025174394","rass_title":"#27950"}],"hash":"b60bb23ab72ead13463d1205065965a5"}"##);
}

/// §5.5: the server hashes what PHP would have sent, whatever the body's own encoding.
#[tokio::test]
async fn a_tilde_left_unescaped_in_the_hash_is_rejected() {
    let Some(app) = spawn_app().await else { return };
    let python_hash = "eb6061dc7b7f820d488f6169cd41f822";
    let php_hash = "1cd88c78aa75e68bd732a24a81526b0e";
    let invalid_group = envelope(0, "Has an invalid subscriptions group", "secret");
    app.post(
        "AddLeadToGroup",
        format!("lead_email=a%40example.com&lead_name=Anna+~&hash={python_hash}"),
    )
    .await
    .assert_body(&envelope(4, "Incorrect hash", "secret"));
    for body in [
        "lead_name=Anna+%7E",
        "lead_name=Anna+~",
        "lead_name=Anna%20~",
    ] {
        app.post(
            "AddLeadToGroup",
            format!("lead_email=a%40example.com&{body}&hash={php_hash}"),
        )
        .await
        .assert_body(&invalid_group);
    }
}

#[tokio::test]
async fn add_lead_to_group_errors_and_targets() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    for email in [
        "",
        "lead_email=client.example.com&",
        "lead_email[]=a%40b.cd&",
    ] {
        app.post_signed("AddLeadToGroup", &format!("{email}rid[]=grp1"))
            .await
            .assert_body(&envelope(100, "Email is missing", "secret"));
    }
    let invalid = envelope(0, "Has an invalid subscriptions group", "secret");
    for rid in [
        "",
        "rid[]=allleads",
        "rid[]=4",
        "rid[]=&rid[]=nosuch",
        "rid[0][]=grp1",
    ] {
        app.post_signed("AddLeadToGroup", &format!("lead_email=a%40b.cd&{rid}"))
            .await
            .assert_body(&invalid);
    }
    assert!(app.all_contacts().await.is_empty());

    // A single `rid`, a number, case-insensitive names, an auto group skipped.
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=+A%40B.cd+&rid[]=GRP1&rid[]=2&rid[]=allleads&rid[]=grp1&lead_name=+&tag=t1",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let contact = app.contact("a@b.cd").await.unwrap().contact;
    assert_eq!(contact.name, "Дорогой друг");
    assert_eq!(contact.tags, ["t1"]);
    let groups: Vec<(GroupId, SubscriptionStatus)> = contact
        .subscriptions
        .iter()
        .map(|s| (s.group, s.status))
        .collect();
    assert_eq!(
        groups,
        [
            (GroupId(1), SubscriptionStatus::Subscribe),
            (GroupId(2), SubscriptionStatus::Subscribe)
        ]
    );
    // Only the remaining target is added; blank values keep the stored ones.
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=a%40b.cd&rid=1605189997.0025174394&lead_name=Ann&lead_city=&tag=t2",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let contact = app.contact("a@b.cd").await.unwrap().contact;
    assert_eq!((contact.name.as_str(), contact.city.as_str()), ("Ann", ""));
    assert_eq!(contact.tags, ["t1", "t2"]);
    assert_eq!(contact.subscriptions.len(), 3);
}

#[tokio::test]
async fn activation_is_asked_for_contacts_active_nowhere() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let activation = envelope(0, "Activation email sent to subscriber", "secret");
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=w%40b.cd&rid=grp1&activation=1",
    )
    .await
    .assert_body(&activation);
    // A pending activation counts as registered.
    app.post_signed("AddLeadToGroup", "lead_email=w%40b.cd&rid=grp1")
        .await
        .assert_body(&envelope(
            0,
            "The subscriber is already registered",
            "secret",
        ));
    app.post_signed(
        "GetLeadGroupStatuses",
        "email=w%40b.cd",
    )
    .await
    .assert_body(&format!(
        r#"{{"error_code":0,"error_text":"OK","result":[{{"rass_name":"grp1","rass_title":"Newsletter","rass_status":"STATUS_WAIT","subscription_time":"{EXAMPLES_TIME}"}}],"hash":"b60bb23ab72ead13463d1205065965a5"}}"#
    ));
    // `activation=false` is false (§7.3); an active contact needs no activation anywhere.
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=v%40b.cd&rid=grp1&activation=false",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=v%40b.cd&rid=grp+2&activation=1",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
}

/// WAIT → SUBSCRIBE → UNSUBSCRIBE: one event, however often the unsubscription is repeated.
#[tokio::test]
async fn an_unsubscription_is_recorded_once() {
    let Some(app) = spawn_app().await else { return };
    app.post_from(
        "198.51.100.4",
        "AddLeadToGroup",
        signed(
            "lead_email=u%40b.cd&rid=grp1&activation=1&lead_name=U&lead_phone=1&lead_city=C",
            "demo",
            "secret",
        ),
    )
    .await
    .assert_body(&envelope(
        0,
        "Activation email sent to subscriber",
        "secret",
    ));
    app.store
        .inner
        .change_contact(
            app.demo.id,
            Some("u@b.cd"),
            ContactCommand::Activate(vec![GroupId(1)]),
            EXAMPLES_TIME + 5,
        )
        .await
        .unwrap();
    let status = app.contact("u@b.cd").await.unwrap().contact.subscriptions[0].status;
    assert_eq!(status, SubscriptionStatus::Subscribe);
    assert!(app.unsubscribe_events().await.is_empty());
    for _ in 0..2 {
        app.post_signed("DeleteSubscribe", "lead_email=u%40b.cd&rass_name=grp1")
            .await
            .assert_body(&envelope(0, "OK", "secret"));
        app.post(
            "removeleadfromlist",
            "rpsKey=secret&lead_email=u%40b.cd&remove_from_lists=1",
        )
        .await
        .assert_body(OK_EMPTY_LIST);
        app.post(
            "addupdatelead",
            "rpsKey=secret&lead_email=u%40b.cd&remove_from_lists=grp1",
        )
        .await
        .assert_body(OK_EMPTY_LIST);
    }
    let events = app.unsubscribe_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (
            events[0].name.as_str(),
            events[0].phone.as_str(),
            events[0].city.as_str()
        ),
        ("U", "1", "C")
    );
    assert_eq!(events[0].ip, "198.51.100.4");
    // Joining again and leaving again is a new change, with a new event.
    app.post_signed("AddLeadToGroup", "lead_email=u%40b.cd&rid=grp1")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed("DeleteSubscribe", "lead_email=u%40b.cd&rass_name[]=grp1")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    assert_eq!(app.unsubscribe_events().await.len(), 2);
}

/// 50 simultaneous calls for one new address: one contact, one subscription per group.
#[tokio::test]
async fn simultaneous_subscriptions_create_one_contact() {
    let Some(app) = spawn_app().await else { return };
    let body = signed(
        "lead_email=race%40b.cd&rid[]=grp1&rid[]=grp+2",
        "demo",
        "secret",
    );
    let calls = (0..50).map(|_| app.post("AddLeadToGroup", body.clone()));
    let answers = futures_util::future::join_all(calls).await;
    let ok = envelope(0, "OK", "secret");
    let registered = envelope(0, "The subscriber is already registered", "secret");
    let oks = answers.iter().filter(|a| a.body == ok).count();
    let already = answers.iter().filter(|a| a.body == registered).count();
    assert_eq!((oks, already), (1, 49));
    let contacts = app.all_contacts().await;
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].contact.subscriptions.len(), 2);
    app.post_signed("GetCountSubscribe", "group_name=unique")
        .await
        .assert_body(r#"{"error_code":0,"error_text":"OK","result":1,"hash":"b60bb23ab72ead13463d1205065965a5"}"#);
}

#[tokio::test]
async fn update_subscriber_data_errors() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed("UpdateSubscriberData", "lead_email=bad")
        .await
        .assert_body(&envelope(100, "Email is missing", "secret"));
    app.post_signed("UpdateSubscriberData", "lead_email=nobody%40b.cd")
        .await
        .assert_body(&envelope(500, "Subscriber not found", "secret"));
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=a%40b.cd&rid=grp1&lead_name=A&tag=x",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed(
        "UpdateSubscriberData",
        "lead_email=A%40B.CD&lead_name=&lead_city=Omsk&lead_tags=+",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let contact = app.contact("a@b.cd").await.unwrap().contact;
    assert_eq!(
        (contact.name.as_str(), contact.city.as_str()),
        ("A", "Omsk")
    );
    assert_eq!(contact.tags, ["x"], "a blank tag list leaves the tags");
}

#[tokio::test]
async fn delete_subscribe_checks_every_name_first() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed("AddLeadToGroup", "lead_email=a%40b.cd&rid=grp1")
        .await
        .assert_body(&envelope(0, "OK", "secret"));
    let ok = envelope(0, "OK", "secret");
    for blank in [
        "lead_email=a%40b.cd",
        "lead_email=a%40b.cd&rass_name=+",
        "lead_email=a%40b.cd&rass_name[]=",
    ] {
        app.post_signed("DeleteSubscribe", blank)
            .await
            .assert_body(&ok);
    }
    app.post_signed(
        "DeleteSubscribe",
        "lead_email=a%40b.cd&rass_name[]=grp1&rass_name[]=nosuch",
    )
    .await
    .assert_body(&envelope(800, "Group subscribers is not found", "secret"));
    let not_found = envelope(801, "Subscriber with such address is not found", "secret");
    for body in [
        "lead_email=nobody%40b.cd&rass_name=grp1",
        "lead_email=invalid&rass_name=grp1",
        "lead_email=a%40b.cd&rass_name[]=grp1&rass_name[]=grp+2",
    ] {
        app.post_signed("DeleteSubscribe", body)
            .await
            .assert_body(&not_found);
    }
    assert!(app.unsubscribe_events().await.is_empty(), "nothing changed");
    assert!(app
        .contact("a@b.cd")
        .await
        .unwrap()
        .contact
        .is_in(GroupId(1)));
    app.post_signed("DeleteSubscribe", "lead_email=a%40b.cd&rass_name=1")
        .await
        .assert_body(&ok);
    assert!(!app
        .contact("a@b.cd")
        .await
        .unwrap()
        .contact
        .is_in(GroupId(1)));
}

#[tokio::test]
async fn look_ups_of_groups_and_statuses() {
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    for method in ["GetLeadGroups", "GetLeadGroupStatuses"] {
        app.post_signed(method, "email=bad")
            .await
            .assert_body(&envelope(3, "Wrong posted data", "secret"));
        app.post_signed(method, "x=1").await.assert_body(&envelope(
            3,
            "Wrong posted data",
            "secret",
        ));
        app.post_signed(method, "email=nobody%40b.cd")
            .await
            .assert_body(&envelope(500, "Subscriber not found", "secret"));
    }
    // A contact without any subscription (created by API 2.0).
    app.post("addupdatelead", "rpsKey=secret&lead_email=n%40b.cd")
        .await
        .assert_body(OK_EMPTY_LIST);
    for method in ["GetLeadGroups", "GetLeadGroupStatuses"] {
        app.post_signed(method, "email=n%40b.cd")
            .await
            .assert_body(&envelope(501, "Group not found", "secret"));
    }
    app.post(
        "addupdatelead",
        "rpsKey=secret&lead_email=n%40b.cd&add_to_lists=grp1&remove_from_lists=grp1",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    app.post_signed("GetLeadGroups", "email=n%40b.cd")
        .await
        .assert_body(&envelope(501, "Group not found", "secret"));
    app.post_signed("GetLeadGroupStatuses", "email=n%40b.cd")
        .await
        .assert_body(&format!(
            r#"{{"error_code":0,"error_text":"OK","result":[{{"rass_name":"grp1","rass_title":"Newsletter","rass_status":"STATUS_UNSUBSCRIBE","subscription_time":"{EXAMPLES_TIME}"}}],"hash":"b60bb23ab72ead13463d1205065965a5"}}"#
        ));
}

#[tokio::test]
async fn counting_subscribers() {
    let Some(app) = spawn_app().await else { return };
    let count = |n: u64| {
        format!(
            r#"{{"error_code":0,"error_text":"OK","result":{n},"hash":"b60bb23ab72ead13463d1205065965a5"}}"#
        )
    };
    app.post_signed("GetCountSubscribe", "group_name=+")
        .await
        .assert_body(&envelope(2, "No transmitted data", "secret"));
    app.post_signed("GetCountSubscribe", "group_name=nosuch")
        .await
        .assert_body(&envelope(501, "Group not found", "secret"));
    app.post_signed("GetCountSubscribe", "group_name=allleads")
        .await
        .assert_body(&count(0));
    for body in [
        "lead_email=a%40b.cd&rid[]=grp1&rid[]=grp+2",
        "lead_email=b%40b.cd&rid=grp1",
        "lead_email=c%40b.cd&rid=grp1&activation=1",
    ] {
        app.post_signed("AddLeadToGroup", body).await;
    }
    app.post("addupdatelead", "rpsKey=secret&lead_first_name=NoMail")
        .await
        .assert_body(OK_EMPTY_LIST);
    app.post_signed("DeleteSubscribe", "lead_email=b%40b.cd&rass_name=grp1")
        .await;
    for (group, n) in [
        ("grp1", 1),
        ("GRP+2", 1),
        ("2", 1),
        ("UNIQUE", 1),
        ("all", 4),
        ("Alls", 4),
    ] {
        app.post_signed("GetCountSubscribe", &format!("group_name={group}"))
            .await
            .assert_body(&count(n));
    }
}

#[tokio::test]
async fn groups_listed_without_auto_ones() {
    let Some(app) = spawn_app().await else { return };
    let other = crate::helpers::add_tenant(app.store.inner.as_ref(), "lists", "s3cret", true).await;
    // The server's tenant cache picks the new tenant up.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.post_signed_host("lists.justclick.ru", "lists", "s3cret", "GetAllGroups", "")
        .await
        .assert_body(&envelope(501, "Group not found", "s3cret"));
    let empty = format!(
        r#"{{"error_code":0,"error_text":"OK","result":[],"hash":"{}"}}"#,
        hash_of(0, "OK", "s3cret")
    );
    app.post_host("lists.justclick.ru", "getalllists", "rpsKey=s3cret")
        .await
        .assert_body(&empty);
    app.store
        .inner
        .add_group(
            other.id,
            clickbill_domain::contacts::NewGroup {
                id: None,
                name: "only".into(),
                title: "Only auto".into(),
                kind: clickbill_domain::contacts::GroupKind::Auto,
            },
        )
        .await
        .unwrap();
    app.post_signed_host("lists.justclick.ru", "lists", "s3cret", "GetAllGroups", "")
        .await
        .assert_body(&envelope(501, "Group not found", "s3cret"));
    app.post_host("lists.justclick.ru", "getalllists", "rpsKey=s3cret")
        .await
        .assert_body(&empty);
}

fn hash_of(code: i64, text: &str, secret: &str) -> String {
    let rendered = envelope(code, text, secret);
    let value: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    value["hash"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn api_2_contact_errors() {
    let Some(app) = spawn_app().await else { return };
    let missing = envelope(100, "Email is missing", "secret");
    let not_found = envelope(501, "Group not found", "secret");
    app.post("addupdatelead", "rpsKey=secret&lead_email=bad")
        .await
        .assert_body(&missing);
    for lists in [
        "add_to_lists=nosuch",
        "add_to_lists=allleads",
        "remove_from_lists=grp1,nosuch",
    ] {
        app.post(
            "addupdatelead",
            format!("rpsKey=secret&lead_email=z%40b.cd&{lists}"),
        )
        .await
        .assert_body(&not_found);
    }
    assert!(app.contact("z@b.cd").await.is_none(), "nothing changed");
    for method in ["addtagtolead", "removetagfromlead", "removeleadfromlist"] {
        app.post(method, "rpsKey=secret&lead_email=")
            .await
            .assert_body(&missing);
        app.post(
            method,
            "rpsKey=secret&lead_email=nobody%40b.cd&remove_from_lists=nosuch",
        )
        .await
        .assert_body(&envelope(500, "Subscriber not found", "secret"));
    }
    app.post("addupdatelead", "rpsKey=secret&lead_email=z%40b.cd&lead_last_name=Smith&lead_utc=%2B03&lead_personal_manager=71257&lead_telegram=%40z&add_tags=a,+b,,a")
        .await
        .assert_body(OK_EMPTY_LIST);
    let contact = app.contact("z@b.cd").await.unwrap().contact;
    assert_eq!(contact.name, "Smith");
    assert_eq!(contact.tags, ["a", "b"]);
    assert_eq!(contact.extras["lead_utc"], "+03");
    assert_eq!(contact.extras["lead_personal_manager"], "71257");
    assert_eq!(contact.extras["lead_telegram"], "@z");
    app.post(
        "removeleadfromlist",
        "rpsKey=secret&lead_email=z%40b.cd&remove_from_lists=nosuch",
    )
    .await
    .assert_body(&not_found);
    // A contact created without an e-mail is reached by no look-up.
    app.post(
        "addupdatelead",
        "rpsKey=secret&lead_first_name=Anon&add_to_lists=grp1",
    )
    .await
    .assert_body(OK_EMPTY_LIST);
    app.post("addupdatelead", "rpsKey=secret&lead_first_name=Anon")
        .await
        .assert_body(OK_EMPTY_LIST);
    let anonymous = app
        .all_contacts()
        .await
        .into_iter()
        .filter(|c| c.contact.email.is_none())
        .count();
    assert_eq!(anonymous, 2);
}

/// §12.1: `aff`, then `utm[utm_medium]=affiliate`; `noaff` stops both; the first partner stays.
#[tokio::test]
async fn contacts_are_attributed_to_partners() {
    let Some(app) = spawn_app().await else { return };
    let stats = |partner: &str| {
        let app = &app;
        let partner = partner.to_owned();
        async move {
            let answer = app
                .post_signed(
                    "GetPartnerStats",
                    &format!("partner={partner}&date_from=2023-11-14&date_to=2023-11-14"),
                )
                .await;
            let value: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
            value["result"]["leads_total"].as_str().unwrap().to_owned()
        }
    };
    let ok = envelope(0, "OK", "secret");
    app.post_signed("AddLeadToGroup", "lead_email=p1%40b.cd&rid=grp1&aff=17")
        .await
        .assert_body(&ok);
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=p2%40b.cd&rid=grp1&aff=999&utm[utm_medium]=affiliate&utm[utm_source]=BORIS",
    )
    .await
    .assert_body(&ok);
    app.post_signed(
        "AddLeadToGroup",
        "lead_email=p3%40b.cd&rid=grp1&aff=17&noaff=",
    )
    .await
    .assert_body(&ok);
    app.post_signed("AddLeadToGroup", "lead_email=p1%40b.cd&rid=grp+2&aff=5")
        .await
        .assert_body(&ok);
    assert_eq!(stats("anna").await, "1");
    assert_eq!(stats("boris").await, "1");
    let partner = |email: &str| {
        let app = &app;
        let email = email.to_owned();
        async move {
            app.contact(&email)
                .await
                .unwrap()
                .contact
                .partner
                .map(|p| p.0)
        }
    };
    assert_eq!(partner("p1@b.cd").await, Some(17));
    assert_eq!(partner("p2@b.cd").await, Some(5));
    assert_eq!(partner("p3@b.cd").await, None);
    let subscription = &app.contact("p2@b.cd").await.unwrap().contact.subscriptions[0];
    assert_eq!(subscription.utm.medium, "affiliate");
    assert_eq!(subscription.utm.source, "BORIS");
    // Outside the window the contacts do not count.
    let answer = app
        .post_signed("GetPartnerStats", "partner=anna&date_to=2023-11-13")
        .await;
    assert!(
        answer.body.contains(r#""leads_total":"0""#),
        "{}",
        answer.body
    );
}

/// §9.5.5: full payment subscribes the buyer to the client groups of the order's products.
#[tokio::test]
async fn buyers_join_client_groups_when_fully_paid() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed(
        "AddGood",
        "good_name=course&good_title=Course&good_type=0&good_sum=100&good_client_rassilki=grp1,3",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let created = app
        .post_signed(
            "CreateOrder",
            "bill_email=Buyer%40B.cd&bill_first_name=Bo&bill_surname=Byer&goods[0][good_name]=course",
        )
        .await;
    let value: serde_json::Value = serde_json::from_str(&created.body).unwrap();
    let bill_id = value["result"]["bill_id"].as_str().unwrap().to_owned();
    assert!(
        app.contact("buyer@b.cd").await.is_none(),
        "not before payment"
    );
    app.post_signed(
        "UpdateOrderStatus",
        &format!("bill_id={bill_id}&status=paid&date={EXAMPLES_TIME}"),
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let buyer = app.contact("buyer@b.cd").await.unwrap().contact;
    assert_eq!(buyer.name, "Bo Byer");
    let joined: Vec<(GroupId, SubscriptionStatus)> = buyer
        .subscriptions
        .iter()
        .map(|s| (s.group, s.status))
        .collect();
    assert_eq!(
        joined,
        [
            (GroupId(1), SubscriptionStatus::Subscribe),
            (GroupId(3), SubscriptionStatus::Subscribe)
        ]
    );
    // An API 2.0 order created paid joins them too; an existing contact keeps its name.
    app.post(
        "createorder",
        "rpsKey=secret&customer_email=buyer%40b.cd&customer_first_name=X&product_names=course&order_status=Paid",
    )
    .await;
    assert_eq!(
        app.contact("buyer@b.cd").await.unwrap().contact.name,
        "Bo Byer"
    );
}

/// §12.1 step 1: the per-IP limit counts calls that created a subscription, per client IP as
/// the trusted proxy reports it.
#[tokio::test]
async fn the_subscription_limit_is_per_client_ip() {
    let Some(app) = spawn_app().await else { return };
    let mut demo = app.demo.clone();
    demo.settings.subscribe_limit_per_ip = 2;
    app.store.inner.save_tenant(&demo).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let add = |ip: &'static str, email: &'static str| {
        let app = &app;
        async move {
            app.post_from(
                ip,
                "AddLeadToGroup",
                signed(&format!("lead_email={email}&rid=grp1"), "demo", "secret"),
            )
            .await
        }
    };
    let ok = envelope(0, "OK", "secret");
    add("198.51.100.9", "l1%40b.cd").await.assert_body(&ok);
    add("198.51.100.9", "l1%40b.cd")
        .await
        .assert_body(&envelope(
            0,
            "The subscriber is already registered",
            "secret",
        ));
    add("198.51.100.9", "l2%40b.cd").await.assert_body(&ok);
    let limited = envelope(
        8,
        "Limit to subscribe for this IP exided. Try later.198.51.100.9",
        "secret",
    );
    add("198.51.100.9", "l3%40b.cd").await.assert_body(&limited);
    // The limit comes before the e-mail check.
    add("198.51.100.9", "bad").await.assert_body(&limited);
    add("198.51.100.10", "l3%40b.cd").await.assert_body(&ok);
    // A day later the calls have expired.
    app.clock.set(EXAMPLES_TIME + 86_401);
    add("198.51.100.9", "l4%40b.cd").await.assert_body(&ok);
}

/// Every contact method through the SDK, with the outcomes it tells apart.
#[tokio::test]
async fn contacts_through_the_sdk() {
    use clickbill_client::{
        Client, ClientError, LeadV2, NewLead, SubscribeOutcome, SubscriberUpdate,
    };
    let Some(app) = spawn_app().await else { return };
    app.clock.set(EXAMPLES_TIME);
    let sdk = Client::new(
        &format!("http://demo.localhost:{}", app.addr.port()),
        "demo",
        "secret",
    )
    .unwrap();
    let lead = NewLead::new("s@b.cd", ["grp1", "grp 2"])
        .lead_name("S")
        .tag("t");
    assert_eq!(
        sdk.add_lead_to_group(&lead).await.unwrap(),
        SubscribeOutcome::Subscribed
    );
    assert_eq!(
        sdk.add_lead_to_group(&lead).await.unwrap(),
        SubscribeOutcome::AlreadyRegistered
    );
    assert_eq!(
        sdk.add_lead_to_group(&NewLead::new("s@b.cd", ["allleads"]))
            .await
            .unwrap(),
        SubscribeOutcome::InvalidGroup
    );
    assert_eq!(
        sdk.add_lead_to_group(&NewLead::new("w@b.cd", ["grp1"]).activation(true))
            .await
            .unwrap(),
        SubscribeOutcome::ActivationNeeded
    );
    match sdk.add_lead_to_group(&NewLead::new("bad", ["grp1"])).await {
        Err(ClientError::Api { code: 100, .. }) => {}
        other => panic!("{other:?}"),
    }
    sdk.update_subscriber_data(
        &SubscriberUpdate::new("s@b.cd")
            .lead_city("Omsk")
            .lead_tags(["a", "b"]),
    )
    .await
    .unwrap();
    let groups = sdk.get_lead_groups("s@b.cd").await.unwrap();
    assert_eq!(groups.len(), 2);
    sdk.delete_subscribe("s@b.cd", ["grp 2"]).await.unwrap();
    let statuses = sdk.get_lead_group_statuses("s@b.cd").await.unwrap();
    assert_eq!(statuses[1].rass_status, "STATUS_UNSUBSCRIBE");
    assert_eq!(sdk.get_all_groups().await.unwrap().len(), 3);
    assert_eq!(sdk.get_count_subscribe("grp1").await.unwrap(), 1);
    assert_eq!(sdk.get_count_subscribe("all").await.unwrap(), 2);
    sdk.add_update_lead(
        &LeadV2::new()
            .lead_email("s@b.cd")
            .add_to_lists(["grp 2"])
            .add_tags(["c"]),
    )
    .await
    .unwrap();
    sdk.add_tag_to_lead("s@b.cd", ["d"]).await.unwrap();
    sdk.remove_tag_from_lead("s@b.cd", ["a"]).await.unwrap();
    sdk.remove_lead_from_list("s@b.cd", ["grp1"]).await.unwrap();
    let contact = app.contact("s@b.cd").await.unwrap().contact;
    assert_eq!(contact.tags, ["b", "c", "d"]);
    assert_eq!(sdk.get_all_lists().await.unwrap().len(), 3);
    assert_eq!(app.unsubscribe_events().await.len(), 2);
}

/// §14.1: client groups that name no group are created, titled after the product.
#[tokio::test]
async fn products_create_their_missing_client_groups() {
    let Some(app) = spawn_app().await else { return };
    app.post_signed(
        "AddGood",
        "good_name=course&good_title=Course&good_type=0&good_sum=100&good_client_rassilki=grp1,course-buyers",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    app.post_signed(
        "UpdateGood",
        "good_name=course&good_client_rassilki=COURSE-BUYERS,late",
    )
    .await
    .assert_body(&envelope(0, "OK", "secret"));
    let groups = app.store.inner.groups(app.demo.id).await.unwrap();
    let created: Vec<(i64, &str, &str, GroupKind)> = groups
        .iter()
        .skip(4)
        .map(|g| (g.id.0, g.name.as_str(), g.title.as_str(), g.kind))
        .collect();
    assert_eq!(
        created,
        [
            (
                5,
                "course-buyers",
                "Клиенты продукта: \"Course\"",
                GroupKind::Client
            ),
            (6, "late", "Клиенты продукта: \"Course\"", GroupKind::Client),
        ]
    );
}
