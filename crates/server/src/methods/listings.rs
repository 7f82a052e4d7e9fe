//! Listing methods: GetOrders, getOrdersWithGoods, GetBills, GetPartnerStats (SPEC §13.4–§13.6,
//! §14.5).

use super::{Call, Outcome};
use crate::render::{order_object, OrderView};
use clickbill_domain::listing::{
    days_window, list_orders, month_window, parse_iso_day, partner_totals, unix_window, DayOrTime,
    GoodsFilter, OrderListing, PartnerTotals, UnixTime,
};
use clickbill_domain::model::{Order, PayStatus};
use clickbill_domain::OrderTime;
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::ApiError;
use clickbill_protocol::methods::{Bill, BillGood, Bills, OrderObject, PartnerStatsObject};
use clickbill_protocol::value::{clean_text_cow, Email, Malformed, Params};

/// A parameter that may be blank (`None`) but must parse when it is not (`3` otherwise).
fn optional<T>(
    params: &Params<'_>,
    name: &str,
    parse: impl Fn(&[u8]) -> Result<T, Malformed>,
) -> Result<Option<T>, ApiError> {
    if params.is_blank(name) {
        Ok(None)
    } else {
        parse(params.bytes(name))
            .map(Some)
            .map_err(|_| ApiError::WrongPostedData)
    }
}

/// `paid`: true selects paid orders by payment time instead of all by creation time.
fn order_time(params: &Params<'_>) -> OrderTime {
    if params.bool("paid") {
        OrderTime::Paid
    } else {
        OrderTime::Created
    }
}

fn goods_filter(params: &Params<'_>) -> Option<GoodsFilter> {
    GoodsFilter::parse(params.list("goods").into_iter().map(clean_text_cow))
}

fn order_objects(orders: &[Order], call: &Call<'_>, view: OrderView) -> Vec<OrderObject> {
    orders
        .iter()
        .map(|order| order_object(order, call.tenant, view))
        .collect()
}

/// GetOrders (§13.4): orders of a window of unix times; nothing found is `401`.
pub async fn get_orders(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let date_s = optional(params, "date_s", UnixTime::parse)?;
    let date_e = optional(params, "date_e", UnixTime::parse)?;
    let zone = call.tenant.settings.time_zone;
    let listing = OrderListing {
        time: order_time(params),
        window: unix_window(date_s, date_e, call.state.clock.now(), zone),
        goods: goods_filter(params),
    };
    let orders = list_orders(call.state.store.as_ref(), call.tenant.id, &listing).await?;
    if orders.is_empty() {
        return Err(ApiError::OrdersNotFound.into());
    }
    let view = OrderView {
        pincode: true,
        ..OrderView::default()
    };
    Ok(Envelope::ok_with(&order_objects(&orders, call, view)))
}

/// getOrdersWithGoods (§13.5): orders of at most a month of days; nothing found is `[]`.
pub async fn get_orders_with_goods(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let begin_date = optional(params, "begin_date", DayOrTime::parse)?;
    let end_date = optional(params, "end_date", DayOrTime::parse)?;
    let zone = call.tenant.settings.time_zone;
    let listing = OrderListing {
        time: order_time(params),
        window: month_window(begin_date, end_date, call.state.clock.now(), zone),
        goods: goods_filter(params),
    };
    let orders = list_orders(call.state.store.as_ref(), call.tenant.id, &listing).await?;
    // The only order listing whose items leave out `pincode` (§10.2).
    let view = OrderView::default();
    Ok(Envelope::ok_with(&order_objects(&orders, call, view)))
}

/// GetBills (§13.6): a customer's orders keyed by number, their products keyed by id.
pub async fn get_bills(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let email = Email::parse(params.bytes("email")).map_err(|_| ApiError::WrongPostedData)?;
    let status = optional(params, "pay_status", |bytes| {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(PayStatus::parse)
            .ok_or(Malformed)
    })?;
    let orders = call
        .state
        .store
        .orders_by_email(call.tenant.id, email.as_str(), status)
        .await?;
    if orders.is_empty() {
        return Err(ApiError::OrderNotFound.into());
    }
    Ok(Envelope::ok_with(&bills(&orders)))
}

fn bills(orders: &[Order]) -> Bills {
    Bills(
        orders
            .iter()
            .map(|order| Bill {
                bill_id: order.bill_id.to_string(),
                goods: order
                    .items
                    .iter()
                    .map(|item| BillGood {
                        good_id: item.product_id.0.to_string(),
                        good_name: item.code.clone(),
                        good_title: item.title.clone(),
                        good_sum: item.sum.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    )
}

/// GetPartnerStats (§14.5): one partner's totals over whole days.
pub async fn get_partner_stats(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("partner") {
        return Err(ApiError::NoTransmittedData.into());
    }
    let date_from = optional(params, "date_from", parse_iso_day)?;
    let date_to = optional(params, "date_to", parse_iso_day)?;
    let window = days_window(date_from, date_to, call.tenant.settings.time_zone);
    let totals = partner_totals(
        call.state.store.as_ref(),
        call.tenant.id,
        &params.text("partner"),
        window,
    )
    .await?
    .ok_or(ApiError::PartnerNotFound)?;
    Ok(Envelope::ok_with(&partner_stats_object(totals)))
}

fn partner_stats_object(totals: PartnerTotals) -> PartnerStatsObject {
    PartnerStatsObject {
        earned_total: totals.earned.to_string(),
        topay_total: totals.to_pay.to_string(),
        clicks_total: totals.clicks.to_string(),
        leads_total: totals.leads.to_string(),
        bills_total: totals.bills.to_string(),
        partners_total: totals.sub_partners.to_string(),
    }
}
