//! Domain values in their wire form (SPEC §10).

use clickbill_domain::model::{Order, Tenant};
use clickbill_protocol::methods::{
    bool_text, payment_link, ItemObject, OrderObject, PartnerObject, UtmObject,
};

/// Which optional parts of the order object a method shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrderView {
    /// `good_ids`, `good_count`, `prepayment_enabled`, `prepayment_minsum` (§10.1).
    pub good_info: bool,
    /// `payway_support_phone` (`GetOrderInfo` with `payway_name`, §13.3).
    pub payway_name: bool,
    /// Items carry `pincode` (all methods but `getOrdersWithGoods`).
    pub pincode: bool,
}

/// The order object of §10.1 for `order` of `tenant`.
pub fn order_object(order: &Order, tenant: &Tenant, view: OrderView) -> OrderObject {
    let bill_id = order.bill_id.get();
    let customer = &order.customer;
    // The order object carries `utm` only when the order has a UTM value (SPEC §10.1).
    let utm = (!order.utm.is_empty()).then(|| UtmObject {
        medium: order.utm.medium.clone(),
        source: order.utm.source.clone(),
        campaign: order.utm.campaign.clone(),
        content: order.utm.content.clone(),
        term: order.utm.term.clone(),
    });
    let good_info = |value: String| view.good_info.then_some(value);
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
        payway_support_phone: view.payway_name.then(String::new),
        comment: order.comment.clone(),
        domain: order.domain.clone(),
        link: payment_link(&order.domain, bill_id, &tenant.secret),
        good_ids: view.good_info.then(|| {
            order
                .items
                .iter()
                .map(|item| item.product_id.0.to_string())
                .collect()
        }),
        good_count: good_info(order.items.len().to_string()),
        price: order.price().to_string(),
        bill_sum_topay: order.to_pay().to_string(),
        prepayment_enabled: good_info(bool_text(tenant.settings.prepayment_enabled)),
        prepayment_minsum: good_info(order.prepayment_minsum(&tenant.settings).to_string()),
        is_recurrent: "0".to_owned(),
        last_payment_sum: order.last_payment_sum().to_string(),
        prepayment_sum: order.prepayment_sum().to_string(),
        tag: order.tag.clone(),
        kupon: order.kupon.clone(),
        delivery_status: order.delivery.status.as_str().to_owned(),
        delivery_date: order.delivery.date.to_string(),
        rpo: order.delivery.rpo.clone(),
        utm,
        items: order
            .items
            .iter()
            .map(|item| ItemObject {
                id: item.code.clone(),
                title: item.title.clone(),
                sum: item.sum.to_string(),
                price: item.price.to_string(),
                pincode: view.pincode.then(|| item.pincode.clone()),
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
    }
}
