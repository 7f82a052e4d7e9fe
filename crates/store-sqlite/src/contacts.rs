//! Contacts, groups and subscriptions. Every change runs on the writer thread, so changes to
//! one contact are serialised by construction; group names compare ASCII-case-insensitively
//! through the column's NOCASE collation.

use crate::codec::{corrupt, decode_strings, encode_strings};
use crate::db_error;
use crate::outbox;
use crate::tenants::{keep_number, take_number};
use clickbill_domain::contacts::{
    buyer_joins, client_group_ids, unsubscriptions, Contact, ContactCommand, ContactId,
    ContactOutcome, CountScope, Group, GroupId, GroupKind, NewGroup, StoredContact, Subscription,
    SubscriptionStatus, UnsubscribeEvent, IP_LIMIT_WINDOW,
};
use clickbill_domain::model::{Order, PartnerId, ProductId, TenantId, Utm};
use clickbill_domain::transfer::{Key, Record};
use clickbill_domain::StoreError;
use clickbill_store_codec::{from_json, to_json};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;

const SELECT_GROUPS: &str =
    "SELECT id, name, title, kind FROM contact_groups WHERE tenant_id = ?1 ORDER BY id";

fn group_from_row(row: &Row<'_>) -> Result<Group, StoreError> {
    let kind: String = row.get(3).map_err(db_error)?;
    Ok(Group {
        id: GroupId(row.get(0).map_err(db_error)?),
        name: row.get(1).map_err(db_error)?,
        title: row.get(2).map_err(db_error)?,
        kind: GroupKind::parse(&kind).ok_or_else(|| corrupt("group kind"))?,
    })
}

pub(crate) fn groups(conn: &Connection, tenant: TenantId) -> Result<Vec<Group>, StoreError> {
    let mut stmt = conn.prepare_cached(SELECT_GROUPS).map_err(db_error)?;
    let mut rows = stmt.query(params![tenant.0]).map_err(db_error)?;
    let mut groups = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        groups.push(group_from_row(row)?);
    }
    Ok(groups)
}

pub(crate) fn add_group(
    conn: &Connection,
    tenant: TenantId,
    group: NewGroup,
) -> Result<Group, StoreError> {
    let taken: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM contact_groups WHERE tenant_id = ?1 AND name = ?2)",
        )
        .and_then(|mut s| s.query_row(params![tenant.0, group.name], |r| r.get(0)))
        .map_err(db_error)?;
    if taken {
        return Err(StoreError::Conflict(format!("group {:?}", group.name)));
    }
    let id = match group.id {
        Some(id) => {
            let used: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM contact_groups WHERE tenant_id = ?1 AND id = ?2)",
                )
                .and_then(|mut s| s.query_row(params![tenant.0, id.0], |r| r.get(0)))
                .map_err(db_error)?;
            if used {
                return Err(StoreError::Conflict(format!("group id {id}")));
            }
            keep_number(conn, tenant, "group", id.0)?
        }
        None => take_number(conn, tenant, "group", 1)?,
    };
    let group = Group {
        id: GroupId(id),
        name: group.name,
        title: group.title,
        kind: group.kind,
    };
    insert_group(conn, tenant, &group)?;
    Ok(group)
}

pub(crate) fn insert_group(
    conn: &Connection,
    tenant: TenantId,
    group: &Group,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO contact_groups (tenant_id, id, name, title, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            group.id.0,
            group.name,
            group.title,
            group.kind.as_str()
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

const CONTACT_COLUMNS: &str = "id, email, name, first_name, middle_name, last_name, phone, \
     city, tags, partner_id, created_at, extras";

fn contact_from_row(row: &Row<'_>) -> Result<StoredContact, StoreError> {
    let tags: String = row.get(8).map_err(db_error)?;
    let extras: String = row.get(11).map_err(db_error)?;
    Ok(StoredContact {
        id: ContactId(row.get(0).map_err(db_error)?),
        contact: Contact {
            email: row.get(1).map_err(db_error)?,
            name: row.get(2).map_err(db_error)?,
            first_name: row.get(3).map_err(db_error)?,
            middle_name: row.get(4).map_err(db_error)?,
            last_name: row.get(5).map_err(db_error)?,
            phone: row.get(6).map_err(db_error)?,
            city: row.get(7).map_err(db_error)?,
            tags: decode_strings(&tags)?,
            partner: row
                .get::<_, Option<i64>>(9)
                .map_err(db_error)?
                .map(PartnerId),
            created_at: row.get(10).map_err(db_error)?,
            extras: from_json::<BTreeMap<String, String>>(&extras, "contact extras")?,
            subscriptions: Vec::new(),
        },
    })
}

const SUBSCRIPTION_COLUMNS: &str = "group_id, status, subscribed_at, ip, utm_medium, \
     utm_source, utm_campaign, utm_content, utm_term, aff_utm_medium, aff_utm_source, \
     aff_utm_campaign, aff_utm_content, aff_utm_term, doneurl2";

fn subscription_from_row(row: &Row<'_>) -> Result<Subscription, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).map_err(db_error);
    let status = get(1)?;
    Ok(Subscription {
        group: GroupId(row.get(0).map_err(db_error)?),
        status: SubscriptionStatus::parse(&status).ok_or_else(|| corrupt("subscription status"))?,
        time: row.get(2).map_err(db_error)?,
        ip: get(3)?,
        utm: Utm {
            medium: get(4)?,
            source: get(5)?,
            campaign: get(6)?,
            content: get(7)?,
            term: get(8)?,
        },
        aff_utm: Utm {
            medium: get(9)?,
            source: get(10)?,
            campaign: get(11)?,
            content: get(12)?,
            term: get(13)?,
        },
        doneurl2: get(14)?,
    })
}

fn with_subscriptions(
    conn: &Connection,
    tenant: TenantId,
    mut stored: StoredContact,
) -> Result<StoredContact, StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
         WHERE tenant_id = ?1 AND contact_id = ?2 ORDER BY group_id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
    let mut rows = stmt
        .query(params![tenant.0, stored.id.0])
        .map_err(db_error)?;
    while let Some(row) = rows.next().map_err(db_error)? {
        stored
            .contact
            .subscriptions
            .push(subscription_from_row(row)?);
    }
    Ok(stored)
}

pub(crate) fn contact_by_email(
    conn: &Connection,
    tenant: TenantId,
    email: &str,
) -> Result<Option<StoredContact>, StoreError> {
    let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ?1 AND email = ?2");
    let found = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_row(params![tenant.0, email], |row| Ok(contact_from_row(row)))
                .optional()
        })
        .map_err(db_error)?
        .transpose()?;
    found
        .map(|stored| with_subscriptions(conn, tenant, stored))
        .transpose()
}

pub(crate) fn contacts_page(
    conn: &Connection,
    tenant: TenantId,
    after: Option<ContactId>,
    limit: usize,
) -> Result<Vec<StoredContact>, StoreError> {
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE tenant_id = ?1 AND id > ?2 \
         ORDER BY id LIMIT ?3"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let after = after.map_or(i64::MIN, |id| id.0);
    let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
    let mut rows = stmt
        .query(params![tenant.0, after, limit])
        .map_err(db_error)?;
    let mut page = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        page.push(contact_from_row(row)?);
    }
    drop(rows);
    page.into_iter()
        .map(|stored| with_subscriptions(conn, tenant, stored))
        .collect()
}

/// Calls recorded for the per-IP limit.
pub(crate) fn subscribe_calls_from(
    conn: &Connection,
    tenant: TenantId,
    ip: &str,
    since: i64,
) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM subscribe_calls WHERE tenant_id = ?1 AND ip = ?2 AND at >= ?3",
        )
        .and_then(|mut s| s.query_row(params![tenant.0, ip, since], |r| r.get(0)))
        .map_err(db_error)?;
    u64::try_from(n).map_err(|_| corrupt("subscribe call count"))
}

/// Whether a change queued notifications, so that the outbox worker is woken after the commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Queued(pub(crate) bool);

/// Runs `command` on the contact; an unsubscription it makes is recorded and its notification
/// queued (SPEC §16.9) in the same transaction.
pub(crate) fn change(
    conn: &Connection,
    tenant: TenantId,
    email: Option<&str>,
    command: &ContactCommand,
    now: i64,
) -> Result<(ContactOutcome, Queued), StoreError> {
    let current = match email {
        Some(email) => contact_by_email(conn, tenant, email)?,
        None => None,
    };
    if current.is_none() && !command.creates() {
        return Ok((ContactOutcome::NotFound, Queued(false)));
    }
    if let Some(limit) = command.ip_limit() {
        let calls = subscribe_calls_from(conn, tenant, &limit.ip, now - IP_LIMIT_WINDOW)?;
        if calls >= u64::from(limit.max) {
            return Ok((ContactOutcome::LimitReached, Queued(false)));
        }
    }
    let before = current.as_ref().map(|stored| &stored.contact);
    let write = command.apply(before, email, now);
    let Some(after) = write.save else {
        return Ok((write.outcome, Queued(false)));
    };
    let id = match &current {
        Some(stored) => {
            update_contact(conn, tenant, stored.id, &after)?;
            stored.id
        }
        None => {
            let id = ContactId(take_number(conn, tenant, "contact", 1)?);
            insert_contact(conn, tenant, id, &after)?;
            id
        }
    };
    for subscription in &after.subscriptions {
        if before.and_then(|b| b.subscription(subscription.group)) != Some(subscription) {
            upsert_subscription(conn, tenant, id, subscription)?;
        }
    }
    let mut queued = Queued(false);
    if !matches!(command, ContactCommand::Import(_)) {
        for event in unsubscriptions(before, &after) {
            outbox::enqueue_unsubscribe(conn, tenant, &event.notification())?;
            queued = Queued(true);
            let event = UnsubscribeEvent {
                id: next_event_id(conn)?,
                contact: id,
                group: event.group,
                name: event.name,
                email: event.email,
                phone: event.phone,
                city: event.city,
                ip: event.ip,
                at: now,
            };
            insert_unsubscribe_event(conn, tenant, &event)?;
        }
    }
    if write.counts_for_ip {
        if let Some(ip) = command.origin_ip() {
            conn.prepare_cached(
                "DELETE FROM subscribe_calls WHERE tenant_id = ?1 AND ip = ?2 AND at < ?3",
            )
            .and_then(|mut s| s.execute(params![tenant.0, ip, now - IP_LIMIT_WINDOW]))
            .map_err(db_error)?;
            conn.prepare_cached(
                "INSERT INTO subscribe_calls (tenant_id, ip, at, contact_id) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![tenant.0, ip, now, id.0]))
            .map_err(db_error)?;
        }
    }
    Ok((write.outcome, queued))
}

fn next_event_id(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "UPDATE meta SET value = value + 1 WHERE key = 'next_event_id' RETURNING value - 1",
    )
    .and_then(|mut s| s.query_row([], |r| r.get(0)))
    .map_err(db_error)
}

pub(crate) fn insert_contact(
    conn: &Connection,
    tenant: TenantId,
    id: ContactId,
    contact: &Contact,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO contacts (tenant_id, id, email, name, first_name, middle_name, last_name, \
         phone, city, tags, partner_id, created_at, extras) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            id.0,
            contact.email,
            contact.name,
            contact.first_name,
            contact.middle_name,
            contact.last_name,
            contact.phone,
            contact.city,
            encode_strings(&contact.tags),
            contact.partner.map(|p| p.0),
            contact.created_at,
            to_json(&contact.extras)
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

fn update_contact(
    conn: &Connection,
    tenant: TenantId,
    id: ContactId,
    contact: &Contact,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE contacts SET email = ?3, name = ?4, first_name = ?5, middle_name = ?6, \
         last_name = ?7, phone = ?8, city = ?9, tags = ?10, partner_id = ?11, created_at = ?12, \
         extras = ?13 WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            id.0,
            contact.email,
            contact.name,
            contact.first_name,
            contact.middle_name,
            contact.last_name,
            contact.phone,
            contact.city,
            encode_strings(&contact.tags),
            contact.partner.map(|p| p.0),
            contact.created_at,
            to_json(&contact.extras)
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

pub(crate) fn upsert_subscription(
    conn: &Connection,
    tenant: TenantId,
    contact: ContactId,
    s: &Subscription,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO subscriptions (tenant_id, contact_id, group_id, status, subscribed_at, ip, \
         utm_medium, utm_source, utm_campaign, utm_content, utm_term, aff_utm_medium, \
         aff_utm_source, aff_utm_campaign, aff_utm_content, aff_utm_term, doneurl2) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
         ON CONFLICT (tenant_id, contact_id, group_id) DO UPDATE SET status = ?4, \
         subscribed_at = ?5, ip = ?6, utm_medium = ?7, utm_source = ?8, utm_campaign = ?9, \
         utm_content = ?10, utm_term = ?11, aff_utm_medium = ?12, aff_utm_source = ?13, \
         aff_utm_campaign = ?14, aff_utm_content = ?15, aff_utm_term = ?16, doneurl2 = ?17",
    )
    .and_then(|mut st| {
        st.execute(params![
            tenant.0,
            contact.0,
            s.group.0,
            s.status.as_str(),
            s.time,
            s.ip,
            s.utm.medium,
            s.utm.source,
            s.utm.campaign,
            s.utm.content,
            s.utm.term,
            s.aff_utm.medium,
            s.aff_utm.source,
            s.aff_utm.campaign,
            s.aff_utm.content,
            s.aff_utm.term,
            s.doneurl2
        ])
    })
    .map_err(db_error)?;
    Ok(())
}

pub(crate) fn count(
    conn: &Connection,
    tenant: TenantId,
    scope: CountScope,
) -> Result<u64, StoreError> {
    let subscribe = SubscriptionStatus::Subscribe.as_str();
    let n: i64 = match scope {
        CountScope::All => conn
            .prepare_cached("SELECT count(*) FROM contacts WHERE tenant_id = ?1")
            .and_then(|mut s| s.query_row(params![tenant.0], |r| r.get(0))),
        CountScope::Unique => conn
            .prepare_cached(
                "SELECT count(DISTINCT contact_id) FROM subscriptions \
                 WHERE tenant_id = ?1 AND status = ?2",
            )
            .and_then(|mut s| s.query_row(params![tenant.0, subscribe], |r| r.get(0))),
        CountScope::Group(group) => conn
            .prepare_cached(
                "SELECT count(*) FROM subscriptions \
                 WHERE tenant_id = ?1 AND group_id = ?2 AND status = ?3",
            )
            .and_then(|mut s| s.query_row(params![tenant.0, group.0, subscribe], |r| r.get(0))),
    }
    .map_err(db_error)?;
    u64::try_from(n).map_err(|_| corrupt("contact count"))
}

pub(crate) fn unsubscribe_events(
    conn: &Connection,
    tenant: TenantId,
    after: i64,
    limit: usize,
) -> Result<Vec<UnsubscribeEvent>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, contact_id, group_id, name, email, phone, city, ip, at \
             FROM unsubscribe_events WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .map_err(db_error)?;
    let mut rows = stmt
        .query(params![tenant.0, after, limit])
        .map_err(db_error)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        events.push(event_from_row(row).map_err(db_error)?);
    }
    Ok(events)
}

pub(crate) fn event_from_row(row: &Row<'_>) -> rusqlite::Result<UnsubscribeEvent> {
    Ok(UnsubscribeEvent {
        id: row.get(0)?,
        contact: ContactId(row.get(1)?),
        group: GroupId(row.get(2)?),
        name: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        city: row.get(6)?,
        ip: row.get(7)?,
        at: row.get(8)?,
    })
}

/// The buyer of a fully paid `order` joins the client groups of its products (SPEC §9.5.5),
/// in the transaction that records the payment.
pub(crate) fn buyer_joins_client_groups(
    conn: &Connection,
    tenant: TenantId,
    order: &Order,
    now: i64,
) -> Result<(), StoreError> {
    let mut values = Vec::new();
    let mut seen: Vec<ProductId> = Vec::new();
    for item in &order.items {
        if seen.contains(&item.product_id) {
            continue;
        }
        seen.push(item.product_id);
        let groups: Option<String> = conn
            .prepare_cached("SELECT client_groups FROM products WHERE tenant_id = ?1 AND id = ?2")
            .and_then(|mut s| {
                s.query_row(params![tenant.0, item.product_id.0], |r| r.get(0))
                    .optional()
            })
            .map_err(db_error)?;
        if let Some(groups) = groups {
            values.extend(decode_strings(&groups)?);
        }
    }
    if values.is_empty() || order.customer.email.is_empty() {
        return Ok(());
    }
    let ids = client_group_ids(&groups(conn, tenant)?, &values);
    if ids.is_empty() {
        return Ok(());
    }
    change(
        conn,
        tenant,
        Some(&order.customer.email),
        &buyer_joins(order, ids),
        now,
    )?;
    Ok(())
}

/// `clickbill copy`: the groups of every tenant after `after`, in key order.
pub(crate) fn export_groups(
    conn: &Connection,
    after: Option<Key>,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let Key(tenant, id) = after.unwrap_or(Key(i64::MIN, i64::MIN));
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, name, title, kind, tenant_id FROM contact_groups \
             WHERE (tenant_id, id) > (?1, ?2) ORDER BY tenant_id, id LIMIT ?3",
        )
        .map_err(db_error)?;
    let mut rows = stmt.query(params![tenant, id, limit]).map_err(db_error)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        records.push(Record::Group {
            tenant: TenantId(row.get(4).map_err(db_error)?),
            group: group_from_row(row)?,
        });
    }
    Ok(records)
}

/// `clickbill copy`: contacts with their subscriptions, in key order.
pub(crate) fn export_contacts(
    conn: &Connection,
    after: Option<Key>,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let Key(tenant, id) = after.unwrap_or(Key(i64::MIN, i64::MIN));
    let sql = format!(
        "SELECT {CONTACT_COLUMNS}, tenant_id FROM contacts \
         WHERE (tenant_id, id) > (?1, ?2) ORDER BY tenant_id, id LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_error)?;
    let mut rows = stmt.query(params![tenant, id, limit]).map_err(db_error)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        let tenant = TenantId(row.get(12).map_err(db_error)?);
        found.push((tenant, contact_from_row(row)?));
    }
    drop(rows);
    found
        .into_iter()
        .map(|(tenant, stored)| {
            Ok(Record::Contact {
                tenant,
                contact: with_subscriptions(conn, tenant, stored)?,
            })
        })
        .collect()
}

pub(crate) fn export_unsubscribe_events(
    conn: &Connection,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, contact_id, group_id, name, email, phone, city, ip, at, tenant_id \
             FROM unsubscribe_events WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(db_error)?;
    let mut rows = stmt.query(params![after_id, limit]).map_err(db_error)?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        records.push(Record::UnsubscribeEvent {
            tenant: TenantId(row.get(9).map_err(db_error)?),
            event: event_from_row(row).map_err(db_error)?,
        });
    }
    Ok(records)
}

pub(crate) fn import_group(
    conn: &Connection,
    tenant: TenantId,
    group: &Group,
) -> Result<(), StoreError> {
    insert_group(conn, tenant, group)?;
    keep_number(conn, tenant, "group", group.id.0)?;
    Ok(())
}

pub(crate) fn import_contact(
    conn: &Connection,
    tenant: TenantId,
    stored: &StoredContact,
) -> Result<(), StoreError> {
    insert_contact(conn, tenant, stored.id, &stored.contact)?;
    for subscription in &stored.contact.subscriptions {
        upsert_subscription(conn, tenant, stored.id, subscription)?;
    }
    keep_number(conn, tenant, "contact", stored.id.0)?;
    Ok(())
}

pub(crate) fn import_unsubscribe_event(
    conn: &Connection,
    tenant: TenantId,
    event: &UnsubscribeEvent,
) -> Result<(), StoreError> {
    insert_unsubscribe_event(conn, tenant, event)
}

fn insert_unsubscribe_event(
    conn: &Connection,
    tenant: TenantId,
    event: &UnsubscribeEvent,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO unsubscribe_events (tenant_id, id, contact_id, group_id, name, \
         email, phone, city, ip, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            event.id,
            event.contact.0,
            event.group.0,
            event.name,
            event.email,
            event.phone,
            event.city,
            event.ip,
            event.at
        ])
    })
    .map_err(db_error)?;
    Ok(())
}
