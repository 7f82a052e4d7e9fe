//! What the domain needs from storage. Each backend (embedded SQLite, PostgreSQL) implements
//! [`Store`]; the rules above it never see SQL.

use crate::contacts::{
    ContactCommand, ContactId, ContactOutcome, CountScope, Group, NewGroup, StoredContact,
    UnsubscribeEvent,
};
use crate::model::{
    BillId, Coupon, CouponId, Manager, ManagerId, NewCoupon, NewManager, NewOrder, NewPartner,
    NewTenant, Order, Partner, PartnerId, PayStatus, Product, ProductPatch, ProductSpec, Tenant,
    TenantId,
};
use crate::order::{OrderEventKind, StatusRefusal};
use crate::outbox::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, DeliveryFilter, DeliveryInfo, EventId,
    OutboxWaker,
};
use async_trait::async_trait;
use clickbill_protocol::value::Money;

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

/// Which time of an order a listing window applies to (SPEC §13.4–§13.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderTime {
    /// `created`, the reported creation time; every non-deleted order.
    Created,
    /// `paid`, the time of full payment; only orders whose `pay_status` is `paid`.
    Paid,
}

/// A closed window of unix times; `None` leaves that side open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl TimeWindow {
    pub fn contains(self, at: i64) -> bool {
        self.from.is_none_or(|from| from <= at) && self.to.is_none_or(|to| at <= to)
    }
}

/// What one partner brought in a window (SPEC §14.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartnerStats {
    /// The partner's fees on non-deleted orders that are `paid`, paid in the window.
    pub earned: Money,
    /// The orders those fees come from.
    pub bills: u64,
    /// Partners whose parent is this partner, registered in the window.
    pub sub_partners: u64,
    /// Contacts attributed to the partner, created in the window.
    pub leads: u64,
}

/// An order whose auto-cancel time had passed when [`Store::fire_due_auto_cancels`] took it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueTimer {
    pub tenant: TenantId,
    pub bill_id: BillId,
}

/// What one call of [`Store::fire_due_auto_cancels`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FiredTimers {
    /// How many due timers it took, cancelled or not; fewer than asked means none is left.
    pub taken: usize,
    /// The orders it cancelled, in the order it took them.
    pub cancelled: Vec<DueTimer>,
}

/// A response remembered under an `Idempotency-Key` (SPEC §17).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The result of [`Store::claim_idempotency_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key was free (or its earlier claim had expired): the caller runs the request and
    /// then completes or releases the key.
    Claimed,
    /// Another request with this key and the same fingerprint is still running.
    InFlight,
    /// The key was used for a request with another fingerprint.
    Mismatch,
    /// The key's request completed with this response.
    Done(StoredResponse),
}

/// An `Idempotency-Key` as a store holds it, for [`KeyRecord::claim_by`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: String,
    pub claimed_at: i64,
    /// The completion time and the response, once the key's request completed.
    pub completed: Option<(i64, StoredResponse)>,
}

impl KeyRecord {
    /// The record from the columns a store keeps: `done` once completed, with the response's
    /// `status` and `body`. A completed record without a valid status is corrupt.
    pub fn from_columns(
        fingerprint: String,
        done: bool,
        claimed_at: i64,
        completed_at: Option<i64>,
        status: Option<i64>,
        body: Option<Vec<u8>>,
    ) -> Result<KeyRecord, StoreError> {
        let completed = if done {
            let status = status.and_then(|s| u16::try_from(s).ok()).ok_or_else(|| {
                StoreError::Backend("corrupt idempotency key status in the database".into())
            })?;
            let response = StoredResponse {
                status,
                body: body.unwrap_or_default(),
            };
            Some((completed_at.unwrap_or(claimed_at), response))
        } else {
            None
        };
        Ok(KeyRecord {
            fingerprint,
            claimed_at,
            completed,
        })
    }

    /// What a claim of this key by a request with `fingerprint` at `now` finds, or `None` when
    /// the record no longer binds the key (a response past its lifetime, a claim past its
    /// lease), so that the claim takes it over. Every store decides through this, so that the
    /// rule is the same on each.
    pub fn claim_by(
        self,
        fingerprint: &str,
        now: i64,
        lease_seconds: i64,
    ) -> Option<IdempotencyClaim> {
        let binds = match &self.completed {
            Some((completed_at, _)) => completed_at.saturating_add(IDEMPOTENCY_KEY_LIFETIME) > now,
            None => self.claimed_at.saturating_add(lease_seconds) > now,
        };
        if !binds {
            return None;
        }
        Some(if self.fingerprint != fingerprint {
            IdempotencyClaim::Mismatch
        } else {
            match self.completed {
                Some((_, response)) => IdempotencyClaim::Done(response),
                None => IdempotencyClaim::InFlight,
            }
        })
    }
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
    /// Every coupon, disabled ones included, ordered by id.
    async fn coupons(&self, tenant: TenantId) -> Result<Vec<Coupon>, StoreError>;
    /// Switches a coupon off or on again; `false` when no coupon has that code.
    async fn set_coupon_disabled(
        &self,
        tenant: TenantId,
        code: &str,
        disabled: bool,
    ) -> Result<bool, StoreError>;
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
    /// Every partner, ordered by id.
    async fn partners(&self, tenant: TenantId) -> Result<Vec<Partner>, StoreError>;
    async fn partner_stats(
        &self,
        tenant: TenantId,
        partner: PartnerId,
        window: TimeWindow,
    ) -> Result<PartnerStats, StoreError>;

    /// Fails with `Conflict` when the given id is taken.
    async fn add_manager(
        &self,
        tenant: TenantId,
        manager: NewManager,
    ) -> Result<Manager, StoreError>;
    /// Every manager, ordered by id.
    async fn managers(&self, tenant: TenantId) -> Result<Vec<Manager>, StoreError>;
    async fn manager_by_id(
        &self,
        tenant: TenantId,
        id: ManagerId,
    ) -> Result<Option<Manager>, StoreError>;

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

    /// The non-deleted orders whose `time` lies in `window`, ordered by `bill_id`.
    async fn orders_in_window(
        &self,
        tenant: TenantId,
        time: OrderTime,
        window: TimeWindow,
    ) -> Result<Vec<Order>, StoreError>;
    /// The non-deleted orders of one normalised e-mail, optionally of one status, ordered by
    /// `bill_id`.
    async fn orders_by_email(
        &self,
        tenant: TenantId,
        email: &str,
        status: Option<PayStatus>,
    ) -> Result<Vec<Order>, StoreError>;

    /// Takes up to `limit` non-deleted orders of any tenant whose auto-cancel time is at or
    /// before `now`, earliest first, and fires each timer ([`Order::fire_auto_cancel`]) in the
    /// write transaction that records its `cancel_order` event. Concurrent calls, from this
    /// process or another replica, take disjoint orders without waiting for each other, and a
    /// fired timer is gone, so no order is cancelled twice.
    ///
    /// [`Order::fire_auto_cancel`]: crate::model::Order::fire_auto_cancel
    async fn fire_due_auto_cancels(
        &self,
        now: i64,
        limit: usize,
    ) -> Result<FiredTimers, StoreError>;

    /// Claims `key` for a request with `fingerprint` at server time `now`. A completed key is
    /// remembered until `now` passes its completion by [`IDEMPOTENCY_KEY_LIFETIME`]; a claim
    /// that was neither completed nor released lapses after `lease_seconds`, so that a
    /// crashed request does not block its retries for ever.
    async fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        now: i64,
        lease_seconds: i64,
    ) -> Result<IdempotencyClaim, StoreError>;
    /// Stores the response of the request that claimed `key` with `fingerprint`. A claim that
    /// lapsed and went to a request with another fingerprint is left to that request.
    async fn complete_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Gives up the claim of `key` with `fingerprint` without a response, so that a retry runs
    /// the request again.
    async fn release_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError>;
    /// Forgets completed keys older than [`IDEMPOTENCY_KEY_LIFETIME`] at `now`; returns how many.
    async fn purge_idempotency_keys(&self, now: i64) -> Result<u64, StoreError>;

    /// Hands out up to `limit` pending deliveries of any tenant that are due at `now_ms`
    /// (unix milliseconds), earliest first, each leased for `lease_ms`: no other claim gets it
    /// until the lease ends (the claimer crashed) or its attempt is recorded. Concurrent
    /// claimers, also in other processes, never get the same delivery at once.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Logs the attempt of `claimed` and moves the delivery on by `outcome`. `false` (nothing
    /// written) when the delivery is no longer at that attempt: its lease ran out and another
    /// claim took it over, or it was queued again by hand.
    async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        attempt: AttemptRecord,
        outcome: AttemptOutcome,
    ) -> Result<bool, StoreError>;
    /// When the earliest pending delivery (of any tenant) is due, in unix milliseconds.
    async fn next_delivery_due(&self) -> Result<Option<i64>, StoreError>;
    /// How many deliveries of any tenant are still pending: neither delivered nor given up.
    async fn pending_deliveries(&self) -> Result<u64, StoreError>;
    /// The deliveries of one tenant that match `filter`, oldest first.
    async fn deliveries(
        &self,
        tenant: TenantId,
        filter: DeliveryFilter,
    ) -> Result<Vec<DeliveryInfo>, StoreError>;
    /// One delivery by its event id with every attempt, in order.
    async fn delivery(
        &self,
        event_id: &EventId,
    ) -> Result<Option<(DeliveryInfo, Vec<AttemptRecord>)>, StoreError>;
    /// Queues a delivery again for an attempt at `now_ms`, whatever its state, with a fresh
    /// retry schedule and the same event id; `false` when there is no such delivery.
    async fn redeliver(&self, event_id: &EventId, now_ms: i64) -> Result<bool, StoreError>;
    /// Asks the store to call `waker` after each commit that wrote deliveries. Stores that
    /// cannot tell are polled instead; so are changes made by other processes.
    fn set_outbox_waker(&self, waker: OutboxWaker) {
        drop(waker);
    }
    /// Fails with `Conflict` when the name (case-insensitively) or the given id is taken. Ids
    /// the store hands out later stay above every id given here.
    async fn add_group(&self, tenant: TenantId, group: NewGroup) -> Result<Group, StoreError>;
    /// Every group, all kinds, ordered by `rass_id`.
    async fn groups(&self, tenant: TenantId) -> Result<Vec<Group>, StoreError>;
    /// The contact with this normalised e-mail, with its subscriptions.
    async fn contact_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<StoredContact>, StoreError>;
    /// Applies `command` to the contact with `email` (`None`: a new contact without e-mail)
    /// inside one write transaction, serialised per contact: [`ContactCommand::apply`] decides
    /// on the current state, and a contact it creates gets the tenant's next contact number.
    /// With the saved state the store records, in the same transaction, one
    /// [`UnsubscribeEvent`] per subscription that became `STATUS_UNSUBSCRIBE` (never for
    /// [`ContactCommand::Import`]) and, when [`crate::contacts::ContactWrite::counts_for_ip`],
    /// one subscribe call of the command's IP. A command with an [`crate::contacts::IpLimit`]
    /// is refused with `LimitReached` when that IP's calls of the last
    /// [`crate::contacts::IP_LIMIT_WINDOW`] seconds reach the limit.
    async fn change_contact(
        &self,
        tenant: TenantId,
        email: Option<&str>,
        command: ContactCommand,
        now: i64,
    ) -> Result<ContactOutcome, StoreError>;
    async fn count_contacts(&self, tenant: TenantId, scope: CountScope) -> Result<u64, StoreError>;
    /// Subscribe calls recorded for `ip` at or after `since`.
    async fn subscribe_calls_from(
        &self,
        tenant: TenantId,
        ip: &str,
        since: i64,
    ) -> Result<u64, StoreError>;
    /// Up to `limit` contacts with numbers above `after`, in number order: a page of a listing
    /// that never holds every contact at once.
    async fn contacts_page(
        &self,
        tenant: TenantId,
        after: Option<ContactId>,
        limit: usize,
    ) -> Result<Vec<StoredContact>, StoreError>;
    /// Up to `limit` recorded unsubscribe events with ids above `after`, in id order.
    async fn unsubscribe_events(
        &self,
        tenant: TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<UnsubscribeEvent>, StoreError>;
}

/// How long a completed `Idempotency-Key` is remembered (SPEC §17).
pub const IDEMPOTENCY_KEY_LIFETIME: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> StoredResponse {
        StoredResponse {
            status: 200,
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn a_claim_binds_for_its_lease_and_a_response_for_a_day() {
        let pending = KeyRecord {
            fingerprint: "A".into(),
            claimed_at: 100,
            completed: None,
        };
        assert_eq!(
            pending.clone().claim_by("A", 159, 60),
            Some(IdempotencyClaim::InFlight)
        );
        assert_eq!(
            pending.clone().claim_by("B", 159, 60),
            Some(IdempotencyClaim::Mismatch)
        );
        assert_eq!(pending.claim_by("B", 160, 60), None, "the lease lapsed");

        let done = KeyRecord::from_columns(
            "A".into(),
            true,
            100,
            Some(110),
            Some(200),
            Some(b"{}".to_vec()),
        )
        .unwrap();
        let expiry = 110 + IDEMPOTENCY_KEY_LIFETIME;
        assert_eq!(
            done.clone().claim_by("A", expiry - 1, 60),
            Some(IdempotencyClaim::Done(response()))
        );
        assert_eq!(
            done.clone().claim_by("B", expiry - 1, 60),
            Some(IdempotencyClaim::Mismatch)
        );
        assert_eq!(
            done.claim_by("A", expiry, 60),
            None,
            "forgotten after a day"
        );
    }

    #[test]
    fn a_completed_record_needs_a_status() {
        assert!(KeyRecord::from_columns("A".into(), true, 1, Some(2), None, None).is_err());
        assert!(KeyRecord::from_columns("A".into(), true, 1, Some(2), Some(70_000), None).is_err());
        let pending = KeyRecord::from_columns("A".into(), false, 1, None, None, None).unwrap();
        assert_eq!(pending.completed, None);
    }
}
