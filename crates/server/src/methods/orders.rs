//! Order methods: CreateOrder (1.0), getOrderDetails, GetOrderInfo, UpdateOrderStatus,
//! DeleteOrder (SPEC §13.1–§13.3, §13.7, §13.8).

use super::{Call, Failure, Outcome};
use crate::render::{order_object, OrderView};
use clickbill_domain::checkout::{
    bill_domain, parse_created, plan_order, AutoCancel, GoodsLine, OrderError, OrderRejection,
    OrderRequest, PartnerRef,
};
use clickbill_domain::model::{BillId, Customer, InitialStatus, Order, OrderExtras, Utm};
use clickbill_domain::order::{StatusChange, StatusRefusal};
use clickbill_domain::{CreatedOrder, OrderChange, OrderUpdate};
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::{ApiError, Success};
use clickbill_protocol::value::{clean_text, is_blank, Params};
use php_form::{Map, Value};
use std::net::IpAddr;

/// CreateOrder with the API 1.0 parameters (§13.1).
pub async fn create_order(call: &Call<'_>) -> Outcome {
    let now = call.state.clock.now();
    let request = order_request(&call.params, call.client_ip, now);
    let bill_id = place_order(call, request, now).await?;
    Ok(Envelope::order_created(bill_id.get()))
}

/// Creates the order either API asks for (§13.1.2, §15.2): the new number, or the refusal
/// (a duplicate is `601` with the existing number).
pub(super) async fn place_order(
    call: &Call<'_>,
    request: OrderRequest,
    now: i64,
) -> Result<BillId, Failure> {
    let store = call.state.store.as_ref();
    let order = match plan_order(store, call.tenant, request, now).await {
        Ok(order) => order,
        Err(OrderError::Rejected(rejection)) => return Err(rejected(rejection).into()),
        Err(OrderError::Store(error)) => return Err(error.into()),
    };
    match store.create_order(call.tenant, order, now).await? {
        CreatedOrder::Created(bill_id) => Ok(bill_id),
        CreatedOrder::Duplicate(bill_id) => Err(ApiError::DuplicateOrder {
            bill_id: bill_id.get(),
        }
        .into()),
    }
}

/// The order request of §13.1.1 as received: text cleaned to UTF-8 (§7.2), single values that
/// arrived as arrays read as `""` (§7.1).
fn order_request(params: &Params<'_>, client_ip: IpAddr, now: i64) -> OrderRequest {
    let text = |name: &str| params.text(name).into_owned();
    let lines = params
        .raw("goods")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|(_, entry)| match entry {
                    Value::Array(fields) => {
                        let fields = Params::new(fields);
                        GoodsLine {
                            name: fields.text("good_name").into_owned(),
                            sum: fields.text("good_sum").into_owned(),
                        }
                    }
                    Value::Bytes(code) => GoodsLine {
                        name: clean_text(code),
                        sum: String::new(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let no_utm = Map::new();
    let utm = Params::new(
        params
            .raw("utm")
            .and_then(Value::as_array)
            .unwrap_or(&no_utm),
    );
    let utm_values = |prefix: &str| {
        let value = |name: &str| utm.text(&format!("{prefix}_{name}")).into_owned();
        Utm {
            medium: value("medium"),
            source: value("source"),
            campaign: value("campaign"),
            content: value("content"),
            term: value("term"),
        }
    };
    let utm = utm_values("utm");
    let middle_name = if params.is_blank("bill_middle_name") {
        text("bill_otchestvo")
    } else {
        text("bill_middle_name")
    };
    OrderRequest {
        customer: Customer {
            first_name: text("bill_first_name"),
            last_name: text("bill_surname"),
            middle_name,
            email: text("bill_email"),
            phone: text("bill_phone"),
            country: text("bill_country"),
            region: text("bill_region"),
            city: text("bill_city"),
            address: text("bill_address"),
            postalcode: text("bill_postal_code"),
        },
        lines,
        coupon: text("bill_kupon"),
        tag: text("bill_tag"),
        comment: text("bill_comment"),
        domain: bill_domain(&text("bill_domain")),
        client_ip: client_ip.to_string(),
        partners: partners(params, &utm),
        utm,
        aff_utm: utm_values("aff"),
        created: parse_created(&text("bill_created"), now),
        auto_cancel: AutoCancel::parse_timer_kill(&text("bill_timer_kill")),
        initial: Ok(InitialStatus::Waiting),
        extras: OrderExtras::default(),
    }
}

/// The partners of §13.1.3 by level. Level 1: `bill_aff`, else `bill_aff_name`, else the
/// `utm_source` of an `affiliate` visit; levels 2, 3, …: the `bill_paff` ids, else
/// `bill_paff_name` for level 2.
fn partners(params: &Params<'_>, utm: &Utm) -> Vec<PartnerRef> {
    let first = if !params.is_blank("bill_aff") {
        PartnerRef::by_id_text(&params.text("bill_aff"))
    } else if !params.is_blank("bill_aff_name") {
        PartnerRef::Login(params.text("bill_aff_name").into_owned())
    } else if utm.medium == "affiliate" && !is_blank(utm.source.as_bytes()) {
        PartnerRef::Login(utm.source.clone())
    } else {
        PartnerRef::Nobody
    };
    let mut levels = vec![first];
    let paff: Vec<PartnerRef> = params
        .list("bill_paff")
        .into_iter()
        .filter(|id| !is_blank(id))
        .map(|id| PartnerRef::by_id_text(&clean_text(id)))
        .collect();
    if !paff.is_empty() {
        levels.extend(paff);
    } else if !params.is_blank("bill_paff_name") {
        levels.push(PartnerRef::Login(
            params.text("bill_paff_name").into_owned(),
        ));
    }
    levels
}

fn rejected(rejection: OrderRejection) -> ApiError {
    match rejection {
        OrderRejection::ApiOrdersDisabled => ApiError::ApiOrdersDisabled,
        OrderRejection::WrongEmail(email) => ApiError::WrongEmail(email),
        OrderRejection::MissingProducts => ApiError::MissingProducts,
        OrderRejection::ProductNotExist(code) => ApiError::ProductNotExist(code),
        OrderRejection::WrongPostedData => ApiError::WrongPostedData,
        OrderRejection::MissingDeliveryData => ApiError::NoDeliveryData,
    }
}

/// A positive `bill_id`, or `None` when blank, malformed or not positive.
fn bill_id(params: &Params<'_>) -> Option<BillId> {
    params.int("bill_id").ok().flatten().and_then(BillId::new)
}

/// The non-deleted order a read method names, or `400` / `Order not found`.
async fn order_to_show(call: &Call<'_>) -> Result<Order, Failure> {
    let Some(bill_id) = bill_id(&call.params) else {
        return Err(ApiError::OrderNotFound.into());
    };
    call.state
        .store
        .order(call.tenant.id, bill_id)
        .await?
        .ok_or(Failure::Api(ApiError::OrderNotFound))
}

/// getOrderDetails (§13.2): one order object.
pub async fn get_order_details(call: &Call<'_>) -> Outcome {
    let order = order_to_show(call).await?;
    let view = OrderView {
        good_info: call.params.bool("good_info"),
        payway_name: false,
        pincode: true,
    };
    Ok(Envelope::ok_with(&order_object(&order, call.tenant, view)))
}

/// GetOrderInfo (§13.3): an array holding the one order object.
pub async fn get_order_info(call: &Call<'_>) -> Outcome {
    let order = order_to_show(call).await?;
    let view = OrderView {
        good_info: call.params.bool("good_info"),
        payway_name: call.params.bool("payway_name"),
        pincode: true,
    };
    Ok(Envelope::ok_with(&[order_object(
        &order,
        call.tenant,
        view,
    )]))
}

/// The five `status` values of UpdateOrderStatus, compared exactly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Sent,
    Return,
    Paid,
    Cancel,
    Moneyback,
}

impl Status {
    fn parse(bytes: &[u8]) -> Option<Status> {
        Some(match bytes {
            b"sent" => Status::Sent,
            b"return" => Status::Return,
            b"paid" => Status::Paid,
            b"cancel" => Status::Cancel,
            b"moneyback" => Status::Moneyback,
            _ => return None,
        })
    }
}

/// UpdateOrderStatus (§13.7), checks in the documented order.
pub async fn update_order_status(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("bill_id") {
        return Err(ApiError::OrderNumberEmpty.into());
    }
    if params.is_blank("status") {
        return Err(ApiError::WrongPostedData.into());
    }
    let bill_id = bill_id(params).ok_or(ApiError::WrongPostedData)?;
    let store = &call.state.store;
    let requested = Status::parse(params.bytes("status"))
        .ok_or(ApiError::WrongStatus)
        .and_then(|status| Ok((status, status_change(status, params)?)));
    let (status, change) = match requested {
        Ok(requested) => requested,
        // A missing order is reported before a wrong status or its parameters; only this
        // path needs a read of its own, a valid request learns it from the update.
        Err(error) => {
            return match store.order(call.tenant.id, bill_id).await? {
                None => Err(ApiError::NonexistentOrder.into()),
                Some(_) => Err(error.into()),
            };
        }
    };
    let settings = call.tenant.settings.clone();
    let apply: OrderChange = Box::new(move |order: &mut Order| order.apply(change, &settings));
    let now = call.state.clock.now();
    match store
        .update_order(call.tenant.id, bill_id, now, apply)
        .await?
    {
        OrderUpdate::NotFound => Err(ApiError::NonexistentOrder.into()),
        OrderUpdate::Refused(StatusRefusal::NotPaid) => Err(ApiError::OrderNotPaid.into()),
        OrderUpdate::Refused(StatusRefusal::NotChanged) => {
            Err(ApiError::OrderStatusNotChanged.into())
        }
        OrderUpdate::Applied(_) if status == Status::Moneyback => {
            Ok(Envelope::success(Success::OrderStatusChanged))
        }
        OrderUpdate::Applied(_) => Ok(Envelope::ok()),
    }
}

/// The parameters each status needs (§13.7 step 6); anything missing or malformed is `3`.
fn status_change(status: Status, params: &Params<'_>) -> Result<StatusChange, ApiError> {
    let positive_date = || match params.int("date") {
        Ok(Some(date)) if date > 0 => Ok(date),
        _ => Err(ApiError::WrongPostedData),
    };
    let non_blank = |name: &str| {
        (!params.is_blank(name))
            .then(|| params.text(name).into_owned())
            .ok_or(ApiError::WrongPostedData)
    };
    Ok(match status {
        Status::Sent => StatusChange::Sent {
            date: positive_date()?,
            rpo: non_blank("rpo")?,
        },
        Status::Return => StatusChange::Returned,
        Status::Paid => {
            let date = positive_date()?;
            let amount = match params.money("sum") {
                Ok(Some(amount)) if amount.minor() > 0 => Some(amount),
                Ok(None) => None,
                _ => return Err(ApiError::WrongPostedData),
            };
            StatusChange::Paid {
                date,
                amount,
                payway: non_blank("payway").ok(),
            }
        }
        Status::Cancel => StatusChange::Cancel,
        Status::Moneyback => StatusChange::Moneyback {
            ext_ref_no: non_blank("ext_ref_no")?,
        },
    })
}

/// DeleteOrder (§13.8).
pub async fn delete_order(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("bill_id") {
        return Err(ApiError::OrderNumberEmpty.into());
    }
    let bill_id = bill_id(params).ok_or(ApiError::NonexistentOrder)?;
    if call
        .state
        .store
        .delete_order(call.tenant.id, bill_id)
        .await?
    {
        Ok(Envelope::ok())
    } else {
        Err(ApiError::NonexistentOrder.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_domain::model::PartnerId;

    fn request(body: &[u8]) -> OrderRequest {
        let map = php_form::parse(body);
        order_request(&Params::new(&map), "203.0.113.7".parse().unwrap(), 99)
    }

    #[test]
    fn order_request_of_13_1_5() {
        let request = request(b"bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000");
        assert_eq!(request.customer.email, "client@example.com");
        assert_eq!(request.customer.last_name, "Petrov");
        assert_eq!(request.customer.city, "Москва");
        assert_eq!(request.comment, "Comment ~!*()'");
        assert_eq!(
            request.lines,
            vec![
                GoodsLine {
                    name: "code1".into(),
                    sum: "1000".into()
                },
                GoodsLine {
                    name: "code2".into(),
                    sum: "1999.5".into()
                },
            ]
        );
        assert_eq!(request.utm.medium, "medium");
        assert_eq!(request.utm.content, "");
        assert_eq!(request.aff_utm, Utm::default());
        assert_eq!(request.client_ip, "203.0.113.7");
        assert_eq!(request.created, Ok(1_700_000_000));
        assert_eq!(request.auto_cancel, Ok(AutoCancel::ProductSetting));
        assert_eq!(request.initial, Ok(InitialStatus::Waiting));
        assert_eq!(request.partners, [PartnerRef::Nobody]);
    }

    #[test]
    fn order_request_shapes() {
        let request = request(
            b"goods[]=code1&goods[1][good_name][]=x&bill_email[]=a&bill_paff=5&utm=plain&bill_comment=%FF&bill_created=x&bill_otchestvo=O",
        );
        assert_eq!(
            request.lines,
            vec![
                GoodsLine {
                    name: "code1".into(),
                    sum: String::new()
                },
                GoodsLine::default(),
            ]
        );
        assert_eq!(request.customer.email, "");
        assert_eq!(request.customer.middle_name, "O");
        assert_eq!(
            request.partners,
            [PartnerRef::Nobody, PartnerRef::Id(PartnerId(5))]
        );
        assert_eq!(request.utm, Utm::default());
        assert_eq!(request.comment, "\u{fffd}");
        assert!(request.created.is_err());
        assert!(self::request(b"goods=code1").lines.is_empty());
        assert_eq!(self::request(b"bill_created=0").created, Ok(99));
    }

    #[test]
    fn partners_in_the_precedence_of_13_1_3() {
        let partners = |body: &[u8]| request(body).partners;
        let login = |l: &str| PartnerRef::Login(l.to_owned());
        let id = |n: i64| PartnerRef::Id(PartnerId(n));
        assert_eq!(
            partners(b"bill_aff=17&bill_aff_name=boris&bill_paff_name=anna"),
            [id(17), login("anna")]
        );
        assert_eq!(partners(b"bill_aff_name=anna"), [login("anna")]);
        assert_eq!(
            partners(b"utm[utm_medium]=affiliate&utm[utm_source]=anna"),
            [login("anna")]
        );
        assert_eq!(
            partners(b"utm[utm_medium]=Affiliate&utm[utm_source]=anna"),
            [PartnerRef::Nobody]
        );
        assert_eq!(
            partners(b"bill_aff=x&bill_paff[]=5&bill_paff[]=&bill_paff[]=6&bill_paff_name=anna"),
            [PartnerRef::Nobody, id(5), id(6)]
        );
    }
}
