//! Rust SDK for the JustClick HTTP API, as served by clickbill or by JustClick itself.
//!
//! The API is a set of `POST /api/{Method}` calls with form-encoded parameters. Each request is
//! signed with md5 over the parameters as PHP's `http_build_query` encodes them, the login and
//! the tenant secret; each answer is a JSON envelope (`error_code`, `error_text`, `result`)
//! signed with md5(`code::text::secret`). This crate does both sides of that for you:
//!
//! - [`Client`] signs requests exactly as the official PHP clients do, sends them, and accepts
//!   an answer only when its hash verifies ([`ClientError::BadResponseHash`] otherwise).
//! - Typed methods cover products and orders ([`Client::create_order`],
//!   [`Client::get_order_details`], [`Client::update_order_status`], [`Client::add_good`], …)
//!   and return the result types of [`clickbill_protocol::methods`].
//! - Listings have typed calls with small parameter builders: [`Client::get_orders`]
//!   ([`OrdersQuery`]), [`Client::get_orders_with_goods`] ([`OrdersWithGoodsQuery`]),
//!   [`Client::get_bills`] and [`Client::get_partner_stats`] ([`PartnerStatsQuery`]).
//! - API 2.0 calls authenticate with the key instead: [`Client::create_order_v2`]
//!   ([`NewOrderV2`]), [`Client::get_goods`], [`Client::get_coupons`] and
//!   [`Client::get_personal_managers`].
//! - [`Client::call`] reaches every other method with any parameters, and
//!   [`Client::call_with_key`] uses the API 2.0 key instead of a signature.
//! - [`Notification`] checks the signed notifications the server POSTs to a merchant's script.
//!
//! ```no_run
//! use clickbill_client::{Client, GoodType, NewGood, NewOrder, OrderGood, StatusUpdate};
//!
//! # async fn run() -> Result<(), clickbill_client::ClientError> {
//! let client = Client::new("http://demo.localhost:8080", "demo", "secret")?;
//!
//! client
//!     .add_good(&NewGood::new("code3", "E-book", 490, GoodType::Digital))
//!     .await?;
//! for good in client.get_all_goods().await? {
//!     println!("{} {} {}", good.good_name, good.good_title, good.good_sum);
//! }
//!
//! let order = NewOrder::new()
//!     .email("client@example.com")
//!     .good(OrderGood::new("code3"))
//!     .comment("gift");
//! let bill_id = client.create_order(&order).await?.bill_id();
//!
//! client
//!     .update_order_status(
//!         bill_id,
//!         &StatusUpdate::Paid { date: 1_700_000_000, sum: None, payway: None },
//!     )
//!     .await?;
//! let order = client.get_order_details(bill_id, false).await?;
//! assert_eq!(order.pay_status, "paid");
//! # Ok(())
//! # }
//! ```
//!
//! Errors keep the wire's information: a refusal by the server is [`ClientError::Api`] with the
//! exact `error_code` and `error_text` (see the catalogue in the specification), distinct from
//! transport failures, unexpected HTTP statuses, malformed bodies and forged answers.
//!
//! The crate depends on the protocol crates and an HTTP client only (reqwest with rustls); it
//! needs a Tokio runtime to run its futures.

mod client;
mod contacts;
mod error;
mod goods;
mod listings;
mod notification;
mod orders;
mod params;
mod v2;

pub use clickbill_protocol::value::PayStatus;
pub use client::{
    is_loopback_name, key_body, signed_body, Auth, CallOptions, Client, ClientBuilder, Response,
};
pub use contacts::{LeadV2, NewLead, SubscribeOutcome, SubscriberUpdate};
pub use error::ClientError;
pub use goods::{GoodType, GoodUpdate, NewGood, PartnerFee, PostService};
pub use listings::{Day, GoodRef, OrdersQuery, OrdersWithGoodsQuery, PartnerStatsQuery};
pub use notification::{verify_notification, Notification, NotificationError, NotificationKind};
pub use orders::{CreateOrderOutcome, NewOrder, OrderGood, StatusUpdate, TimerKill};
pub use params::Amount;
pub use v2::NewOrderV2;

/// The result types the typed methods return, re-exported for convenience.
pub use clickbill_protocol::methods::{
    Bill, BillGood, BillIdResult, Bills, GoodObject, ItemObject, OrderObject, PartnerObject,
    PartnerStatsObject, UtmObject,
};
/// The API 2.0 list entries and order states of [`Client::get_goods`], [`Client::get_coupons`],
/// [`Client::get_personal_managers`] and [`NewOrderV2::order_status`].
pub use clickbill_protocol::methods::{
    CouponListEntry, CreateOrderStatus, GoodListEntry, ManagerListEntry,
};
/// The results of the contact and group methods.
pub use clickbill_protocol::methods::{
    GroupEntry, LeadGroupEntry, LeadGroupStatusEntry, ListEntry,
};
/// Request parameter building blocks ([`Key`], [`Data`]) for [`Client::call`].
pub use php_form::{Data, Key};
