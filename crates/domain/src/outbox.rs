//! The outbox of outgoing notifications (SPEC §16): what a store writes beside the change that
//! causes an event, and what the delivery worker reads back, tries and records.
//!
//! Fan-out happens in the transaction of the change: each distinct destination of the event
//! becomes one delivery with its own event id and the body rendered from the order as it is at
//! that moment. A delivery therefore exists exactly when its change was committed, and never
//! twice. The worker claims due deliveries for a lease, sends with no transaction open and then
//! records the attempt, which also names when (if ever) the next attempt is due.

use crate::model::{BillId, NotificationUrls, Order, TenantId};
use crate::order::OrderEventKind;
use clickbill_protocol::methods::{
    bool_text, payment_link, ItemObject, OrderObject, PartnerObject, UtmObject,
};
use clickbill_protocol::notification::{
    order_notification_body, OrderNotification, UnsubscribeNotification,
};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The kind of a tenant-level unsubscribe notification (§16.9).
pub const UNSUBSCRIBE: &str = "unsubscribe";

/// One delivery as the store first writes it: `kind` is the event's name (`new_order`, …,
/// `unsubscribe`), `body` the exact bytes to POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub event_id: EventId,
    pub bill_id: Option<BillId>,
    pub kind: String,
    pub url: String,
    pub body: Vec<u8>,
}

/// `X-Clickbill-Event-Id`: a lower-case UUID, one per event and destination.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    pub fn random() -> EventId {
        EventId(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    /// An id as printed by [`EventId::as_str`]; `None` for anything else.
    pub fn parse(text: &str) -> Option<EventId> {
        let parsed = uuid::Uuid::try_parse(text).ok()?;
        let canonical = parsed.hyphenated().to_string();
        (canonical == text).then_some(EventId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn notification_of(kind: OrderEventKind) -> OrderNotification {
    match kind {
        OrderEventKind::NewOrder => OrderNotification::NewOrder,
        OrderEventKind::Paid => OrderNotification::Paid,
        OrderEventKind::Prepaid => OrderNotification::Prepaid,
        OrderEventKind::Cancel => OrderNotification::CancelOrder,
        OrderEventKind::Moneyback => OrderNotification::Moneyback,
    }
}

fn url_for(kind: OrderEventKind, urls: &NotificationUrls) -> &str {
    match kind {
        OrderEventKind::NewOrder => &urls.new_order,
        OrderEventKind::Paid => &urls.paid,
        OrderEventKind::Prepaid => &urls.prepaid,
        OrderEventKind::Cancel => &urls.cancel,
        OrderEventKind::Moneyback => &urls.moneyback,
    }
}

/// Where an order event goes (§16.2): the matching URL of each product of the order, in item
/// order, each distinct URL (exact comparison) once, blank ones left out. `products` holds the
/// URLs of the order's products that still exist, in any order.
pub fn destinations(kind: OrderEventKind, urls: &[NotificationUrls]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for product in urls {
        let url = url_for(kind, product);
        if !url.trim().is_empty() && !found.iter().any(|seen| seen == url) {
            found.push(url.to_owned());
        }
    }
    found
}

/// The deliveries of one order event: `order` is the order as the event left it, `urls` the
/// notification URLs of its products in item order, `secret` the tenant's.
pub fn order_entries(
    kind: OrderEventKind,
    order: &Order,
    urls: &[NotificationUrls],
    secret: &str,
) -> Vec<OutboxEntry> {
    let targets = destinations(kind, urls);
    if targets.is_empty() {
        return Vec::new();
    }
    let event = notification_of(kind);
    let body = order_notification_body(event, &snapshot(event, order, secret), secret);
    targets
        .into_iter()
        .map(|url| OutboxEntry {
            event_id: EventId::random(),
            bill_id: Some(order.bill_id),
            kind: kind.as_str().to_owned(),
            url,
            body: body.clone(),
        })
        .collect()
}

/// The unsubscribe delivery of §16.9 to the tenant's `unsubscribe_url`; `None` when that is
/// blank.
pub fn unsubscribe_entry(
    unsubscribe_url: &str,
    fields: &UnsubscribeNotification,
) -> Option<OutboxEntry> {
    (!unsubscribe_url.trim().is_empty()).then(|| OutboxEntry {
        event_id: EventId::random(),
        bill_id: None,
        kind: UNSUBSCRIBE.to_owned(),
        url: unsubscribe_url.to_owned(),
        body: fields.body(),
    })
}

/// The order in its §10 form as notifications show it: items with `pincode`, no `good_info`
/// fields. `prepayment_sum` of a `prepaid` event is the amount of that payment (§16.7).
fn snapshot(event: OrderNotification, order: &Order, secret: &str) -> OrderObject {
    let bill_id = order.bill_id.get();
    let customer = &order.customer;
    let prepayment_sum = match event {
        OrderNotification::Prepaid => order.last_payment_sum(),
        _ => order.prepayment_sum(),
    };
    OrderObject {
        id: bill_id.to_string(),
        first_name: customer.first_name.clone(),
        last_name: customer.last_name.clone(),
        middle_name: customer.middle_name.clone(),
        email: customer.email.clone(),
        phone: customer.phone.clone(),
        city: customer.city.clone(),
        country: customer.country.clone(),
        address: customer.address.clone(),
        region: customer.region.clone(),
        postalcode: customer.postalcode.clone(),
        created: order.created.to_string(),
        pay_status: order.pay_status.as_str().to_owned(),
        paid: order.paid_at.to_string(),
        kind: bool_text(order.is_physical()),
        payway: order.payway.clone(),
        comment: order.comment.clone(),
        domain: order.domain.clone(),
        link: payment_link(&order.domain, bill_id, secret),
        price: order.price().to_string(),
        bill_sum_topay: order.to_pay().to_string(),
        is_recurrent: "0".to_owned(),
        last_payment_sum: order.last_payment_sum().to_string(),
        prepayment_sum: prepayment_sum.to_string(),
        tag: order.tag.clone(),
        kupon: order.kupon.clone(),
        utm: Some(UtmObject {
            medium: order.utm.medium.clone(),
            source: order.utm.source.clone(),
            campaign: order.utm.campaign.clone(),
            content: order.utm.content.clone(),
            term: order.utm.term.clone(),
        }),
        items: order
            .items
            .iter()
            .map(|item| ItemObject {
                id: item.code.clone(),
                title: item.title.clone(),
                sum: item.sum.to_string(),
                price: item.price.to_string(),
                pincode: Some(item.pincode.clone()),
                partners: item
                    .partners
                    .iter()
                    .map(|entry| PartnerObject {
                        partner_lvl: entry.level.to_string(),
                        partner_id: entry.partner_id.0.to_string(),
                        partner_name: entry.partner_name.clone(),
                        partner_fee: entry.fee.to_string(),
                    })
                    .collect(),
            })
            .collect(),
        ..OrderObject::default()
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt of the schedule failed.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery handed to the worker by [`crate::Store::claim_deliveries`]: no other claim gets
/// it until the lease ends or this attempt is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub tenant: TenantId,
    /// The store's number of the delivery, unique across tenants.
    pub id: i64,
    pub event_id: EventId,
    pub url: String,
    pub body: Vec<u8>,
    /// The number of the attempt about to be made, from 1 (`X-Clickbill-Delivery-Attempt`).
    pub attempt: u32,
    /// How many attempts failed since the delivery was (re)queued, this one not counted; the
    /// retry schedule counts from here.
    pub failed_in_round: u32,
}

/// What one attempt gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: u32,
    /// Unix milliseconds when the request started.
    pub at_ms: i64,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed without an answer, or what was wrong with the answer; empty on
    /// success.
    pub error: String,
    pub latency_ms: i64,
    /// The first bytes of the answer's body.
    pub response: Vec<u8>,
}

/// How many bytes of an answer the delivery log keeps.
pub const RESPONSE_KEPT: usize = 512;

/// What follows an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Failed; try again at this unix millisecond.
    RetryAt(i64),
    /// Failed, and the schedule is used up.
    Failed,
}

/// A delivery as the delivery log shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub tenant: TenantId,
    pub id: i64,
    pub event_id: EventId,
    pub bill_id: Option<BillId>,
    pub kind: String,
    pub url: String,
    pub body: Vec<u8>,
    /// Unix milliseconds of the change that caused the event.
    pub created_ms: i64,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// Attempts made before the delivery was last queued again by hand.
    pub round_start: u32,
    /// Unix milliseconds of the next attempt while pending (or the end of a running attempt's
    /// lease).
    pub due_ms: i64,
}

/// Which deliveries [`crate::Store::deliveries`] lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub bill_id: Option<BillId>,
}

/// When attempt *n*+1 follows a failed attempt *n* (§16.2): `first_delay` × `factor`^(*n*−1),
/// for at most `attempts` attempts in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first_delay: Duration,
    pub factor: u32,
    pub attempts: u32,
}

impl Default for RetrySchedule {
    /// 10 s, doubling, 8 attempts: 10, 20, 40, 80, 160, 320 and 640 s between them.
    fn default() -> Self {
        RetrySchedule {
            first_delay: Duration::from_secs(10),
            factor: 2,
            attempts: 8,
        }
    }
}

impl RetrySchedule {
    /// The wait after the `failed`-th failed attempt of a round, or `None` when that was the
    /// last one allowed.
    pub fn delay_after(&self, failed: u32) -> Option<Duration> {
        if failed == 0 || failed >= self.attempts {
            return None;
        }
        let power = self.factor.checked_pow(failed - 1).unwrap_or(u32::MAX);
        Some(self.first_delay.saturating_mul(power))
    }

    /// What follows a failure at `now_ms` of the attempt `claimed` describes.
    pub fn after_failure(&self, claimed: &ClaimedDelivery, now_ms: i64) -> AttemptOutcome {
        match self.delay_after(claimed.failed_in_round + 1) {
            Some(delay) => {
                let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                AttemptOutcome::RetryAt(now_ms.saturating_add(delay))
            }
            None => AttemptOutcome::Failed,
        }
    }
}

/// Unix milliseconds of the system clock. Deliveries are scheduled in real time even when the
/// orders run on a test clock: receivers live in real time.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Called by a store after it committed new deliveries, so that the worker of this process
/// starts on them at once instead of at its next poll.
pub type OutboxWaker = Arc<dyn Fn() + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(new_order: &str, cancel: &str) -> NotificationUrls {
        NotificationUrls {
            new_order: new_order.into(),
            cancel: cancel.into(),
            ..NotificationUrls::default()
        }
    }

    #[test]
    fn each_distinct_non_blank_url_once_in_item_order() {
        let products = [
            urls("https://a.example/x", ""),
            urls("https://b.example/", " "),
            urls("https://a.example/x", "https://c.example/"),
            urls("https://a.example/X", ""),
        ];
        assert_eq!(
            destinations(OrderEventKind::NewOrder, &products),
            [
                "https://a.example/x",
                "https://b.example/",
                "https://a.example/X"
            ]
        );
        assert_eq!(
            destinations(OrderEventKind::Cancel, &products),
            ["https://c.example/"]
        );
        assert!(destinations(OrderEventKind::Paid, &products).is_empty());
    }

    #[test]
    fn the_default_schedule_is_eight_attempts_doubling_from_ten_seconds() {
        let schedule = RetrySchedule::default();
        let delays: Vec<u64> = (1..=8)
            .map_while(|n| schedule.delay_after(n))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(delays, [10, 20, 40, 80, 160, 320, 640]);
        assert_eq!(schedule.delay_after(8), None);
    }

    #[test]
    fn event_ids_are_lower_case_uuids() {
        let id = EventId::random();
        assert_eq!(id.as_str().len(), 36);
        assert_eq!(id.as_str(), id.as_str().to_lowercase());
        assert_eq!(EventId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(EventId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(EventId::parse("12"), None);
        assert_ne!(EventId::random(), id);
    }
}
