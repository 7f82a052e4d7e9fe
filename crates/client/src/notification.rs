//! Checking the notifications the server POSTs to a merchant's script (§16).
//!
//! A notification is a form body signed with md5 over the plain concatenation of a few of its
//! fields and the tenant secret (§16.3). Which fields depends on the event:
//!
//! | Event | Signed |
//! |---|---|
//! | `new_order`, `cancel_order` | `id . email . created . secret` |
//! | `paid` | `id . email . paid . secret` |
//! | `prepaid`, `moneyback` | `id . email . secret` (their payloads carry no `paid`) |
//!
//! ```
//! use clickbill_client::{Notification, NotificationKind};
//!
//! let body = b"status=cancel_order&id=12345&email=client%40example.com&created=1700000000\
//!              &hash=7cbc8521d59b06fce8b417311e9df052";
//! let notification = Notification::parse(body);
//! assert_eq!(notification.verify_detected("secret"), Ok(NotificationKind::CancelOrder));
//! assert!(notification.verify("wrong", NotificationKind::CancelOrder).is_err());
//! assert_eq!(notification.text("id").as_deref(), Some("12345"));
//! ```

use clickbill_protocol::sign::{hash_matches, notification_hash};
use php_form::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use thiserror::Error;

/// The order events that carry a `hash` (§16.4–§16.8). Unsubscribe notifications are unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationKind {
    /// `new_order`: an order was created.
    NewOrder,
    /// `cancel_order`: an order was cancelled.
    CancelOrder,
    /// `paid`: an order was fully paid.
    Paid,
    /// `prepaid`: a partial payment was received.
    Prepaid,
    /// `moneyback`: an order was refunded.
    Moneyback,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::NewOrder,
        NotificationKind::CancelOrder,
        NotificationKind::Paid,
        NotificationKind::Prepaid,
        NotificationKind::Moneyback,
    ];

    /// The event's name as the specification spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::NewOrder => "new_order",
            NotificationKind::CancelOrder => "cancel_order",
            NotificationKind::Paid => "paid",
            NotificationKind::Prepaid => "prepaid",
            NotificationKind::Moneyback => "moneyback",
        }
    }

    /// The field whose value joins `id` and `email` in the hash, if any.
    fn time_field(self) -> Option<&'static str> {
        match self {
            NotificationKind::NewOrder | NotificationKind::CancelOrder => Some("created"),
            NotificationKind::Paid => Some("paid"),
            // These payloads have no `paid` field, so the classic receiver check concatenates
            // an empty value in its place (§16.3).
            NotificationKind::Prepaid | NotificationKind::Moneyback => None,
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NotificationError {
    /// The payload matches none of the signed events: no `status` of `new_order`,
    /// `cancel_order` or `moneyback`, and neither `last_payment_sum` (paid) nor
    /// `prepayment_sum` (prepaid).
    #[error("not a recognisable order notification")]
    UnknownKind,
    /// There is no `hash` field (or it is not a plain value).
    #[error("the notification has no hash")]
    MissingHash,
    /// A signed field is an array instead of a plain value.
    #[error("the field {0} of the notification is not a plain value")]
    MalformedField(&'static str),
    /// The `hash` does not match: the body was not sent by a server that knows the secret, or
    /// it was altered.
    #[error("the {kind} notification hash does not verify")]
    BadHash {
        /// The event the hash was checked for.
        kind: NotificationKind,
    },
}

/// A received notification: the form body parsed as PHP fills `$_POST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    form: Map,
}

impl Notification {
    /// Parses a notification body (`application/x-www-form-urlencoded`) with PHP's rules.
    pub fn parse(body: &[u8]) -> Notification {
        Notification {
            form: php_form::parse(body),
        }
    }

    /// Wraps a form that was already parsed (by a web framework, say, into a PHP-style map).
    pub fn from_form(form: Map) -> Notification {
        Notification { form }
    }

    /// The parsed form, nested `items[...]` and `utm[...]` included.
    pub fn form(&self) -> &Map {
        &self.form
    }

    /// A top-level field as raw bytes; `None` when absent or an array.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.form.get_str(name).and_then(Value::as_bytes)
    }

    /// A top-level field as text (invalid UTF-8 replaced); `None` when absent or an array.
    pub fn text(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(String::from_utf8_lossy)
    }

    /// The event this payload describes (§16.4–§16.8): by its `status` field when it has one,
    /// otherwise `paid` when `last_payment_sum` is non-empty and `prepaid` when
    /// `prepayment_sum` is.
    pub fn kind(&self) -> Option<NotificationKind> {
        match self.get("status") {
            Some(b"new_order") => return Some(NotificationKind::NewOrder),
            Some(b"cancel_order") => return Some(NotificationKind::CancelOrder),
            Some(b"moneyback") => return Some(NotificationKind::Moneyback),
            _ => {}
        }
        let present = |name| self.get(name).is_some_and(|v| !v.is_empty());
        if present("last_payment_sum") {
            Some(NotificationKind::Paid)
        } else if present("prepayment_sum") {
            Some(NotificationKind::Prepaid)
        } else {
            None
        }
    }

    /// The `hash` a genuine notification of `kind` carries for `secret` (§16.3). A missing
    /// field counts as empty, as it does for a PHP receiver.
    pub fn expected_hash(
        &self,
        kind: NotificationKind,
        secret: &str,
    ) -> Result<String, NotificationError> {
        let field = |name: &'static str| -> Result<&[u8], NotificationError> {
            match self.form.get_str(name) {
                None => Ok(b""),
                Some(Value::Bytes(bytes)) => Ok(bytes),
                Some(Value::Array(_)) => Err(NotificationError::MalformedField(name)),
            }
        };
        let mut parts = vec![field("id")?, field("email")?];
        if let Some(time) = kind.time_field() {
            parts.push(field(time)?);
        }
        Ok(notification_hash(&parts, secret))
    }

    /// Checks the `hash` for an event of `kind` (compared in constant time). Only the hash is
    /// checked: use [`Notification::kind`] or [`Notification::verify_detected`] to make sure the
    /// payload is the event expected.
    pub fn verify(&self, secret: &str, kind: NotificationKind) -> Result<(), NotificationError> {
        let sent = self.get("hash").ok_or(NotificationError::MissingHash)?;
        let expected = self.expected_hash(kind, secret)?;
        if hash_matches(&expected, sent) {
            Ok(())
        } else {
            Err(NotificationError::BadHash { kind })
        }
    }

    /// Recognises the event ([`Notification::kind`]) and checks its `hash`.
    pub fn verify_detected(&self, secret: &str) -> Result<NotificationKind, NotificationError> {
        let kind = self.kind().ok_or(NotificationError::UnknownKind)?;
        self.verify(secret, kind).map(|()| kind)
    }
}

/// Parses a notification body and checks its `hash` for an event of `kind`.
///
/// ```
/// use clickbill_client::{verify_notification, NotificationError, NotificationKind};
///
/// let body = b"id=12344&email=client%40example.com&paid=1572681600&last_payment_sum=500.00\
///              &hash=bfb750d42cfa78c5c39d607892424fdf";
/// assert!(verify_notification(body, "secret", NotificationKind::Paid).is_ok());
/// assert_eq!(
///     verify_notification(body, "secret", NotificationKind::Prepaid).unwrap_err(),
///     NotificationError::BadHash { kind: NotificationKind::Prepaid }
/// );
/// ```
pub fn verify_notification(
    body: &[u8],
    secret: &str,
    kind: NotificationKind,
) -> Result<Notification, NotificationError> {
    let notification = Notification::parse(body);
    notification.verify(secret, kind)?;
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §16.4.
    const NEW_ORDER: &str = "status=new_order&id=12345&first_name=%D0%98%D0%B2%D0%B0%D0%BD&last_name=Petrov&middle_name=&email=client%40example.com&phone=%2B77777777777&city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&country=&address=Lenina+1%2C+kv.+2&region=&postalcode=&created=1700000000&comment=Comment+%7E%21%2A%28%29%27&tag=Tag&kupon=&domain=&link=%2Fbill%2F%3Fid%3D12345%26crc%3Df88c7ebe4740db59&utm%5Bmedium%5D=medium&utm%5Bsource%5D=source&utm%5Bcampaign%5D=campaign&utm%5Bcontent%5D=&utm%5Bterm%5D=term&items%5B0%5D%5Bid%5D=code1&items%5B0%5D%5Btitle%5D=%D0%9E%D0%BD%D0%BB%D0%B0%D0%B9%D0%BD-%D0%BA%D1%83%D1%80%D1%81&items%5B0%5D%5Bsum%5D=1000.00&items%5B0%5D%5Bprice%5D=1000.00&items%5B1%5D%5Bid%5D=code2&items%5B1%5D%5Btitle%5D=Video+pack&items%5B1%5D%5Bsum%5D=1999.50&items%5B1%5D%5Bprice%5D=2500.00&hash=7cbc8521d59b06fce8b417311e9df052";

    /// §16.5.
    const CANCEL_ORDER: &str = "status=cancel_order&id=12345&first_name=%D0%98%D0%B2%D0%B0%D0%BD&last_name=Petrov&middle_name=&email=client%40example.com&phone=%2B77777777777&city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&country=&region=&postalcode=&created=1700000000&comment=Comment+%7E%21%2A%28%29%27&utm%5Bmedium%5D=medium&utm%5Bsource%5D=source&utm%5Bcampaign%5D=campaign&utm%5Bcontent%5D=&utm%5Bterm%5D=term&items%5B0%5D%5Bid%5D=code1&items%5B0%5D%5Btitle%5D=%D0%9E%D0%BD%D0%BB%D0%B0%D0%B9%D0%BD-%D0%BA%D1%83%D1%80%D1%81&items%5B0%5D%5Bsum%5D=1000.00&items%5B0%5D%5Bprice%5D=1000.00&items%5B1%5D%5Bid%5D=code2&items%5B1%5D%5Btitle%5D=Video+pack&items%5B1%5D%5Bsum%5D=1999.50&items%5B1%5D%5Bprice%5D=2500.00&hash=7cbc8521d59b06fce8b417311e9df052";

    /// §16.6.
    const PAID: &str = "id=12344&first_name=Maria&last_name=Ivanova&middle_name=&email=client%40example.com&phone=&city=&country=&address=&region=&postalcode=&created=1572678000&paid=1572681600&last_payment_sum=500.00&comment=&tag=&kupon=coupon50proc&type=0&payway=RussianPostService&domain=shop.example&is_recurrent=0&utm%5Bmedium%5D=&utm%5Bsource%5D=&utm%5Bcampaign%5D=&utm%5Bcontent%5D=&utm%5Bterm%5D=&items%5B0%5D%5Bid%5D=code1&items%5B0%5D%5Btitle%5D=%D0%9E%D0%BD%D0%BB%D0%B0%D0%B9%D0%BD-%D0%BA%D1%83%D1%80%D1%81&items%5B0%5D%5Bsum%5D=500.00&items%5B0%5D%5Bprice%5D=1000.00&items%5B0%5D%5Bpincode%5D=&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_lvl%5D=1&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_id%5D=17&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_name%5D=anna&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_fee%5D=50.00&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_lvl%5D=2&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_id%5D=5&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_name%5D=boris&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_fee%5D=25.00&hash=bfb750d42cfa78c5c39d607892424fdf";

    /// §16.7.
    const PREPAID: &str = "id=12346&first_name=John&last_name=Smith&middle_name=&email=buyer%40example.com&phone=&city=&country=&region=&postalcode=&created=1700118000&prepayment_sum=1000.00&tag=&kupon=minus100&domain=&link=%2Fbill%2F%3Fid%3D12346%26crc%3D8d6cd58084c85b49&is_recurrent=0&utm%5Bmedium%5D=&utm%5Bsource%5D=newsletter&utm%5Bcampaign%5D=&utm%5Bcontent%5D=&utm%5Bterm%5D=&items%5B0%5D%5Bid%5D=code1&items%5B0%5D%5Btitle%5D=%D0%9E%D0%BD%D0%BB%D0%B0%D0%B9%D0%BD-%D0%BA%D1%83%D1%80%D1%81&items%5B0%5D%5Bsum%5D=900.00&items%5B0%5D%5Bprice%5D=1000.00&items%5B0%5D%5Bpincode%5D=&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_lvl%5D=1&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_id%5D=17&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_name%5D=anna&items%5B0%5D%5Bpartners%5D%5B0%5D%5Bpartner_fee%5D=90.00&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_lvl%5D=2&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_id%5D=5&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_name%5D=boris&items%5B0%5D%5Bpartners%5D%5B1%5D%5Bpartner_fee%5D=45.00&items%5B1%5D%5Bid%5D=code2&items%5B1%5D%5Btitle%5D=Video+pack&items%5B1%5D%5Bsum%5D=2400.00&items%5B1%5D%5Bprice%5D=2500.00&items%5B1%5D%5Bpincode%5D=&items%5B1%5D%5Bpartners%5D%5B0%5D%5Bpartner_lvl%5D=1&items%5B1%5D%5Bpartners%5D%5B0%5D%5Bpartner_id%5D=17&items%5B1%5D%5Bpartners%5D%5B0%5D%5Bpartner_name%5D=anna&items%5B1%5D%5Bpartners%5D%5B0%5D%5Bpartner_fee%5D=300.00&items%5B1%5D%5Bpartners%5D%5B1%5D%5Bpartner_lvl%5D=2&items%5B1%5D%5Bpartners%5D%5B1%5D%5Bpartner_id%5D=5&items%5B1%5D%5Bpartners%5D%5B1%5D%5Bpartner_name%5D=boris&items%5B1%5D%5Bpartners%5D%5B1%5D%5Bpartner_fee%5D=0.00&hash=1595af1b58de6766388affb763970d73";

    /// §16.8.
    const MONEYBACK: &str = "status=moneyback&id=12344&first_name=Maria&last_name=Ivanova&middle_name=&email=client%40example.com&phone=&city=&country=&region=&postalcode=&created=1572678000&comment=&is_recurrent=0&utm%5Bmedium%5D=&utm%5Bsource%5D=&utm%5Bcampaign%5D=&utm%5Bcontent%5D=&utm%5Bterm%5D=&items%5B0%5D%5Bid%5D=code1&items%5B0%5D%5Btitle%5D=%D0%9E%D0%BD%D0%BB%D0%B0%D0%B9%D0%BD-%D0%BA%D1%83%D1%80%D1%81&items%5B0%5D%5Bsum%5D=500.00&items%5B0%5D%5Bprice%5D=1000.00&hash=c4e68954c6ab9361fb86b90989ce6521";

    const EXAMPLES: [(&str, NotificationKind); 5] = [
        (NEW_ORDER, NotificationKind::NewOrder),
        (CANCEL_ORDER, NotificationKind::CancelOrder),
        (PAID, NotificationKind::Paid),
        (PREPAID, NotificationKind::Prepaid),
        (MONEYBACK, NotificationKind::Moneyback),
    ];

    #[test]
    fn the_examples_of_16_verify_for_their_kind_only() {
        for (body, kind) in EXAMPLES {
            let notification = Notification::parse(body.as_bytes());
            assert_eq!(notification.kind(), Some(kind));
            assert_eq!(notification.verify_detected("secret"), Ok(kind));
            assert!(verify_notification(body.as_bytes(), "secret", kind).is_ok());
            assert_eq!(
                notification.verify("other", kind),
                Err(NotificationError::BadHash { kind })
            );
            // The hash families: created for new/cancel, paid for paid, nothing for prepaid and
            // moneyback, whose payloads have no `paid`, so the paid check also accepts them.
            use NotificationKind::*;
            let accepted_as: &[NotificationKind] = match kind {
                NewOrder | CancelOrder => &[NewOrder, CancelOrder],
                Paid => &[Paid],
                Prepaid | Moneyback => &[Paid, Prepaid, Moneyback],
            };
            for other in NotificationKind::ALL {
                assert_eq!(
                    notification.verify("secret", other).is_ok(),
                    accepted_as.contains(&other),
                    "{kind} checked as {other}"
                );
            }
        }
    }

    #[test]
    fn hashes_are_the_documented_concatenations() {
        let new_order = Notification::parse(NEW_ORDER.as_bytes());
        assert_eq!(
            new_order.expected_hash(NotificationKind::NewOrder, "secret"),
            Ok(clickbill_protocol::sign::md5_hex(
                b"12345client@example.com1700000000secret"
            ))
        );
        let prepaid = Notification::parse(PREPAID.as_bytes());
        assert_eq!(
            prepaid.expected_hash(NotificationKind::Prepaid, "secret"),
            Ok(clickbill_protocol::sign::md5_hex(
                b"12346buyer@example.comsecret"
            ))
        );
        assert_eq!(prepaid.text("email").as_deref(), Some("buyer@example.com"));
        let utm = prepaid.form().get_str("utm").and_then(Value::as_array);
        assert_eq!(
            utm.and_then(|u| u.get_str("source"))
                .and_then(Value::as_bytes),
            Some(&b"newsletter"[..])
        );
    }

    #[test]
    fn tampering_is_detected() {
        let tampered = PAID.replace("last_payment_sum=500.00", "last_payment_sum=5000.00");
        // The amount is not covered by the hash (§16.3); the id is.
        assert!(Notification::parse(tampered.as_bytes())
            .verify_detected("secret")
            .is_ok());
        let tampered = PAID.replace("id=12344", "id=12343");
        assert_eq!(
            Notification::parse(tampered.as_bytes()).verify_detected("secret"),
            Err(NotificationError::BadHash {
                kind: NotificationKind::Paid
            })
        );
        let upper = NEW_ORDER.replace("7cbc8521d59b", "7CBC8521D59B");
        assert!(Notification::parse(upper.as_bytes())
            .verify_detected("secret")
            .is_err());
    }

    #[test]
    fn odd_payloads() {
        let unsigned = Notification::parse(b"status=new_order&id=1&email=a%40b.ru&created=2");
        assert_eq!(
            unsigned.verify_detected("secret"),
            Err(NotificationError::MissingHash)
        );
        let unsubscribe = Notification::parse(
            b"name=x&email=user8%40example.com&phone=&city=&id_group=1&ip=&status=0",
        );
        assert_eq!(unsubscribe.kind(), None);
        assert_eq!(
            unsubscribe.verify_detected("secret"),
            Err(NotificationError::UnknownKind)
        );
        let array_id = Notification::parse(b"status=new_order&id[]=1&hash=x");
        assert_eq!(
            array_id.verify("secret", NotificationKind::NewOrder),
            Err(NotificationError::MalformedField("id"))
        );
        let array_hash = Notification::parse(b"status=new_order&id=1&hash[]=x");
        assert_eq!(
            array_hash.verify("secret", NotificationKind::NewOrder),
            Err(NotificationError::MissingHash)
        );
    }
}
