//! API 2.0 order and catalogue methods: createorder, getgoods, getcoupons, getpersonalmanagers
//! (SPEC §15.2, §15.8–§15.10).

use super::orders::place_order;
use super::{Call, Outcome};
use clickbill_domain::checkout::{
    parse_local_time, AutoCancel, GoodsLine, OrderRequest, PartnerRef,
};
use clickbill_domain::model::{
    Customer, InitialStatus, ManagerId, OrderExtras, TenantSettings, Utm,
};
use clickbill_protocol::country::country_for_code;
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::methods::{
    BillIdResult, CouponListEntry, CreateOrderStatus, GoodListEntry, ManagerListEntry,
};
use clickbill_protocol::value::{comma_list, Params};
use std::net::IpAddr;

/// createorder (§15.2): the shared order path with the 2.0 parameters; answers `0` / `OK`.
pub async fn create_order(call: &Call<'_>) -> Outcome {
    let now = call.state.clock.now();
    let request = order_request(&call.params, call.client_ip, &call.tenant.settings, now);
    let bill_id = place_order(call, request, now).await?;
    Ok(Envelope::ok_with(&BillIdResult::new(bill_id.get())))
}

/// The order request of §15.2 as received, mapped onto the stored fields.
fn order_request(
    params: &Params<'_>,
    client_ip: IpAddr,
    settings: &TenantSettings,
    now: i64,
) -> OrderRequest {
    let text = |name: &str| params.text(name).into_owned();
    let non_blank = |name: &str| (!params.is_blank(name)).then(|| text(name));

    // Names follow §7.7, but prices keep their empty elements so that each stays at the
    // position of its product.
    let prices_text = text("product_prices");
    let prices: Vec<&str> = prices_text.split(',').collect();
    let lines = comma_list(&params.text("product_names"))
        .into_iter()
        .enumerate()
        .map(|(position, name)| GoodsLine {
            name,
            sum: prices.get(position).copied().unwrap_or_default().to_owned(),
        })
        .collect();

    let address = match non_blank("customer_shipping_address_2") {
        Some(second_line) => format!("{}, {second_line}", text("customer_shipping")),
        None => text("customer_shipping"),
    };
    let country_code = non_blank("customer_shipping_country_code")
        .unwrap_or_else(|| text("customer_billing_country_code"));
    let time = |name: &str| {
        parse_local_time(params.bytes(name), settings.time_zone).map(|t| t.unwrap_or(now))
    };
    let initial = CreateOrderStatus::parse(params.bytes("order_status")).and_then(|status| {
        let paid_at = time("order_paid_at")?;
        Ok(initial_status(status, paid_at, text("payment_method")))
    });
    let sales_manager = params
        .int("order_sales_manager")
        .ok()
        .flatten()
        .filter(|&id| id > 0)
        .map(ManagerId);

    OrderRequest {
        customer: Customer {
            first_name: text("customer_first_name"),
            last_name: text("customer_last_name"),
            middle_name: text("customer_middle_name"),
            email: text("customer_email"),
            phone: non_blank("customer_phone").unwrap_or_else(|| text("customer_shipping_phone")),
            country: country_for_code(&country_code),
            region: text("customer_shipping_state"),
            city: text("customer_shipping_city"),
            address,
            postalcode: text("customer_shipping_zip"),
        },
        lines,
        coupon: text("coupon"),
        tag: text("order_tag"),
        comment: text("note"),
        domain: String::new(),
        client_ip: non_blank("order_ip").unwrap_or_else(|| client_ip.to_string()),
        utm: Utm {
            medium: text("utm_medium"),
            source: text("utm_source"),
            campaign: text("utm_campaign"),
            content: text("utm_content"),
            term: text("utm_term"),
        },
        aff_utm: Utm::default(),
        partners: comma_list(&params.text("affiliates"))
            .into_iter()
            .map(PartnerRef::Login)
            .collect(),
        created: time("order_created_at"),
        auto_cancel: Ok(AutoCancel::Never),
        initial,
        extras: OrderExtras {
            shipping_phone: text("customer_shipping_phone"),
            billing_address_1: text("customer_billing_address_1"),
            billing_address_2: text("customer_billing_address_2"),
            billing_city: text("customer_billing_city"),
            billing_state: text("customer_billing_state"),
            billing_zip: text("customer_billing_zip"),
            billing_country: country_for_code(&text("customer_billing_country_code")),
            confirmed: text("order_confirmed"),
            sales_manager,
        },
    }
}

/// The state `order_status` asks for; `paid_at` and `payway` apply to the statuses that
/// record a payment.
fn initial_status(status: CreateOrderStatus, paid_at: i64, payway: String) -> InitialStatus {
    match status {
        CreateOrderStatus::Expected => InitialStatus::Waiting,
        CreateOrderStatus::Paid => InitialStatus::Paid {
            at: paid_at,
            payway,
        },
        CreateOrderStatus::Cancel => InitialStatus::Cancel,
        CreateOrderStatus::MoneyBack => InitialStatus::Moneyback { at: paid_at },
    }
}

/// getgoods (§15.8): the catalogue by id.
pub async fn get_goods(call: &Call<'_>) -> Outcome {
    let products = call.state.store.products(call.tenant.id).await?;
    let goods: Vec<GoodListEntry> = products
        .into_iter()
        .map(|product| GoodListEntry {
            id: product.id.0,
            good_name: product.spec.code.as_str().to_owned(),
            good_title: product.spec.title,
        })
        .collect();
    Ok(Envelope::ok_with(&goods))
}

/// getcoupons (§15.9): every coupon that is not switched off, expired ones included, by id.
pub async fn get_coupons(call: &Call<'_>) -> Outcome {
    let coupons = call.state.store.coupons(call.tenant.id).await?;
    let listed: Vec<CouponListEntry> = coupons
        .into_iter()
        .filter(|coupon| !coupon.disabled)
        .map(|coupon| CouponListEntry {
            id: coupon.id.0,
            coupon: coupon.code,
        })
        .collect();
    Ok(Envelope::ok_with(&listed))
}

/// getpersonalmanagers (§15.10): the managers by id.
pub async fn get_personal_managers(call: &Call<'_>) -> Outcome {
    let managers = call.state.store.managers(call.tenant.id).await?;
    let listed: Vec<ManagerListEntry> = managers
        .into_iter()
        .map(|manager| ManagerListEntry::new(manager.id.0, manager.name))
        .collect();
    Ok(Envelope::ok_with(&listed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_protocol::value::Malformed;

    const NOW: i64 = 1_700_200_000;

    fn request(body: &str) -> OrderRequest {
        let map = php_form::parse(body.as_bytes());
        order_request(
            &Params::new(&map),
            "203.0.113.7".parse().unwrap(),
            &TenantSettings::default(),
            NOW,
        )
    }

    #[test]
    fn order_request_of_15_2() {
        let request = request("rpsKey=secret&customer_email=buyer%40example.com&customer_first_name=John&customer_last_name=Smith&order_created_at=2023-11-16+10%3A00%3A00&product_names=code1%2Ccode2&product_prices=900&coupon=586&affiliates=anna&utm_source=newsletter");
        assert_eq!(request.customer.email, "buyer@example.com");
        assert_eq!(
            (
                request.customer.first_name.as_str(),
                request.customer.last_name.as_str()
            ),
            ("John", "Smith")
        );
        assert_eq!(
            request.lines,
            [
                GoodsLine {
                    name: "code1".into(),
                    sum: "900".into()
                },
                GoodsLine {
                    name: "code2".into(),
                    sum: String::new()
                }
            ]
        );
        assert_eq!(request.coupon, "586");
        assert_eq!(request.partners, [PartnerRef::Login("anna".into())]);
        assert_eq!(request.utm.source, "newsletter");
        assert_eq!(request.created, Ok(1_700_118_000));
        assert_eq!(request.auto_cancel, Ok(AutoCancel::Never));
        assert_eq!(request.initial, Ok(InitialStatus::Waiting));
        assert_eq!(request.client_ip, "203.0.113.7");
        assert_eq!(request.domain, "");
        assert_eq!(request.extras, OrderExtras::default());
    }

    #[test]
    fn customer_mapping() {
        let request = request(
            "customer_shipping_phone=%2B1&customer_shipping=Main+St+1&customer_shipping_address_2=Apt+5\
             &customer_shipping_city=Boston&customer_shipping_state=MA&customer_shipping_zip=02101\
             &customer_billing_country_code=us&customer_billing_address_1=B1&customer_billing_address_2=B2\
             &customer_billing_city=BC&customer_billing_state=BS&customer_billing_zip=BZ\
             &order_ip=198.51.100.1&order_confirmed=%D0%A1onfirmed&order_sales_manager=71257&order_tag=T&note=N",
        );
        let customer = &request.customer;
        assert_eq!(customer.phone, "+1");
        assert_eq!(customer.address, "Main St 1, Apt 5");
        assert_eq!(customer.country, "United States of America");
        assert_eq!(
            (
                customer.city.as_str(),
                customer.region.as_str(),
                customer.postalcode.as_str()
            ),
            ("Boston", "MA", "02101")
        );
        assert_eq!(request.client_ip, "198.51.100.1");
        assert_eq!((request.tag.as_str(), request.comment.as_str()), ("T", "N"));
        assert_eq!(
            request.extras,
            OrderExtras {
                shipping_phone: "+1".into(),
                billing_address_1: "B1".into(),
                billing_address_2: "B2".into(),
                billing_city: "BC".into(),
                billing_state: "BS".into(),
                billing_zip: "BZ".into(),
                billing_country: "United States of America".into(),
                confirmed: "Сonfirmed".into(),
                sales_manager: Some(ManagerId(71257)),
            }
        );

        let request = self::request(
            "customer_phone=%2B7&customer_shipping_phone=%2B1&customer_shipping=Lenina+1\
             &customer_shipping_country_code=de&customer_billing_country_code=US&order_sales_manager=Greg",
        );
        assert_eq!(request.customer.phone, "+7");
        assert_eq!(request.customer.address, "Lenina 1");
        assert_eq!(request.customer.country, "Germany");
        assert_eq!(request.extras.sales_manager, None);
        let request = self::request("customer_shipping_country_code=XK");
        assert_eq!(request.customer.country, "XK");
        assert_eq!(request.extras.billing_country, "");
    }

    #[test]
    fn prices_keep_their_positions() {
        let lines = request("product_names=code1,+code2,,book1&product_prices=900,,1200,7").lines;
        let sums: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.name.as_str(), l.sum.as_str()))
            .collect();
        assert_eq!(sums, [("code1", "900"), ("code2", ""), ("book1", "1200")]);
        assert!(request("product_names=+,+").lines.is_empty());
    }

    #[test]
    fn affiliates_by_level() {
        let partners = request("affiliates=anna,+nosuch+,,boris").partners;
        let login = |l: &str| PartnerRef::Login(l.to_owned());
        assert_eq!(partners, [login("anna"), login("nosuch"), login("boris")]);
    }

    #[test]
    fn initial_states() {
        let initial = |body: &str| request(body).initial;
        assert_eq!(
            initial("order_status=paid&order_paid_at=16.11.2023+10:00:00&payment_method=Card"),
            Ok(InitialStatus::Paid {
                at: 1_700_118_000,
                payway: "Card".into()
            })
        );
        assert_eq!(
            initial("order_status=Paid"),
            Ok(InitialStatus::Paid {
                at: NOW,
                payway: String::new()
            })
        );
        assert_eq!(initial("order_status=CANCEL"), Ok(InitialStatus::Cancel));
        assert_eq!(
            initial("order_status=MoneyBack&order_paid_at=11/16/2023+10:00:00"),
            Ok(InitialStatus::Moneyback { at: 1_700_118_000 })
        );
        assert_eq!(initial("order_status=Shipped"), Err(Malformed));
        assert_eq!(initial("order_paid_at=yesterday"), Err(Malformed));
        assert_eq!(
            request("order_created_at=2023-11-16").created,
            Err(Malformed)
        );
        assert_eq!(request("").created, Ok(NOW));
    }
}
