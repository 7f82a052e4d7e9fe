//! Order arithmetic and status transitions (SPEC §9.5, §13.7).

use crate::model::{DeliveryStatus, Order, PayStatus, Payment, TenantSettings};
use clickbill_protocol::value::Money;

/// What happened to an order, for the event log and the notifications built from it (SPEC §16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderEventKind {
    NewOrder,
    Paid,
    Prepaid,
    Cancel,
    Moneyback,
}

impl OrderEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderEventKind::NewOrder => "new_order",
            OrderEventKind::Paid => "paid",
            OrderEventKind::Prepaid => "prepaid",
            OrderEventKind::Cancel => "cancel_order",
            OrderEventKind::Moneyback => "moneyback",
        }
    }

    pub fn parse(text: &str) -> Option<OrderEventKind> {
        [
            OrderEventKind::NewOrder,
            OrderEventKind::Paid,
            OrderEventKind::Prepaid,
            OrderEventKind::Cancel,
            OrderEventKind::Moneyback,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A change requested through `UpdateOrderStatus`, already checked for well-formedness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusChange {
    Sent {
        date: i64,
        rpo: String,
    },
    Returned,
    Paid {
        date: i64,
        amount: Option<Money>,
        payway: Option<String>,
    },
    Cancel,
    Moneyback {
        ext_ref_no: String,
    },
}

/// Why a change was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatusRefusal {
    /// `202` / `Order not paid`.
    #[error("the payment cannot be recorded")]
    NotPaid,
    /// `204` / `Order status is not changed`.
    #[error("the order's state does not allow the change")]
    NotChanged,
}

/// The payway recorded when a payment names none.
pub const DEFAULT_PAYWAY: &str = "RussianPostService";

impl Order {
    /// `price`: what the items cost together.
    pub fn price(&self) -> Money {
        self.items.iter().map(|i| i.sum).sum()
    }

    /// What all recorded payments add up to.
    pub fn total_paid(&self) -> Money {
        self.payments.iter().map(|p| p.amount).sum()
    }

    /// `bill_sum_topay`: price minus payments, never below zero.
    pub fn to_pay(&self) -> Money {
        (self.price() - self.total_paid()).max(Money::ZERO)
    }

    /// `last_payment_sum`: the most recent payment, zero if none.
    pub fn last_payment_sum(&self) -> Money {
        self.payments.last().map_or(Money::ZERO, |p| p.amount)
    }

    /// `prepayment_sum`: the payments that did not complete the order.
    pub fn prepayment_sum(&self) -> Money {
        let completed = self.paid_at != 0 && !self.payments.is_empty();
        let partial = if completed {
            &self.payments[..self.payments.len() - 1]
        } else {
            &self.payments[..]
        };
        partial.iter().map(|p| p.amount).sum()
    }

    /// `type`: physical when any item's product was physical when the order was created.
    pub fn is_physical(&self) -> bool {
        self.items.iter().any(|i| i.physical)
    }

    /// The order's prepayment minimum: the tenant's, or a product's when that is larger.
    pub fn prepayment_minsum(&self, settings: &TenantSettings) -> Money {
        self.product_prepayment_minsum
            .map_or(settings.prepayment_minsum, |m| {
                m.max(settings.prepayment_minsum)
            })
    }

    /// Applies a status change (SPEC §9.5.3, §9.5.5, §13.7) and returns the events it causes.
    pub fn apply(
        &mut self,
        change: StatusChange,
        settings: &TenantSettings,
    ) -> Result<Vec<OrderEventKind>, StatusRefusal> {
        match change {
            StatusChange::Sent { date, rpo } => {
                self.delivery.status = DeliveryStatus::Sent;
                self.delivery.date = date;
                self.delivery.rpo = rpo;
                Ok(Vec::new())
            }
            StatusChange::Returned => {
                self.delivery.status = DeliveryStatus::Returned;
                Ok(Vec::new())
            }
            StatusChange::Paid {
                date,
                amount,
                payway,
            } => self.record_payment(date, amount, payway, settings),
            StatusChange::Cancel => match self.pay_status {
                PayStatus::Waiting => {
                    self.pay_status = PayStatus::Cancel;
                    self.auto_cancel_at = None;
                    Ok(vec![OrderEventKind::Cancel])
                }
                PayStatus::Cancel => Ok(Vec::new()),
                PayStatus::Paid | PayStatus::Moneyback => Err(StatusRefusal::NotChanged),
            },
            StatusChange::Moneyback { ext_ref_no } => {
                let refundable = self.pay_status == PayStatus::Paid
                    || (self.pay_status == PayStatus::Waiting && !self.payments.is_empty());
                if !refundable {
                    return Err(StatusRefusal::NotChanged);
                }
                self.pay_status = PayStatus::Moneyback;
                self.ext_ref_no = ext_ref_no;
                self.auto_cancel_at = None;
                Ok(vec![OrderEventKind::Moneyback])
            }
        }
    }

    fn record_payment(
        &mut self,
        date: i64,
        amount: Option<Money>,
        payway: Option<String>,
        settings: &TenantSettings,
    ) -> Result<Vec<OrderEventKind>, StatusRefusal> {
        if self.pay_status != PayStatus::Waiting {
            return Err(StatusRefusal::NotPaid);
        }
        let remaining = self.to_pay();
        let amount = amount.unwrap_or(remaining);
        if amount >= remaining {
            self.payments.push(Payment { amount, at: date });
            self.mark_paid(date, payway.unwrap_or_else(|| DEFAULT_PAYWAY.to_owned()));
            Ok(vec![OrderEventKind::Paid])
        } else if settings.prepayment_enabled && amount >= self.prepayment_minsum(settings) {
            self.payments.push(Payment { amount, at: date });
            self.auto_cancel_at = None;
            Ok(vec![OrderEventKind::Prepaid])
        } else {
            Err(StatusRefusal::NotPaid)
        }
    }

    /// Records one payment of everything still to pay, completing the order.
    pub(crate) fn record_full_payment(&mut self, at: i64, payway: String) {
        self.payments.push(Payment {
            amount: self.to_pay(),
            at,
        });
        self.mark_paid(at, payway);
    }

    fn mark_paid(&mut self, at: i64, payway: String) {
        self.pay_status = PayStatus::Paid;
        self.paid_at = at;
        self.payway = payway;
        self.auto_cancel_at = None;
    }

    /// Whether the auto-cancel timer has fired at `now` (SPEC §9.5.6).
    pub fn auto_cancel_due(&self, now: i64) -> bool {
        self.pay_status == PayStatus::Waiting
            && self.payments.is_empty()
            && self.auto_cancel_at.is_some_and(|at| at <= now)
    }

    /// Runs the auto-cancel timer at `now`: a due order is cancelled; a timer whose time has
    /// passed is removed either way, so that an order that can no longer be cancelled by its
    /// timer stops being offered to the sweep.
    pub fn fire_auto_cancel(&mut self, now: i64) -> Vec<OrderEventKind> {
        if self.auto_cancel_at.is_none_or(|at| at > now) {
            return Vec::new();
        }
        let due = self.auto_cancel_due(now);
        self.auto_cancel_at = None;
        if due {
            self.pay_status = PayStatus::Cancel;
            vec![OrderEventKind::Cancel]
        } else {
            Vec::new()
        }
    }
}

/// Seconds during which an identical order is answered with `601` (SPEC §13.1.4).
pub const DUPLICATE_WINDOW_SECONDS: i64 = 86_400;

/// Whether `existing` makes `candidate` a duplicate at server time `now`: same normalised e-mail,
/// still waiting, stored less than a day ago, and the same products at the same sums in the same
/// positions.
pub fn is_duplicate(existing: &Order, candidate: &crate::model::NewOrder, now: i64) -> bool {
    existing.pay_status == PayStatus::Waiting
        && now - existing.inserted_at < DUPLICATE_WINDOW_SECONDS
        && existing.customer.email == candidate.customer.email
        && existing.items.len() == candidate.items.len()
        && existing
            .items
            .iter()
            .zip(&candidate.items)
            .all(|(a, b)| a.product_id == b.product_id && a.sum == b.sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillId, Customer, Item, NewOrder, ProductId};

    fn money(text: &str) -> Money {
        Money::parse(text.as_bytes()).unwrap()
    }

    fn order(sums: &[&str]) -> Order {
        let items = sums
            .iter()
            .enumerate()
            .map(|(i, sum)| Item {
                product_id: ProductId(i as i64 + 1),
                code: format!("code{}", i + 1),
                title: String::new(),
                physical: false,
                price: money(sum),
                sum: money(sum),
                pincode: String::new(),
                partners: Vec::new(),
            })
            .collect();
        let new = NewOrder {
            customer: Customer {
                email: "buyer@example.com".into(),
                ..Customer::default()
            },
            created: 100,
            auto_cancel_at: Some(500),
            items,
            ..NewOrder::default()
        };
        Order::from_new(BillId::new(1).unwrap(), new, 100).0
    }

    fn prepaying() -> TenantSettings {
        TenantSettings {
            prepayment_enabled: true,
            ..TenantSettings::default()
        }
    }

    fn pay(amount: Option<&str>, date: i64) -> StatusChange {
        StatusChange::Paid {
            date,
            amount: amount.map(money),
            payway: None,
        }
    }

    #[test]
    fn a_full_payment_completes_the_order() {
        let mut o = order(&["1000", "1999.5"]);
        assert_eq!(o.price(), money("2999.50"));
        let events = o.apply(pay(None, 7), &TenantSettings::default()).unwrap();
        assert_eq!(events, vec![OrderEventKind::Paid]);
        assert_eq!(o.pay_status, PayStatus::Paid);
        assert_eq!(o.paid_at, 7);
        assert_eq!(o.payway, DEFAULT_PAYWAY);
        assert_eq!(o.to_pay(), Money::ZERO);
        assert_eq!(o.last_payment_sum(), money("2999.50"));
        assert_eq!(o.prepayment_sum(), Money::ZERO);
        assert_eq!(o.auto_cancel_at, None);
    }

    #[test]
    fn partial_payments_need_prepayment_and_the_minimum() {
        let mut o = order(&["3300"]);
        assert_eq!(
            o.apply(pay(Some("1000"), 7), &TenantSettings::default()),
            Err(StatusRefusal::NotPaid)
        );
        assert_eq!(
            o.apply(pay(Some("999.99"), 7), &prepaying()),
            Err(StatusRefusal::NotPaid)
        );
        assert_eq!(
            o.apply(pay(Some("1000"), 7), &prepaying()),
            Ok(vec![OrderEventKind::Prepaid])
        );
        assert_eq!(o.to_pay(), money("2300"));
        assert_eq!(o.prepayment_sum(), money("1000"));
        assert_eq!(
            o.apply(pay(None, 8), &prepaying()),
            Ok(vec![OrderEventKind::Paid])
        );
        assert_eq!(o.prepayment_sum(), money("1000"));
        assert_eq!(o.last_payment_sum(), money("2300"));
        assert_eq!(
            o.apply(pay(None, 9), &prepaying()),
            Err(StatusRefusal::NotPaid)
        );
    }

    #[test]
    fn cancel_and_moneyback_follow_the_transition_table() {
        let mut waiting = order(&["10"]);
        assert_eq!(
            waiting.apply(
                StatusChange::Moneyback {
                    ext_ref_no: "R".into()
                },
                &TenantSettings::default()
            ),
            Err(StatusRefusal::NotChanged)
        );
        assert_eq!(
            waiting.apply(StatusChange::Cancel, &TenantSettings::default()),
            Ok(vec![OrderEventKind::Cancel])
        );
        assert_eq!(
            waiting.apply(StatusChange::Cancel, &TenantSettings::default()),
            Ok(vec![])
        );
        let mut paid = order(&["10"]);
        paid.apply(pay(None, 1), &TenantSettings::default())
            .unwrap();
        assert_eq!(
            paid.apply(StatusChange::Cancel, &TenantSettings::default()),
            Err(StatusRefusal::NotChanged)
        );
        assert_eq!(
            paid.apply(
                StatusChange::Moneyback {
                    ext_ref_no: "R-1".into()
                },
                &TenantSettings::default()
            ),
            Ok(vec![OrderEventKind::Moneyback])
        );
        assert_eq!(paid.ext_ref_no, "R-1");
    }

    #[test]
    fn delivery_is_independent_of_payment() {
        let mut o = order(&["10"]);
        o.apply(StatusChange::Cancel, &TenantSettings::default())
            .unwrap();
        o.apply(
            StatusChange::Sent {
                date: 5,
                rpo: "RPO1".into(),
            },
            &TenantSettings::default(),
        )
        .unwrap();
        o.apply(StatusChange::Returned, &TenantSettings::default())
            .unwrap();
        assert_eq!(o.delivery.status, crate::model::DeliveryStatus::Returned);
        assert_eq!((o.delivery.date, o.delivery.rpo.as_str()), (5, "RPO1"));
    }

    #[test]
    fn duplicates_are_waiting_recent_and_identical() {
        let existing = order(&["10", "20"]);
        let mut candidate = NewOrder {
            customer: existing.customer.clone(),
            tag: "other".into(),
            items: existing.items.clone(),
            ..NewOrder::default()
        };
        assert!(is_duplicate(&existing, &candidate, 100 + 86_399));
        assert!(!is_duplicate(&existing, &candidate, 100 + 86_400));
        candidate.items.reverse();
        assert!(!is_duplicate(&existing, &candidate, 101));
        candidate.items.reverse();
        candidate.items[1].sum = money("19.99");
        assert!(!is_duplicate(&existing, &candidate, 101));
    }

    #[test]
    fn auto_cancel_fires_only_for_unpaid_waiting_orders() {
        let mut o = order(&["3300"]);
        assert!(!o.auto_cancel_due(499));
        assert!(o.auto_cancel_due(500));
        o.apply(pay(Some("1000"), 7), &prepaying()).unwrap();
        assert!(!o.auto_cancel_due(600));
    }

    #[test]
    fn firing_the_timer_cancels_once_and_clears_it() {
        let mut o = order(&["3300"]);
        assert_eq!(o.fire_auto_cancel(499), []);
        assert_eq!(o.auto_cancel_at, Some(500));
        assert_eq!(o.fire_auto_cancel(500), [OrderEventKind::Cancel]);
        assert_eq!((o.pay_status, o.auto_cancel_at), (PayStatus::Cancel, None));
        assert_eq!(o.fire_auto_cancel(501), []);
        assert_eq!(o.pay_status, PayStatus::Cancel);
    }

    #[test]
    fn a_passed_timer_on_an_order_with_a_payment_is_dropped_without_cancelling() {
        let mut o = order(&["3300"]);
        o.payments.push(Payment {
            amount: Money::from_minor(100),
            at: 1,
        });
        assert_eq!(o.fire_auto_cancel(600), []);
        assert_eq!((o.pay_status, o.auto_cancel_at), (PayStatus::Waiting, None));
    }
}
