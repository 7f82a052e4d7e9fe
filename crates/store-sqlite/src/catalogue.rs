//! Products, coupons, partners and managers. Codes and logins compare ASCII-case-insensitively
//! through the columns' NOCASE collation, which is what the unique indexes use too.

use crate::codec::{corrupt, decode_fees, decode_strings, encode_fees, encode_strings};
use crate::db_error;
use crate::tenants::{keep_number, take_number};
use clickbill_domain::model::{
    Coupon, CouponId, Discount, GoodName, Manager, ManagerId, NewCoupon, NewManager, NewPartner,
    NotificationUrls, Partner, PartnerId, Product, ProductId, ProductPatch, ProductSpec, TenantId,
};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{Money, Percent};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

/// The columns [`product_from_row`] reads, then `$extra` columns for the caller, then `$rest`.
macro_rules! select_product {
    ($rest:literal) => {
        select_product!("", $rest)
    };
    ($extra:literal, $rest:literal) => {
        concat!(
            "SELECT id, code, title, physical, price, parent_id, url_new_order, url_paid, ",
            "url_prepaid, url_cancel, url_moneyback, success_link, client_groups, ",
            "cash_on_delivery_only, quickpost_article, post_service, prepayment_minsum, ",
            "timer_kill, partner_fees",
            $extra,
            " FROM products ",
            $rest
        )
    };
}
pub(crate) use select_product;

pub(crate) fn product_from_row(row: &Row<'_>) -> Result<Product, StoreError> {
    let code: String = row.get(1).map_err(db_error)?;
    let groups: String = row.get(12).map_err(db_error)?;
    let fees: String = row.get(18).map_err(db_error)?;
    let minsum: Option<i64> = row.get(16).map_err(db_error)?;
    Ok(Product {
        id: ProductId(row.get(0).map_err(db_error)?),
        spec: ProductSpec {
            code: GoodName::parse(&code).ok_or_else(|| corrupt("product code"))?,
            title: row.get(2).map_err(db_error)?,
            physical: row.get(3).map_err(db_error)?,
            price: Money::from_minor(row.get(4).map_err(db_error)?),
            parent_id: row.get(5).map_err(db_error)?,
            urls: NotificationUrls {
                new_order: row.get(6).map_err(db_error)?,
                paid: row.get(7).map_err(db_error)?,
                prepaid: row.get(8).map_err(db_error)?,
                cancel: row.get(9).map_err(db_error)?,
                moneyback: row.get(10).map_err(db_error)?,
            },
            success_link: row.get(11).map_err(db_error)?,
            client_groups: decode_strings(&groups)?,
            cash_on_delivery_only: row.get(13).map_err(db_error)?,
            quickpost_article: row.get(14).map_err(db_error)?,
            post_service: row.get(15).map_err(db_error)?,
            prepayment_minsum: minsum.map(Money::from_minor),
            timer_kill: row.get(17).map_err(db_error)?,
            partner_fees: decode_fees(&fees)?,
        },
    })
}

fn push_products(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    out: &mut Vec<Product>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    while let Some(row) = rows.next().map_err(db_error)? {
        out.push(product_from_row(row)?);
    }
    Ok(())
}

pub(crate) fn products(conn: &Connection, tenant: TenantId) -> Result<Vec<Product>, StoreError> {
    let mut out = Vec::new();
    push_products(
        conn,
        select_product!("WHERE tenant_id = ?1 AND deleted = 0 ORDER BY id"),
        [tenant.0],
        &mut out,
    )?;
    Ok(out)
}

pub(crate) const BY_CODE: &str =
    select_product!("WHERE tenant_id = ?1 AND code = ?2 AND deleted = 0");

pub(crate) fn product_by_code(
    conn: &Connection,
    tenant: TenantId,
    code: &str,
) -> Result<Option<Product>, StoreError> {
    let mut out = Vec::with_capacity(1);
    push_products(conn, BY_CODE, params![tenant.0, code], &mut out)?;
    Ok(out.pop())
}

/// One indexed look-up per code through one cached statement: orders name few products, and a
/// statement per list length would crowd the cache.
pub(crate) fn products_by_codes(
    conn: &Connection,
    tenant: TenantId,
    codes: &[String],
) -> Result<Vec<Product>, StoreError> {
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        push_products(conn, BY_CODE, params![tenant.0, code], &mut out)?;
    }
    out.sort_by_key(|p| p.id);
    out.dedup_by_key(|p| p.id);
    Ok(out)
}

pub(crate) fn add_product(
    conn: &Connection,
    tenant: TenantId,
    spec: ProductSpec,
) -> Result<Product, StoreError> {
    if product_by_code(conn, tenant, spec.code.as_str())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "product {:?}",
            spec.code.as_str()
        )));
    }
    let id = take_number(conn, tenant, "product", 1)?;
    let product = Product {
        id: ProductId(id),
        spec,
    };
    conn.prepare_cached(
        "INSERT INTO products (tenant_id, id, code, title, physical, price, parent_id, \
         url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback, success_link, \
         client_groups, cash_on_delivery_only, quickpost_article, post_service, \
         prepayment_minsum, timer_kill, partner_fees) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19, ?20)",
    )
    .and_then(|mut stmt| stmt.execute(params_from_iter(product_params(tenant, &product))))
    .map_err(db_error)?;
    Ok(product)
}

pub(crate) fn update_product(
    conn: &Connection,
    tenant: TenantId,
    code: &str,
    patch: ProductPatch,
) -> Result<Option<Product>, StoreError> {
    let Some(mut product) = product_by_code(conn, tenant, code)? else {
        return Ok(None);
    };
    patch.apply(&mut product.spec);
    conn.prepare_cached(
        "UPDATE products SET code = ?3, title = ?4, physical = ?5, price = ?6, \
         parent_id = ?7, url_new_order = ?8, url_paid = ?9, url_prepaid = ?10, \
         url_cancel = ?11, url_moneyback = ?12, success_link = ?13, client_groups = ?14, \
         cash_on_delivery_only = ?15, quickpost_article = ?16, post_service = ?17, \
         prepayment_minsum = ?18, timer_kill = ?19, partner_fees = ?20 \
         WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params_from_iter(product_params(tenant, &product))))
    .map_err(db_error)?;
    Ok(Some(product))
}

/// Parameters `?1`…`?20` in the order of the INSERT and UPDATE above.
pub(crate) fn product_params(tenant: TenantId, product: &Product) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value::{Integer, Null, Text};
    let p = &product.spec;
    vec![
        Integer(tenant.0),
        Integer(product.id.0),
        Text(p.code.as_str().to_owned()),
        Text(p.title.clone()),
        Integer(i64::from(p.physical)),
        Integer(p.price.minor()),
        Text(p.parent_id.clone()),
        Text(p.urls.new_order.clone()),
        Text(p.urls.paid.clone()),
        Text(p.urls.prepaid.clone()),
        Text(p.urls.cancel.clone()),
        Text(p.urls.moneyback.clone()),
        Text(p.success_link.clone()),
        Text(encode_strings(&p.client_groups)),
        Integer(i64::from(p.cash_on_delivery_only)),
        Text(p.quickpost_article.clone()),
        Text(p.post_service.clone()),
        p.prepayment_minsum.map_or(Null, |m| Integer(m.minor())),
        Integer(p.timer_kill),
        Text(encode_fees(&p.partner_fees)),
    ]
}

pub(crate) fn delete_product(
    conn: &Connection,
    tenant: TenantId,
    code: &str,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE products SET deleted = 1 WHERE tenant_id = ?1 AND code = ?2 AND deleted = 0",
        )
        .and_then(|mut s| s.execute(params![tenant.0, code]))
        .map_err(db_error)?;
    Ok(changed > 0)
}

/// The columns [`coupon_from_row`] reads, then `$extra` columns for the caller, then `$rest`.
macro_rules! select_coupon {
    ($rest:literal) => {
        select_coupon!("", $rest)
    };
    ($extra:literal, $rest:literal) => {
        concat!(
            "SELECT c.id, c.code, c.kind, c.value, c.expires_at, c.disabled, ",
            "(SELECT json_group_array(product_id) FROM (SELECT product_id FROM coupon_products p ",
            "WHERE p.tenant_id = c.tenant_id AND p.coupon_id = c.id ORDER BY product_id))",
            $extra,
            " FROM coupons c ",
            $rest
        )
    };
}
pub(crate) use select_coupon;

pub(crate) fn coupon_from_row(row: &Row<'_>) -> Result<Coupon, StoreError> {
    let kind: String = row.get(2).map_err(db_error)?;
    let value: i64 = row.get(3).map_err(db_error)?;
    let products: String = row.get(6).map_err(db_error)?;
    let products: Vec<i64> =
        serde_json::from_str(&products).map_err(|_| corrupt("coupon products"))?;
    let discount = match kind.as_str() {
        "percent" => Discount::Percent(
            Percent::from_hundredths(value).ok_or_else(|| corrupt("coupon percentage"))?,
        ),
        "fixed" => Discount::Fixed(Money::from_minor(value)),
        _ => return Err(corrupt("coupon kind")),
    };
    Ok(Coupon {
        id: CouponId(row.get(0).map_err(db_error)?),
        code: row.get(1).map_err(db_error)?,
        discount,
        products: products.into_iter().map(ProductId).collect(),
        expires_at: row.get(4).map_err(db_error)?,
        disabled: row.get(5).map_err(db_error)?,
    })
}

fn collect_coupons(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Coupon>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_error)?;
    let mut rows = stmt.query(params).map_err(db_error)?;
    let mut coupons = Vec::new();
    while let Some(row) = rows.next().map_err(db_error)? {
        coupons.push(coupon_from_row(row)?);
    }
    Ok(coupons)
}

pub(crate) fn coupons(conn: &Connection, tenant: TenantId) -> Result<Vec<Coupon>, StoreError> {
    let sql = select_coupon!("WHERE c.tenant_id = ?1 ORDER BY c.id");
    collect_coupons(conn, sql, [tenant.0])
}

pub(crate) fn coupon_by_code(
    conn: &Connection,
    tenant: TenantId,
    code: &str,
) -> Result<Option<Coupon>, StoreError> {
    let sql = select_coupon!("WHERE c.tenant_id = ?1 AND c.code = ?2");
    Ok(collect_coupons(conn, sql, params![tenant.0, code])?.pop())
}

pub(crate) fn coupon_by_id(
    conn: &Connection,
    tenant: TenantId,
    id: CouponId,
) -> Result<Option<Coupon>, StoreError> {
    let sql = select_coupon!("WHERE c.tenant_id = ?1 AND c.id = ?2");
    Ok(collect_coupons(conn, sql, params![tenant.0, id.0])?.pop())
}

pub(crate) fn add_coupon(
    conn: &Connection,
    tenant: TenantId,
    coupon: NewCoupon,
) -> Result<Coupon, StoreError> {
    let NewCoupon {
        id,
        code,
        discount,
        mut products,
        expires_at,
    } = coupon;
    if coupon_by_code(conn, tenant, &code)?.is_some() {
        return Err(StoreError::Conflict(format!("coupon {code:?}")));
    }
    let id = match id {
        Some(id) if coupon_by_id(conn, tenant, id)?.is_some() => {
            return Err(StoreError::Conflict(format!("coupon id {}", id.0)));
        }
        Some(id) => keep_number(conn, tenant, "coupon", id.0)?,
        None => take_number(conn, tenant, "coupon", 1)?,
    };
    let (kind, value) = match discount {
        Discount::Percent(p) => ("percent", p.hundredths()),
        Discount::Fixed(m) => ("fixed", m.minor()),
    };
    conn.prepare_cached(
        "INSERT INTO coupons (tenant_id, id, code, kind, value, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![tenant.0, id, code, kind, value, expires_at]))
    .map_err(db_error)?;
    products.sort();
    products.dedup();
    for product in &products {
        conn.prepare_cached(
            "INSERT INTO coupon_products (tenant_id, coupon_id, product_id) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![tenant.0, id, product.0]))
        .map_err(db_error)?;
    }
    Ok(Coupon {
        id: CouponId(id),
        code,
        discount,
        products,
        expires_at,
        disabled: false,
    })
}

pub(crate) fn set_coupon_disabled(
    conn: &Connection,
    tenant: TenantId,
    code: &str,
    disabled: bool,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached("UPDATE coupons SET disabled = ?3 WHERE tenant_id = ?1 AND code = ?2")
        .and_then(|mut s| s.execute(params![tenant.0, code, disabled]))
        .map_err(db_error)?;
    Ok(changed > 0)
}

pub(crate) fn partner_from_row(row: &Row<'_>) -> rusqlite::Result<Partner> {
    Ok(Partner {
        id: PartnerId(row.get(0)?),
        login: row.get(1)?,
        parent: row.get::<_, Option<i64>>(2)?.map(PartnerId),
        registered_at: row.get(3)?,
    })
}

fn partner(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<Partner>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params, partner_from_row).optional())
        .map_err(db_error)
}

pub(crate) fn partners(conn: &Connection, tenant: TenantId) -> Result<Vec<Partner>, StoreError> {
    conn.prepare_cached(
        "SELECT id, login, parent_id, registered_at FROM partners \
         WHERE tenant_id = ?1 ORDER BY id",
    )
    .and_then(|mut s| s.query_map([tenant.0], partner_from_row)?.collect())
    .map_err(db_error)
}

pub(crate) fn partner_by_id(
    conn: &Connection,
    tenant: TenantId,
    id: PartnerId,
) -> Result<Option<Partner>, StoreError> {
    partner(
        conn,
        "SELECT id, login, parent_id, registered_at FROM partners \
         WHERE tenant_id = ?1 AND id = ?2",
        params![tenant.0, id.0],
    )
}

pub(crate) fn partner_by_login(
    conn: &Connection,
    tenant: TenantId,
    login: &str,
) -> Result<Option<Partner>, StoreError> {
    partner(
        conn,
        "SELECT id, login, parent_id, registered_at FROM partners \
         WHERE tenant_id = ?1 AND login = ?2",
        params![tenant.0, login],
    )
}

pub(crate) fn add_partner(
    conn: &Connection,
    tenant: TenantId,
    partner: NewPartner,
) -> Result<Partner, StoreError> {
    let NewPartner {
        id,
        login,
        parent,
        registered_at,
    } = partner;
    if partner_by_login(conn, tenant, &login)?.is_some() {
        return Err(StoreError::Conflict(format!("partner {login:?}")));
    }
    if let Some(parent) = parent {
        if partner_by_id(conn, tenant, parent)?.is_none() {
            return Err(StoreError::Backend(format!(
                "no partner with id {}",
                parent.0
            )));
        }
    }
    let id = match id {
        Some(id) if partner_by_id(conn, tenant, id)?.is_some() => {
            return Err(StoreError::Conflict(format!("partner id {}", id.0)));
        }
        Some(id) => keep_number(conn, tenant, "partner", id.0)?,
        None => take_number(conn, tenant, "partner", 1)?,
    };
    conn.prepare_cached(
        "INSERT INTO partners (tenant_id, id, login, parent_id, registered_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.0,
            id,
            login,
            parent.map(|p| p.0),
            registered_at
        ])
    })
    .map_err(db_error)?;
    Ok(Partner {
        id: PartnerId(id),
        login,
        parent,
        registered_at,
    })
}

pub(crate) fn manager_from_row(row: &Row<'_>) -> rusqlite::Result<Manager> {
    Ok(Manager {
        id: ManagerId(row.get(0)?),
        name: row.get(1)?,
    })
}

pub(crate) fn managers(conn: &Connection, tenant: TenantId) -> Result<Vec<Manager>, StoreError> {
    conn.prepare_cached("SELECT id, name FROM managers WHERE tenant_id = ?1 ORDER BY id")
        .and_then(|mut s| s.query_map([tenant.0], manager_from_row)?.collect())
        .map_err(db_error)
}

pub(crate) fn manager_by_id(
    conn: &Connection,
    tenant: TenantId,
    id: ManagerId,
) -> Result<Option<Manager>, StoreError> {
    conn.prepare_cached("SELECT id, name FROM managers WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| {
            s.query_row(params![tenant.0, id.0], manager_from_row)
                .optional()
        })
        .map_err(db_error)
}

pub(crate) fn add_manager(
    conn: &Connection,
    tenant: TenantId,
    manager: NewManager,
) -> Result<Manager, StoreError> {
    let NewManager { id, name } = manager;
    let id = match id {
        Some(id) if manager_by_id(conn, tenant, id)?.is_some() => {
            return Err(StoreError::Conflict(format!("manager id {}", id.0)));
        }
        Some(id) => keep_number(conn, tenant, "manager", id.0)?,
        None => take_number(conn, tenant, "manager", 1)?,
    };
    conn.prepare_cached("INSERT INTO managers (tenant_id, id, name) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![tenant.0, id, name]))
        .map_err(db_error)?;
    Ok(Manager {
        id: ManagerId(id),
        name,
    })
}
