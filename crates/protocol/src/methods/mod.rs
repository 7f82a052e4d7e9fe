//! Typed results of the methods and the wire types several methods share.
//!
//! Every scalar in a result is a JSON string, as the PHP/MySQL backend of the original service
//! returned them (§10.1): numbers as decimal text, money with two decimals, times as unix
//! seconds, booleans as `"1"`/`"0"`. The structs keep those strings so that the server renders
//! exactly what the wire carries and the SDK reads back exactly what was sent; field order is
//! the key order of the wire. Serialise them with [`crate::json`] to get the PHP encoding.

mod contacts;
mod goods;
mod listings;
mod orders;
mod v2;

pub use contacts::{GroupEntry, LeadGroupEntry, LeadGroupStatusEntry, ListEntry};
pub use goods::GoodObject;
pub use listings::{Bill, BillGood, Bills, PartnerStatsObject};
pub use orders::{payment_link, BillIdResult, ItemObject, OrderObject, PartnerObject, UtmObject};
pub use v2::{CouponListEntry, CreateOrderStatus, GoodListEntry, ManagerListEntry};

/// A boolean in a result: `"1"` or `"0"` (§7.3).
pub fn bool_text(value: bool) -> String {
    if value { "1" } else { "0" }.to_owned()
}
