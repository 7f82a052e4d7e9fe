//! Tenants, their custom domains and the per-tenant number sequences.

use crate::codec::{corrupt, decode_strings};
use crate::db_error;
use clickbill_domain::model::{NewTenant, Tenant, TenantId, TenantSettings};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{Login, Money};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// The tenant columns followed by its domains as a JSON array, so that one statement (one
/// consistent snapshot) yields the whole tenant.
macro_rules! select_tenant {
    ($rest:literal) => {
        concat!(
            "SELECT t.id, t.login, t.secret, t.enabled, t.time_zone, t.first_bill_id, ",
            "t.api_orders_enabled, t.prepayment_enabled, t.prepayment_minsum, ",
            "t.require_activation, t.subscribe_limit_per_ip, t.unsubscribe_url, ",
            "(SELECT json_group_array(domain) FROM (SELECT domain FROM tenant_domains d ",
            "WHERE d.tenant_id = t.id ORDER BY position)), t.test_payments ",
            $rest
        )
    };
}
pub(crate) use select_tenant;

pub(crate) fn tenant_from_row(row: &Row<'_>) -> Result<Tenant, StoreError> {
    let get = |e: rusqlite::Error| db_error(e);
    let login: String = row.get(1).map_err(get)?;
    let time_zone: String = row.get(4).map_err(get)?;
    let domains: String = row.get(12).map_err(get)?;
    Ok(Tenant {
        id: TenantId(row.get(0).map_err(get)?),
        login: Login::parse(&login).map_err(|_| corrupt("tenant login"))?,
        secret: row.get(2).map_err(get)?,
        enabled: row.get(3).map_err(get)?,
        custom_domains: decode_strings(&domains)?,
        settings: TenantSettings {
            time_zone: time_zone.parse().map_err(|_| corrupt("tenant time zone"))?,
            first_bill_id: row.get(5).map_err(get)?,
            api_orders_enabled: row.get(6).map_err(get)?,
            prepayment_enabled: row.get(7).map_err(get)?,
            prepayment_minsum: Money::from_minor(row.get(8).map_err(get)?),
            require_activation: row.get(9).map_err(get)?,
            subscribe_limit_per_ip: row.get(10).map_err(get)?,
            unsubscribe_url: row.get(11).map_err(get)?,
            test_payments: row.get(13).map_err(get)?,
        },
    })
}

fn collect(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Tenant>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    let mut tenants = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        tenants.push(tenant_from_row(row)?);
    }
    Ok(tenants)
}

pub(crate) fn all(conn: &Connection) -> Result<Vec<Tenant>, StoreError> {
    collect(conn, select_tenant!("FROM tenants t ORDER BY t.login"), [])
}

pub(crate) fn by_login(conn: &Connection, login: &str) -> Result<Option<Tenant>, StoreError> {
    let sql = select_tenant!("FROM tenants t WHERE t.login = ?1");
    Ok(collect(conn, sql, [login])?.pop())
}

pub(crate) fn by_domain(conn: &Connection, host: &str) -> Result<Option<Tenant>, StoreError> {
    let sql = select_tenant!(
        "FROM tenant_domains x JOIN tenants t ON t.id = x.tenant_id WHERE x.domain = ?1"
    );
    Ok(collect(conn, sql, [host])?.pop())
}

pub(crate) fn version(conn: &Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'tenants_version'")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(db_error)
}

pub(crate) fn add(conn: &Connection, new: NewTenant) -> Result<Tenant, StoreError> {
    let taken: Option<i64> = conn
        .prepare_cached("SELECT id FROM tenants WHERE login = ?1")
        .and_then(|mut s| s.query_row([new.login.as_str()], |r| r.get(0)).optional())
        .map_err(db_error)?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "tenant login {:?}",
            new.login.as_str()
        )));
    }
    let s = &new.settings;
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO tenants (login, secret, enabled, time_zone, first_bill_id, \
             api_orders_enabled, prepayment_enabled, prepayment_minsum, require_activation, \
             subscribe_limit_per_ip, unsubscribe_url, test_payments) \
             VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    new.login.as_str(),
                    new.secret,
                    s.time_zone.name(),
                    s.first_bill_id,
                    s.api_orders_enabled,
                    s.prepayment_enabled,
                    s.prepayment_minsum.minor(),
                    s.require_activation,
                    s.subscribe_limit_per_ip,
                    s.unsubscribe_url,
                    s.test_payments,
                ],
                |r| r.get(0),
            )
        })
        .map_err(db_error)?;
    let tenant = Tenant {
        id: TenantId(id),
        login: new.login,
        secret: new.secret,
        enabled: true,
        custom_domains: normalise_domains(new.custom_domains),
        settings: new.settings,
    };
    insert_domains(conn, &tenant)?;
    Ok(tenant)
}

pub(crate) fn save(conn: &Connection, tenant: &Tenant) -> Result<(), StoreError> {
    let s = &tenant.settings;
    let changed = conn
        .prepare_cached(
            "UPDATE tenants SET secret = ?2, enabled = ?3, time_zone = ?4, first_bill_id = ?5, \
             api_orders_enabled = ?6, prepayment_enabled = ?7, prepayment_minsum = ?8, \
             require_activation = ?9, subscribe_limit_per_ip = ?10, unsubscribe_url = ?11, \
             test_payments = ?12 WHERE id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                tenant.id.0,
                tenant.secret,
                tenant.enabled,
                s.time_zone.name(),
                s.first_bill_id,
                s.api_orders_enabled,
                s.prepayment_enabled,
                s.prepayment_minsum.minor(),
                s.require_activation,
                s.subscribe_limit_per_ip,
                s.unsubscribe_url,
                s.test_payments,
            ])
        })
        .map_err(db_error)?;
    if changed == 0 {
        return Err(StoreError::Backend(format!(
            "no tenant with id {}",
            tenant.id.0
        )));
    }
    conn.prepare_cached("DELETE FROM tenant_domains WHERE tenant_id = ?1")
        .and_then(|mut stmt| stmt.execute([tenant.id.0]))
        .map_err(db_error)?;
    let mut normalised = tenant.clone();
    normalised.custom_domains = normalise_domains(normalised.custom_domains);
    insert_domains(conn, &normalised)
}

/// Lower-cased, each once, in the order given.
fn normalise_domains(domains: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for domain in domains {
        let domain = domain.to_ascii_lowercase();
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    out
}

pub(crate) fn insert_domains(conn: &Connection, tenant: &Tenant) -> Result<(), StoreError> {
    for (position, domain) in tenant.custom_domains.iter().enumerate() {
        let owner: Option<i64> = conn
            .prepare_cached("SELECT tenant_id FROM tenant_domains WHERE domain = ?1")
            .and_then(|mut s| s.query_row([domain], |r| r.get(0)).optional())
            .map_err(db_error)?;
        if owner.is_some() {
            return Err(StoreError::Conflict(format!("custom domain {domain:?}")));
        }
        conn.prepare_cached(
            "INSERT INTO tenant_domains (domain, tenant_id, position) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![domain, tenant.id.0, position as i64]))
        .map_err(db_error)?;
    }
    Ok(())
}

/// Takes the next number of one of the tenant's sequences: the stored next number, raised to
/// `floor` when that is higher. A number once taken is never handed out again, whatever
/// happens to the row that used it.
pub(crate) fn take_number(
    conn: &Connection,
    tenant: TenantId,
    sequence: &str,
    floor: i64,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO counters (tenant_id, name, next) VALUES (?1, ?2, ?3 + 1) \
         ON CONFLICT (tenant_id, name) DO UPDATE SET next = max(next, ?3) + 1 \
         RETURNING next - 1",
    )
    .and_then(|mut s| s.query_row(params![tenant.0, sequence, floor], |r| r.get(0)))
    .map_err(db_error)
}

/// Records that `number` of a sequence is used without handing it out, so that later numbers of
/// [`take_number`] stay above it; returns `number`.
pub(crate) fn keep_number(
    conn: &Connection,
    tenant: TenantId,
    sequence: &str,
    number: i64,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO counters (tenant_id, name, next) VALUES (?1, ?2, ?3 + 1) \
         ON CONFLICT (tenant_id, name) DO UPDATE SET next = max(next, ?3 + 1)",
    )
    .and_then(|mut s| s.execute(params![tenant.0, sequence, number]))
    .map_err(db_error)?;
    Ok(number)
}

/// The tenant's `first_bill_id` as stored now, which may be newer than a cached tenant's.
pub(crate) fn stored_first_bill_id(
    conn: &Connection,
    tenant: TenantId,
) -> Result<Option<i64>, StoreError> {
    conn.prepare_cached("SELECT first_bill_id FROM tenants WHERE id = ?1")
        .and_then(|mut s| s.query_row([tenant.0], |r| r.get(0)).optional())
        .map_err(db_error)
}
