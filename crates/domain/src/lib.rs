//! clickbill's order system, free of HTTP and SQL: the model (tenants, products, coupons,
//! partners, orders), the rules that connect them (pricing, coupons, partner fees, the duplicate
//! rule, the delivery rule, status transitions) and the storage port ([`Store`]) the rules need.

pub mod checkout;
pub mod clock;
pub mod contacts;
pub mod listing;
pub mod model;
pub mod order;
pub mod outbox;
pub mod payment;
pub mod ports;
#[cfg(feature = "store-suite")]
pub mod store_suite;
pub mod transfer;

pub use clock::{Clock, SystemClock};
pub use ports::{
    CreatedOrder, DueTimer, FiredTimers, IdempotencyClaim, KeyRecord, OrderChange, OrderTime,
    OrderUpdate, PartnerStats, Store, StoreError, StoredResponse, TimeWindow,
    IDEMPOTENCY_KEY_LIFETIME,
};
