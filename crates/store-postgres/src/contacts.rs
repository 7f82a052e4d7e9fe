//! Contacts, groups and subscriptions. A change locks the contact's row (`FOR UPDATE`) before
//! it decides, so changes to one contact are serialised across replicas; a contact that does
//! not exist yet is created with `ON CONFLICT DO NOTHING`, and the loser of a creation race
//! decides again on the winner's committed row. Group names compare case-insensitively in
//! ASCII, as product codes do.

use crate::db::{execute, row, row_opt, rows, Failure};
use crate::outbox;
use crate::tenants::{keep_number, lock_sequence, take_number};
use clickbill_domain::contacts::{
    buyer_joins, client_group_ids, unsubscriptions, Contact, ContactCommand, ContactId,
    ContactOutcome, CountScope, Group, GroupId, GroupKind, NewGroup, StoredContact, Subscription,
    SubscriptionStatus, UnsubscribeEvent, IP_LIMIT_WINDOW,
};
use clickbill_domain::model::{Order, PartnerId, ProductId, TenantId, Utm};
use clickbill_domain::transfer::Record;
use clickbill_domain::StoreError;
use clickbill_store_codec::{corrupt, from_json, to_json};
use deadpool_postgres::GenericClient;
use std::collections::BTreeMap;
use tokio_postgres::Row;

fn group_from_row(row: &Row) -> Result<Group, Failure> {
    let kind: String = row.try_get(3)?;
    Ok(Group {
        id: GroupId(row.try_get(0)?),
        name: row.try_get(1)?,
        title: row.try_get(2)?,
        kind: GroupKind::parse(&kind).ok_or_else(|| corrupt("group kind"))?,
    })
}

pub(crate) async fn groups<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Group>, Failure> {
    rows(
        client,
        "SELECT id, name, title, kind FROM contact_groups WHERE tenant_id = $1 ORDER BY id",
        &[&tenant.0],
    )
    .await?
    .iter()
    .map(group_from_row)
    .collect()
}

pub(crate) async fn add_group<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    group: NewGroup,
) -> Result<Group, Failure> {
    let taken = row_opt(
        client,
        "SELECT 1 FROM contact_groups WHERE tenant_id = $1 AND lower(name) = $2",
        &[&tenant.0, &group.name.to_ascii_lowercase()],
    )
    .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!("group {:?}", group.name)).into());
    }
    let id = match group.id {
        Some(id) => {
            let used = row_opt(
                client,
                "SELECT 1 FROM contact_groups WHERE tenant_id = $1 AND id = $2",
                &[&tenant.0, &id.0],
            )
            .await?;
            if used.is_some() {
                return Err(StoreError::Conflict(format!("group id {id}")).into());
            }
            keep_number(client, tenant, "group", id.0).await?
        }
        None => take_number(client, tenant, "group", 1).await?,
    };
    let group = Group {
        id: GroupId(id),
        name: group.name,
        title: group.title,
        kind: group.kind,
    };
    insert_group(client, tenant, &group).await?;
    Ok(group)
}

pub(crate) async fn insert_group<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    group: &Group,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO contact_groups (tenant_id, id, name, title, kind) VALUES ($1, $2, $3, $4, $5)",
        &[
            &tenant.0,
            &group.id.0,
            &group.name,
            &group.title,
            &group.kind.as_str(),
        ],
    )
    .await?;
    Ok(())
}

macro_rules! select_contact {
    ($rest:literal) => {
        concat!(
            "SELECT id, email, name, first_name, middle_name, last_name, phone, city, tags, ",
            "partner_id, created_at, extras, tenant_id FROM contacts ",
            $rest
        )
    };
}

fn contact_from_row(row: &Row) -> Result<StoredContact, Failure> {
    let extras: String = row.try_get(11)?;
    Ok(StoredContact {
        id: ContactId(row.try_get(0)?),
        contact: Contact {
            email: row.try_get(1)?,
            name: row.try_get(2)?,
            first_name: row.try_get(3)?,
            middle_name: row.try_get(4)?,
            last_name: row.try_get(5)?,
            phone: row.try_get(6)?,
            city: row.try_get(7)?,
            tags: row.try_get(8)?,
            partner: row.try_get::<_, Option<i64>>(9)?.map(PartnerId),
            created_at: row.try_get(10)?,
            extras: from_json::<BTreeMap<String, String>>(&extras, "contact extras")?,
            subscriptions: Vec::new(),
        },
    })
}

const SELECT_SUBSCRIPTIONS: &str = "SELECT contact_id, group_id, status, subscribed_at, ip, \
     utm_medium, utm_source, utm_campaign, utm_content, utm_term, aff_utm_medium, \
     aff_utm_source, aff_utm_campaign, aff_utm_content, aff_utm_term, doneurl2 \
     FROM subscriptions WHERE tenant_id = $1 AND contact_id = ANY($2) \
     ORDER BY contact_id, group_id";

fn subscription_from_row(row: &Row) -> Result<(i64, Subscription), Failure> {
    let status: String = row.try_get(2)?;
    let text = |i: usize| row.try_get::<_, String>(i);
    Ok((
        row.try_get(0)?,
        Subscription {
            group: GroupId(row.try_get(1)?),
            status: SubscriptionStatus::parse(&status)
                .ok_or_else(|| corrupt("subscription status"))?,
            time: row.try_get(3)?,
            ip: text(4)?,
            utm: Utm {
                medium: text(5)?,
                source: text(6)?,
                campaign: text(7)?,
                content: text(8)?,
                term: text(9)?,
            },
            aff_utm: Utm {
                medium: text(10)?,
                source: text(11)?,
                campaign: text(12)?,
                content: text(13)?,
                term: text(14)?,
            },
            doneurl2: text(15)?,
        },
    ))
}

/// Fills in the subscriptions of `contacts` with one statement.
async fn with_subscriptions<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    mut contacts: Vec<StoredContact>,
) -> Result<Vec<StoredContact>, Failure> {
    if contacts.is_empty() {
        return Ok(contacts);
    }
    let ids: Vec<i64> = contacts.iter().map(|c| c.id.0).collect();
    for found in rows(client, SELECT_SUBSCRIPTIONS, &[&tenant.0, &ids]).await? {
        let (contact, subscription) = subscription_from_row(&found)?;
        if let Some(stored) = contacts.iter_mut().find(|c| c.id.0 == contact) {
            stored.contact.subscriptions.push(subscription);
        }
    }
    Ok(contacts)
}

async fn contact_where<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    email: &str,
    sql: &str,
) -> Result<Option<StoredContact>, Failure> {
    let Some(found) = row_opt(client, sql, &[&tenant.0, &email]).await? else {
        return Ok(None);
    };
    let contact = contact_from_row(&found)?;
    Ok(with_subscriptions(client, tenant, vec![contact])
        .await?
        .pop())
}

pub(crate) async fn contact_by_email<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    email: &str,
) -> Result<Option<StoredContact>, Failure> {
    let sql = select_contact!("WHERE tenant_id = $1 AND email = $2");
    contact_where(client, tenant, email, sql).await
}

pub(crate) async fn contacts_page<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    after: Option<ContactId>,
    limit: usize,
) -> Result<Vec<StoredContact>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = after.map_or(i64::MIN, |id| id.0);
    let page = rows(
        client,
        select_contact!("WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3"),
        &[&tenant.0, &after, &limit],
    )
    .await?
    .iter()
    .map(contact_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    with_subscriptions(client, tenant, page).await
}

pub(crate) async fn subscribe_calls_from<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    ip: &str,
    since: i64,
) -> Result<u64, Failure> {
    let found = row(
        client,
        "SELECT count(*) FROM subscribe_calls WHERE tenant_id = $1 AND ip = $2 AND at >= $3",
        &[&tenant.0, &ip, &since],
    )
    .await?;
    let n: i64 = found.try_get(0)?;
    Ok(u64::try_from(n).map_err(|_| corrupt("subscribe call count"))?)
}

/// Whether a change queued notifications, so that the outbox worker is woken after the commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queued(pub(crate) bool);

pub(crate) async fn change<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    email: Option<&str>,
    command: &ContactCommand,
    now: i64,
) -> Result<(ContactOutcome, Queued), Failure> {
    if let Some(limit) = command.ip_limit() {
        // The tenant's subscribe calls queue on one row while the limit is on, so that
        // simultaneous calls from one address cannot pass it together.
        lock_sequence(client, tenant, "subscribe_limit", 0).await?;
        let calls = subscribe_calls_from(client, tenant, &limit.ip, now - IP_LIMIT_WINDOW).await?;
        if calls >= u64::from(limit.max) {
            return Ok((ContactOutcome::LimitReached, Queued(false)));
        }
    }
    let locked = select_contact!("WHERE tenant_id = $1 AND email = $2 FOR UPDATE");
    let mut current = match email {
        Some(email) => contact_where(client, tenant, email, locked).await?,
        None => None,
    };
    loop {
        if current.is_none() && !command.creates() {
            return Ok((ContactOutcome::NotFound, Queued(false)));
        }
        let before = current.as_ref().map(|stored| &stored.contact);
        let write = command.apply(before, email, now);
        let Some(after) = write.save else {
            return Ok((write.outcome, Queued(false)));
        };
        let id = match &current {
            Some(stored) => {
                update_contact(client, tenant, stored.id, &after).await?;
                stored.id
            }
            None => {
                let id = ContactId(take_number(client, tenant, "contact", 1).await?);
                if !insert_contact(client, tenant, id, &after).await? {
                    // Another transaction created the contact and has committed: decide again
                    // on its row.
                    let email = email.ok_or_else(|| corrupt("contact without e-mail"))?;
                    current = contact_where(client, tenant, email, locked).await?;
                    if current.is_none() {
                        return Err(corrupt("a contact that exists and does not").into());
                    }
                    continue;
                }
                id
            }
        };
        for subscription in &after.subscriptions {
            if before.and_then(|b| b.subscription(subscription.group)) != Some(subscription) {
                upsert_subscription(client, tenant, id, subscription).await?;
            }
        }
        let mut queued = Queued(false);
        if !matches!(command, ContactCommand::Import(_)) {
            for event in unsubscriptions(before, &after) {
                outbox::enqueue_unsubscribe(client, tenant, &event.notification()).await?;
                queued = Queued(true);
                execute(
                    client,
                    "INSERT INTO unsubscribe_events (tenant_id, id, contact_id, group_id, name, \
                     email, phone, city, ip, at) \
                     VALUES ($1, nextval('event_ids'), $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &tenant.0,
                        &id.0,
                        &event.group.0,
                        &event.name,
                        &event.email,
                        &event.phone,
                        &event.city,
                        &event.ip,
                        &now,
                    ],
                )
                .await?;
            }
        }
        if write.counts_for_ip {
            if let Some(ip) = command.origin_ip() {
                execute(
                    client,
                    "DELETE FROM subscribe_calls WHERE tenant_id = $1 AND ip = $2 AND at < $3",
                    &[&tenant.0, &ip, &(now - IP_LIMIT_WINDOW)],
                )
                .await?;
                execute(
                    client,
                    "INSERT INTO subscribe_calls (tenant_id, ip, at, contact_id) \
                     VALUES ($1, $2, $3, $4)",
                    &[&tenant.0, &ip, &now, &id.0],
                )
                .await?;
            }
        }
        return Ok((write.outcome, queued));
    }
}

/// `false` when a contact with the e-mail exists already.
pub(crate) async fn insert_contact<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: ContactId,
    contact: &Contact,
) -> Result<bool, Failure> {
    let inserted = execute(
        client,
        "INSERT INTO contacts (tenant_id, id, email, name, first_name, middle_name, last_name, \
         phone, city, tags, partner_id, created_at, extras) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, email) DO NOTHING",
        &[
            &tenant.0,
            &id.0,
            &contact.email,
            &contact.name,
            &contact.first_name,
            &contact.middle_name,
            &contact.last_name,
            &contact.phone,
            &contact.city,
            &contact.tags,
            &contact.partner.map(|p| p.0),
            &contact.created_at,
            &to_json(&contact.extras),
        ],
    )
    .await?;
    Ok(inserted == 1)
}

async fn update_contact<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: ContactId,
    contact: &Contact,
) -> Result<(), Failure> {
    execute(
        client,
        "UPDATE contacts SET email = $3, name = $4, first_name = $5, middle_name = $6, \
         last_name = $7, phone = $8, city = $9, tags = $10, partner_id = $11, created_at = $12, \
         extras = $13 WHERE tenant_id = $1 AND id = $2",
        &[
            &tenant.0,
            &id.0,
            &contact.email,
            &contact.name,
            &contact.first_name,
            &contact.middle_name,
            &contact.last_name,
            &contact.phone,
            &contact.city,
            &contact.tags,
            &contact.partner.map(|p| p.0),
            &contact.created_at,
            &to_json(&contact.extras),
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn upsert_subscription<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    contact: ContactId,
    s: &Subscription,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO subscriptions (tenant_id, contact_id, group_id, status, subscribed_at, ip, \
         utm_medium, utm_source, utm_campaign, utm_content, utm_term, aff_utm_medium, \
         aff_utm_source, aff_utm_campaign, aff_utm_content, aff_utm_term, doneurl2) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (tenant_id, contact_id, group_id) DO UPDATE SET status = $4, \
         subscribed_at = $5, ip = $6, utm_medium = $7, utm_source = $8, utm_campaign = $9, \
         utm_content = $10, utm_term = $11, aff_utm_medium = $12, aff_utm_source = $13, \
         aff_utm_campaign = $14, aff_utm_content = $15, aff_utm_term = $16, doneurl2 = $17",
        &[
            &tenant.0,
            &contact.0,
            &s.group.0,
            &s.status.as_str(),
            &s.time,
            &s.ip,
            &s.utm.medium,
            &s.utm.source,
            &s.utm.campaign,
            &s.utm.content,
            &s.utm.term,
            &s.aff_utm.medium,
            &s.aff_utm.source,
            &s.aff_utm.campaign,
            &s.aff_utm.content,
            &s.aff_utm.term,
            &s.doneurl2,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn count<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    scope: CountScope,
) -> Result<u64, Failure> {
    let subscribe = SubscriptionStatus::Subscribe.as_str();
    let found = match scope {
        CountScope::All => {
            row(
                client,
                "SELECT count(*) FROM contacts WHERE tenant_id = $1",
                &[&tenant.0],
            )
            .await?
        }
        CountScope::Unique => {
            row(
                client,
                "SELECT count(DISTINCT contact_id) FROM subscriptions \
                 WHERE tenant_id = $1 AND status = $2",
                &[&tenant.0, &subscribe],
            )
            .await?
        }
        CountScope::Group(group) => {
            row(
                client,
                "SELECT count(*) FROM subscriptions \
                 WHERE tenant_id = $1 AND group_id = $2 AND status = $3",
                &[&tenant.0, &group.0, &subscribe],
            )
            .await?
        }
    };
    let n: i64 = found.try_get(0)?;
    Ok(u64::try_from(n).map_err(|_| corrupt("contact count"))?)
}

pub(crate) fn event_from_row(row: &Row) -> Result<UnsubscribeEvent, Failure> {
    Ok(UnsubscribeEvent {
        id: row.try_get(0)?,
        contact: ContactId(row.try_get(1)?),
        group: GroupId(row.try_get(2)?),
        name: row.try_get(3)?,
        email: row.try_get(4)?,
        phone: row.try_get(5)?,
        city: row.try_get(6)?,
        ip: row.try_get(7)?,
        at: row.try_get(8)?,
    })
}

pub(crate) async fn unsubscribe_events<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    after: i64,
    limit: usize,
) -> Result<Vec<UnsubscribeEvent>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    rows(
        client,
        "SELECT id, contact_id, group_id, name, email, phone, city, ip, at \
         FROM unsubscribe_events WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        &[&tenant.0, &after, &limit],
    )
    .await?
    .iter()
    .map(event_from_row)
    .collect()
}

/// The buyer of a fully paid `order` joins the client groups of its products (SPEC §9.5.5),
/// in the transaction that records the payment.
pub(crate) async fn buyer_joins_client_groups<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    order: &Order,
    now: i64,
) -> Result<(), Failure> {
    let mut products: Vec<ProductId> = order.items.iter().map(|i| i.product_id).collect();
    products.sort();
    products.dedup();
    let ids: Vec<i64> = products.iter().map(|p| p.0).collect();
    let found = rows(
        client,
        "SELECT id, client_groups FROM products WHERE tenant_id = $1 AND id = ANY($2)",
        &[&tenant.0, &ids],
    )
    .await?;
    let mut by_product: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for product in &found {
        by_product.insert(product.try_get(0)?, product.try_get(1)?);
    }
    // In item order, so that the groups are joined in the order the products were bought.
    let mut values = Vec::new();
    for item in &order.items {
        if let Some(groups) = by_product.remove(&item.product_id.0) {
            values.extend(groups);
        }
    }
    if values.is_empty() || order.customer.email.is_empty() {
        return Ok(());
    }
    let ids = client_group_ids(&groups(client, tenant).await?, &values);
    if ids.is_empty() {
        return Ok(());
    }
    change(
        client,
        tenant,
        Some(&order.customer.email),
        &buyer_joins(order, ids),
        now,
    )
    .await?;
    Ok(())
}

/// `clickbill copy`: the groups of every tenant after `(tenant, id)`, in key order.
pub(crate) async fn export_groups<C: GenericClient>(
    client: &C,
    after_tenant: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Record>, Failure> {
    rows(
        client,
        "SELECT id, name, title, kind, tenant_id FROM contact_groups \
         WHERE (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3",
        &[&after_tenant, &after_id, &limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Record::Group {
            tenant: TenantId(row.try_get(4)?),
            group: group_from_row(row)?,
        })
    })
    .collect()
}

/// `clickbill copy`: contacts with their subscriptions, in key order.
pub(crate) async fn export_contacts<C: GenericClient>(
    client: &C,
    after_tenant: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Record>, Failure> {
    let found = rows(
        client,
        select_contact!("WHERE (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3"),
        &[&after_tenant, &after_id, &limit],
    )
    .await?;
    // The page may span tenants; each tenant's run of contacts gets its subscriptions in one
    // statement.
    let mut by_tenant: Vec<(TenantId, Vec<StoredContact>)> = Vec::new();
    for row in &found {
        let tenant = TenantId(row.try_get(12)?);
        let contact = contact_from_row(row)?;
        match by_tenant.last_mut() {
            Some((last, contacts)) if *last == tenant => contacts.push(contact),
            _ => by_tenant.push((tenant, vec![contact])),
        }
    }
    let mut records = Vec::with_capacity(found.len());
    for (tenant, contacts) in by_tenant {
        for contact in with_subscriptions(client, tenant, contacts).await? {
            records.push(Record::Contact { tenant, contact });
        }
    }
    Ok(records)
}

pub(crate) async fn export_unsubscribe_events<C: GenericClient>(
    client: &C,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Record>, Failure> {
    rows(
        client,
        "SELECT id, contact_id, group_id, name, email, phone, city, ip, at, tenant_id \
         FROM unsubscribe_events WHERE id > $1 ORDER BY id LIMIT $2",
        &[&after_id, &limit],
    )
    .await?
    .iter()
    .map(|row| {
        Ok(Record::UnsubscribeEvent {
            tenant: TenantId(row.try_get(9)?),
            event: event_from_row(row)?,
        })
    })
    .collect()
}

pub(crate) async fn import_contact<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    stored: &StoredContact,
) -> Result<(), Failure> {
    if !insert_contact(client, tenant, stored.id, &stored.contact).await? {
        return Err(StoreError::Conflict(format!(
            "a contact with the e-mail of contact {}",
            stored.id.0
        ))
        .into());
    }
    for subscription in &stored.contact.subscriptions {
        upsert_subscription(client, tenant, stored.id, subscription).await?;
    }
    Ok(())
}

pub(crate) async fn insert_unsubscribe_event<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    event: &UnsubscribeEvent,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO unsubscribe_events (tenant_id, id, contact_id, group_id, name, email, \
         phone, city, ip, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &tenant.0,
            &event.id,
            &event.contact.0,
            &event.group.0,
            &event.name,
            &event.email,
            &event.phone,
            &event.city,
            &event.ip,
            &event.at,
        ],
    )
    .await?;
    Ok(())
}
