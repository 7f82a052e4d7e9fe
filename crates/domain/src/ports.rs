//! What the domain needs from storage. Each backend (embedded SQLite, PostgreSQL) implements
//! [`Store`]; the rules above it never see SQL.

use crate::model::{
    BillId, Coupon, CouponId, NewCoupon, NewOrder, NewPartner, NewTenant, Order, Partner,
    PartnerId, Product, ProductPatch, ProductSpec, Tenant, TenantId,
};
use crate::order::{OrderEventKind, StatusRefusal};
use async_trait::async_trait;

/// A storage failure. `Conflict` is an expected outcome (a unique name is taken); everything
/// else is a fault the caller reports as its failure code.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

/// The result of [`Store::create_order`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreatedOrder {
    /// A new order was stored under this number.
    Created(BillId),
    /// An identical order from the last day exists (SPEC §13.1.4); nothing was stored.
    Duplicate(BillId),
}

/// A change the store applies to one order inside its write transaction. It may refuse; then
/// nothing is written.
pub type OrderChange =
    Box<dyn FnOnce(&mut Order) -> Result<Vec<OrderEventKind>, StatusRefusal> + Send + 'static>;

/// The result of [`Store::update_order`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderUpdate {
    /// No such order, or it is deleted.
    NotFound,
    Refused(StatusRefusal),
    /// The change was committed together with these events.
    Applied(Vec<OrderEventKind>),
}

/// Durable storage for every tenant. Every method is scoped to one tenant where it takes a
/// [`TenantId`]; a row of another tenant is never returned. A write is durable when its future
/// resolves.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// All tenants, ordered by login.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;
    async fn tenant_by_login(&self, login: &str) -> Result<Option<Tenant>, StoreError>;
    /// The tenant owning this custom domain (already lower-cased).
    async fn tenant_by_domain(&self, host: &str) -> Result<Option<Tenant>, StoreError>;
    /// Fails with `Conflict` when the login or one of the domains is taken.
    async fn add_tenant(&self, tenant: NewTenant) -> Result<Tenant, StoreError>;
    /// Stores the secret, enabled flag, custom domains and settings of an existing tenant.
    async fn save_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// A number that changes whenever any tenant changes, also through another process, so that
    /// caches of tenants know when to reload.
    async fn tenants_version(&self) -> Result<i64, StoreError>;

    /// The catalogue, ordered by product id.
    async fn products(&self, tenant: TenantId) -> Result<Vec<Product>, StoreError>;
    /// The products whose codes equal any of `codes`, compared case-insensitively.
    async fn products_by_codes(
        &self,
        tenant: TenantId,
        codes: &[String],
    ) -> Result<Vec<Product>, StoreError>;
    /// Fails with `Conflict` when the code is taken (case-insensitively).
    async fn add_product(&self, tenant: TenantId, spec: ProductSpec)
        -> Result<Product, StoreError>;
    /// `None` when no product has that code.
    async fn update_product(
        &self,
        tenant: TenantId,
        code: &str,
        patch: ProductPatch,
    ) -> Result<Option<Product>, StoreError>;
    /// `false` when no product has that code.
    async fn delete_product(&self, tenant: TenantId, code: &str) -> Result<bool, StoreError>;

    /// Fails with `Conflict` when the code (case-insensitively) or the given id is taken. Ids
    /// the store hands out later stay above every id given here.
    async fn add_coupon(&self, tenant: TenantId, coupon: NewCoupon) -> Result<Coupon, StoreError>;
    /// Fails with `Conflict` when the login (case-insensitively) or the given id is taken, and
    /// with `Backend` when the parent does not exist.
    async fn add_partner(
        &self,
        tenant: TenantId,
        partner: NewPartner,
    ) -> Result<Partner, StoreError>;
    async fn coupon_by_code(
        &self,
        tenant: TenantId,
        code: &str,
    ) -> Result<Option<Coupon>, StoreError>;
    async fn coupon_by_id(
        &self,
        tenant: TenantId,
        id: CouponId,
    ) -> Result<Option<Coupon>, StoreError>;
    async fn partner_by_id(
        &self,
        tenant: TenantId,
        id: PartnerId,
    ) -> Result<Option<Partner>, StoreError>;
    async fn partner_by_login(
        &self,
        tenant: TenantId,
        login: &str,
    ) -> Result<Option<Partner>, StoreError>;

    /// Stores `order` under the tenant's next number (at least `first_bill_id`, above every
    /// number ever given), unless [`crate::order::is_duplicate`] finds a non-deleted order
    /// that makes it a duplicate at server time `now`. Creation, the duplicate check and the
    /// number are serialised per tenant. A `NewOrder` event is recorded with the order.
    async fn create_order(
        &self,
        tenant: &Tenant,
        order: NewOrder,
        now: i64,
    ) -> Result<CreatedOrder, StoreError>;
    /// A non-deleted order.
    async fn order(&self, tenant: TenantId, bill_id: BillId) -> Result<Option<Order>, StoreError>;
    /// Runs `change` on the current state of a non-deleted order inside one write transaction and
    /// stores the result together with the events it returns, dated server time `now`.
    async fn update_order(
        &self,
        tenant: TenantId,
        bill_id: BillId,
        now: i64,
        change: OrderChange,
    ) -> Result<OrderUpdate, StoreError>;
    /// Hides an order for good; `false` when it does not exist or is already deleted.
    async fn delete_order(&self, tenant: TenantId, bill_id: BillId) -> Result<bool, StoreError>;
}
