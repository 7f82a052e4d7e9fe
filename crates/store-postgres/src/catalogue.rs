//! Products, coupons, partners and managers. Codes and logins compare case-insensitively in
//! ASCII: the columns are `COLLATE "C"`, so `lower` on them folds ASCII letters only, and the
//! look-up value is folded the same way before it is sent. The unique indexes use the same
//! expression.

use crate::db::{execute, row_opt, rows, Failure};
use crate::tenants::{keep_number, take_number};
use clickbill_domain::model::{
    Coupon, CouponId, Discount, GoodName, Manager, ManagerId, NewCoupon, NewManager, NewPartner,
    NotificationUrls, Partner, PartnerId, Product, ProductId, ProductPatch, ProductSpec, TenantId,
};
use clickbill_domain::StoreError;
use clickbill_protocol::value::{Money, Percent};
use clickbill_store_codec::{corrupt, decode_fees, encode_fees};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

/// The form of a code or login that the unique indexes and look-ups compare.
fn folded(text: &str) -> String {
    text.to_ascii_lowercase()
}

macro_rules! select_product {
    ($rest:literal) => {
        concat!(
            "SELECT id, code, title, physical, price, parent_id, url_new_order, url_paid, ",
            "url_prepaid, url_cancel, url_moneyback, success_link, client_groups, ",
            "cash_on_delivery_only, quickpost_article, post_service, prepayment_minsum, ",
            "timer_kill, partner_fees::text, deleted, tenant_id FROM products ",
            $rest
        )
    };
}

/// A row of `select_product!`: the product, whether it is deleted, and its tenant.
pub(crate) fn product_from_row(row: &Row) -> Result<(Product, bool, TenantId), Failure> {
    let code: String = row.try_get(1)?;
    let fees: String = row.try_get(18)?;
    let minsum: Option<i64> = row.try_get(16)?;
    let product = Product {
        id: ProductId(row.try_get(0)?),
        spec: ProductSpec {
            code: GoodName::parse(&code).ok_or_else(|| corrupt("product code"))?,
            title: row.try_get(2)?,
            physical: row.try_get(3)?,
            price: Money::from_minor(row.try_get(4)?),
            parent_id: row.try_get(5)?,
            urls: NotificationUrls {
                new_order: row.try_get(6)?,
                paid: row.try_get(7)?,
                prepaid: row.try_get(8)?,
                cancel: row.try_get(9)?,
                moneyback: row.try_get(10)?,
            },
            success_link: row.try_get(11)?,
            client_groups: row.try_get(12)?,
            cash_on_delivery_only: row.try_get(13)?,
            quickpost_article: row.try_get(14)?,
            post_service: row.try_get(15)?,
            prepayment_minsum: minsum.map(Money::from_minor),
            timer_kill: row.try_get(17)?,
            partner_fees: decode_fees(&fees)?,
        },
    };
    Ok((product, row.try_get(19)?, TenantId(row.try_get(20)?)))
}

fn live_products(rows: Vec<Row>) -> Result<Vec<Product>, Failure> {
    rows.iter()
        .map(|row| product_from_row(row).map(|(product, _, _)| product))
        .collect()
}

pub(crate) async fn products<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Product>, Failure> {
    let sql = select_product!("WHERE tenant_id = $1 AND NOT deleted ORDER BY id");
    live_products(rows(client, sql, &[&tenant.0]).await?)
}

/// Products of every tenant, deleted ones included, by key, for copying.
pub(crate) const PRODUCTS_PAGE: &str =
    select_product!("WHERE (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3");

pub(crate) const BY_CODE: &str =
    select_product!("WHERE tenant_id = $1 AND lower(code) = $2 AND NOT deleted");

async fn product_by_code<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    code: &str,
) -> Result<Option<Product>, Failure> {
    let found = row_opt(client, BY_CODE, &[&tenant.0, &folded(code)]).await?;
    Ok(found
        .as_ref()
        .map(product_from_row)
        .transpose()?
        .map(|(product, _, _)| product))
}

pub(crate) async fn products_by_codes<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    codes: &[String],
) -> Result<Vec<Product>, Failure> {
    let folded: Vec<String> = codes.iter().map(|code| folded(code)).collect();
    let sql = select_product!(
        "WHERE tenant_id = $1 AND lower(code) = ANY($2) AND NOT deleted ORDER BY id"
    );
    live_products(rows(client, sql, &[&tenant.0, &folded]).await?)
}

pub(crate) async fn add_product<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    spec: ProductSpec,
) -> Result<Product, Failure> {
    if product_by_code(client, tenant, spec.code.as_str())
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict(format!("product {:?}", spec.code.as_str())).into());
    }
    let id = take_number(client, tenant, "product", 1).await?;
    let product = Product {
        id: ProductId(id),
        spec,
    };
    insert_product(client, tenant, &product, false).await?;
    Ok(product)
}

/// Writes a product under its id, as it is or as deleted.
pub(crate) async fn insert_product<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    product: &Product,
    deleted: bool,
) -> Result<(), Failure> {
    let fields = ProductFields::of(tenant, product);
    let mut params = fields.params();
    params.push(&deleted);
    execute(
        client,
        "INSERT INTO products (tenant_id, id, code, title, physical, price, parent_id, \
         url_new_order, url_paid, url_prepaid, url_cancel, url_moneyback, success_link, \
         client_groups, cash_on_delivery_only, quickpost_article, post_service, \
         prepayment_minsum, timer_kill, partner_fees, deleted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20::text::jsonb, $21)",
        &params,
    )
    .await?;
    Ok(())
}

pub(crate) async fn update_product<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    code: &str,
    patch: ProductPatch,
) -> Result<Option<Product>, Failure> {
    let Some(mut product) = product_by_code(client, tenant, code).await? else {
        return Ok(None);
    };
    patch.apply(&mut product.spec);
    let fields = ProductFields::of(tenant, &product);
    execute(
        client,
        "UPDATE products SET code = $3, title = $4, physical = $5, price = $6, \
         parent_id = $7, url_new_order = $8, url_paid = $9, url_prepaid = $10, \
         url_cancel = $11, url_moneyback = $12, success_link = $13, client_groups = $14, \
         cash_on_delivery_only = $15, quickpost_article = $16, post_service = $17, \
         prepayment_minsum = $18, timer_kill = $19, partner_fees = $20::text::jsonb \
         WHERE tenant_id = $1 AND id = $2",
        &fields.params(),
    )
    .await?;
    Ok(Some(product))
}

/// The parameters `$1`…`$20` of the product INSERT and UPDATE above, with the values that are
/// not stored as they are held converted.
struct ProductFields<'a> {
    tenant: i64,
    product: &'a Product,
    code: &'a str,
    price: i64,
    prepayment_minsum: Option<i64>,
    partner_fees: String,
}

impl<'a> ProductFields<'a> {
    fn of(tenant: TenantId, product: &'a Product) -> ProductFields<'a> {
        ProductFields {
            tenant: tenant.0,
            product,
            code: product.spec.code.as_str(),
            price: product.spec.price.minor(),
            prepayment_minsum: product.spec.prepayment_minsum.map(Money::minor),
            partner_fees: encode_fees(&product.spec.partner_fees),
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let p = &self.product.spec;
        vec![
            &self.tenant,
            &self.product.id.0,
            &self.code,
            &p.title,
            &p.physical,
            &self.price,
            &p.parent_id,
            &p.urls.new_order,
            &p.urls.paid,
            &p.urls.prepaid,
            &p.urls.cancel,
            &p.urls.moneyback,
            &p.success_link,
            &p.client_groups,
            &p.cash_on_delivery_only,
            &p.quickpost_article,
            &p.post_service,
            &self.prepayment_minsum,
            &p.timer_kill,
            &self.partner_fees,
        ]
    }
}

pub(crate) async fn delete_product<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    code: &str,
) -> Result<bool, Failure> {
    let changed = execute(
        client,
        "UPDATE products SET deleted = TRUE \
         WHERE tenant_id = $1 AND lower(code) = $2 AND NOT deleted",
        &[&tenant.0, &folded(code)],
    )
    .await?;
    Ok(changed > 0)
}

macro_rules! select_coupon {
    ($rest:literal) => {
        concat!(
            "SELECT c.tenant_id, c.id, c.code, c.kind, c.value, c.expires_at, c.disabled, ",
            "ARRAY(SELECT product_id FROM coupon_products p ",
            "WHERE p.tenant_id = c.tenant_id AND p.coupon_id = c.id ORDER BY product_id) ",
            "FROM coupons c ",
            $rest
        )
    };
}

/// A coupon row and its tenant.
pub(crate) fn coupon_from_row(row: &Row) -> Result<(Coupon, TenantId), Failure> {
    let kind: String = row.try_get(3)?;
    let value: i64 = row.try_get(4)?;
    let products: Vec<i64> = row.try_get(7)?;
    let discount = match kind.as_str() {
        "percent" => Discount::Percent(
            Percent::from_hundredths(value).ok_or_else(|| corrupt("coupon percentage"))?,
        ),
        "fixed" => Discount::Fixed(Money::from_minor(value)),
        _ => return Err(corrupt("coupon kind").into()),
    };
    let coupon = Coupon {
        id: CouponId(row.try_get(1)?),
        code: row.try_get(2)?,
        discount,
        products: products.into_iter().map(ProductId).collect(),
        expires_at: row.try_get(5)?,
        disabled: row.try_get(6)?,
    };
    Ok((coupon, TenantId(row.try_get(0)?)))
}

fn coupons_from_rows(rows: Vec<Row>) -> Result<Vec<Coupon>, Failure> {
    rows.iter()
        .map(|row| coupon_from_row(row).map(|(coupon, _)| coupon))
        .collect()
}

pub(crate) async fn coupons<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Coupon>, Failure> {
    let sql = select_coupon!("WHERE c.tenant_id = $1 ORDER BY c.id");
    coupons_from_rows(rows(client, sql, &[&tenant.0]).await?)
}

/// Coupons of every tenant by key, for copying.
pub(crate) const COUPONS_PAGE: &str =
    select_coupon!("WHERE (c.tenant_id, c.id) > ($1, $2) ORDER BY c.tenant_id, c.id LIMIT $3");

pub(crate) async fn coupon_by_code<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    code: &str,
) -> Result<Option<Coupon>, Failure> {
    let sql = select_coupon!("WHERE c.tenant_id = $1 AND lower(c.code) = $2");
    Ok(coupons_from_rows(rows(client, sql, &[&tenant.0, &folded(code)]).await?)?.pop())
}

pub(crate) async fn coupon_by_id<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: CouponId,
) -> Result<Option<Coupon>, Failure> {
    let sql = select_coupon!("WHERE c.tenant_id = $1 AND c.id = $2");
    Ok(coupons_from_rows(rows(client, sql, &[&tenant.0, &id.0]).await?)?.pop())
}

pub(crate) async fn add_coupon<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    coupon: NewCoupon,
) -> Result<Coupon, Failure> {
    let NewCoupon {
        id,
        code,
        discount,
        mut products,
        expires_at,
    } = coupon;
    if coupon_by_code(client, tenant, &code).await?.is_some() {
        return Err(StoreError::Conflict(format!("coupon {code:?}")).into());
    }
    let id = match id {
        Some(id) if coupon_by_id(client, tenant, id).await?.is_some() => {
            return Err(StoreError::Conflict(format!("coupon id {}", id.0)).into());
        }
        Some(id) => keep_number(client, tenant, "coupon", id.0).await?,
        None => take_number(client, tenant, "coupon", 1).await?,
    };
    products.sort();
    products.dedup();
    let coupon = Coupon {
        id: CouponId(id),
        code,
        discount,
        products,
        expires_at,
        disabled: false,
    };
    insert_coupon(client, tenant, &coupon).await?;
    Ok(coupon)
}

/// Writes a coupon under its id, with its product list (sorted, each product once).
pub(crate) async fn insert_coupon<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    coupon: &Coupon,
) -> Result<(), Failure> {
    let (kind, value) = match coupon.discount {
        Discount::Percent(p) => ("percent", p.hundredths()),
        Discount::Fixed(m) => ("fixed", m.minor()),
    };
    execute(
        client,
        "INSERT INTO coupons (tenant_id, id, code, kind, value, expires_at, disabled) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &tenant.0,
            &coupon.id.0,
            &coupon.code,
            &kind,
            &value,
            &coupon.expires_at,
            &coupon.disabled,
        ],
    )
    .await?;
    let products: Vec<i64> = coupon.products.iter().map(|p| p.0).collect();
    execute(
        client,
        "INSERT INTO coupon_products (tenant_id, coupon_id, product_id) \
         SELECT $1, $2, product_id FROM unnest($3::bigint[]) AS product_id",
        &[&tenant.0, &coupon.id.0, &products],
    )
    .await?;
    Ok(())
}

pub(crate) async fn set_coupon_disabled<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    code: &str,
    disabled: bool,
) -> Result<bool, Failure> {
    let changed = execute(
        client,
        "UPDATE coupons SET disabled = $3 WHERE tenant_id = $1 AND lower(code) = $2",
        &[&tenant.0, &folded(code), &disabled],
    )
    .await?;
    Ok(changed > 0)
}

macro_rules! select_partner {
    ($rest:literal) => {
        concat!(
            "SELECT tenant_id, id, login, parent_id, registered_at FROM partners ",
            $rest
        )
    };
}

/// A partner row and its tenant.
pub(crate) fn partner_from_row(row: &Row) -> Result<(Partner, TenantId), Failure> {
    let partner = Partner {
        id: PartnerId(row.try_get(1)?),
        login: row.try_get(2)?,
        parent: row.try_get::<_, Option<i64>>(3)?.map(PartnerId),
        registered_at: row.try_get(4)?,
    };
    Ok((partner, TenantId(row.try_get(0)?)))
}

fn partners_from_rows(rows: Vec<Row>) -> Result<Vec<Partner>, Failure> {
    rows.iter()
        .map(|row| partner_from_row(row).map(|(partner, _)| partner))
        .collect()
}

pub(crate) async fn partners<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Partner>, Failure> {
    let sql = select_partner!("WHERE tenant_id = $1 ORDER BY id");
    partners_from_rows(rows(client, sql, &[&tenant.0]).await?)
}

/// Partners of every tenant by key, for copying.
pub(crate) const PARTNERS_PAGE: &str =
    select_partner!("WHERE (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3");

pub(crate) async fn partner_by_id<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: PartnerId,
) -> Result<Option<Partner>, Failure> {
    let sql = select_partner!("WHERE tenant_id = $1 AND id = $2");
    Ok(partners_from_rows(rows(client, sql, &[&tenant.0, &id.0]).await?)?.pop())
}

pub(crate) async fn partner_by_login<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    login: &str,
) -> Result<Option<Partner>, Failure> {
    let sql = select_partner!("WHERE tenant_id = $1 AND lower(login) = $2");
    Ok(partners_from_rows(rows(client, sql, &[&tenant.0, &folded(login)]).await?)?.pop())
}

pub(crate) async fn add_partner<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    partner: NewPartner,
) -> Result<Partner, Failure> {
    let NewPartner {
        id,
        login,
        parent,
        registered_at,
    } = partner;
    if partner_by_login(client, tenant, &login).await?.is_some() {
        return Err(StoreError::Conflict(format!("partner {login:?}")).into());
    }
    if let Some(parent) = parent {
        if partner_by_id(client, tenant, parent).await?.is_none() {
            return Err(StoreError::Backend(format!("no partner with id {}", parent.0)).into());
        }
    }
    let id = match id {
        Some(id) if partner_by_id(client, tenant, id).await?.is_some() => {
            return Err(StoreError::Conflict(format!("partner id {}", id.0)).into());
        }
        Some(id) => keep_number(client, tenant, "partner", id.0).await?,
        None => take_number(client, tenant, "partner", 1).await?,
    };
    let partner = Partner {
        id: PartnerId(id),
        login,
        parent,
        registered_at,
    };
    insert_partner(client, tenant, &partner).await?;
    Ok(partner)
}

pub(crate) async fn insert_partner<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    partner: &Partner,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO partners (tenant_id, id, login, parent_id, registered_at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &tenant.0,
            &partner.id.0,
            &partner.login,
            &partner.parent.map(|p| p.0),
            &partner.registered_at,
        ],
    )
    .await?;
    Ok(())
}

/// A manager row and its tenant.
pub(crate) fn manager_from_row(row: &Row) -> Result<(Manager, TenantId), Failure> {
    let manager = Manager {
        id: ManagerId(row.try_get(1)?),
        name: row.try_get(2)?,
    };
    Ok((manager, TenantId(row.try_get(0)?)))
}

fn managers_from_rows(rows: Vec<Row>) -> Result<Vec<Manager>, Failure> {
    rows.iter()
        .map(|row| manager_from_row(row).map(|(manager, _)| manager))
        .collect()
}

pub(crate) async fn managers<C: GenericClient>(
    client: &C,
    tenant: TenantId,
) -> Result<Vec<Manager>, Failure> {
    managers_from_rows(
        rows(
            client,
            "SELECT tenant_id, id, name FROM managers WHERE tenant_id = $1 ORDER BY id",
            &[&tenant.0],
        )
        .await?,
    )
}

/// Managers of every tenant by key, for copying.
pub(crate) const MANAGERS_PAGE: &str = "SELECT tenant_id, id, name FROM managers \
     WHERE (tenant_id, id) > ($1, $2) ORDER BY tenant_id, id LIMIT $3";

pub(crate) async fn manager_by_id<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    id: ManagerId,
) -> Result<Option<Manager>, Failure> {
    let found = rows(
        client,
        "SELECT tenant_id, id, name FROM managers WHERE tenant_id = $1 AND id = $2",
        &[&tenant.0, &id.0],
    )
    .await?;
    Ok(managers_from_rows(found)?.pop())
}

pub(crate) async fn add_manager<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    manager: NewManager,
) -> Result<Manager, Failure> {
    let NewManager { id, name } = manager;
    let id = match id {
        Some(id) if manager_by_id(client, tenant, id).await?.is_some() => {
            return Err(StoreError::Conflict(format!("manager id {}", id.0)).into());
        }
        Some(id) => keep_number(client, tenant, "manager", id.0).await?,
        None => take_number(client, tenant, "manager", 1).await?,
    };
    let manager = Manager {
        id: ManagerId(id),
        name,
    };
    insert_manager(client, tenant, &manager).await?;
    Ok(manager)
}

pub(crate) async fn insert_manager<C: GenericClient>(
    client: &C,
    tenant: TenantId,
    manager: &Manager,
) -> Result<(), Failure> {
    execute(
        client,
        "INSERT INTO managers (tenant_id, id, name) VALUES ($1, $2, $3)",
        &[&tenant.0, &manager.id.0, &manager.name],
    )
    .await?;
    Ok(())
}
