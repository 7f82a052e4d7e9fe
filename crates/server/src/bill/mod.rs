//! The bill page (SPEC §10.6): `GET /bill/?id=..&crc=..` on any host of the tenant shows the
//! order to its buyer; `POST` to the same address carries out the payment the buyer chose with
//! one of the tenant's payment providers, through the order rule `UpdateOrderStatus` uses.
//!
//! Unknown hosts, disabled tenants, unknown or deleted orders and a missing or wrong `crc` are
//! all the same 404, so the page tells nothing about orders to someone without their link.

mod texts;

use crate::api::{authority, AppState};
use crate::body;
use crate::config::ServerConfig;
use askama::Template;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clickbill_domain::model::{BillId, Order, PayStatus, Tenant};
use clickbill_domain::order::StatusRefusal;
use clickbill_domain::payment::{
    self, Choice, Offer, Outcome, Paid, PaymentProvider, PaymentRefusal, TestProvider,
};
use clickbill_domain::{OrderChange, OrderUpdate, StoreError};
use clickbill_protocol::sign::{bill_crc, hash_matches};
use clickbill_protocol::value::{Money, Params};
use http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode};
use std::sync::Arc;
use texts::{Lang, Texts};

/// The path of the page; `/bill` without the slash is accepted too.
const PATH: &str = "/bill/";

/// Every payment provider clickbill has; which of them a tenant's page offers is decided per
/// request by [`BillState::providers`].
static TEST_PROVIDER: TestProvider = TestProvider;

/// The routes of the bill page, for the server's router.
pub fn routes<S>(app: Arc<AppState>, config: &ServerConfig) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let state = Arc::new(BillState {
        app,
        test_payments_for_all: config.test_payments,
    });
    Router::new()
        .route(PATH, get(show).post(pay))
        .route("/bill", get(show).post(pay))
        .with_state(state)
}

struct BillState {
    app: Arc<AppState>,
    /// A sandbox server offers the test provider to every tenant.
    test_payments_for_all: bool,
}

impl BillState {
    fn providers(&self, tenant: &Tenant) -> Vec<&'static dyn PaymentProvider> {
        offered_providers(self.test_payments_for_all, tenant)
    }
}

/// The providers `tenant`'s page offers, in the order shown.
fn offered_providers(
    test_payments_for_all: bool,
    tenant: &Tenant,
) -> Vec<&'static dyn PaymentProvider> {
    let mut providers: Vec<&'static dyn PaymentProvider> = Vec::new();
    if test_payments_for_all || tenant.settings.test_payments {
        providers.push(&TEST_PROVIDER);
    }
    providers
}

/// The order a request's address names, with what the page needs around it.
struct Bill {
    tenant: Arc<Tenant>,
    order: Order,
    crc: String,
    lang: Lang,
}

/// What a request's address asks for, before the store is asked.
struct Address {
    bill: Option<(Arc<Tenant>, BillId, String)>,
    lang: Lang,
    notice: Option<Notice>,
}

/// Reads the host and the query: the tenant, the bill number when `crc` proves it, the language
/// and the notice of a redirect.
fn address(state: &BillState, parts: &Parts) -> Address {
    let query = php_form::parse(parts.uri.query().unwrap_or("").as_bytes());
    let query = Params::new(&query);
    let accept_language = parts
        .headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang_param = query.text("lang");
    let lang = Lang::choose(
        (!lang_param.is_empty()).then_some(&*lang_param),
        accept_language,
    );
    let notice = match query.bytes("notice") {
        b"paid" => Some(Notice::Paid),
        b"prepaid" => Some(Notice::Prepaid),
        _ => None,
    };
    let tenant = authority(&parts.uri, &parts.headers)
        .and_then(|a| state.app.tenants.resolve(a))
        .filter(|t| t.enabled);
    let bill = tenant.and_then(|tenant| {
        let bill_id = query.int("id").ok().flatten().and_then(BillId::new)?;
        let crc = bill_crc(&tenant.secret, bill_id.get());
        hash_matches(&crc, query.bytes("crc")).then_some((tenant, bill_id, crc))
    });
    Address { bill, lang, notice }
}

/// The order the address names, or the 404 page.
async fn locate(address: &Address, state: &BillState) -> Result<Bill, Response> {
    let not_found = || not_found_page(address.lang);
    let Some((tenant, bill_id, crc)) = &address.bill else {
        return Err(not_found());
    };
    match state.app.store.order(tenant.id, *bill_id).await {
        Ok(Some(order)) => Ok(Bill {
            tenant: Arc::clone(tenant),
            order,
            crc: crc.clone(),
            lang: address.lang,
        }),
        Ok(None) => Err(not_found()),
        Err(error) => Err(store_failure(&error, address.lang)),
    }
}

/// `GET /bill/`: the page.
async fn show(State(state): State<Arc<BillState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let address = address(&state, &parts);
    match locate(&address, &state).await {
        Ok(bill) => page(&state, &bill, address.notice, StatusCode::OK),
        Err(response) => response,
    }
}

/// `POST /bill/`: one payment attempt.
async fn pay(State(state): State<Arc<BillState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let form = body::read_params(
        &parts.headers,
        body,
        state.app.read_timeout,
        state.app.max_body_bytes,
    )
    .await;
    let address = address(&state, &parts);
    let bill = match locate(&address, &state).await {
        Ok(bill) => bill,
        Err(response) => return response,
    };
    let form = Params::new(&form.params);
    let providers = state.providers(&bill.tenant);
    let provider = providers
        .iter()
        .copied()
        .find(|p| p.id().as_bytes() == form.bytes("provider"));
    let outcome = Outcome::parse(&form.text("outcome"));
    let seen_to_pay = Money::parse(form.bytes("seen")).ok();
    let (Some(provider), Some(outcome), Some(seen_to_pay)) = (provider, outcome, seen_to_pay)
    else {
        return page(
            &state,
            &bill,
            Some(Notice::BadForm),
            StatusCode::BAD_REQUEST,
        );
    };
    let choice = Choice {
        outcome,
        amount: buyer_amount(form.bytes("amount")),
        seen_to_pay,
    };
    let now = state.app.clock.now();
    let settings = bill.tenant.settings.clone();

    // Checked first on the order as read, for a precise answer; the write checks again on the
    // order as it is then, so that two attempts at once cannot both pay.
    let mut preview = bill.order.clone();
    match payment::pay(provider, &mut preview, &settings, choice, now) {
        Err(refusal) => return refused(&state, &bill, refusal),
        Ok(Paid::Declined) => {
            return page(&state, &bill, Some(Notice::Declined), StatusCode::OK);
        }
        Ok(Paid::Recorded(_)) => {}
    }
    let change: OrderChange = Box::new(move |order: &mut Order| {
        match payment::pay(provider, order, &settings, choice, now) {
            Ok(Paid::Recorded(events)) => Ok(events),
            Ok(Paid::Declined) | Err(_) => Err(StatusRefusal::NotPaid),
        }
    });
    let store = &state.app.store;
    let order = bill.order.bill_id;
    match store.update_order(bill.tenant.id, order, now, change).await {
        Ok(OrderUpdate::Applied(_)) => {}
        Ok(OrderUpdate::NotFound) => return not_found_page(bill.lang),
        Ok(OrderUpdate::Refused(_)) => {
            return refused_after_race(&state, bill, provider, choice, now).await;
        }
        Err(error) => return store_failure(&error, bill.lang),
    }
    match store.order(bill.tenant.id, order).await {
        Ok(Some(paid)) if paid.pay_status == PayStatus::Paid => {
            let target = success_link(&state, &bill.tenant, &paid)
                .await
                .unwrap_or_else(|| bill_url(&bill, Some(Notice::Paid)));
            see_other(&target)
        }
        Ok(_) => see_other(&bill_url(&bill, Some(Notice::Prepaid))),
        Err(error) => store_failure(&error, bill.lang),
    }
}

/// An amount as a buyer types it: `1000`, `1000.5`, `1 000,50`.
fn buyer_amount(bytes: &[u8]) -> Option<Money> {
    let text: Vec<u8> = bytes
        .iter()
        .filter(|b| !matches!(b, b' ' | b'\t'))
        .map(|&b| if b == b',' { b'.' } else { b })
        .collect();
    Money::parse(&text).ok()
}

/// The write refused what the first check accepted: the order changed in between (another
/// attempt, an API call). The buyer is told why, on the order as it is now.
async fn refused_after_race(
    state: &BillState,
    mut bill: Bill,
    provider: &'static dyn PaymentProvider,
    choice: Choice,
    now: i64,
) -> Response {
    match state
        .app
        .store
        .order(bill.tenant.id, bill.order.bill_id)
        .await
    {
        Ok(Some(order)) => {
            bill.order = order;
            let mut preview = bill.order.clone();
            let refusal = payment::pay(provider, &mut preview, &bill.tenant.settings, choice, now)
                .err()
                .unwrap_or(PaymentRefusal::Stale);
            refused(state, &bill, refusal)
        }
        Ok(None) => not_found_page(bill.lang),
        Err(error) => store_failure(&error, bill.lang),
    }
}

fn refused(state: &BillState, bill: &Bill, refusal: PaymentRefusal) -> Response {
    let status = match refusal {
        PaymentRefusal::AmountMissing | PaymentRefusal::AmountOutOfRange { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        PaymentRefusal::NotPayable
        | PaymentRefusal::Stale
        | PaymentRefusal::NotOffered
        | PaymentRefusal::Refused => StatusCode::CONFLICT,
    };
    page(state, bill, Some(Notice::Refused(refusal)), status)
}

/// The `success_link` of the first of the order's products that has one, when it is a URL a
/// browser can be sent to.
async fn success_link(state: &BillState, tenant: &Tenant, order: &Order) -> Option<String> {
    let codes: Vec<String> = order.items.iter().map(|i| i.code.clone()).collect();
    let products = match state.app.store.products_by_codes(tenant.id, &codes).await {
        Ok(products) => products,
        Err(error) => {
            tracing::error!(%error, tenant = %tenant.login, "bill page: cannot read the products");
            return None;
        }
    };
    order.items.iter().find_map(|item| {
        let product = products.iter().find(|p| p.id == item.product_id)?;
        let link = product.spec.success_link.trim();
        let lower = link.to_ascii_lowercase();
        let usable = (lower.starts_with("http://") || lower.starts_with("https://"))
            || link.starts_with('/');
        (usable && HeaderValue::from_str(link).is_ok()).then(|| link.to_owned())
    })
}

/// The page's own address (relative), in the page's language, with a notice to show.
fn bill_url(bill: &Bill, notice: Option<Notice>) -> String {
    bill_url_in(bill, bill.lang, notice)
}

fn bill_url_in(bill: &Bill, lang: Lang, notice: Option<Notice>) -> String {
    let mut url = format!(
        "{PATH}?id={}&crc={}&lang={}",
        bill.order.bill_id,
        bill.crc,
        lang.code()
    );
    match notice {
        Some(Notice::Paid) => url.push_str("&notice=paid"),
        Some(Notice::Prepaid) => url.push_str("&notice=prepaid"),
        _ => {}
    }
    url
}

/// A message shown above the bill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Notice {
    Paid,
    Prepaid,
    Declined,
    BadForm,
    Refused(PaymentRefusal),
}

impl Notice {
    fn text(self, t: &Texts) -> &'static str {
        match self {
            Notice::Paid => t.notice_paid,
            Notice::Prepaid => t.notice_prepaid,
            Notice::Declined => t.notice_declined,
            Notice::BadForm => t.bad_form,
            Notice::Refused(refusal) => match refusal {
                PaymentRefusal::NotPayable => t.refused_not_payable,
                PaymentRefusal::Stale => t.refused_stale,
                PaymentRefusal::NotOffered => t.refused_not_offered,
                PaymentRefusal::AmountMissing => t.refused_amount_missing,
                PaymentRefusal::AmountOutOfRange { .. } => t.refused_amount_range,
                PaymentRefusal::Refused => t.refused_rule,
            },
        }
    }

    /// `good` for a payment made, `bad` for anything that was not.
    fn class(self) -> &'static str {
        match self {
            Notice::Paid | Notice::Prepaid => "good",
            Notice::Declined | Notice::BadForm | Notice::Refused(_) => "bad",
        }
    }
}

#[derive(Template)]
#[template(path = "bill.html")]
struct BillPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    other_lang_name: &'static str,
    other_lang_url: String,
    seller: &'a str,
    bill_id: i64,
    status_text: &'static str,
    status_class: &'static str,
    buyer: String,
    comment: &'a str,
    items: Vec<ItemRow<'a>>,
    kupon: &'a str,
    total: Money,
    paid: Money,
    left: Money,
    notice: Option<NoticeView>,
    form_action: String,
    providers: Vec<ProviderBlock>,
    payable: bool,
}

struct NoticeView {
    text: &'static str,
    class: &'static str,
}

struct ItemRow<'a> {
    title: &'a str,
    price: Money,
    sum: Money,
}

/// The amounts a part payment may have.
struct PartOffer {
    min: Money,
    max: Money,
}

/// The forms of one provider.
struct ProviderBlock {
    name: &'static str,
    note: &'static str,
    id: &'static str,
    seen: Money,
    full: Option<Money>,
    part: Option<PartOffer>,
    decline: bool,
}

#[derive(Template)]
#[template(path = "bill_not_found.html")]
struct NotFoundPage {
    t: &'static Texts,
    lang: &'static str,
}

fn page(state: &BillState, bill: &Bill, notice: Option<Notice>, status: StatusCode) -> Response {
    let t = bill.lang.texts();
    let order = &bill.order;
    let (status_text, status_class) = match order.pay_status {
        PayStatus::Waiting if order.payments.is_empty() => (t.waiting, "waiting"),
        PayStatus::Waiting => (t.part_paid, "waiting"),
        PayStatus::Paid => (t.status_paid, "paid"),
        PayStatus::Cancel => (t.cancelled, "closed"),
        PayStatus::Moneyback => (t.refunded, "closed"),
    };
    let customer = &order.customer;
    let buyer = [
        &customer.first_name,
        &customer.middle_name,
        &customer.last_name,
    ]
    .iter()
    .filter(|part| !part.trim().is_empty())
    .map(|part| part.trim())
    .collect::<Vec<_>>()
    .join(" ");
    let providers = state
        .providers(&bill.tenant)
        .into_iter()
        .filter_map(|provider| provider_block(provider, order, &bill.tenant, t))
        .collect();
    let view = BillPage {
        t,
        lang: bill.lang.code(),
        other_lang_name: bill.lang.other().texts().language_name,
        other_lang_url: bill_url_in(bill, bill.lang.other(), None),
        seller: bill.tenant.login.as_str(),
        bill_id: order.bill_id.get(),
        status_text,
        status_class,
        buyer,
        comment: &order.comment,
        items: order
            .items
            .iter()
            .map(|item| ItemRow {
                title: &item.title,
                price: item.price,
                sum: item.sum,
            })
            .collect(),
        kupon: &order.kupon,
        total: order.price(),
        paid: order.total_paid(),
        left: order.to_pay(),
        notice: notice.map(|n| NoticeView {
            text: n.text(t),
            class: n.class(),
        }),
        form_action: bill_url(bill, None),
        providers,
        payable: order.pay_status == PayStatus::Waiting,
    };
    html(status, view.render())
}

fn provider_block(
    provider: &'static dyn PaymentProvider,
    order: &Order,
    tenant: &Tenant,
    t: &'static Texts,
) -> Option<ProviderBlock> {
    let offers = provider.offers(order, &tenant.settings);
    if offers.is_empty() {
        return None;
    }
    let find = |outcome| offers.iter().find(|o: &&Offer| o.outcome == outcome);
    Some(ProviderBlock {
        name: t.test_provider,
        note: t.test_provider_note,
        id: provider.id(),
        seen: order.to_pay(),
        full: find(Outcome::PayInFull).map(|o| o.max),
        part: find(Outcome::PayPart).map(|o| PartOffer {
            min: o.min,
            max: o.max,
        }),
        decline: find(Outcome::Decline).is_some(),
    })
}

fn not_found_page(lang: Lang) -> Response {
    let view = NotFoundPage {
        t: lang.texts(),
        lang: lang.code(),
    };
    html(StatusCode::NOT_FOUND, view.render())
}

fn store_failure(error: &StoreError, lang: Lang) -> Response {
    tracing::error!(%error, "bill page: the store failed");
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        match lang {
            Lang::Ru => "Сервис временно недоступен. Попробуйте позже.",
            Lang::En => "The service is unavailable for a moment. Please try again later.",
        },
    )
        .into_response();
    secure(&mut response);
    response
}

fn html(status: StatusCode, rendered: askama::Result<String>) -> Response {
    let mut response = match rendered {
        Ok(body) => (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "bill page: a template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    secure(&mut response);
    response
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    secure(&mut response);
    response
}

/// Headers of every answer: the page changes with each payment and carries the bill's crc, so
/// it is never cached and its address never leaves as a referrer (not even to the success
/// link); no script may run on it and no other site may frame it.
fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("referrer-policy"),
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_provider_is_offered_by_the_sandbox_or_the_tenant_setting() {
        let mut tenant = Tenant {
            id: clickbill_domain::model::TenantId(1),
            login: clickbill_protocol::value::Login::parse("shop").unwrap(),
            secret: "s".into(),
            enabled: true,
            custom_domains: Vec::new(),
            settings: clickbill_domain::model::TenantSettings::default(),
        };
        let ids = |all: bool, tenant: &Tenant| -> Vec<&str> {
            offered_providers(all, tenant)
                .iter()
                .map(|p| p.id())
                .collect()
        };
        assert!(ids(false, &tenant).is_empty());
        assert_eq!(ids(true, &tenant), ["test"]);
        tenant.settings.test_payments = true;
        assert_eq!(ids(false, &tenant), ["test"]);
        assert_eq!(ids(true, &tenant), ["test"]);
    }

    #[test]
    fn buyers_may_type_amounts_loosely() {
        let amount = |text: &str| buyer_amount(text.as_bytes()).map(Money::minor);
        assert_eq!(amount("1000"), Some(100_000));
        assert_eq!(amount("1 000,50"), Some(100_050));
        assert_eq!(amount(" 999.99 "), Some(99_999));
        assert_eq!(amount(""), None);
        assert_eq!(amount("-5"), None);
        assert_eq!(amount("1e3"), None);
    }
}
