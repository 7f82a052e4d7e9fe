//! Order methods: CreateOrder (1.0), getOrderDetails, GetOrderInfo, UpdateOrderStatus,
//! DeleteOrder (SPEC §13.1–§13.3, §13.7, §13.8).

use super::{Call, Failure, Outcome};
use crate::render::{order_object, OrderView};
use clickbill_domain::checkout::{plan_order, GoodsLine, OrderError, OrderRejection, OrderRequest};
use clickbill_domain::model::{BillId, Order, Utm};
use clickbill_domain::order::{StatusChange, StatusRefusal};
use clickbill_domain::{CreatedOrder, OrderChange, OrderUpdate};
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::{ApiError, Success};
use clickbill_protocol::value::{clean_text, Params};
use php_form::{Map, Value};
use std::net::IpAddr;

/// CreateOrder with the API 1.0 parameters (§13.1).
pub async fn create_order(call: &Call<'_>) -> Outcome {
    let request = order_request(&call.params, call.client_ip);
    let store = call.state.store.as_ref();
    let now = call.state.clock.now();
    let order = match plan_order(store, call.tenant, &request, now).await {
        Ok(order) => order,
        Err(OrderError::Rejected(rejection)) => return Err(rejected(rejection).into()),
        Err(OrderError::Store(error)) => return Err(error.into()),
    };
    match store.create_order(call.tenant, order, now).await? {
        CreatedOrder::Created(bill_id) => Ok(Envelope::order_created(bill_id.get())),
        CreatedOrder::Duplicate(bill_id) => Err(ApiError::DuplicateOrder {
            bill_id: bill_id.get(),
        }
        .into()),
    }
}

/// The order request of §13.1.1 as received: text cleaned to UTF-8 (§7.2), single values that
/// arrived as arrays read as `""` (§7.1).
fn order_request(params: &Params<'_>, client_ip: IpAddr) -> OrderRequest {
    let text = |name: &str| params.text(name).into_owned();
    let goods = params
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
        });
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
    OrderRequest {
        email: text("bill_email"),
        goods,
        first_name: text("bill_first_name"),
        surname: text("bill_surname"),
        middle_name: text("bill_middle_name"),
        otchestvo: text("bill_otchestvo"),
        phone: text("bill_phone"),
        country: text("bill_country"),
        region: text("bill_region"),
        city: text("bill_city"),
        address: text("bill_address"),
        postal_code: text("bill_postal_code"),
        kupon: text("bill_kupon"),
        tag: text("bill_tag"),
        comment: text("bill_comment"),
        timer_kill: text("bill_timer_kill"),
        created: text("bill_created"),
        domain: text("bill_domain"),
        utm: utm_values("utm"),
        aff_utm: utm_values("aff"),
        aff: text("bill_aff"),
        aff_name: text("bill_aff_name"),
        paff: params
            .list("bill_paff")
            .into_iter()
            .map(clean_text)
            .collect(),
        paff_name: text("bill_paff_name"),
        client_ip: client_ip.to_string(),
    }
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

    #[test]
    fn order_request_of_13_1_5() {
        let map = php_form::parse(b"bill_address=Lenina+1%2C+kv.+2&bill_city=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&bill_comment=Comment+%7E%21%2A%28%29%27&bill_email=client%40example.com&bill_first_name=%D0%98%D0%B2%D0%B0%D0%BD&bill_surname=Petrov&bill_phone=%2B77777777777&bill_tag=Tag&bill_timer_kill=1&utm%5Butm_source%5D=source&utm%5Butm_medium%5D=medium&utm%5Butm_campaign%5D=campaign&utm%5Butm_term%5D=term&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000&goods%5B1%5D%5Bgood_name%5D=code2&goods%5B1%5D%5Bgood_sum%5D=1999.5&bill_created=1700000000");
        let request = order_request(&Params::new(&map), "203.0.113.7".parse().unwrap());
        assert_eq!(request.email, "client@example.com");
        assert_eq!(request.city, "Москва");
        assert_eq!(request.comment, "Comment ~!*()'");
        assert_eq!(
            request.goods,
            Some(vec![
                GoodsLine {
                    name: "code1".into(),
                    sum: "1000".into()
                },
                GoodsLine {
                    name: "code2".into(),
                    sum: "1999.5".into()
                },
            ])
        );
        assert_eq!(request.utm.medium, "medium");
        assert_eq!(request.utm.content, "");
        assert_eq!(request.aff_utm, Utm::default());
        assert_eq!(request.client_ip, "203.0.113.7");
    }

    #[test]
    fn order_request_shapes() {
        let map = php_form::parse(
            b"goods[]=code1&goods[1][good_name][]=x&bill_email[]=a&bill_paff=5&utm=plain&bill_comment=%FF",
        );
        let request = order_request(&Params::new(&map), "127.0.0.1".parse().unwrap());
        assert_eq!(
            request.goods,
            Some(vec![
                GoodsLine {
                    name: "code1".into(),
                    sum: String::new()
                },
                GoodsLine::default(),
            ])
        );
        assert_eq!(request.email, "");
        assert_eq!(request.paff, ["5"]);
        assert_eq!(request.utm, Utm::default());
        assert_eq!(request.comment, "\u{fffd}");
        let map = php_form::parse(b"goods=code1");
        assert_eq!(
            order_request(&Params::new(&map), "127.0.0.1".parse().unwrap()).goods,
            None
        );
    }
}
