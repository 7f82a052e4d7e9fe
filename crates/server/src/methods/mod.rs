//! The methods behind `/api/*`, after routing and the common checks.
//!
//! Each handler reads its parameters, asks the domain and renders the answer; failures it
//! expects are [`ApiError`]s, everything else is a [`Failure::Internal`] that [`dispatch`] logs
//! and answers with the method's failure code (SPEC §2.3: never a 5xx).

mod contacts;
mod goods;
mod listings;
mod orders;
mod v2;

use crate::api::AppState;
use clickbill_domain::model::Tenant;
use clickbill_domain::StoreError;
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::ApiError;
use clickbill_protocol::method::{ApiVersion, Method};
use clickbill_protocol::value::Params;
use futures_util::FutureExt;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;

/// One authenticated call of a method.
pub struct Call<'a> {
    pub state: &'a AppState,
    pub tenant: &'a Tenant,
    /// The parameters without `hash`, `rpsKey` and `rps_key`.
    pub params: Params<'a>,
    pub client_ip: IpAddr,
    /// Identifies the request in log lines.
    pub request_id: u64,
}

/// Why a method did not produce its answer.
#[derive(Debug)]
pub enum Failure {
    /// An outcome of the error catalogue.
    Api(ApiError),
    /// Something that should not happen (storage down, a bug): logged, answered with the
    /// method's failure code.
    Internal(anyhow::Error),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        Failure::Api(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Internal(error.into())
    }
}

pub type Outcome = Result<Envelope, Failure>;

/// The answer of a method.
pub struct Answer {
    pub envelope: Envelope,
    /// The method failed unexpectedly (storage down, a bug, a method not built yet), so the
    /// envelope says nothing about what the request would give once the fault is gone.
    pub unexpected: bool,
}

/// Runs `method` and turns every outcome into an envelope. A panicking handler is answered like
/// any other unexpected failure, so that a bug costs one request its answer code, never its
/// connection.
pub async fn dispatch(method: Method, call: Call<'_>) -> Answer {
    let version = method.version_for(call.params.map());
    let outcome = AssertUnwindSafe(run(method, version, &call))
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Failure::Internal(anyhow::anyhow!(
                "handler panicked: {message}"
            )))
        });
    let unexpected = !matches!(outcome, Ok(_) | Err(Failure::Api(_)));
    let envelope = match outcome {
        Ok(envelope) => envelope,
        Err(Failure::Api(error)) => Envelope::from(error),
        Err(Failure::Internal(error)) => {
            tracing::error!(
                request_id = call.request_id,
                tenant = %call.tenant.login,
                method = %method,
                error = format!("{error:#}"),
                "method failed"
            );
            Envelope::from(failure_code(method))
        }
    };
    Answer {
        envelope,
        unexpected,
    }
}

/// The handler of each method and API version.
async fn run(method: Method, version: ApiVersion, call: &Call<'_>) -> Outcome {
    match (method, version) {
        (Method::AddGood, _) => goods::add_good(call).await,
        (Method::UpdateGood, _) => goods::update_good(call).await,
        (Method::DeleteGood, _) => goods::delete_good(call).await,
        (Method::GetAllGoods, _) => goods::get_all_goods(call).await,
        (Method::CreateOrder, ApiVersion::V1) => orders::create_order(call).await,
        (Method::CreateOrder, ApiVersion::V2) => v2::create_order(call).await,
        (Method::GetGoods, _) => v2::get_goods(call).await,
        (Method::GetCoupons, _) => v2::get_coupons(call).await,
        (Method::GetPersonalManagers, _) => v2::get_personal_managers(call).await,
        (Method::GetOrderDetails, _) => orders::get_order_details(call).await,
        (Method::GetOrderInfo, _) => orders::get_order_info(call).await,
        (Method::UpdateOrderStatus, _) => orders::update_order_status(call).await,
        (Method::DeleteOrder, _) => orders::delete_order(call).await,
        (Method::GetOrders, _) => listings::get_orders(call).await,
        (Method::GetOrdersWithGoods, _) => listings::get_orders_with_goods(call).await,
        (Method::GetBills, _) => listings::get_bills(call).await,
        (Method::GetPartnerStats, _) => listings::get_partner_stats(call).await,
        (Method::AddLeadToGroup, _) => contacts::add_lead_to_group(call).await,
        (Method::UpdateSubscriberData, _) => contacts::update_subscriber_data(call).await,
        (Method::DeleteSubscribe, _) => contacts::delete_subscribe(call).await,
        (Method::GetLeadGroups, _) => contacts::get_lead_groups(call).await,
        (Method::GetLeadGroupStatuses, _) => contacts::get_lead_group_statuses(call).await,
        (Method::GetAllGroups, _) => contacts::get_all_groups(call).await,
        (Method::GetCountSubscribe, _) => contacts::get_count_subscribe(call).await,
        (Method::AddUpdateLead, _) => contacts::add_update_lead(call).await,
        (Method::AddTagToLead, _) => contacts::add_tag_to_lead(call).await,
        (Method::RemoveTagFromLead, _) => contacts::remove_tag_from_lead(call).await,
        (Method::RemoveLeadFromList, _) => contacts::remove_lead_from_list(call).await,
        (Method::GetAllLists, _) => contacts::get_all_lists(call).await,
    }
}

/// The answer to an unexpected failure of `method` (SPEC §2.3, §13.1.2, §14.1–§14.2).
pub(crate) fn failure_code(method: Method) -> ApiError {
    match method {
        Method::CreateOrder => ApiError::ErrorCreatingOrder,
        Method::AddGood => ApiError::FailedToAddProduct,
        Method::UpdateGood | Method::DeleteGood => ApiError::FailedToRemoveProduct,
        _ => ApiError::InternalError,
    }
}
