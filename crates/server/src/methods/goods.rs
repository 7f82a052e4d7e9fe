//! Product methods: AddGood, UpdateGood, DeleteGood, GetAllGoods (SPEC §14.1–§14.4).

use super::{Call, Failure, Outcome};
use clickbill_domain::contacts::{find_group, GroupKind, NewGroup};
use clickbill_domain::model::{Commission, GoodName, ProductPatch, ProductSpec};
use clickbill_domain::StoreError;
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::ApiError;
use clickbill_protocol::methods::GoodObject;
use clickbill_protocol::value::{comma_list, is_blank, parse_bool, trim_ws, Params};
use php_form::{Key, Value};
use std::collections::BTreeMap;

/// Reads every product attribute of §14.1, `None` where the parameter is blank; a malformed value
/// is `3` / `Wrong posted data`.
fn attributes(params: &Params<'_>) -> Result<ProductPatch, ApiError> {
    let text = |name: &str| (!params.is_blank(name)).then(|| params.text(name).into_owned());
    let money = |name: &str| params.money(name).map_err(|_| ApiError::WrongPostedData);
    let timer_kill = match params.int("good_timer_kill") {
        Ok(Some(seconds)) if seconds < 0 => return Err(ApiError::WrongPostedData),
        Ok(value) => value,
        Err(_) => return Err(ApiError::WrongPostedData),
    };
    Ok(ProductPatch {
        title: text("good_title"),
        physical: (!params.is_blank("good_type")).then(|| is_physical(params.bytes("good_type"))),
        price: money("good_sum")?,
        parent_id: text("parent_id"),
        url_new_order: text("good_api_url_new_order"),
        url_paid: text("good_api_url_notif"),
        url_prepaid: text("good_api_url_prepaid"),
        url_cancel: text("good_api_url_cancel"),
        url_moneyback: text("good_api_url_moneyback"),
        success_link: text("good_success_link"),
        client_groups: (!params.is_blank("good_client_rassilki"))
            .then(|| comma_list(&params.text("good_client_rassilki"))),
        cash_on_delivery_only: (!params.is_blank("good_nalozh_only"))
            .then(|| parse_bool(params.bytes("good_nalozh_only"))),
        quickpost_article: text("good_quickpost_article"),
        post_service: text("good_post_service"),
        prepayment_minsum: money("good_prepayment_minsum")?,
        timer_kill,
        partner_fees: partner_fees(params.raw("good_partner_fee"))?,
    })
}

/// `good_type`: `1` or `real` is physical; any other non-blank value digital.
fn is_physical(value: &[u8]) -> bool {
    let value = trim_ws(value);
    value == b"1" || value.eq_ignore_ascii_case(b"real")
}

/// `good_partner_fee[<level>]`: levels are positive integers, values `<number>%` in (0, 100] or
/// money. A non-blank single value has no level and is malformed.
fn partner_fees(raw: Option<&Value>) -> Result<Option<BTreeMap<u32, Commission>>, ApiError> {
    let entries = match raw {
        None => return Ok(None),
        Some(Value::Bytes(bytes)) if is_blank(bytes) => return Ok(None),
        Some(Value::Bytes(_)) => return Err(ApiError::WrongPostedData),
        Some(Value::Array(entries)) => entries,
    };
    let mut fees = BTreeMap::new();
    for (key, value) in entries {
        let level = match key {
            Key::Int(level) if *level > 0 => {
                u32::try_from(*level).map_err(|_| ApiError::WrongPostedData)?
            }
            _ => return Err(ApiError::WrongPostedData),
        };
        let value = value.as_bytes().ok_or(ApiError::WrongPostedData)?;
        fees.insert(
            level,
            Commission::parse(value).ok_or(ApiError::WrongPostedData)?,
        );
    }
    Ok((!fees.is_empty()).then_some(fees))
}

/// AddGood (§14.1).
pub async fn add_good(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let required = ["good_name", "good_type", "good_title", "good_sum"];
    if required.iter().any(|name| params.is_blank(name)) {
        return Err(ApiError::NoTransmittedData.into());
    }
    let code = GoodName::parse(&params.text("good_name")).ok_or(ApiError::WrongPostedData)?;
    let patch = attributes(params)?;
    // Present: the required parameters were checked non-blank above.
    let (Some(title), Some(price)) = (patch.title.clone(), patch.price) else {
        return Err(ApiError::NoTransmittedData.into());
    };
    let mut spec = ProductSpec::new(code, title, price);
    patch.apply(&mut spec);
    match call.state.store.add_product(call.tenant.id, spec).await {
        Ok(product) => {
            create_client_groups(call, &product.spec).await?;
            Ok(Envelope::ok())
        }
        Err(StoreError::Conflict(_)) => Err(ApiError::ProductAlreadyExist.into()),
        Err(error) => Err(error.into()),
    }
}

/// UpdateGood (§14.2): existence first, then the values, then the write.
pub async fn update_good(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("good_name") {
        return Err(ApiError::NoTransmittedData.into());
    }
    let code = params.text("good_name").into_owned();
    let tenant = call.tenant.id;
    let existing = call
        .state
        .store
        .products_by_codes(tenant, std::slice::from_ref(&code))
        .await?;
    if existing.is_empty() {
        return Err(ApiError::ProductNotFound.into());
    }
    let patch = attributes(params)?;
    match call
        .state
        .store
        .update_product(tenant, &code, patch)
        .await?
    {
        Some(product) => {
            create_client_groups(call, &product.spec).await?;
            Ok(Envelope::ok())
        }
        // Deleted between the look-up and the write.
        None => Err(ApiError::ProductNotFound.into()),
    }
}

/// Client-group values that name no group create a group of kind `client` with that
/// `rass_name`, titled after the product (§14.1). A group created meanwhile by another request
/// is as good as one created here.
async fn create_client_groups(call: &Call<'_>, spec: &ProductSpec) -> Result<(), Failure> {
    if spec.client_groups.is_empty() {
        return Ok(());
    }
    let store = call.state.store.as_ref();
    let groups = store.groups(call.tenant.id).await?;
    for name in &spec.client_groups {
        if find_group(&groups, name).is_some() {
            continue;
        }
        let group = NewGroup {
            id: None,
            name: name.clone(),
            title: format!("Клиенты продукта: \"{}\"", spec.title),
            kind: GroupKind::Client,
        };
        match store.add_group(call.tenant.id, group).await {
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// DeleteGood (§14.3): a missing product and a failed removal give the same answer.
pub async fn delete_good(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("good_name") {
        return Err(ApiError::NoTransmittedData.into());
    }
    let code = params.text("good_name");
    match call.state.store.delete_product(call.tenant.id, &code).await {
        Ok(true) => Ok(Envelope::ok()),
        Ok(false) => Err(ApiError::FailedToRemoveProduct.into()),
        Err(error) => Err(Failure::from(error)),
    }
}

/// GetAllGoods (§14.4).
pub async fn get_all_goods(call: &Call<'_>) -> Outcome {
    let products = call.state.store.products(call.tenant.id).await?;
    if products.is_empty() {
        return Err(ApiError::NoProducts.into());
    }
    let goods: Vec<GoodObject> = products
        .iter()
        .map(|product| GoodObject {
            good_id: product.id.0.to_string(),
            good_name: product.spec.code.as_str().to_owned(),
            good_title: product.spec.title.clone(),
            good_type: if product.spec.physical { "1" } else { "0" }.to_owned(),
            good_sum: product.spec.price.to_string(),
        })
        .collect();
    Ok(Envelope::ok_with(&goods))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickbill_protocol::value::{Money, Percent};

    fn fees(body: &[u8]) -> Result<Option<BTreeMap<u32, Commission>>, ApiError> {
        let map = php_form::parse(body);
        partner_fees(map.get_str("good_partner_fee"))
    }

    fn pct(hundredths: i64) -> Percent {
        Percent::from_hundredths(hundredths).unwrap()
    }

    #[test]
    fn partner_fee_forms() {
        let parsed =
            fees(b"good_partner_fee[1]=10%25&good_partner_fee[2]=7.5%25&good_partner_fee[3]=300")
                .unwrap()
                .unwrap();
        assert_eq!(parsed[&1], Commission::Percent(pct(1000)));
        assert_eq!(parsed[&2], Commission::Percent(pct(750)));
        assert_eq!(parsed[&3], Commission::Fixed(Money::from_minor(30000)));
        assert_eq!(fees(b"x=1"), Ok(None));
        assert_eq!(fees(b"good_partner_fee="), Ok(None));
        for bad in [
            &b"good_partner_fee=10%25"[..],
            b"good_partner_fee[0]=10%25",
            b"good_partner_fee[-1]=10%25",
            b"good_partner_fee[x]=10%25",
            b"good_partner_fee[]=10%25",
            // One malformed value stands for all: `Commission::parse` has the value syntax.
            b"good_partner_fee[1]=abc",
            b"good_partner_fee[1][]=5",
            b"good_partner_fee[4294967296]=5",
        ] {
            assert_eq!(
                fees(bad),
                Err(ApiError::WrongPostedData),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn good_types() {
        assert!(is_physical(b"1"));
        assert!(is_physical(b"real"));
        assert!(is_physical(b"REAL"));
        assert!(!is_physical(b"0"));
        assert!(!is_physical(b"digital"));
    }
}
