//! Tenants, their custom domains and the per-tenant number sequences.

use crate::db::{execute, row, row_opt, rows, Failure};
use clickbill_domain::model::{NewTenant, Tenant, TenantId, TenantSettings};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{Login, Money};
use clickbill_store_codec::corrupt;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

/// The tenant columns followed by its domains, so that one statement (one consistent snapshot)
/// yields the whole tenant.
macro_rules! select_tenant {
    ($rest:literal) => {
        concat!(
            "SELECT t.id, t.login, t.secret, t.enabled, t.time_zone, t.first_bill_id, ",
            "t.api_orders_enabled, t.prepayment_enabled, t.prepayment_minsum, ",
            "t.require_activation, t.subscribe_limit_per_ip, t.unsubscribe_url, ",
            "ARRAY(SELECT domain FROM tenant_domains d WHERE d.tenant_id = t.id ",
            "ORDER BY position), t.test_payments ",
            $rest
        )
    };
}

fn tenant_from_row(row: &Row) -> Result<Tenant, Failure> {
    let login: String = row.try_get(1)?;
    let time_zone: String = row.try_get(4)?;
    let limit: i64 = row.try_get(10)?;
    Ok(Tenant {
        id: TenantId(row.try_get(0)?),
        login: Login::parse(&login).map_err(|_| corrupt("tenant login"))?,
        secret: row.try_get(2)?,
        enabled: row.try_get(3)?,
        custom_domains: row.try_get(12)?,
        settings: TenantSettings {
            time_zone: time_zone.parse().map_err(|_| corrupt("tenant time zone"))?,
            first_bill_id: row.try_get(5)?,
            api_orders_enabled: row.try_get(6)?,
            prepayment_enabled: row.try_get(7)?,
            prepayment_minsum: Money::from_minor(row.try_get(8)?),
            require_activation: row.try_get(9)?,
            subscribe_limit_per_ip: u32::try_from(limit)
                .map_err(|_| corrupt("tenant subscribe limit"))?,
            unsubscribe_url: row.try_get(11)?,
            test_payments: row.try_get(13)?,
        },
    })
}

fn tenants_from_rows(rows: Vec<Row>) -> Result<Vec<Tenant>, Failure> {
    rows.iter().map(tenant_from_row).collect()
}

pub(crate) async fn all<C: GenericClient>(client: &C) -> Result<Vec<Tenant>, Failure> {
    tenants_from_rows(
        rows(
            client,
            select_tenant!("FROM tenants t ORDER BY t.login"),
            &[],
        )
        .await?,
    )
}

/// Tenants of ids above `after`, by id, for copying.
pub(crate) async fn page<C: GenericClient>(
    client: &C,
    after: i64,
    limit: i64,
) -> Result<Vec<Tenant>, Failure> {
    let sql = select_tenant!("FROM tenants t WHERE t.id > $1 ORDER BY t.id LIMIT $2");
    tenants_from_rows(rows(client, sql, &[&after, &limit]).await?)
}

pub(crate) const BY_LOGIN: &str = select_tenant!("FROM tenants t WHERE lower(t.login) = $1");

/// Logins are stored in lower case, and a login is ASCII: folding the look-up in ASCII finds
/// exactly what a case-insensitive comparison would.
pub(crate) async fn by_login<C: GenericClient>(
    client: &C,
    login: &str,
) -> Result<Option<Tenant>, Failure> {
    let found = row_opt(client, BY_LOGIN, &[&login.to_ascii_lowercase()]).await?;
    found.as_ref().map(tenant_from_row).transpose()
}

pub(crate) async fn by_domain<C: GenericClient>(
    client: &C,
    host: &str,
) -> Result<Option<Tenant>, Failure> {
    let sql = select_tenant!(
        "FROM tenant_domains x JOIN tenants t ON t.id = x.tenant_id WHERE x.domain = $1"
    );
    let found = row_opt(client, sql, &[&host.to_ascii_lowercase()]).await?;
    found.as_ref().map(tenant_from_row).transpose()
}

pub(crate) async fn version<C: GenericClient>(client: &C) -> Result<i64, Failure> {
    let found = row(
        client,
        "SELECT value FROM meta WHERE key = 'tenants_version'",
        &[],
    )
    .await?;
    Ok(found.try_get(0)?)
}

pub(crate) async fn add<C: GenericClient>(client: &C, new: NewTenant) -> Result<Tenant, Failure> {
    let taken = row_opt(
        client,
        "SELECT id FROM tenants WHERE lower(login) = $1",
        &[&new.login.as_str()],
    )
    .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!("tenant login {:?}", new.login.as_str())).into());
    }
    let s = &new.settings;
    let inserted = row(
        client,
        "INSERT INTO tenants (login, secret, enabled, time_zone, first_bill_id, \
         api_orders_enabled, prepayment_enabled, prepayment_minsum, require_activation, \
         subscribe_limit_per_ip, unsubscribe_url, test_payments) \
         VALUES ($1, $2, TRUE, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        &[
            &new.login.as_str(),
            &new.secret,
            &s.time_zone.name(),
            &s.first_bill_id,
            &s.api_orders_enabled,
            &s.prepayment_enabled,
            &s.prepayment_minsum.minor(),
            &s.require_activation,
            &i64::from(s.subscribe_limit_per_ip),
            &s.unsubscribe_url,
            &s.test_payments,
        ],
    )
    .await?;
    let tenant = Tenant {
        id: TenantId(inserted.try_get(0)?),
        login: new.login,
        secret: new.secret,
        enabled: true,
        custom_domains: normalise_domains(new.custom_domains),
        settings: new.settings,
    };
    insert_domains(client, &tenant).await?;
    Ok(tenant)
}

pub(crate) async fn save<C: GenericClient>(client: &C, tenant: &Tenant) -> Result<(), Failure> {
    let s = &tenant.settings;
    let changed = execute(
        client,
        "UPDATE tenants SET secret = $2, enabled = $3, time_zone = $4, first_bill_id = $5, \
         api_orders_enabled = $6, prepayment_enabled = $7, prepayment_minsum = $8, \
         require_activation = $9, subscribe_limit_per_ip = $10, unsubscribe_url = $11, \
         test_payments = $12 WHERE id = $1",
        &[
            &tenant.id.0,
            &tenant.secret,
            &tenant.enabled,
            &s.time_zone.name(),
            &s.first_bill_id,
            &s.api_orders_enabled,
            &s.prepayment_enabled,
            &s.prepayment_minsum.minor(),
            &s.require_activation,
            &i64::from(s.subscribe_limit_per_ip),
            &s.unsubscribe_url,
            &s.test_payments,
        ],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::Backend(format!("no tenant with id {}", tenant.id.0)).into());
    }
    execute(
        client,
        "DELETE FROM tenant_domains WHERE tenant_id = $1",
        &[&tenant.id.0],
    )
    .await?;
    let mut normalised = tenant.clone();
    normalised.custom_domains = normalise_domains(normalised.custom_domains);
    insert_domains(client, &normalised).await
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

/// Writes the tenant's domains, already normalised, in their order.
pub(crate) async fn insert_domains<C: GenericClient>(
    client: &C,
    tenant: &Tenant,
) -> Result<(), Failure> {
    for (position, domain) in (0i64..).zip(&tenant.custom_domains) {
        let owner = row_opt(
            client,
            "SELECT tenant_id FROM tenant_domains WHERE domain = $1",
            &[domain],
        )
        .await?;
        if owner.is_some() {
            return Err(StoreError::Conflict(format!("custom domain {domain:?}")).into());
        }
        execute(
            client,
            "INSERT INTO tenant_domains (domain, tenant_id, position) VALUES ($1, $2, $3)",
            &[domain, &tenant.id.0, &position],
        )
        .await?;
    }
    Ok(())
}

/// Takes the next number of one of the tenant's sequences: the stored next number, raised to
/// `floor` when that is higher. A number once taken is never handed out again, whatever
/// happens to the row that used it. The sequence's row stays locked until the transaction
/// ends, so the tenant's next taker of the same sequence waits for it.
pub(crate) async fn take_number<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    sequence: &str,
    floor: i64,
) -> Result<i64, Failure> {
    let taken = row(
        client,
        "INSERT INTO counters (tenant_id, name, next) VALUES ($1, $2, $3::bigint + 1) \
         ON CONFLICT (tenant_id, name) DO UPDATE SET next = greatest(counters.next, $3) + 1 \
         RETURNING next - 1",
        &[&tenant.0, &sequence, &floor],
    )
    .await?;
    Ok(taken.try_get(0)?)
}

/// Records that `number` of a sequence is used without handing it out, so that later numbers of
/// [`take_number`] stay above it; returns `number`.
pub(crate) async fn keep_number<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    sequence: &str,
    number: i64,
) -> Result<i64, Failure> {
    execute(
        client,
        "INSERT INTO counters (tenant_id, name, next) VALUES ($1, $2, $3::bigint + 1) \
         ON CONFLICT (tenant_id, name) DO UPDATE \
         SET next = greatest(counters.next, excluded.next)",
        &[&tenant.0, &sequence, &number],
    )
    .await?;
    Ok(number)
}

/// Locks the tenant's row of `sequence` until the transaction ends, creating it when missing,
/// without taking a number. Whoever needs to decide something before taking the number (the
/// duplicate rule) does so under this lock, in this and every other process.
pub(crate) async fn lock_sequence<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    sequence: &str,
    floor: i64,
) -> Result<(), Failure> {
    // `DO UPDATE ... WHERE FALSE` changes nothing but locks the existing row, which `DO
    // NOTHING` would not; a new row is locked as any inserted row is.
    execute(
        client,
        "INSERT INTO counters (tenant_id, name, next) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, name) DO UPDATE SET next = counters.next WHERE FALSE",
        &[&tenant.0, &sequence, &floor],
    )
    .await?;
    Ok(())
}

/// The tenant's `first_bill_id` as stored now, which may be newer than a cached tenant's.
pub(crate) async fn stored_first_bill_id<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Option<i64>, Failure> {
    let found = row_opt(
        client,
        "SELECT first_bill_id FROM tenants WHERE id = $1",
        &[&tenant.0],
    )
    .await?;
    Ok(found.map(|r| r.try_get(0)).transpose()?)
}
