//! Paying an order from its bill page: what a payment provider offers for an order, and what
//! the buyer's choice does to it. A payment goes through the same rule as `UpdateOrderStatus`
//! (SPEC §9.5.5), so it records the same payments and events.

use crate::model::{Order, PayStatus, TenantSettings};
use crate::order::{OrderEventKind, StatusChange};
use clickbill_protocol::value::Money;

/// What a buyer may choose on the bill page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Pay everything still to pay.
    PayInFull,
    /// Pay a part: a prepayment of at least the order's prepayment minimum.
    PayPart,
    /// Give up; nothing is recorded.
    Decline,
}

impl Outcome {
    /// The form value naming the outcome.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::PayInFull => "pay",
            Outcome::PayPart => "pay_part",
            Outcome::Decline => "decline",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::PayInFull, Outcome::PayPart, Outcome::Decline]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// One outcome a provider offers for an order, with the amounts it accepts (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    pub outcome: Outcome,
    pub min: Money,
    pub max: Money,
}

/// What the buyer chose on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub outcome: Outcome,
    /// The amount the buyer entered, for outcomes that take one.
    pub amount: Option<Money>,
    /// The amount left to pay that the page showed when the buyer chose. A payment is only
    /// recorded while the order still owes exactly that, so that a form sent twice (or after
    /// another payment) pays nothing more.
    pub seen_to_pay: Money,
}

/// What a chosen outcome does to the order, as the provider decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Record this payment through the order's status rule.
    Record(StatusChange),
    /// Record nothing: the payment did not happen.
    Declined,
}

/// Why a choice was not carried out; nothing was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentRefusal {
    /// The order is paid, cancelled or refunded.
    #[error("the order cannot be paid in its state")]
    NotPayable,
    /// The order no longer owes what the page showed (a repeated or outdated form).
    #[error("the amount left to pay has changed")]
    Stale,
    /// The provider does not offer this outcome for this order.
    #[error("this way of paying is not offered for the order")]
    NotOffered,
    /// The outcome takes an amount and none (or an unreadable one) was given.
    #[error("no amount was given")]
    AmountMissing,
    /// The amount lies outside what the offer accepts.
    #[error("the amount must lie between {min} and {max}")]
    AmountOutOfRange { min: Money, max: Money },
    /// The order's payment rule (SPEC §9.5.5) refused the payment.
    #[error("the payment was refused")]
    Refused,
}

/// What happened when a choice was carried out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paid {
    /// A payment was recorded together with these events (`paid` or `prepaid`).
    Recorded(Vec<OrderEventKind>),
    /// The buyer declined; nothing was recorded.
    Declined,
}

/// A way to pay a bill. It knows no HTTP: it says which outcomes it offers for an order and
/// what a chosen one does to it; the server renders the offers and applies the settlement.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Names the provider in forms; stable.
    fn id(&self) -> &'static str;
    /// The `payway` recorded on an order this provider completes.
    fn payway(&self) -> &'static str;
    /// The outcomes offered for `order`; empty when it cannot be paid.
    fn offers(&self, order: &Order, settings: &TenantSettings) -> Vec<Offer>;
    /// What the chosen outcome, already checked against [`PaymentProvider::offers`], does to
    /// `order` at `now`, with the amount resolved from the offer.
    fn settle(&self, outcome: Outcome, amount: Money, now: i64) -> Settlement;
}

/// Carries out `choice` on `order` at `now`: checks it against the provider's offers and the
/// amount the page showed, then records what the provider settles through [`Order::apply`].
/// On a refusal the order is left as it was.
pub fn pay(
    provider: &dyn PaymentProvider,
    order: &mut Order,
    settings: &TenantSettings,
    choice: Choice,
    now: i64,
) -> Result<Paid, PaymentRefusal> {
    if order.pay_status != PayStatus::Waiting {
        return Err(PaymentRefusal::NotPayable);
    }
    if order.to_pay() != choice.seen_to_pay {
        return Err(PaymentRefusal::Stale);
    }
    let offer = provider
        .offers(order, settings)
        .into_iter()
        .find(|offer| offer.outcome == choice.outcome)
        .ok_or(PaymentRefusal::NotOffered)?;
    let amount = if offer.min == offer.max {
        offer.min
    } else {
        let amount = choice.amount.ok_or(PaymentRefusal::AmountMissing)?;
        if amount < offer.min || amount > offer.max {
            return Err(PaymentRefusal::AmountOutOfRange {
                min: offer.min,
                max: offer.max,
            });
        }
        amount
    };
    match provider.settle(choice.outcome, amount, now) {
        Settlement::Declined => Ok(Paid::Declined),
        Settlement::Record(change) => {
            let before = order.clone();
            match order.apply(change, settings) {
                Ok(events) => Ok(Paid::Recorded(events)),
                Err(_) => {
                    *order = before;
                    Err(PaymentRefusal::Refused)
                }
            }
        }
    }
}

/// The provider for trying the flow out without money: pay in full, pay a part (when the
/// tenant takes prepayments, SPEC §9.5.5) or decline. Enabled for every tenant of a sandbox
/// server, or per tenant by its `test_payments` setting.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestProvider;

impl TestProvider {
    pub const ID: &'static str = "test";
    pub const PAYWAY: &'static str = "TestPayment";
}

impl PaymentProvider for TestProvider {
    fn id(&self) -> &'static str {
        TestProvider::ID
    }

    fn payway(&self) -> &'static str {
        TestProvider::PAYWAY
    }

    fn offers(&self, order: &Order, settings: &TenantSettings) -> Vec<Offer> {
        if order.pay_status != PayStatus::Waiting {
            return Vec::new();
        }
        let left = order.to_pay();
        let mut offers = vec![Offer {
            outcome: Outcome::PayInFull,
            min: left,
            max: left,
        }];
        let minimum = order.prepayment_minsum(settings);
        if settings.prepayment_enabled && minimum < left {
            offers.push(Offer {
                outcome: Outcome::PayPart,
                min: minimum,
                max: left,
            });
        }
        offers.push(Offer {
            outcome: Outcome::Decline,
            min: Money::ZERO,
            max: Money::ZERO,
        });
        offers
    }

    fn settle(&self, outcome: Outcome, amount: Money, now: i64) -> Settlement {
        match outcome {
            Outcome::PayInFull | Outcome::PayPart => Settlement::Record(StatusChange::Paid {
                date: now,
                amount: Some(amount),
                payway: Some(self.payway().to_owned()),
            }),
            Outcome::Decline => Settlement::Declined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BillId, Item, NewOrder, ProductId};

    fn money(text: &str) -> Money {
        Money::parse(text.as_bytes()).unwrap()
    }

    fn order(sum: &str) -> Order {
        let item = Item {
            product_id: ProductId(1),
            code: "code1".into(),
            title: "Course".into(),
            physical: false,
            price: money(sum),
            sum: money(sum),
            pincode: String::new(),
            partners: Vec::new(),
        };
        let new = NewOrder {
            created: 10,
            auto_cancel_at: Some(1_000),
            items: vec![item],
            ..NewOrder::default()
        };
        Order::from_new(BillId::new(1).unwrap(), new, 10).0
    }

    fn prepaying() -> TenantSettings {
        TenantSettings {
            prepayment_enabled: true,
            ..TenantSettings::default()
        }
    }

    fn choice(outcome: Outcome, amount: Option<&str>, seen: &str) -> Choice {
        Choice {
            outcome,
            amount: amount.map(money),
            seen_to_pay: money(seen),
        }
    }

    fn outcomes(order: &Order, settings: &TenantSettings) -> Vec<Outcome> {
        TestProvider
            .offers(order, settings)
            .iter()
            .map(|o| o.outcome)
            .collect()
    }

    #[test]
    fn a_waiting_order_is_offered_part_payment_only_with_prepayment_above_the_minimum() {
        let o = order("3300");
        assert_eq!(
            outcomes(&o, &TenantSettings::default()),
            [Outcome::PayInFull, Outcome::Decline]
        );
        assert_eq!(
            TestProvider.offers(&o, &prepaying())[1],
            Offer {
                outcome: Outcome::PayPart,
                min: money("1000"),
                max: money("3300")
            }
        );
        assert_eq!(
            outcomes(&order("1000"), &prepaying()),
            [Outcome::PayInFull, Outcome::Decline],
            "a part of at least the minimum would be the whole bill"
        );
    }

    #[test]
    fn paying_in_full_completes_the_order_with_the_test_payway() {
        let mut o = order("3300");
        let paid = pay(
            &TestProvider,
            &mut o,
            &TenantSettings::default(),
            choice(Outcome::PayInFull, Some("1"), "3300"),
            77,
        );
        assert_eq!(paid, Ok(Paid::Recorded(vec![OrderEventKind::Paid])));
        assert_eq!(o.pay_status, PayStatus::Paid);
        assert_eq!((o.paid_at, o.payway.as_str()), (77, TestProvider::PAYWAY));
        assert_eq!(
            o.total_paid(),
            money("3300"),
            "the entered amount is ignored"
        );
        assert!(TestProvider.offers(&o, &prepaying()).is_empty());
    }

    #[test]
    fn a_part_payment_is_a_prepayment_within_the_offer() {
        let settings = prepaying();
        let mut o = order("3300");
        for (amount, refusal) in [
            (None, PaymentRefusal::AmountMissing),
            (
                Some("999.99"),
                PaymentRefusal::AmountOutOfRange {
                    min: money("1000"),
                    max: money("3300"),
                },
            ),
            (
                Some("3300.01"),
                PaymentRefusal::AmountOutOfRange {
                    min: money("1000"),
                    max: money("3300"),
                },
            ),
        ] {
            assert_eq!(
                pay(
                    &TestProvider,
                    &mut o,
                    &settings,
                    choice(Outcome::PayPart, amount, "3300"),
                    5
                ),
                Err(refusal)
            );
            assert!(o.payments.is_empty());
        }
        assert_eq!(
            pay(
                &TestProvider,
                &mut o,
                &settings,
                choice(Outcome::PayPart, Some("1200"), "3300"),
                5
            ),
            Ok(Paid::Recorded(vec![OrderEventKind::Prepaid]))
        );
        assert_eq!(
            (o.pay_status, o.to_pay()),
            (PayStatus::Waiting, money("2100"))
        );
        assert_eq!(o.payway, "", "a prepayment sets no payway");
    }

    #[test]
    fn a_repeated_form_pays_nothing_more() {
        let settings = prepaying();
        let mut o = order("3300");
        let part = choice(Outcome::PayPart, Some("1000"), "3300");
        assert!(pay(&TestProvider, &mut o, &settings, part, 5).is_ok());
        assert_eq!(
            pay(&TestProvider, &mut o, &settings, part, 6),
            Err(PaymentRefusal::Stale)
        );
        let full = choice(Outcome::PayInFull, None, "2300");
        assert!(pay(&TestProvider, &mut o, &settings, full, 7).is_ok());
        assert_eq!(
            pay(&TestProvider, &mut o, &settings, full, 8),
            Err(PaymentRefusal::NotPayable)
        );
        assert_eq!(o.payments.len(), 2);
    }

    #[test]
    fn closed_orders_and_unoffered_outcomes_are_refused() {
        let mut o = order("3300");
        assert_eq!(
            pay(
                &TestProvider,
                &mut o,
                &TenantSettings::default(),
                choice(Outcome::PayPart, Some("1000"), "3300"),
                5
            ),
            Err(PaymentRefusal::NotOffered),
            "no prepayments without the setting"
        );
        o.pay_status = PayStatus::Cancel;
        assert_eq!(
            pay(
                &TestProvider,
                &mut o,
                &prepaying(),
                choice(Outcome::PayInFull, None, "3300"),
                5
            ),
            Err(PaymentRefusal::NotPayable)
        );
        assert!(o.payments.is_empty());
    }

    #[test]
    fn declining_records_nothing() {
        let mut o = order("3300");
        let before = o.clone();
        assert_eq!(
            pay(
                &TestProvider,
                &mut o,
                &prepaying(),
                choice(Outcome::Decline, None, "3300"),
                5
            ),
            Ok(Paid::Declined)
        );
        assert_eq!(o, before);
    }

    #[test]
    fn outcomes_have_stable_form_names() {
        for outcome in [Outcome::PayInFull, Outcome::PayPart, Outcome::Decline] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse("PAY"), None);
    }
}
