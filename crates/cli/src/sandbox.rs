//! The demo data of `clickbill serve --sandbox`: the tenant, catalogue, partners, coupons and
//! first orders of the specification's example fixture (SPEC §11), and the ready-to-paste
//! commands that call it.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use clickbill_client::{signed_body, Data, Key};
use clickbill_domain::checkout::{
    bill_domain, plan_order, AutoCancel, GoodsLine, OrderError, OrderRequest, PartnerRef,
};
use clickbill_domain::contacts::{GroupId, GroupKind, NewGroup};
use clickbill_domain::model::{
    BillId, Commission, CouponId, Customer, Discount, GoodName, ManagerId, NewCoupon, NewManager,
    NewPartner, NewTenant, PartnerId, ProductSpec, Tenant, TenantSettings, Utm,
};
use clickbill_domain::order::StatusChange;
use clickbill_domain::{CreatedOrder, OrderUpdate, Store};
use clickbill_protocol::value::{Login, Money, Percent};

use crate::failed;

/// The sandbox tenant's login and secret (SPEC §11.1).
pub const LOGIN: &str = "demo";
pub const SECRET: &str = "secret";

/// What the sandbox holds, for the instructions printed after start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandbox {
    /// Whether this start created the data (false: the tenant existed and was left alone).
    pub seeded: bool,
    /// Whether the tenant signs with the documented secret, so that the examples work.
    pub documented_secret: bool,
    /// The order the examples read.
    pub example_bill: i64,
}

/// Creates the sandbox tenant and its data unless a tenant `demo` exists, in which case nothing
/// is touched: a sandbox keeps what was done to it across restarts.
pub async fn seed(store: &dyn Store, now: i64) -> anyhow::Result<Sandbox> {
    let storage = |what: &'static str| {
        move |e: clickbill_domain::StoreError| failed(anyhow::Error::new(e).context(what))
    };
    if let Some(tenant) = store
        .tenant_by_login(LOGIN)
        .await
        .map_err(storage("reading the sandbox tenant"))?
    {
        tracing::info!("sandbox: tenant {LOGIN} exists; its data is left as it is");
        let example = BillId::new(12345).expect("positive");
        let example_bill = match store
            .order(tenant.id, example)
            .await
            .map_err(storage("reading the sandbox orders"))?
        {
            Some(_) => example.get(),
            None => tenant.settings.first_bill_id,
        };
        return Ok(Sandbox {
            seeded: false,
            documented_secret: tenant.secret == SECRET,
            example_bill,
        });
    }

    let settings = TenantSettings {
        first_bill_id: 12344,
        prepayment_enabled: true,
        unsubscribe_url: "https://crm.example/unsub.php".to_owned(),
        ..TenantSettings::default()
    };
    let tenant = store
        .add_tenant(NewTenant {
            login: Login::parse(LOGIN).expect("a valid login"),
            secret: SECRET.to_owned(),
            custom_domains: Vec::new(),
            settings,
        })
        .await
        .map_err(storage("creating the sandbox tenant"))?;

    let mut products = Vec::new();
    for spec in catalogue() {
        products.push(
            store
                .add_product(tenant.id, spec)
                .await
                .map_err(storage("creating the sandbox products"))?,
        );
    }
    // The fixture's own numbers (SPEC §11.2), so the documented examples answer as printed.
    for (id, login, parent) in [(5, "boris", None), (17, "anna", Some(PartnerId(5)))] {
        let partner = NewPartner {
            id: Some(PartnerId(id)),
            login: login.to_owned(),
            parent,
            registered_at: now,
        };
        store
            .add_partner(tenant.id, partner)
            .await
            .map_err(storage("creating the sandbox partners"))?;
    }
    let code2 = products.iter().find(|p| p.spec.code.as_str() == "code2");
    let coupons = [
        NewCoupon {
            id: Some(CouponId(585)),
            code: "coupon50proc".to_owned(),
            discount: Discount::Percent(Percent::from_hundredths(5_000).expect("in range")),
            products: Vec::new(),
            expires_at: None,
        },
        NewCoupon {
            id: Some(CouponId(586)),
            code: "minus100".to_owned(),
            discount: Discount::Fixed(Money::from_minor(10_000)),
            products: code2.map(|p| p.id).into_iter().collect(),
            expires_at: None,
        },
    ];
    for coupon in coupons {
        store
            .add_coupon(tenant.id, coupon)
            .await
            .map_err(storage("creating the sandbox coupons"))?;
    }
    let greg = NewManager {
        id: Some(ManagerId(71257)),
        name: "Greg".to_owned(),
    };
    store
        .add_manager(tenant.id, greg)
        .await
        .map_err(storage("creating the sandbox manager"))?;
    let groups = [
        (1, "grp1", "Newsletter", GroupKind::Standard),
        (2, "grp 2", "Webinar", GroupKind::Standard),
        (3, "1605189997.0025174394", "#27950", GroupKind::Standard),
        (4, "allleads", "All leads", GroupKind::Auto),
    ];
    for (id, name, title, kind) in groups {
        let group = NewGroup {
            id: Some(GroupId(id)),
            name: name.to_owned(),
            title: title.to_owned(),
            kind,
        };
        store
            .add_group(tenant.id, group)
            .await
            .map_err(storage("creating the sandbox groups"))?;
    }

    // SPEC §11.3: order 12344, half price with a coupon, through partner anna, paid in full.
    let paid = create(store, &tenant, paid_order_request(), now).await?;
    let settings = tenant.settings.clone();
    let payment = StatusChange::Paid {
        date: 1_572_681_600,
        amount: None,
        payway: None,
    };
    let update = store
        .update_order(
            tenant.id,
            paid,
            now,
            Box::new(move |order| order.apply(payment, &settings)),
        )
        .await
        .map_err(storage("paying the sandbox order"))?;
    if !matches!(update, OrderUpdate::Applied(_)) {
        return Err(failed(anyhow::anyhow!(
            "the sandbox order {paid} could not be paid: {update:?}"
        )));
    }
    // SPEC §13.1.5: order 12345, two items, waiting for payment.
    let waiting = create(store, &tenant, waiting_order_request(), now).await?;
    tracing::info!(
        "sandbox: created tenant {LOGIN} with products code1, code2, book1, orders {paid} (paid) \
         and {waiting} (waiting)"
    );
    Ok(Sandbox {
        seeded: true,
        documented_secret: true,
        example_bill: waiting.get(),
    })
}

/// The catalogue of SPEC §11.2.
fn catalogue() -> Vec<ProductSpec> {
    let code = |text| GoodName::parse(text).expect("a valid product code");
    let percent =
        |hundredths| Commission::Percent(Percent::from_hundredths(hundredths).expect("in range"));
    let make_url = "https://crm.example/jc.php?a=make";

    let mut course = ProductSpec::new(code("code1"), "Онлайн-курс", Money::from_minor(100_000));
    course.timer_kill = 259_200;
    course.partner_fees = BTreeMap::from([(1, percent(1_000)), (2, percent(500))]);
    course.urls.new_order = make_url.to_owned();
    course.urls.paid = "https://crm.example/jc.php?a=paid".to_owned();
    course.urls.prepaid = "https://crm.example/jc.php?a=prepaid".to_owned();
    course.urls.cancel = "https://crm.example/jc.php?a=cancel".to_owned();
    course.urls.moneyback = "https://crm.example/jc.php?a=moneyback".to_owned();

    let mut video = ProductSpec::new(code("code2"), "Video pack", Money::from_minor(250_000));
    video.partner_fees = BTreeMap::from([(1, Commission::Fixed(Money::from_minor(30_000)))]);
    video.urls.new_order = make_url.to_owned();

    let mut book = ProductSpec::new(code("book1"), "Printed book", Money::from_minor(150_000));
    book.physical = true;

    vec![course, video, book]
}

fn line(name: &str, sum: &str) -> GoodsLine {
    GoodsLine {
        name: name.to_owned(),
        sum: sum.to_owned(),
    }
}

fn paid_order_request() -> OrderRequest {
    let customer = Customer {
        email: "client@example.com".to_owned(),
        first_name: "Maria".to_owned(),
        last_name: "Ivanova".to_owned(),
        ..Customer::default()
    };
    OrderRequest {
        coupon: "coupon50proc".to_owned(),
        partners: vec![PartnerRef::Login("anna".to_owned())],
        domain: bill_domain("https://shop.example/"),
        client_ip: "203.0.113.7".to_owned(),
        ..OrderRequest::new(customer, vec![line("code1", "")], 1_572_678_000)
    }
}

fn waiting_order_request() -> OrderRequest {
    let customer = Customer {
        email: "client@example.com".to_owned(),
        first_name: "Иван".to_owned(),
        last_name: "Petrov".to_owned(),
        phone: "+77777777777".to_owned(),
        city: "Москва".to_owned(),
        address: "Lenina 1, kv. 2".to_owned(),
        ..Customer::default()
    };
    let lines = vec![line("code1", "1000"), line("code2", "1999.5")];
    OrderRequest {
        comment: "Comment ~!*()'".to_owned(),
        tag: "Tag".to_owned(),
        auto_cancel: Ok(AutoCancel::ProductSetting),
        utm: Utm {
            source: "source".to_owned(),
            medium: "medium".to_owned(),
            campaign: "campaign".to_owned(),
            term: "term".to_owned(),
            content: String::new(),
        },
        client_ip: "203.0.113.7".to_owned(),
        ..OrderRequest::new(customer, lines, 1_700_000_000)
    }
}

/// Creates an order through the same rules as `CreateOrder`.
async fn create(
    store: &dyn Store,
    tenant: &Tenant,
    request: OrderRequest,
    now: i64,
) -> anyhow::Result<BillId> {
    let order = plan_order(store, tenant, request, now)
        .await
        .map_err(|e| match e {
            OrderError::Store(e) => failed(anyhow::Error::new(e)),
            OrderError::Rejected(e) => failed(anyhow::anyhow!("the sandbox order is refused: {e}")),
        })
        .context("planning a sandbox order")?;
    match store
        .create_order(tenant, order, now)
        .await
        .context("creating a sandbox order")
        .map_err(failed)?
    {
        CreatedOrder::Created(bill_id) => Ok(bill_id),
        CreatedOrder::Duplicate(bill_id) => Ok(bill_id),
    }
}

/// The lines printed after the `listening` line: where the sandbox is and commands to call it,
/// each signed for exactly the body it sends.
pub fn instructions(sandbox: &Sandbox, addr: SocketAddr) -> String {
    let port = addr.port();
    let base = format!("http://{LOGIN}.localhost:{port}");
    let mut out = String::new();
    if !sandbox.documented_secret {
        out.push_str(&format!(
            "sandbox: tenant {LOGIN} exists with a secret of its own; see `clickbill tenant show \
             {LOGIN}` (no examples printed)\n"
        ));
        return out;
    }
    let state = if sandbox.seeded {
        "created now"
    } else {
        "kept from an earlier run"
    };
    out.push_str(&format!(
        "sandbox: tenant {LOGIN} (secret {SECRET}, {state}) at {base}: products code1, code2, \
         book1; order {} to read\n",
        sandbox.example_bill
    ));
    if !(addr.ip().is_loopback() || addr.ip().is_unspecified()) {
        out.push_str(&format!(
            "sandbox: {LOGIN}.localhost is this machine's loopback, where this server does not \
             listen ({addr}); call it by a name under a --base-domain instead\n"
        ));
    }
    let goods_body = body(&[]);
    let details_params = [
        (Key::from("bill_id"), Data::Int(sandbox.example_bill)),
        (Key::from("good_info"), Data::Int(1)),
    ];
    let details_body = body(&details_params);
    out.push_str("try:\n");
    out.push_str(&format!(
        "  curl -s {base}/api/GetAllGoods -d '{goods_body}'\n"
    ));
    out.push_str(&format!(
        "  curl -s {base}/api/getOrderDetails -d '{details_body}'\n"
    ));
    out.push_str(&format!(
        "  php -r '$d=[\"bill_id\"=>{bill},\"good_info\"=>1];\
         $d[\"hash\"]=md5(http_build_query($d).\"::{LOGIN}::{SECRET}\");\
         $c=curl_init(\"{base}/api/getOrderDetails\");\
         curl_setopt_array($c,[CURLOPT_POSTFIELDS=>http_build_query($d),CURLOPT_RETURNTRANSFER=>true]);\
         echo curl_exec($c),\"\\n\";'\n",
        bill = sandbox.example_bill
    ));
    out.push_str(&format!(
        "  clickbill call --url {base} --login {LOGIN} --secret {SECRET} getOrderDetails \
         bill_id={}\n",
        sandbox.example_bill
    ));
    out
}

fn body(params: &[(Key, Data)]) -> String {
    String::from_utf8(signed_body(params, LOGIN, SECRET)).expect("an encoded query is ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_examples_carry_the_documented_hashes() {
        let sandbox = Sandbox {
            seeded: true,
            documented_secret: true,
            example_bill: 12345,
        };
        let text = instructions(&sandbox, "127.0.0.1:8080".parse().unwrap());
        // SPEC §14.4 and §13.2: the empty set and `bill_id=12345&good_info=1` signed for
        // demo/secret.
        assert!(text.contains(
            "curl -s http://demo.localhost:8080/api/GetAllGoods -d 'hash=07d7c258e970b0e2fd9c7694ed0046c8'"
        ));
        assert!(
            text.contains("-d 'bill_id=12345&good_info=1&hash=f780f460f995b8bd78e136e000a9c068'")
        );
        assert!(text.contains("php -r '"));
        assert!(!text.contains("does not listen"));
    }

    #[test]
    fn a_foreign_demo_tenant_gets_no_examples() {
        let sandbox = Sandbox {
            seeded: false,
            documented_secret: false,
            example_bill: 1,
        };
        let text = instructions(&sandbox, "127.0.0.1:8080".parse().unwrap());
        assert!(!text.contains("curl"));
    }
}
