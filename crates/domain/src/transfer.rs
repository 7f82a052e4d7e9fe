//! Moving a whole store to another backend (`clickbill copy`): every row, with its ids, in an
//! order that lets the target check its references as it goes.
//!
//! A copy reads each [`Collection`] of the source in key order, a page at a time, and writes each
//! page to the target in one transaction. The target's last key per collection is where an
//! interrupted copy resumes, so a page is either wholly there or wholly missing.

use crate::contacts::{Contact, Group, StoredContact, Subscription, UnsubscribeEvent};
use crate::model::{
    BillId, Commission, Coupon, Customer, Delivery, Discount, Item, Manager, NotificationUrls,
    Order, OrderExtras, Partner, PartnerEntry, Payment, Product, ProductSpec, Tenant, TenantId,
    TenantSettings, Utm,
};
use crate::order::OrderEventKind;
use crate::outbox::{AttemptRecord, DeliveryInfo};
use crate::ports::StoreError;
use async_trait::async_trait;
use clickbill_protocol::value::{Money, Percent};
use sha2::{Digest, Sha256};
use std::fmt;

/// The kinds of rows, in the order a copy writes them: everything a row refers to comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Collection {
    Tenants,
    Products,
    Coupons,
    Partners,
    Managers,
    Orders,
    Events,
    /// Outgoing notifications with their delivery logs; pending ones go on from the target.
    Deliveries,
    Groups,
    /// Contacts with their subscriptions; after the groups they subscribe to.
    Contacts,
    UnsubscribeEvents,
}

impl Collection {
    pub const ALL: [Collection; 11] = [
        Collection::Tenants,
        Collection::Products,
        Collection::Coupons,
        Collection::Partners,
        Collection::Managers,
        Collection::Orders,
        Collection::Events,
        Collection::Deliveries,
        Collection::Groups,
        Collection::Contacts,
        Collection::UnsubscribeEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Collection::Tenants => "tenants",
            Collection::Products => "products",
            Collection::Coupons => "coupons",
            Collection::Partners => "partners",
            Collection::Managers => "managers",
            Collection::Orders => "orders",
            Collection::Events => "events",
            Collection::Deliveries => "notifications",
            Collection::Groups => "groups",
            Collection::Contacts => "contacts",
            Collection::UnsubscribeEvents => "unsubscribe_events",
        }
    }
}

/// An event as the outbox stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Unique across tenants.
    pub id: i64,
    pub tenant: TenantId,
    pub bill_id: BillId,
    pub kind: OrderEventKind,
    pub at: i64,
}

/// One row of a store, complete enough to recreate it elsewhere under the same ids.
// Orders, the large variant, are also most of the records of any page, so boxing them would add
// an allocation per record and save no memory.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Tenant(Tenant),
    Product {
        tenant: TenantId,
        product: Product,
        /// Deleted products stay, so that orders and statistics may still name their id.
        deleted: bool,
    },
    Coupon {
        tenant: TenantId,
        coupon: Coupon,
    },
    Partner {
        tenant: TenantId,
        partner: Partner,
    },
    Manager {
        tenant: TenantId,
        manager: Manager,
    },
    Order {
        tenant: TenantId,
        order: Order,
        /// Deleted orders stay, so that their numbers are never handed out again.
        deleted: bool,
    },
    Event(StoredEvent),
    Delivery {
        delivery: DeliveryInfo,
        /// Its delivery log, in attempt order.
        attempts: Vec<AttemptRecord>,
    },
    Group {
        tenant: TenantId,
        group: Group,
    },
    Contact {
        tenant: TenantId,
        contact: StoredContact,
    },
    UnsubscribeEvent {
        tenant: TenantId,
        event: UnsubscribeEvent,
    },
}

impl Record {
    pub fn collection(&self) -> Collection {
        match self {
            Record::Tenant(_) => Collection::Tenants,
            Record::Product { .. } => Collection::Products,
            Record::Coupon { .. } => Collection::Coupons,
            Record::Partner { .. } => Collection::Partners,
            Record::Manager { .. } => Collection::Managers,
            Record::Order { .. } => Collection::Orders,
            Record::Event(_) => Collection::Events,
            Record::Delivery { .. } => Collection::Deliveries,
            Record::Group { .. } => Collection::Groups,
            Record::Contact { .. } => Collection::Contacts,
            Record::UnsubscribeEvent { .. } => Collection::UnsubscribeEvents,
        }
    }

    /// The record's key within its collection; records are exported in ascending key order.
    pub fn key(&self) -> Key {
        match self {
            Record::Tenant(tenant) => Key::new(tenant.id.0, 0),
            Record::Product {
                tenant, product, ..
            } => Key::new(tenant.0, product.id.0),
            Record::Coupon { tenant, coupon } => Key::new(tenant.0, coupon.id.0),
            Record::Partner { tenant, partner } => Key::new(tenant.0, partner.id.0),
            Record::Manager { tenant, manager } => Key::new(tenant.0, manager.id.0),
            Record::Order { tenant, order, .. } => Key::new(tenant.0, order.bill_id.get()),
            Record::Event(event) => Key::new(event.id, 0),
            Record::Delivery { delivery, .. } => Key::new(delivery.id, 0),
            Record::Group { tenant, group } => Key::new(tenant.0, group.id.0),
            Record::Contact { tenant, contact } => Key::new(tenant.0, contact.id.0),
            Record::UnsubscribeEvent { event, .. } => Key::new(event.id, 0),
        }
    }
}

/// The position of a record in its collection: `(tenant id, id)` for per-tenant rows, `(id, 0)`
/// for tenants and both kinds of events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(pub i64, pub i64);

impl Key {
    pub fn new(first: i64, second: i64) -> Key {
        Key(first, second)
    }
}

/// Reading and writing a store's rows as they are, for copying between backends. Implemented
/// by every store next to [`crate::Store`].
#[async_trait]
pub trait Transfer: Send + Sync + 'static {
    /// Up to `limit` records of `collection` with keys above `after` (from the start when
    /// `None`), in ascending key order.
    async fn export(
        &self,
        collection: Collection,
        after: Option<Key>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;

    /// Writes `records` (all of one collection, in key order) in one transaction, keeping their
    /// ids, and keeps every number sequence (tenant, product, coupon, partner, manager, bill and
    /// event ids) above the ids written, so that ids handed out later are new. Fails with
    /// `Conflict` when a key exists already.
    async fn import(&self, records: Vec<Record>) -> Result<(), StoreError>;

    /// The highest key of `collection` in this store: where an interrupted copy into it resumes.
    async fn last_key(&self, collection: Collection) -> Result<Option<Key>, StoreError>;

    /// How many records `collection` holds.
    async fn count(&self, collection: Collection) -> Result<u64, StoreError>;
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.0, self.1)
    }
}

impl Key {
    /// The greatest key below this one: exporting after it starts at this key. Keys are pairs
    /// of integers, so no key lies in between.
    fn just_before(self) -> Key {
        match self.1.checked_sub(1) {
            Some(second) => Key(self.0, second),
            None => Key(self.0.saturating_sub(1), i64::MAX),
        }
    }
}

/// Records per page when [`CopyOptions`] does not say otherwise.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// What the target may hold already when a copy starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CopyMode {
    /// The target holds no record at all; otherwise the copy is refused before anything is
    /// written.
    #[default]
    IntoEmpty,
    /// Finishes an interrupted copy: each collection continues after the target's last key.
    /// Valid only when the target holds a beginning of the source, as an interrupted copy from
    /// that source leaves it. The first and the last record the target holds of each collection
    /// are compared with the source's before anything is written; the verification compares the
    /// rest.
    Resume,
    /// Writes every record into a target that holds records of its own (other tenants, say).
    /// The copy fails at the first page with a key the target holds already, writing nothing of
    /// that page. The verification checks that every source record is in the target unchanged
    /// and leaves the target's own records out. An interrupted forced copy cannot be resumed:
    /// the target's own records make its last key meaningless.
    Force,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyOptions {
    /// Records read and written together, each page in one transaction of the target; at
    /// least 1.
    pub page_size: usize,
    pub mode: CopyMode,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            page_size: DEFAULT_PAGE_SIZE,
            mode: CopyMode::IntoEmpty,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyPhase {
    Copying,
    Verifying,
}

/// Where a copy stands: reported when a collection starts a phase and after each page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyProgress {
    pub phase: CopyPhase,
    pub collection: Collection,
    /// Records of the collection through this phase; when copying, those that an earlier,
    /// interrupted copy wrote are included.
    pub done: u64,
    /// Records of the collection in the source.
    pub total: u64,
}

/// What a successful copy did, per collection in [`Collection::ALL`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    pub collections: Vec<CollectionReport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionReport {
    pub collection: Collection,
    /// Records of the source, every one of them found unchanged in the target.
    pub rows: u64,
    /// How many of them this run wrote: fewer than `rows` when it resumed.
    pub copied: u64,
    /// The checksum of the collection's records, equal on both sides.
    pub checksum: Checksum,
}

/// SHA-256 over the canonical encodings of a collection's records in key order. It depends on
/// the records alone, never on how a backend stores them, so equal checksums on both sides of a
/// copy mean equal contents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Checksum([u8; 32]);

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a copy stopped. Every variant names the collection it concerns.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the page size must be at least 1")]
    NoPageSize,
    #[error("the target is not empty: it holds {rows} {}", .collection.name())]
    TargetNotEmpty { collection: Collection, rows: u64 },
    #[error(
        "cannot resume: the target's {} are not the beginning of the source's (they differ at \
         key {key})",
        .collection.name()
    )]
    NotAPrefix { collection: Collection, key: Key },
    #[error("the source exported {} out of key order (at key {key})", .collection.name())]
    OutOfOrder { collection: Collection, key: Key },
    #[error("reading {} from the source", .collection.name())]
    Source {
        collection: Collection,
        #[source]
        error: StoreError,
    },
    #[error("writing {} to the target", .collection.name())]
    Target {
        collection: Collection,
        #[source]
        error: StoreError,
    },
    #[error(
        "verifying {}: the source holds {source_rows} records, the target {target_rows}",
        .collection.name()
    )]
    CountMismatch {
        collection: Collection,
        source_rows: u64,
        target_rows: u64,
    },
    #[error(
        "verifying {}: the checksums differ (source {source_checksum}, target \
         {target_checksum}){}",
        .collection.name(),
        .first_difference.map(|key| format!(", first at key {key}")).unwrap_or_default()
    )]
    ChecksumMismatch {
        collection: Collection,
        source_checksum: Checksum,
        target_checksum: Checksum,
        first_difference: Option<Key>,
    },
}

impl CopyError {
    pub fn collection(&self) -> Option<Collection> {
        match self {
            CopyError::NoPageSize => None,
            CopyError::TargetNotEmpty { collection, .. }
            | CopyError::NotAPrefix { collection, .. }
            | CopyError::OutOfOrder { collection, .. }
            | CopyError::Source { collection, .. }
            | CopyError::Target { collection, .. }
            | CopyError::CountMismatch { collection, .. }
            | CopyError::ChecksumMismatch { collection, .. } => Some(*collection),
        }
    }
}

fn source_error(collection: Collection) -> impl FnOnce(StoreError) -> CopyError {
    move |error| CopyError::Source { collection, error }
}

fn target_error(collection: Collection) -> impl FnOnce(StoreError) -> CopyError {
    move |error| CopyError::Target { collection, error }
}

/// Copies every record of `source` into `target` a page at a time, keeping ids, then verifies
/// both sides collection by collection: equal counts (except under [`CopyMode::Force`]) and
/// equal [`Checksum`]s. The source must not change meanwhile (stop the servers using it); a
/// change shows up as a failed verification.
///
/// Every page is one transaction of the target, so a copy interrupted at any moment, even by
/// `kill -9`, leaves whole pages behind and [`CopyMode::Resume`] finishes it.
pub async fn copy(
    source: &dyn Transfer,
    target: &dyn Transfer,
    options: CopyOptions,
    progress: &mut (dyn FnMut(CopyProgress) + Send),
) -> Result<CopyReport, CopyError> {
    if options.page_size == 0 {
        return Err(CopyError::NoPageSize);
    }
    // Every check comes before the first write, so that a refused copy leaves the target as it
    // was.
    let mut starts = Vec::with_capacity(Collection::ALL.len());
    for collection in Collection::ALL {
        let start = match options.mode {
            CopyMode::IntoEmpty => {
                let rows = target
                    .count(collection)
                    .await
                    .map_err(target_error(collection))?;
                if rows > 0 {
                    return Err(CopyError::TargetNotEmpty { collection, rows });
                }
                None
            }
            CopyMode::Resume => resume_point(source, target, collection).await?,
            CopyMode::Force => None,
        };
        starts.push(start);
    }
    let mut copied = Vec::with_capacity(starts.len());
    for (collection, start) in Collection::ALL.into_iter().zip(starts) {
        let rows = copy_collection(
            source,
            target,
            collection,
            start,
            options.page_size,
            progress,
        )
        .await?;
        copied.push(rows);
    }
    let mut collections = Vec::with_capacity(copied.len());
    for (collection, copied) in Collection::ALL.into_iter().zip(copied) {
        let (rows, checksum) = verify_collection(
            source,
            target,
            collection,
            options.mode,
            options.page_size,
            progress,
        )
        .await?;
        collections.push(CollectionReport {
            collection,
            rows,
            copied,
            checksum,
        });
    }
    Ok(CopyReport { collections })
}

/// Where the copy of `collection` continues: after the target's last key, once the target's
/// first and last records match the source's records under the same keys.
async fn resume_point(
    source: &dyn Transfer,
    target: &dyn Transfer,
    collection: Collection,
) -> Result<Option<Key>, CopyError> {
    let Some(last) = target
        .last_key(collection)
        .await
        .map_err(target_error(collection))?
    else {
        return Ok(None);
    };
    let source_rows = source
        .count(collection)
        .await
        .map_err(source_error(collection))?;
    let target_rows = target
        .count(collection)
        .await
        .map_err(target_error(collection))?;
    if target_rows > source_rows {
        return Err(CopyError::NotAPrefix {
            collection,
            key: last,
        });
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for after in [None, Some(last.just_before())] {
        let our_first = source
            .export(collection, after, 1)
            .await
            .map_err(source_error(collection))?;
        let their_first = target
            .export(collection, after, 1)
            .await
            .map_err(target_error(collection))?;
        let (Some(our_record), Some(their_record)) = (our_first.first(), their_first.first())
        else {
            return Err(CopyError::NotAPrefix {
                collection,
                key: last,
            });
        };
        encode(our_record, &mut ours);
        encode(their_record, &mut theirs);
        if ours != theirs {
            return Err(CopyError::NotAPrefix {
                collection,
                key: their_record.key(),
            });
        }
    }
    Ok(Some(last))
}

/// Copies the records of `collection` after `start`; returns how many it wrote.
async fn copy_collection(
    source: &dyn Transfer,
    target: &dyn Transfer,
    collection: Collection,
    start: Option<Key>,
    page_size: usize,
    progress: &mut (dyn FnMut(CopyProgress) + Send),
) -> Result<u64, CopyError> {
    let total = source
        .count(collection)
        .await
        .map_err(source_error(collection))?;
    let mut done = match start {
        Some(_) => target
            .count(collection)
            .await
            .map_err(target_error(collection))?,
        None => 0,
    };
    let mut report = |done| {
        progress(CopyProgress {
            phase: CopyPhase::Copying,
            collection,
            done,
            total,
        })
    };
    report(done);
    let mut after = start;
    let mut copied = 0;
    loop {
        let page = source
            .export(collection, after, page_size)
            .await
            .map_err(source_error(collection))?;
        // A resumed copy trusts the target's last key to mark everything before it as copied,
        // which holds only if pages come in key order.
        for record in &page {
            let key = record.key();
            if record.collection() != collection || after.is_some_and(|after| key <= after) {
                return Err(CopyError::OutOfOrder { collection, key });
            }
            after = Some(key);
        }
        if page.is_empty() {
            return Ok(copied);
        }
        let rows = page.len() as u64;
        target
            .import(page)
            .await
            .map_err(target_error(collection))?;
        copied += rows;
        done += rows;
        report(done);
    }
}

/// Reads a collection record by record, a page at a time.
struct Reader<'a> {
    store: &'a dyn Transfer,
    collection: Collection,
    page_size: usize,
    after: Option<Key>,
    page: std::vec::IntoIter<Record>,
    exhausted: bool,
}

impl<'a> Reader<'a> {
    fn new(store: &'a dyn Transfer, collection: Collection, page_size: usize) -> Reader<'a> {
        Reader {
            store,
            collection,
            page_size,
            after: None,
            page: Vec::new().into_iter(),
            exhausted: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Record>, StoreError> {
        loop {
            if let Some(record) = self.page.next() {
                return Ok(Some(record));
            }
            if self.exhausted {
                return Ok(None);
            }
            let page = self
                .store
                .export(self.collection, self.after, self.page_size)
                .await?;
            match page.last() {
                Some(last) => self.after = Some(last.key()),
                None => self.exhausted = true,
            }
            self.page = page.into_iter();
        }
    }
}

/// Walks both sides of `collection` in key order side by side and returns the source's record
/// count and checksum once they agree.
async fn verify_collection(
    source: &dyn Transfer,
    target: &dyn Transfer,
    collection: Collection,
    mode: CopyMode,
    page_size: usize,
    progress: &mut (dyn FnMut(CopyProgress) + Send),
) -> Result<(u64, Checksum), CopyError> {
    let total = source
        .count(collection)
        .await
        .map_err(source_error(collection))?;
    let foreign_rows_allowed = mode == CopyMode::Force;
    if !foreign_rows_allowed {
        let target_rows = target
            .count(collection)
            .await
            .map_err(target_error(collection))?;
        if target_rows != total {
            return Err(CopyError::CountMismatch {
                collection,
                source_rows: total,
                target_rows,
            });
        }
    }
    let mut report = |done| {
        progress(CopyProgress {
            phase: CopyPhase::Verifying,
            collection,
            done,
            total,
        })
    };
    report(0);
    let mut ours = Reader::new(source, collection, page_size);
    let mut theirs = Reader::new(target, collection, page_size);
    let (mut our_hash, mut their_hash) = (Sha256::new(), Sha256::new());
    let (mut our_bytes, mut their_bytes) = (Vec::new(), Vec::new());
    let mut first_difference = None;
    let mut done = 0u64;
    let mut their_next = theirs.next().await.map_err(target_error(collection))?;
    while let Some(our_record) = ours.next().await.map_err(source_error(collection))? {
        let key = our_record.key();
        encode(&our_record, &mut our_bytes);
        our_hash.update(&our_bytes);
        while let Some(their_record) = their_next.take_if(|record| record.key() < key) {
            if !foreign_rows_allowed {
                encode(&their_record, &mut their_bytes);
                their_hash.update(&their_bytes);
                first_difference.get_or_insert(their_record.key());
            }
            their_next = theirs.next().await.map_err(target_error(collection))?;
        }
        match their_next.take_if(|record| record.key() == key) {
            Some(their_record) => {
                encode(&their_record, &mut their_bytes);
                their_hash.update(&their_bytes);
                if their_bytes != our_bytes {
                    first_difference.get_or_insert(key);
                }
                their_next = theirs.next().await.map_err(target_error(collection))?;
            }
            None => {
                first_difference.get_or_insert(key);
            }
        }
        done += 1;
        if done.is_multiple_of(page_size as u64) {
            report(done);
        }
    }
    if !foreign_rows_allowed {
        while let Some(their_record) = their_next {
            encode(&their_record, &mut their_bytes);
            their_hash.update(&their_bytes);
            first_difference.get_or_insert(their_record.key());
            their_next = theirs.next().await.map_err(target_error(collection))?;
        }
    }
    report(done);
    let source_checksum = Checksum(our_hash.finalize().into());
    let target_checksum = Checksum(their_hash.finalize().into());
    if source_checksum != target_checksum || first_difference.is_some() {
        return Err(CopyError::ChecksumMismatch {
            collection,
            source_checksum,
            target_checksum,
            first_difference,
        });
    }
    Ok((done, source_checksum))
}

/// Writes the canonical encoding of `record` into `out` (replacing what it held): every field
/// in a fixed order, integers as 8 bytes little endian, texts and lists preceded by their
/// length, so that different records never encode alike. Fields are destructured, not read one
/// by one, so that a field added to the model does not compile until it is encoded here.
fn encode(record: &Record, out: &mut Vec<u8>) {
    out.clear();
    let mut e = Encoder(out);
    e.text(record.collection().name());
    match record {
        Record::Tenant(tenant) => e.tenant(tenant),
        Record::Product {
            tenant,
            product,
            deleted,
        } => {
            e.int(tenant.0);
            e.flag(*deleted);
            e.product(product);
        }
        Record::Coupon { tenant, coupon } => {
            e.int(tenant.0);
            e.coupon(coupon);
        }
        Record::Partner { tenant, partner } => {
            let Partner {
                id,
                login,
                parent,
                registered_at,
            } = partner;
            e.int(tenant.0);
            e.int(id.0);
            e.text(login);
            e.optional(parent.map(|parent| parent.0));
            e.int(*registered_at);
        }
        Record::Manager { tenant, manager } => {
            let Manager { id, name } = manager;
            e.int(tenant.0);
            e.int(id.0);
            e.text(name);
        }
        Record::Order {
            tenant,
            order,
            deleted,
        } => {
            e.int(tenant.0);
            e.flag(*deleted);
            e.order(order);
        }
        Record::Event(event) => {
            let StoredEvent {
                id,
                tenant,
                bill_id,
                kind,
                at,
            } = event;
            e.int(*id);
            e.int(tenant.0);
            e.int(bill_id.get());
            e.text(kind.as_str());
            e.int(*at);
        }
        Record::Delivery { delivery, attempts } => {
            let DeliveryInfo {
                tenant,
                id,
                event_id,
                bill_id,
                kind,
                url,
                body,
                created_ms,
                state,
                attempts: made,
                round_start,
                due_ms,
            } = delivery;
            e.int(tenant.0);
            e.int(*id);
            e.text(event_id.as_str());
            e.optional(bill_id.map(BillId::get));
            e.text(kind);
            e.text(url);
            e.bytes(body);
            e.int(*created_ms);
            e.text(state.as_str());
            e.int(i64::from(*made));
            e.int(i64::from(*round_start));
            e.int(*due_ms);
            e.length(attempts.len());
            for attempt in attempts {
                let AttemptRecord {
                    attempt,
                    at_ms,
                    status,
                    error,
                    latency_ms,
                    response,
                } = attempt;
                e.int(i64::from(*attempt));
                e.int(*at_ms);
                e.optional(status.map(i64::from));
                e.text(error);
                e.int(*latency_ms);
                e.bytes(response);
            }
        }
        Record::Group { tenant, group } => {
            let Group {
                id,
                name,
                title,
                kind,
            } = group;
            e.int(tenant.0);
            e.int(id.0);
            e.text(name);
            e.text(title);
            e.text(kind.as_str());
        }
        Record::Contact { tenant, contact } => {
            e.int(tenant.0);
            e.contact(contact);
        }
        Record::UnsubscribeEvent { tenant, event } => {
            let UnsubscribeEvent {
                id,
                contact,
                group,
                name,
                email,
                phone,
                city,
                ip,
                at,
            } = event;
            e.int(*id);
            e.int(tenant.0);
            e.int(contact.0);
            e.int(group.0);
            for text in [name, email, phone, city, ip] {
                e.text(text);
            }
            e.int(*at);
        }
    }
}

struct Encoder<'a>(&'a mut Vec<u8>);

impl Encoder<'_> {
    fn contact(&mut self, stored: &StoredContact) {
        let StoredContact { id, contact } = stored;
        let Contact {
            email,
            name,
            first_name,
            middle_name,
            last_name,
            phone,
            city,
            tags,
            partner,
            created_at,
            extras,
            subscriptions,
        } = contact;
        self.int(id.0);
        self.flag(email.is_some());
        self.text(email.as_deref().unwrap_or_default());
        for text in [name, first_name, middle_name, last_name, phone, city] {
            self.text(text);
        }
        self.texts(tags);
        self.optional(partner.map(|p| p.0));
        self.int(*created_at);
        self.length(extras.len());
        for (field, value) in extras {
            self.text(field);
            self.text(value);
        }
        self.length(subscriptions.len());
        for subscription in subscriptions {
            let Subscription {
                group,
                status,
                time,
                ip,
                utm,
                aff_utm,
                doneurl2,
            } = subscription;
            self.int(group.0);
            self.text(status.as_str());
            self.int(*time);
            self.text(ip);
            self.utm(utm);
            self.utm(aff_utm);
            self.text(doneurl2);
        }
    }

    fn int(&mut self, value: i64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn length(&mut self, length: usize) {
        self.0.extend_from_slice(&(length as u64).to_le_bytes());
    }

    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn texts(&mut self, texts: &[String]) {
        self.length(texts.len());
        for text in texts {
            self.text(text);
        }
    }

    fn flag(&mut self, value: bool) {
        self.0.push(u8::from(value));
    }

    fn optional(&mut self, value: Option<i64>) {
        self.flag(value.is_some());
        if let Some(value) = value {
            self.int(value);
        }
    }

    fn money(&mut self, amount: Money) {
        self.int(amount.minor());
    }

    /// A percentage, told apart from an amount by its leading `%`.
    fn percentage(&mut self, percent: Percent) {
        self.text("%");
        self.int(percent.hundredths());
    }

    /// An amount, told apart from a percentage by its leading `=`.
    fn amount(&mut self, amount: Money) {
        self.text("=");
        self.money(amount);
    }

    fn tenant(&mut self, tenant: &Tenant) {
        let Tenant {
            id,
            login,
            secret,
            enabled,
            custom_domains,
            settings,
        } = tenant;
        let TenantSettings {
            time_zone,
            first_bill_id,
            api_orders_enabled,
            prepayment_enabled,
            prepayment_minsum,
            require_activation,
            subscribe_limit_per_ip,
            unsubscribe_url,
            test_payments,
        } = settings;
        self.int(id.0);
        self.text(login.as_str());
        self.text(secret);
        self.flag(*enabled);
        self.texts(custom_domains);
        self.text(time_zone.name());
        self.int(*first_bill_id);
        self.flag(*api_orders_enabled);
        self.flag(*prepayment_enabled);
        self.money(*prepayment_minsum);
        self.flag(*require_activation);
        self.int(i64::from(*subscribe_limit_per_ip));
        self.text(unsubscribe_url);
        self.flag(*test_payments);
    }

    fn product(&mut self, product: &Product) {
        let Product { id, spec } = product;
        let ProductSpec {
            code,
            title,
            physical,
            price,
            parent_id,
            urls,
            success_link,
            client_groups,
            cash_on_delivery_only,
            quickpost_article,
            post_service,
            prepayment_minsum,
            timer_kill,
            partner_fees,
        } = spec;
        let NotificationUrls {
            new_order,
            paid,
            prepaid,
            cancel,
            moneyback,
        } = urls;
        self.int(id.0);
        self.text(code.as_str());
        self.text(title);
        self.flag(*physical);
        self.money(*price);
        self.text(parent_id);
        for url in [new_order, paid, prepaid, cancel, moneyback] {
            self.text(url);
        }
        self.text(success_link);
        self.texts(client_groups);
        self.flag(*cash_on_delivery_only);
        self.text(quickpost_article);
        self.text(post_service);
        self.optional(prepayment_minsum.map(Money::minor));
        self.int(*timer_kill);
        self.length(partner_fees.len());
        for (level, commission) in partner_fees {
            self.int(i64::from(*level));
            match commission {
                Commission::Percent(percent) => self.percentage(*percent),
                Commission::Fixed(amount) => self.amount(*amount),
            }
        }
    }

    fn coupon(&mut self, coupon: &Coupon) {
        let Coupon {
            id,
            code,
            discount,
            products,
            expires_at,
            disabled,
        } = coupon;
        self.int(id.0);
        self.text(code);
        match discount {
            Discount::Percent(percent) => self.percentage(*percent),
            Discount::Fixed(amount) => self.amount(*amount),
        }
        self.length(products.len());
        for product in products {
            self.int(product.0);
        }
        self.optional(*expires_at);
        self.flag(*disabled);
    }

    fn order(&mut self, order: &Order) {
        let Order {
            bill_id,
            customer,
            created,
            inserted_at,
            tag,
            comment,
            kupon,
            domain,
            client_ip,
            utm,
            aff_utm,
            pay_status,
            paid_at,
            payway,
            payments,
            delivery,
            auto_cancel_at,
            ext_ref_no,
            product_prepayment_minsum,
            items,
            extras,
        } = order;
        let Customer {
            first_name,
            last_name,
            middle_name,
            email,
            phone,
            country,
            region,
            city,
            address,
            postalcode,
        } = customer;
        let Delivery { status, date, rpo } = delivery;
        let OrderExtras {
            shipping_phone,
            billing_address_1,
            billing_address_2,
            billing_city,
            billing_state,
            billing_zip,
            billing_country,
            confirmed,
            sales_manager,
        } = extras;
        self.int(bill_id.get());
        for text in [
            first_name,
            last_name,
            middle_name,
            email,
            phone,
            country,
            region,
            city,
            address,
            postalcode,
        ] {
            self.text(text);
        }
        self.int(*created);
        self.int(*inserted_at);
        for text in [tag, comment, kupon, domain, client_ip] {
            self.text(text);
        }
        self.utm(utm);
        self.utm(aff_utm);
        self.text(pay_status.as_str());
        self.int(*paid_at);
        self.text(payway);
        self.length(payments.len());
        for Payment { amount, at } in payments {
            self.money(*amount);
            self.int(*at);
        }
        self.text(status.as_str());
        self.int(*date);
        self.text(rpo);
        self.optional(*auto_cancel_at);
        self.text(ext_ref_no);
        self.optional(product_prepayment_minsum.map(Money::minor));
        self.length(items.len());
        for item in items {
            self.item(item);
        }
        for text in [
            shipping_phone,
            billing_address_1,
            billing_address_2,
            billing_city,
            billing_state,
            billing_zip,
            billing_country,
            confirmed,
        ] {
            self.text(text);
        }
        self.optional(sales_manager.map(|manager| manager.0));
    }

    fn utm(&mut self, utm: &Utm) {
        let Utm {
            medium,
            source,
            campaign,
            content,
            term,
        } = utm;
        for text in [medium, source, campaign, content, term] {
            self.text(text);
        }
    }

    fn item(&mut self, item: &Item) {
        let Item {
            product_id,
            code,
            title,
            physical,
            price,
            sum,
            pincode,
            partners,
        } = item;
        self.int(product_id.0);
        self.text(code);
        self.text(title);
        self.flag(*physical);
        self.money(*price);
        self.money(*sum);
        self.text(pincode);
        self.length(partners.len());
        for PartnerEntry {
            level,
            partner_id,
            partner_name,
            fee,
        } in partners
        {
            self.int(i64::from(*level));
            self.int(partner_id.0);
            self.text(partner_name);
            self.money(*fee);
        }
    }
}

/// The behaviour every [`Transfer`] backend must show, for the store crates' tests: a store
/// holding every kind of row goes through export and import into a fresh store unchanged, and
/// the fresh store hands out new ids above the imported ones.
#[cfg(feature = "store-suite")]
pub mod suite {
    use super::{Collection, Key, Record, Transfer};
    use crate::model::{
        BillId, Commission, Customer, Discount, GoodName, InitialStatus, Item, ManagerId,
        NewCoupon, NewManager, NewOrder, NewPartner, NotificationUrls, OrderExtras, PartnerEntry,
        PartnerId, Product, ProductId, ProductSpec, Tenant, TenantSettings, Utm,
    };
    use crate::order::StatusChange;
    use crate::ports::{CreatedOrder, Store, StoreError};
    use crate::store_suite::{new_tenant, NOW};
    use clickbill_protocol::value::{Money, Percent};
    use std::collections::BTreeMap;

    fn money(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn percent(hundredths: i64) -> Percent {
        Percent::from_hundredths(hundredths).expect("a valid percentage")
    }

    async fn add_tenant(store: &dyn Store, login: &str, domains: &[&str]) -> Tenant {
        let mut tenant = new_tenant(login);
        tenant.custom_domains = domains.iter().map(|d| d.to_string()).collect();
        store.add_tenant(tenant).await.expect("add tenant")
    }

    async fn add_product(store: &dyn Store, tenant: &Tenant, spec: ProductSpec) -> Product {
        store
            .add_product(tenant.id, spec)
            .await
            .expect("add product")
    }

    fn spec(code: &str, price: i64) -> ProductSpec {
        let title = format!("Товар {code}");
        ProductSpec::new(
            GoodName::parse(code).expect("a valid product code"),
            title,
            money(price),
        )
    }

    fn item(product: &Product, sum: i64, partners: Vec<PartnerEntry>) -> Item {
        Item {
            product_id: product.id,
            code: product.spec.code.as_str().to_owned(),
            title: product.spec.title.clone(),
            physical: product.spec.physical,
            price: product.spec.price,
            sum: money(sum),
            pincode: String::new(),
            partners,
        }
    }

    fn entry(level: u32, partner: i64, name: &str, fee: i64) -> PartnerEntry {
        PartnerEntry {
            level,
            partner_id: PartnerId(partner),
            partner_name: name.to_owned(),
            fee: money(fee),
        }
    }

    fn order(email: &str, items: Vec<Item>) -> NewOrder {
        NewOrder {
            customer: Customer {
                email: email.to_owned(),
                first_name: "Анна".into(),
                phone: "+7 900 000-00-00".into(),
                ..Customer::default()
            },
            created: NOW - 60,
            items,
            ..NewOrder::default()
        }
    }

    async fn create(store: &dyn Store, tenant: &Tenant, order: NewOrder) -> BillId {
        match store.create_order(tenant, order, NOW).await {
            Ok(CreatedOrder::Created(bill_id)) => bill_id,
            other => panic!("expected a new order, got {other:?}"),
        }
    }

    async fn change(store: &dyn Store, tenant: &Tenant, bill_id: BillId, change: StatusChange) {
        let settings = tenant.settings.clone();
        store
            .update_order(
                tenant.id,
                bill_id,
                NOW + 10,
                Box::new(move |order| order.apply(change, &settings)),
            )
            .await
            .expect("update order");
    }

    /// Fills an empty store with every kind of row and every optional part of one: tenants
    /// with domains and settings, a deleted product, a disabled and an expiring coupon, a
    /// partner whose parent has a higher id, managers with given ids, orders with extras,
    /// payments, items and partner entries, a deleted order, and their events.
    pub async fn populate(store: &dyn Store) {
        let mut shop = add_tenant(
            store,
            "transfer-shop",
            &["shop.example", "www.shop.example"],
        )
        .await;
        shop.settings = TenantSettings {
            time_zone: chrono_tz::Europe::Berlin,
            first_bill_id: 1000,
            prepayment_enabled: true,
            prepayment_minsum: money(50_000),
            unsubscribe_url: "https://shop.example/unsubscribe".into(),
            test_payments: true,
            ..TenantSettings::default()
        };
        store.save_tenant(&shop).await.expect("save tenant");
        let mut quiet = add_tenant(store, "transfer-quiet", &[]).await;
        quiet.enabled = false;
        store.save_tenant(&quiet).await.expect("save tenant");

        let mut course = spec("course", 100_000);
        course.physical = true;
        course.urls = NotificationUrls {
            new_order: "https://shop.example/new".into(),
            paid: "https://shop.example/paid".into(),
            ..NotificationUrls::default()
        };
        course.client_groups = vec!["buyers".into(), "vip, gold".into()];
        course.prepayment_minsum = Some(money(10_000));
        course.timer_kill = 3600;
        course.partner_fees = BTreeMap::from([
            (1, Commission::Percent(percent(1000))),
            (2, Commission::Fixed(money(5_000))),
        ]);
        let course = add_product(store, &shop, course).await;
        let gone = add_product(store, &shop, spec("gone", 500)).await;
        assert!(store.delete_product(shop.id, "gone").await.unwrap());
        let book = add_product(store, &shop, spec("book", 150_000)).await;
        let other = add_product(store, &quiet, spec("course", 1)).await;

        let coupons = [
            NewCoupon {
                id: None,
                code: "TEN".into(),
                discount: Discount::Percent(percent(1000)),
                products: vec![book.id, course.id],
                expires_at: Some(NOW + 86_400),
            },
            NewCoupon {
                id: Some(crate::model::CouponId(585)),
                code: "imported".into(),
                discount: Discount::Fixed(money(10_000)),
                products: Vec::new(),
                expires_at: None,
            },
        ];
        for coupon in coupons {
            store.add_coupon(shop.id, coupon).await.expect("add coupon");
        }
        assert!(store
            .set_coupon_disabled(shop.id, "imported", true)
            .await
            .unwrap());

        let partners = [
            (Some(9), "boss", None),
            (Some(3), "anna", Some(9)),
            (None, "carl", Some(3)),
        ];
        for (id, login, parent) in partners {
            let partner = NewPartner {
                id: id.map(PartnerId),
                login: login.into(),
                parent: parent.map(PartnerId),
                registered_at: NOW - 1000,
            };
            store
                .add_partner(shop.id, partner)
                .await
                .expect("add partner");
        }
        for (id, name) in [(Some(71257), "Мария"), (None, "Oleg")] {
            let manager = NewManager {
                id: id.map(ManagerId),
                name: name.into(),
            };
            store
                .add_manager(shop.id, manager)
                .await
                .expect("add manager");
        }

        let mut rich = order(
            "rich@example.com",
            vec![
                item(
                    &course,
                    90_000,
                    vec![entry(1, 3, "anna", 9_000), entry(2, 9, "boss", 0)],
                ),
                item(&gone, 500, Vec::new()),
            ],
        );
        rich.tag = "tag".into();
        rich.comment = "a comment, \"quoted\"\nover two lines".into();
        rich.kupon = "TEN".into();
        rich.domain = "shop.example".into();
        rich.client_ip = "203.0.113.7".into();
        rich.utm = Utm {
            source: "newsletter".into(),
            term: "курс".into(),
            ..Utm::default()
        };
        rich.aff_utm = Utm {
            medium: "cpa".into(),
            ..Utm::default()
        };
        rich.auto_cancel_at = Some(NOW + 3600);
        rich.product_prepayment_minsum = Some(money(10_000));
        rich.extras = OrderExtras {
            shipping_phone: "+49 30 000000".into(),
            billing_city: "Berlin".into(),
            billing_country: "Германия".into(),
            confirmed: "yes".into(),
            sales_manager: Some(ManagerId(71257)),
            ..OrderExtras::default()
        };
        let rich = create(store, &shop, rich).await;
        change(
            store,
            &shop,
            rich,
            StatusChange::Paid {
                date: NOW + 5,
                amount: Some(money(20_000)),
                payway: Some("Card".into()),
            },
        )
        .await;
        let sent = create(
            store,
            &shop,
            order("sent@example.com", vec![item(&book, 150_000, vec![])]),
        )
        .await;
        change(
            store,
            &shop,
            sent,
            StatusChange::Paid {
                date: NOW + 6,
                amount: None,
                payway: None,
            },
        )
        .await;
        change(
            store,
            &shop,
            sent,
            StatusChange::Sent {
                date: NOW + 7,
                rpo: "RA123456789RU".into(),
            },
        )
        .await;
        let deleted = create(
            store,
            &shop,
            order(
                "deleted@example.com",
                vec![item(&course, 100_000, vec![entry(1, 10, "carl", 10_000)])],
            ),
        )
        .await;
        assert!(store.delete_order(shop.id, deleted).await.unwrap());
        for (email, initial) in [
            (
                "paid@example.com",
                InitialStatus::Paid {
                    at: NOW - 30,
                    payway: "Cash".into(),
                },
            ),
            ("cancelled@example.com", InitialStatus::Cancel),
            (
                "refunded@example.com",
                InitialStatus::Moneyback { at: NOW - 20 },
            ),
        ] {
            let mut new = order(email, vec![item(&book, 150_000, vec![])]);
            new.initial = initial;
            create(store, &shop, new).await;
        }
        for n in 0..4 {
            create(
                store,
                &quiet,
                order(
                    &format!("quiet{n}@example.com"),
                    vec![item(&other, 1, vec![])],
                ),
            )
            .await;
        }
        // One delivery with a logged attempt, so that the log moves too.
        let claimed = store
            .claim_deliveries(crate::outbox::now_ms(), 60_000, 1)
            .await
            .expect("claim");
        let claimed = claimed.first().expect("a delivery to the shop's URLs");
        let attempt = crate::outbox::AttemptRecord {
            attempt: claimed.attempt,
            at_ms: crate::outbox::now_ms(),
            status: Some(503),
            error: "HTTP 503".into(),
            latency_ms: 12,
            response: b"busy \xff".to_vec(),
        };
        let retry = crate::outbox::AttemptOutcome::RetryAt(attempt.at_ms + 10_000);
        assert!(store
            .record_attempt(claimed, attempt, retry)
            .await
            .expect("record"));
        populate_contacts(store, &shop).await;
    }

    /// Groups of every kind, contacts with and without e-mail, subscriptions in several
    /// states and an unsubscribe event.
    async fn populate_contacts(store: &dyn Store, shop: &Tenant) {
        use crate::contacts::{
            AddLead, ContactCommand, GroupKind, NewGroup, SubscriptionOrigin, UpsertLead,
        };
        let mut groups = Vec::new();
        for (name, kind) in [
            ("news", GroupKind::Standard),
            ("buyers", GroupKind::Client),
            ("all", GroupKind::Auto),
        ] {
            let group = NewGroup {
                id: None,
                name: name.into(),
                title: format!("«{name}»"),
                kind,
            };
            groups.push(store.add_group(shop.id, group).await.unwrap().id);
        }
        let lead = |email: &str| AddLead {
            targets: groups[..2].to_vec(),
            name: Some(format!("Lead {email}")),
            phone: Some("+7 900".into()),
            city: Some("Омск".into()),
            tag: Some("vip".into()),
            activation: email.starts_with('w'),
            partner: Some(PartnerId(10)),
            origin: SubscriptionOrigin {
                ip: "203.0.113.9".into(),
                utm: Utm {
                    medium: "affiliate".into(),
                    ..Utm::default()
                },
                aff_utm: Utm::default(),
                doneurl2: "https://shop.example/done".into(),
            },
            limit: None,
        };
        for email in ["a@example.com", "wait@example.com", "gone@example.com"] {
            store
                .change_contact(
                    shop.id,
                    Some(email),
                    ContactCommand::AddLead(lead(email)),
                    NOW,
                )
                .await
                .unwrap();
        }
        store
            .change_contact(
                shop.id,
                Some("gone@example.com"),
                ContactCommand::Unsubscribe {
                    groups: vec![groups[0]],
                    strict: true,
                },
                NOW + 1,
            )
            .await
            .unwrap();
        let mut upsert = UpsertLead {
            first_name: Some("Без".into()),
            join: vec![groups[0]],
            ..UpsertLead::default()
        };
        upsert.extras.insert("lead_utc".into(), "+03".into());
        store
            .change_contact(shop.id, None, ContactCommand::UpsertLead(upsert), NOW + 2)
            .await
            .unwrap();
    }

    /// Every record of `store`, collection after collection, read `page_size` at a time;
    /// checks that each page continues in ascending key order.
    pub async fn export_all(store: &dyn Transfer, page_size: usize) -> Vec<Record> {
        let mut all = Vec::new();
        for collection in Collection::ALL {
            let mut after: Option<Key> = None;
            loop {
                let page = store
                    .export(collection, after, page_size)
                    .await
                    .expect("export");
                assert!(page.len() <= page_size, "{collection:?}: a page too long");
                for record in &page {
                    assert_eq!(record.collection(), collection);
                    assert!(
                        after.is_none_or(|after| record.key() > after),
                        "{collection:?}: {} does not follow {after:?}",
                        record.key()
                    );
                    after = Some(record.key());
                }
                if page.is_empty() {
                    break;
                }
                all.extend(page);
            }
        }
        all
    }

    fn highest(records: &[Record], collection: Collection) -> Key {
        records
            .iter()
            .filter(|r| r.collection() == collection)
            .map(Record::key)
            .max()
            .expect("a record of every collection")
    }

    /// [`populate`]s `source`, exports it in small pages and imports every page into the
    /// empty `target`: the target then exports the same records, counts and last keys, refuses
    /// keys it holds already (writing nothing of that page), and numbers new rows above the
    /// imported ones.
    pub async fn round_trip<S: Store + Transfer>(source: &S, target: &S) {
        populate(source).await;
        let records = export_all(source, 3).await;
        for collection in Collection::ALL {
            assert!(
                records.iter().any(|r| r.collection() == collection),
                "{collection:?}: no record"
            );
        }
        assert!(records
            .iter()
            .any(|r| matches!(r, Record::Product { deleted: true, .. })));
        assert!(records
            .iter()
            .any(|r| matches!(r, Record::Order { deleted: true, .. })));

        for collection in Collection::ALL {
            let of_collection: Vec<Record> = records
                .iter()
                .filter(|r| r.collection() == collection)
                .cloned()
                .collect();
            for page in of_collection.chunks(3) {
                target.import(page.to_vec()).await.expect("import");
            }
        }
        assert_eq!(export_all(target, 1000).await, records);
        for collection in Collection::ALL {
            assert_eq!(
                target.count(collection).await.unwrap(),
                source.count(collection).await.unwrap(),
                "{collection:?}"
            );
            assert_eq!(
                target.last_key(collection).await.unwrap(),
                source.last_key(collection).await.unwrap(),
                "{collection:?}"
            );
        }

        let orders_before = target.count(Collection::Orders).await.unwrap();
        let mut fresh = records
            .iter()
            .find(|r| r.collection() == Collection::Orders)
            .cloned()
            .expect("an order");
        let existing = fresh.clone();
        if let Record::Order { order, .. } = &mut fresh {
            order.bill_id = BillId::new(highest(&records, Collection::Orders).1 + 100).unwrap();
        }
        let clash = target.import(vec![fresh, existing]).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        assert_eq!(
            target.count(Collection::Orders).await.unwrap(),
            orders_before,
            "a refused page writes nothing"
        );
        let tenant = records[0].clone();
        let clash = target.import(vec![tenant]).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");

        let newcomer = target
            .add_tenant(new_tenant("transfer-newcomer"))
            .await
            .unwrap();
        assert!(Key::new(newcomer.id.0, 0) > highest(&records, Collection::Tenants));
        let shop = target
            .tenant_by_login("transfer-shop")
            .await
            .unwrap()
            .expect("the imported tenant");
        let above = |collection: Collection, id: i64| {
            let last = records
                .iter()
                .filter(|r| r.collection() == collection && r.key().0 == shop.id.0)
                .map(|r| r.key().1)
                .max()
                .expect("a record of the shop");
            assert!(id > last, "{collection:?}: new id {id} is not above {last}");
        };
        above(
            Collection::Products,
            add_product(target, &shop, spec("after-copy", 100))
                .await
                .id
                .0,
        );
        let coupon = NewCoupon {
            id: None,
            code: "AFTER".into(),
            discount: Discount::Fixed(money(1)),
            products: vec![ProductId(1)],
            expires_at: None,
        };
        above(
            Collection::Coupons,
            target.add_coupon(shop.id, coupon).await.unwrap().id.0,
        );
        let partner = NewPartner {
            id: None,
            login: "after".into(),
            parent: Some(PartnerId(3)),
            registered_at: NOW,
        };
        above(
            Collection::Partners,
            target.add_partner(shop.id, partner).await.unwrap().id.0,
        );
        let manager = NewManager {
            id: None,
            name: "after".into(),
        };
        above(
            Collection::Managers,
            target.add_manager(shop.id, manager).await.unwrap().id.0,
        );
        let bill_id = create(target, &shop, order("after@example.com", Vec::new())).await;
        above(Collection::Orders, bill_id.get());
        let last_event = highest(&records, Collection::Events);
        let new_events = target
            .export(Collection::Events, Some(last_event), 10)
            .await
            .unwrap();
        assert!(
            matches!(new_events.as_slice(), [Record::Event(event)] if event.bill_id == bill_id),
            "{new_events:?}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GoodName, NewOrder, ProductId, ProductSpec};
    use clickbill_protocol::value::Login;
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    /// The fakes below never wait, so one poll finishes any of these futures.
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("an in-memory store never waits"),
        }
    }

    /// A [`Transfer`] over a map, with the faults of real backends on demand.
    #[derive(Default)]
    struct Memory {
        records: Mutex<BTreeMap<(Collection, Key), Record>>,
        /// Imports that succeed before every later one fails, as when the process is killed.
        imports_left: Mutex<Option<usize>>,
        /// What the backend makes of each record it imports; `None` loses it.
        mangle: Option<fn(Record) -> Option<Record>>,
        /// Exports pages backwards, as a backend with a broken ORDER BY would.
        backwards: bool,
    }

    impl Memory {
        fn with(records: impl IntoIterator<Item = Record>) -> Memory {
            let memory = Memory::default();
            memory.put(records);
            memory
        }

        fn put(&self, records: impl IntoIterator<Item = Record>) {
            let mut map = self.records.lock().unwrap();
            for record in records {
                map.insert((record.collection(), record.key()), record);
            }
        }

        fn all(&self) -> Vec<Record> {
            self.records.lock().unwrap().values().cloned().collect()
        }
    }

    #[async_trait]
    impl Transfer for Memory {
        async fn export(
            &self,
            collection: Collection,
            after: Option<Key>,
            limit: usize,
        ) -> Result<Vec<Record>, StoreError> {
            let map = self.records.lock().unwrap();
            let mut page: Vec<Record> = map
                .iter()
                .filter(|((c, key), _)| *c == collection && after.is_none_or(|a| *key > a))
                .take(limit)
                .map(|(_, record)| record.clone())
                .collect();
            if self.backwards {
                page.reverse();
            }
            Ok(page)
        }

        async fn import(&self, records: Vec<Record>) -> Result<(), StoreError> {
            let mut left = self.imports_left.lock().unwrap();
            match left.as_mut() {
                Some(0) => return Err(StoreError::Backend("the process was killed".into())),
                Some(n) => *n -= 1,
                None => {}
            }
            let mut map = self.records.lock().unwrap();
            if let Some(taken) = records
                .iter()
                .find(|r| map.contains_key(&(r.collection(), r.key())))
            {
                return Err(StoreError::Conflict(format!("key {}", taken.key())));
            }
            for record in records {
                let kept = match self.mangle {
                    Some(mangle) => mangle(record),
                    None => Some(record),
                };
                if let Some(record) = kept {
                    map.insert((record.collection(), record.key()), record);
                }
            }
            Ok(())
        }

        async fn last_key(&self, collection: Collection) -> Result<Option<Key>, StoreError> {
            let map = self.records.lock().unwrap();
            Ok(map
                .keys()
                .filter(|(c, _)| *c == collection)
                .map(|(_, key)| *key)
                .max())
        }

        async fn count(&self, collection: Collection) -> Result<u64, StoreError> {
            let map = self.records.lock().unwrap();
            Ok(map.keys().filter(|(c, _)| *c == collection).count() as u64)
        }
    }

    fn tenant(id: i64) -> Record {
        Record::Tenant(Tenant {
            id: TenantId(id),
            login: Login::parse(&format!("shop{id}")).unwrap(),
            secret: "secret".into(),
            enabled: true,
            custom_domains: vec![format!("shop{id}.example")],
            settings: TenantSettings::default(),
        })
    }

    fn product(tenant: i64, id: i64, deleted: bool) -> Record {
        let code = GoodName::parse(&format!("p{id}")).unwrap();
        Record::Product {
            tenant: TenantId(tenant),
            product: Product {
                id: ProductId(id),
                spec: ProductSpec::new(code, "Product", Money::from_minor(100 * id)),
            },
            deleted,
        }
    }

    fn order(tenant: i64, bill_id: i64, comment: &str) -> Record {
        let new = NewOrder {
            comment: comment.into(),
            ..NewOrder::default()
        };
        let (order, _) = Order::from_new(BillId::new(bill_id).unwrap(), new, 1_700_000_000);
        Record::Order {
            tenant: TenantId(tenant),
            order,
            deleted: bill_id % 5 == 0,
        }
    }

    fn event(id: i64, tenant: i64, bill_id: i64) -> Record {
        Record::Event(StoredEvent {
            id,
            tenant: TenantId(tenant),
            bill_id: BillId::new(bill_id).unwrap(),
            kind: OrderEventKind::NewOrder,
            at: 1_700_000_000,
        })
    }

    /// Two tenants with a bit of everything, `orders` orders of the first and one of the second.
    fn sample(orders: i64) -> Vec<Record> {
        let mut records = vec![tenant(1), tenant(2)];
        records.extend((1..=3).map(|id| product(1, id, id == 2)));
        records.push(product(2, 1, false));
        records.push(Record::Coupon {
            tenant: TenantId(1),
            coupon: Coupon {
                id: crate::model::CouponId(585),
                code: "TEN".into(),
                discount: Discount::Percent(Percent::from_hundredths(1000).unwrap()),
                products: vec![ProductId(1), ProductId(3)],
                expires_at: Some(1_800_000_000),
                disabled: true,
            },
        });
        records.push(Record::Partner {
            tenant: TenantId(1),
            partner: Partner {
                id: crate::model::PartnerId(3),
                login: "anna".into(),
                parent: Some(crate::model::PartnerId(9)),
                registered_at: 1_700_000_000,
            },
        });
        records.push(Record::Manager {
            tenant: TenantId(2),
            manager: Manager {
                id: crate::model::ManagerId(71257),
                name: "Мария".into(),
            },
        });
        records.extend((1..=orders).map(|bill_id| order(1, bill_id, "comment")));
        records.push(order(2, 1000, "other tenant"));
        records.extend((1..=orders).map(|id| event(id, 1, id)));
        records.push(event(orders + 1, 2, 1000));
        records.push(delivery(1, 1, 1));
        records.push(delivery(2, 2, 1000));
        records
    }

    fn delivery(id: i64, tenant: i64, bill_id: i64) -> Record {
        use crate::outbox::{AttemptRecord, DeliveryInfo, DeliveryState, EventId};
        Record::Delivery {
            delivery: DeliveryInfo {
                tenant: TenantId(tenant),
                id,
                event_id: EventId::parse(&format!("00000000-0000-4000-8000-{id:012}")).unwrap(),
                bill_id: BillId::new(bill_id),
                kind: "new_order".into(),
                url: "http://127.0.0.1:9/new".into(),
                body: b"status=new_order".to_vec(),
                created_ms: 1_700_000_000_000,
                state: DeliveryState::Pending,
                attempts: 1,
                round_start: 0,
                due_ms: 1_700_000_010_000,
            },
            attempts: vec![AttemptRecord {
                attempt: 1,
                at_ms: 1_700_000_000_001,
                status: None,
                error: "connection refused".into(),
                latency_ms: 1,
                response: Vec::new(),
            }],
        }
    }

    fn options(page_size: usize, mode: CopyMode) -> CopyOptions {
        CopyOptions { page_size, mode }
    }

    fn run(
        source: &Memory,
        target: &Memory,
        options: CopyOptions,
    ) -> Result<CopyReport, CopyError> {
        block_on(copy(source, target, options, &mut |_| {}))
    }

    #[test]
    fn copies_every_collection_and_verifies_it() {
        let source = Memory::with(sample(10));
        let target = Memory::default();
        let mut seen = Vec::new();
        let report = block_on(copy(
            &source,
            &target,
            options(3, CopyMode::IntoEmpty),
            &mut |p| seen.push(p),
        ))
        .expect("a verified copy");
        assert_eq!(target.all(), source.all());
        let rows: Vec<(Collection, u64, u64)> = report
            .collections
            .iter()
            .map(|c| (c.collection, c.rows, c.copied))
            .collect();
        assert_eq!(
            rows,
            [
                (Collection::Tenants, 2, 2),
                (Collection::Products, 4, 4),
                (Collection::Coupons, 1, 1),
                (Collection::Partners, 1, 1),
                (Collection::Managers, 1, 1),
                (Collection::Orders, 11, 11),
                (Collection::Events, 11, 11),
                (Collection::Deliveries, 2, 2),
                (Collection::Groups, 0, 0),
                (Collection::Contacts, 0, 0),
                (Collection::UnsubscribeEvents, 0, 0),
            ]
        );
        assert_ne!(
            report.collections[5].checksum,
            report.collections[6].checksum
        );
        assert_eq!(report.collections[5].checksum.to_string().len(), 64);

        let orders_copied: Vec<u64> = seen
            .iter()
            .filter(|p| p.phase == CopyPhase::Copying && p.collection == Collection::Orders)
            .map(|p| p.done)
            .collect();
        assert_eq!(orders_copied, [0, 3, 6, 9, 11]);
        let first_verification = seen
            .iter()
            .position(|p| p.phase == CopyPhase::Verifying)
            .unwrap();
        assert!(seen[first_verification..]
            .iter()
            .all(|p| p.phase == CopyPhase::Verifying));
        assert!(seen.iter().all(|p| p.done <= p.total));
    }

    #[test]
    fn checksums_depend_on_the_records_alone() {
        let checksums = |page_size| -> Vec<Checksum> {
            let source = Memory::with(sample(4));
            let report = run(
                &source,
                &Memory::default(),
                options(page_size, CopyMode::IntoEmpty),
            );
            report
                .unwrap()
                .collections
                .iter()
                .map(|c| c.checksum)
                .collect()
        };
        assert_eq!(checksums(2), checksums(1000));
    }

    #[test]
    fn a_target_with_records_is_refused_before_anything_is_written() {
        let source = Memory::with(sample(3));
        let target = Memory::with([event(99, 1, 1)]);
        let refused = run(&source, &target, options(10, CopyMode::IntoEmpty));
        assert!(
            matches!(
                refused,
                Err(CopyError::TargetNotEmpty {
                    collection: Collection::Events,
                    rows: 1
                })
            ),
            "{refused:?}"
        );
        assert_eq!(target.all(), [event(99, 1, 1)]);
    }

    #[test]
    fn an_interrupted_copy_is_finished_by_resuming() {
        let source = Memory::with(sample(20));
        let target = Memory::default();
        *target.imports_left.lock().unwrap() = Some(9);
        let interrupted = run(&source, &target, options(3, CopyMode::IntoEmpty));
        assert!(
            matches!(
                interrupted,
                Err(CopyError::Target {
                    collection: Collection::Orders,
                    ..
                })
            ),
            "{interrupted:?}"
        );
        *target.imports_left.lock().unwrap() = None;
        let written = target.all().len() as u64;
        assert!(matches!(
            run(&source, &target, options(3, CopyMode::IntoEmpty)),
            Err(CopyError::TargetNotEmpty { .. })
        ));

        let report = run(&source, &target, options(3, CopyMode::Resume)).expect("resumed");
        assert_eq!(target.all(), source.all());
        let rows: u64 = report.collections.iter().map(|c| c.rows).sum();
        let copied: u64 = report.collections.iter().map(|c| c.copied).sum();
        assert_eq!(rows, source.all().len() as u64);
        assert_eq!(copied, rows - written);

        let again = run(&source, &target, options(3, CopyMode::Resume)).expect("nothing left");
        assert!(again.collections.iter().all(|c| c.copied == 0));
    }

    #[test]
    fn resuming_needs_the_beginning_of_the_source_in_the_target() {
        let source = Memory::with(sample(6));
        let other = Memory::with([
            tenant(1),
            tenant(2),
            order(1, 1, "comment"),
            order(1, 2, "changed"),
        ]);
        let refused = run(&source, &other, options(3, CopyMode::Resume));
        assert!(
            matches!(
                refused,
                Err(CopyError::NotAPrefix {
                    collection: Collection::Orders,
                    key: Key(1, 2)
                })
            ),
            "{refused:?}"
        );
        let elsewhere = Memory::with([tenant(7)]);
        let refused = run(&source, &elsewhere, options(3, CopyMode::Resume));
        assert!(
            matches!(
                refused,
                Err(CopyError::NotAPrefix {
                    collection: Collection::Tenants,
                    ..
                })
            ),
            "{refused:?}"
        );
        let larger = Memory::with(sample(7));
        let refused = run(&source, &larger, options(3, CopyMode::Resume));
        assert!(
            matches!(
                refused,
                Err(CopyError::NotAPrefix {
                    collection: Collection::Orders,
                    ..
                })
            ),
            "{refused:?}"
        );
        assert_eq!(other.all().len(), 4, "a refused resume writes nothing");
    }

    #[test]
    fn forcing_writes_beside_the_targets_own_records_and_stops_at_a_taken_key() {
        let source = Memory::with(sample(5));
        let own = [
            tenant(50),
            product(50, 1, false),
            order(50, 1, "own"),
            event(100, 50, 1),
        ];
        let target = Memory::with(own.clone());
        let report = run(&source, &target, options(2, CopyMode::Force)).expect("verified");
        assert_eq!(report.collections[0].rows, 2);
        assert_eq!(target.all().len(), source.all().len() + own.len());

        let again = run(&source, &target, options(2, CopyMode::Force));
        assert!(
            matches!(
                again,
                Err(CopyError::Target {
                    collection: Collection::Tenants,
                    error: StoreError::Conflict(_)
                })
            ),
            "{again:?}"
        );
    }

    #[test]
    fn verification_names_the_collection_and_the_first_key_that_differ() {
        let source = Memory::with(sample(6));
        let target = Memory {
            mangle: Some(|record| match record {
                Record::Order {
                    tenant,
                    order: mut o,
                    deleted,
                } if o.bill_id.get() == 4 => {
                    o.comment.push('!');
                    Some(Record::Order {
                        tenant,
                        order: o,
                        deleted,
                    })
                }
                other => Some(other),
            }),
            ..Memory::default()
        };
        let failed = run(&source, &target, options(4, CopyMode::IntoEmpty));
        match failed {
            Err(CopyError::ChecksumMismatch {
                collection: Collection::Orders,
                source_checksum,
                target_checksum,
                first_difference: Some(Key(1, 4)),
            }) => assert_ne!(source_checksum, target_checksum),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verification_counts_the_records_on_both_sides() {
        let source = Memory::with(sample(6));
        let target = Memory {
            mangle: Some(|record| match &record {
                Record::Event(event) if event.id == 3 => None,
                _ => Some(record),
            }),
            ..Memory::default()
        };
        let failed = run(&source, &target, options(4, CopyMode::IntoEmpty));
        assert!(
            matches!(
                failed,
                Err(CopyError::CountMismatch {
                    collection: Collection::Events,
                    source_rows: 7,
                    target_rows: 6
                })
            ),
            "{failed:?}"
        );
    }

    #[test]
    fn pages_out_of_key_order_stop_the_copy() {
        let source = Memory {
            backwards: true,
            ..Memory::with(sample(3))
        };
        let failed = run(&source, &Memory::default(), options(5, CopyMode::IntoEmpty));
        assert!(
            matches!(
                failed,
                Err(CopyError::OutOfOrder {
                    collection: Collection::Tenants,
                    ..
                })
            ),
            "{failed:?}"
        );
        assert!(matches!(
            run(
                &Memory::default(),
                &Memory::default(),
                options(0, CopyMode::IntoEmpty)
            ),
            Err(CopyError::NoPageSize)
        ));
    }

    #[test]
    fn encodings_keep_field_boundaries() {
        let groups = |groups: [&str; 2]| {
            let Record::Product {
                tenant,
                mut product,
                deleted,
            } = product(1, 1, false)
            else {
                unreachable!()
            };
            product.spec.client_groups = groups.map(String::from).to_vec();
            let mut bytes = Vec::new();
            encode(
                &Record::Product {
                    tenant,
                    product,
                    deleted,
                },
                &mut bytes,
            );
            bytes
        };
        assert_ne!(groups(["ab", "c"]), groups(["a", "bc"]));
        let (mut live, mut deleted) = (Vec::new(), Vec::new());
        encode(&product(1, 1, false), &mut live);
        encode(&product(1, 1, true), &mut deleted);
        assert_ne!(live, deleted);
    }
}
