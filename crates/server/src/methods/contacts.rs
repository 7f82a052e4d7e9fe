//! Contact and group methods: AddLeadToGroup, UpdateSubscriberData, DeleteSubscribe,
//! GetLeadGroups, GetLeadGroupStatuses, GetAllGroups, GetCountSubscribe (SPEC §12) and API 2.0
//! addupdatelead, addtagtolead, removetagfromlead, removeleadfromlist, getalllists (§15.3–§15.7).
//!
//! The handlers read parameters and resolve names; what a change does to a contact is decided by
//! [`ContactCommand::apply`] inside the store's transaction.

use super::{Call, Failure, Outcome};
use clickbill_domain::contacts::{
    find_group, AddLead, ContactCommand, ContactOutcome, CountScope, Group, GroupId, IpLimit,
    StoredContact, SubscriptionOrigin, UpsertLead, IP_LIMIT_WINDOW,
};
use clickbill_domain::model::{ManagerId, PartnerId, Utm};
use clickbill_protocol::envelope::Envelope;
use clickbill_protocol::error::{ApiError, Success};
use clickbill_protocol::methods::{GroupEntry, LeadGroupEntry, LeadGroupStatusEntry, ListEntry};
use clickbill_protocol::value::{clean_text, comma_list, trim_ws, Email, Params};
use php_form::{Map, Value};
use std::collections::BTreeMap;

/// The answer of the API 2.0 write methods: `0` / `OK` with `result` `[]` (§15.1).
fn ok_empty_list() -> Envelope {
    Envelope::ok_with(&Vec::<String>::new())
}

/// A single value as text when it is not blank.
fn non_blank(params: &Params<'_>, name: &str) -> Option<String> {
    (!params.is_blank(name)).then(|| params.text(name).into_owned())
}

/// `utm[<prefix>_medium]` … `utm[<prefix>_term]`.
fn utm_values(params: &Params<'_>, prefix: &str) -> Utm {
    let none = Map::new();
    let utm = Params::new(params.raw("utm").and_then(Value::as_array).unwrap_or(&none));
    let value = |name: &str| utm.text(&format!("{prefix}_{name}")).into_owned();
    Utm {
        medium: value("medium"),
        source: value("source"),
        campaign: value("campaign"),
        content: value("content"),
        term: value("term"),
    }
}

async fn groups(call: &Call<'_>) -> Result<Vec<Group>, Failure> {
    Ok(call.state.store.groups(call.tenant.id).await?)
}

async fn contact(call: &Call<'_>, email: &Email) -> Result<Option<StoredContact>, Failure> {
    Ok(call
        .state
        .store
        .contact_by_email(call.tenant.id, email.as_str())
        .await?)
}

async fn change(
    call: &Call<'_>,
    email: Option<&Email>,
    command: ContactCommand,
) -> Result<ContactOutcome, Failure> {
    let now = call.state.clock.now();
    Ok(call
        .state
        .store
        .change_contact(call.tenant.id, email.map(Email::as_str), command, now)
        .await?)
}

/// AddLeadToGroup (§12.1).
pub async fn add_lead_to_group(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let settings = &call.tenant.settings;
    let ip = call.client_ip.to_string();
    let limit = (settings.subscribe_limit_per_ip > 0).then(|| IpLimit {
        ip: ip.clone(),
        max: settings.subscribe_limit_per_ip,
    });
    if let Some(limit) = &limit {
        let since = call.state.clock.now() - IP_LIMIT_WINDOW;
        let calls = call
            .state
            .store
            .subscribe_calls_from(call.tenant.id, &ip, since)
            .await?;
        if calls >= u64::from(limit.max) {
            return Err(ApiError::SubscribeLimit { ip }.into());
        }
    }
    let email = Email::parse(params.bytes("lead_email")).map_err(|_| ApiError::EmailMissing)?;

    let groups = groups(call).await?;
    let mut targets: Vec<GroupId> = Vec::new();
    for value in params.list("rid") {
        let value = clean_text(trim_ws(value));
        let Some(group) = find_group(&groups, &value) else {
            continue;
        };
        if group.kind.accepts_subscriptions() && !targets.contains(&group.id) {
            targets.push(group.id);
        }
    }
    let Some(&first_target) = targets.first() else {
        return Ok(Success::InvalidSubscriptionsGroup.into());
    };

    let utm = utm_values(params, "utm");
    let partner = if params.contains("noaff") {
        None
    } else {
        attributed_partner(call, &utm).await?
    };
    let command = ContactCommand::AddLead(AddLead {
        targets,
        name: non_blank(params, "lead_name"),
        phone: non_blank(params, "lead_phone"),
        city: non_blank(params, "lead_city"),
        tag: non_blank(params, "tag"),
        activation: settings.require_activation || params.bool("activation"),
        partner,
        origin: SubscriptionOrigin {
            ip: ip.clone(),
            utm,
            aff_utm: utm_values(params, "aff"),
            doneurl2: params.text("doneurl2").into_owned(),
        },
        limit,
    });
    let outcome = change(call, Some(&email), command)
        .await
        .map_err(|failure| {
            match failure {
                // A storage failure names the group the subscription was for (§12.1 step 6); the
                // whole call is one transaction, so it stands for the first.
                Failure::Internal(error) => {
                    tracing::error!(
                        request_id = call.request_id,
                        tenant = %call.tenant.login,
                        error = format!("{error:#}"),
                        "storing a subscription failed"
                    );
                    Failure::Api(ApiError::SubscriptionError {
                        description: "storage failure".into(),
                        rass_id: first_target.0,
                    })
                }
                other => other,
            }
        })?;
    Ok(match outcome {
        ContactOutcome::AlreadyRegistered => Success::AlreadyRegistered.into(),
        ContactOutcome::ActivationNeeded => Success::ActivationEmailSent.into(),
        ContactOutcome::LimitReached => return Err(ApiError::SubscribeLimit { ip }.into()),
        _ => Envelope::ok(),
    })
}

/// The partner a new subscription attributes its contact to: the one whose id is `aff`, or
/// failing that the one `utm[utm_medium]=affiliate` names by `utm[utm_source]`.
async fn attributed_partner(call: &Call<'_>, utm: &Utm) -> Result<Option<PartnerId>, Failure> {
    let store = call.state.store.as_ref();
    if let Ok(Some(id)) = call.params.int("aff") {
        if id > 0 {
            if let Some(partner) = store.partner_by_id(call.tenant.id, PartnerId(id)).await? {
                return Ok(Some(partner.id));
            }
        }
    }
    let source = utm.source.trim();
    if utm.medium.trim() == "affiliate" && !source.is_empty() {
        let partner = store.partner_by_login(call.tenant.id, source).await?;
        return Ok(partner.map(|p| p.id));
    }
    Ok(None)
}

/// UpdateSubscriberData (§12.2).
pub async fn update_subscriber_data(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let email = Email::parse(params.bytes("lead_email")).map_err(|_| ApiError::EmailMissing)?;
    let command = ContactCommand::UpdateData {
        name: non_blank(params, "lead_name"),
        phone: non_blank(params, "lead_phone"),
        city: non_blank(params, "lead_city"),
        tags: non_blank(params, "lead_tags").map(|tags| comma_list(&tags)),
    };
    match change(call, Some(&email), command).await? {
        ContactOutcome::NotFound => Err(ApiError::SubscriberNotFound.into()),
        _ => Ok(Envelope::ok()),
    }
}

/// DeleteSubscribe (§12.3): every name is checked before anything changes.
pub async fn delete_subscribe(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let names: Vec<String> = params
        .list("rass_name")
        .into_iter()
        .filter(|value| !clickbill_protocol::value::is_blank(value))
        .map(|value| clean_text(trim_ws(value)))
        .collect();
    if names.is_empty() {
        return Ok(Envelope::ok());
    }
    let groups = groups(call).await?;
    let mut named = Vec::new();
    for name in &names {
        let group = find_group(&groups, name).ok_or(ApiError::GroupSubscribersNotFound)?;
        if !named.contains(&group.id) {
            named.push(group.id);
        }
    }
    let email = Email::parse(params.bytes("lead_email"))
        .map_err(|_| ApiError::SubscriberAddressNotFound)?;
    let command = ContactCommand::Unsubscribe {
        groups: named,
        strict: true,
    };
    match change(call, Some(&email), command).await? {
        ContactOutcome::NotFound | ContactOutcome::NoSubscription => {
            Err(ApiError::SubscriberAddressNotFound.into())
        }
        _ => Ok(Envelope::ok()),
    }
}

/// The contact of `email` for the look-up methods: invalid → `3`, unknown → `500`.
async fn looked_up(call: &Call<'_>) -> Result<(StoredContact, Vec<Group>), Failure> {
    let email = Email::parse(call.params.bytes("email")).map_err(|_| ApiError::WrongPostedData)?;
    let stored = contact(call, &email)
        .await?
        .ok_or(ApiError::SubscriberNotFound)?;
    Ok((stored, groups(call).await?))
}

/// GetLeadGroups (§12.4): the groups the contact is in.
pub async fn get_lead_groups(call: &Call<'_>) -> Outcome {
    let (stored, groups) = looked_up(call).await?;
    let entries: Vec<LeadGroupEntry> = stored
        .contact
        .subscriptions
        .iter()
        .filter(|s| s.status.is_in())
        .filter_map(|s| groups.iter().find(|g| g.id == s.group))
        .map(|group| LeadGroupEntry {
            rass_name: group.name.clone(),
            rass_title: group.title.clone(),
        })
        .collect();
    if entries.is_empty() {
        return Err(ApiError::GroupNotFound.into());
    }
    Ok(Envelope::ok_with(&entries))
}

/// GetLeadGroupStatuses (§12.5): every subscription with its status.
pub async fn get_lead_group_statuses(call: &Call<'_>) -> Outcome {
    let (stored, groups) = looked_up(call).await?;
    let entries: Vec<LeadGroupStatusEntry> = stored
        .contact
        .subscriptions
        .iter()
        .filter_map(|s| {
            let group = groups.iter().find(|g| g.id == s.group)?;
            Some(LeadGroupStatusEntry {
                rass_name: group.name.clone(),
                rass_title: group.title.clone(),
                rass_status: s.status.as_str().to_owned(),
                subscription_time: s.time.to_string(),
            })
        })
        .collect();
    if entries.is_empty() {
        return Err(ApiError::GroupNotFound.into());
    }
    Ok(Envelope::ok_with(&entries))
}

/// The groups `GetAllGroups` and `getalllists` list: every kind but `auto`, by `rass_id`.
async fn listed_groups(call: &Call<'_>) -> Result<Vec<Group>, Failure> {
    let mut groups = groups(call).await?;
    groups.retain(|g| g.kind.accepts_subscriptions());
    Ok(groups)
}

/// GetAllGroups (§12.6).
pub async fn get_all_groups(call: &Call<'_>) -> Outcome {
    let groups = listed_groups(call).await?;
    if groups.is_empty() {
        return Err(ApiError::GroupNotFound.into());
    }
    let entries: Vec<GroupEntry> = groups
        .into_iter()
        .map(|g| GroupEntry {
            rass_id: g.id.to_string(),
            rass_name: g.name,
            rass_title: g.title,
        })
        .collect();
    Ok(Envelope::ok_with(&entries))
}

/// GetCountSubscribe (§12.7): reserved words before group names.
pub async fn get_count_subscribe(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    if params.is_blank("group_name") {
        return Err(ApiError::NoTransmittedData.into());
    }
    let value = clean_text(trim_ws(params.bytes("group_name")));
    let scope = if value.eq_ignore_ascii_case("unique") {
        CountScope::Unique
    } else if value.eq_ignore_ascii_case("all") || value.eq_ignore_ascii_case("alls") {
        CountScope::All
    } else {
        let groups = groups(call).await?;
        let group = find_group(&groups, &value).ok_or(ApiError::GroupNotFound)?;
        CountScope::Group(group.id)
    };
    let count = call
        .state
        .store
        .count_contacts(call.tenant.id, scope)
        .await?;
    Ok(Envelope::ok_with(&count))
}

/// The groups a comma-separated list names; `auto` groups only where `auto_allowed`. Any other
/// element → `501`.
fn named_lists(groups: &[Group], text: &str, auto_allowed: bool) -> Result<Vec<GroupId>, ApiError> {
    let mut ids = Vec::new();
    for element in comma_list(text) {
        let group = find_group(groups, &element).ok_or(ApiError::GroupNotFound)?;
        if !auto_allowed && !group.kind.accepts_subscriptions() {
            return Err(ApiError::GroupNotFound);
        }
        if !ids.contains(&group.id) {
            ids.push(group.id);
        }
    }
    Ok(ids)
}

/// The API 2.0 contact fields clickbill only stores (§15.3).
const STORED_LEAD_FIELDS: [&str; 21] = [
    "lead_utc",
    "lead_description",
    "lead_shipping_address_1",
    "lead_shipping_address_2",
    "lead_shipping_city",
    "lead_shipping_state",
    "lead_shipping_zip",
    "lead_shipping_country_code",
    "lead_billing_address_1",
    "lead_billing_address_2",
    "lead_billing_city",
    "lead_billing_state",
    "lead_billing_zip",
    "lead_billing_country_code",
    "lead_facebook",
    "lead_instagram",
    "lead_whatsapp",
    "lead_telegram",
    "lead_viber",
    "lead_vkontakte",
    "lead_in",
];

/// addupdatelead (§15.3).
pub async fn add_update_lead(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let email = if params.is_blank("lead_email") {
        None
    } else {
        Some(Email::parse(params.bytes("lead_email")).map_err(|_| ApiError::EmailMissing)?)
    };
    let groups = groups(call).await?;
    let join = named_lists(&groups, &params.text("add_to_lists"), false)?;
    let leave = named_lists(&groups, &params.text("remove_from_lists"), true)?;

    let mut extras = BTreeMap::new();
    for field in STORED_LEAD_FIELDS {
        if let Some(value) = non_blank(params, field) {
            extras.insert(field.to_owned(), value);
        }
    }
    if let Ok(Some(id)) = params.int("lead_personal_manager") {
        let manager = call
            .state
            .store
            .manager_by_id(call.tenant.id, ManagerId(id))
            .await?;
        if let Some(manager) = manager {
            extras.insert("lead_personal_manager".into(), manager.id.0.to_string());
        }
    }
    let command = ContactCommand::UpsertLead(UpsertLead {
        first_name: non_blank(params, "lead_first_name"),
        middle_name: non_blank(params, "lead_middle_name"),
        last_name: non_blank(params, "lead_last_name"),
        phone: non_blank(params, "lead_phone"),
        extras,
        add_tags: comma_list(&params.text("add_tags")),
        remove_tags: comma_list(&params.text("remove_tags")),
        join,
        leave,
        origin: SubscriptionOrigin {
            ip: call.client_ip.to_string(),
            ..SubscriptionOrigin::default()
        },
    });
    change(call, email.as_ref(), command).await?;
    Ok(ok_empty_list())
}

/// addtagtolead (§15.4) and removetagfromlead (§15.5).
async fn change_tags(call: &Call<'_>, add: bool) -> Outcome {
    let params = &call.params;
    let email = Email::parse(params.bytes("lead_email")).map_err(|_| ApiError::EmailMissing)?;
    let command = if add {
        ContactCommand::AddTags(comma_list(&params.text("add_tags")))
    } else {
        ContactCommand::RemoveTags(comma_list(&params.text("remove_tags")))
    };
    match change(call, Some(&email), command).await? {
        ContactOutcome::NotFound => Err(ApiError::SubscriberNotFound.into()),
        _ => Ok(ok_empty_list()),
    }
}

pub async fn add_tag_to_lead(call: &Call<'_>) -> Outcome {
    change_tags(call, true).await
}

pub async fn remove_tag_from_lead(call: &Call<'_>) -> Outcome {
    change_tags(call, false).await
}

/// removeleadfromlist (§15.6): the contact first, then the lists.
pub async fn remove_lead_from_list(call: &Call<'_>) -> Outcome {
    let params = &call.params;
    let email = Email::parse(params.bytes("lead_email")).map_err(|_| ApiError::EmailMissing)?;
    if contact(call, &email).await?.is_none() {
        return Err(ApiError::SubscriberNotFound.into());
    }
    let groups = groups(call).await?;
    let leave = named_lists(&groups, &params.text("remove_from_lists"), true)?;
    let command = ContactCommand::Unsubscribe {
        groups: leave,
        strict: false,
    };
    match change(call, Some(&email), command).await? {
        ContactOutcome::NotFound => Err(ApiError::SubscriberNotFound.into()),
        _ => Ok(ok_empty_list()),
    }
}

/// getalllists (§15.7): ids as JSON integers; none is `[]`.
pub async fn get_all_lists(call: &Call<'_>) -> Outcome {
    let entries: Vec<ListEntry> = listed_groups(call)
        .await?
        .into_iter()
        .map(|g| ListEntry::new(g.id.0, g.name, g.title))
        .collect();
    Ok(Envelope::ok_with(&entries))
}
