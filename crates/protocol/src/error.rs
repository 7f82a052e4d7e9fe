//! The error catalogue (§8.1) and the success texts that share code 0.
//!
//! Texts are part of the wire: clients compare them byte for byte, spelling mistakes included, and
//! the response hash covers them. Inserted values are plain `String`s; callers pass them through
//! [`crate::value::clean_text`] first when they come from request bytes (§6.3, §7.2).

#![warn(missing_docs)]

use std::borrow::Cow;
use thiserror::Error;

/// Every failure the server answers with, as the catalogue of §8.1 defines it.
///
/// `Display` writes the exact `error_text`; [`ApiError::code`] gives the `error_code`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ApiError {
    /// 1: signature scheme without a usable `hash` (§5.7 check 4).
    #[error("Not transferred hash")]
    NotTransferredHash,
    /// 2: empty parameter set (§5.7 check 3), or a required parameter of some methods is blank.
    #[error("No transmitted data")]
    NoTransmittedData,
    /// 3: a parameter is malformed or inconsistent.
    #[error("Wrong posted data")]
    WrongPostedData,
    /// 3 with HTTP 404: the path names no method; carries the path remainder (§2.3).
    #[error("Unknown method: {0}")]
    UnknownMethod(String),
    /// 3 with HTTP 405: the request was not a `POST`; carries the HTTP method (§2.3).
    #[error("Method not allowed: {0}")]
    MethodNotAllowed(String),
    /// 3 with HTTP 409: an `Idempotency-Key` came back with another request (§17).
    #[error("Idempotency key reused with different parameters")]
    IdempotencyKeyReused,
    /// 3: an unexpected failure where the method defines no failure code.
    #[error("Internal error")]
    InternalError,
    /// 4: the request signature or API key does not match (§5).
    #[error("Incorrect hash")]
    IncorrectHash,
    /// 5: no tenant for the host; answered with the empty secret (§3).
    #[error("Invalid user name")]
    InvalidUserName,
    /// 7: the tenant is disabled.
    #[error("Account disabled")]
    AccountDisabled,
    /// 8: `AddLeadToGroup` per-IP limit; the IP follows the final `.` with no space.
    #[error("Limit to subscribe for this IP exided. Try later.{ip}")]
    SubscribeLimit {
        /// The client IP as text.
        ip: String,
    },
    /// 100: the contact e-mail is absent or invalid.
    #[error("Email is missing")]
    EmailMissing,
    /// 101: storing a subscription failed.
    #[error("Subscription error: {description} rass_id={rass_id}")]
    SubscriptionError {
        /// What went wrong.
        description: String,
        /// The group's number.
        rass_id: i64,
    },
    /// 200: no such (or a deleted) order.
    #[error("Nonexistent order")]
    NonexistentOrder,
    /// 201: unknown `status` value.
    #[error("Wrong status")]
    WrongStatus,
    /// 202: the payment cannot be recorded.
    #[error("Order not paid")]
    OrderNotPaid,
    /// 203: `bill_id` blank.
    #[error("Order number is empty")]
    OrderNumberEmpty,
    /// 204: the order's state does not allow the change.
    #[error("Order status is not changed")]
    OrderStatusNotChanged,
    /// 300: `UpdateGood` found no such product.
    #[error("Product not found")]
    ProductNotFound,
    /// 301: `AddGood` code is taken.
    #[error("Product already exist")]
    ProductAlreadyExist,
    /// 302: `UpdateGood` storage failure; `DeleteGood` product missing or not removed.
    #[error("Failed to remove product")]
    FailedToRemoveProduct,
    /// 303: `AddGood` storage failure.
    #[error("Failed to add product")]
    FailedToAddProduct,
    /// 400: no such order (`GetOrderInfo`, `getOrderDetails`, `GetBills`).
    #[error("Order not found")]
    OrderNotFound,
    /// 401: `GetOrders` found nothing in the window.
    #[error("Orders not found")]
    OrdersNotFound,
    /// 500: no contact with that e-mail.
    #[error("Subscriber not found")]
    SubscriberNotFound,
    /// 501: no group / the contact is in no group / an unknown API 2.0 list id.
    #[error("Group not found")]
    GroupNotFound,
    /// 600: the order e-mail is invalid; carries the value as received (`''` when absent).
    #[error("Wrong email: '{0}'")]
    WrongEmail(String),
    /// 601: a duplicate order (§13.1.4); the only error with a `result`: `{"bill_id":"<id>"}`.
    #[error("Order already exist. His number send in result array.")]
    DuplicateOrder {
        /// The existing order's number.
        bill_id: i64,
    },
    /// 602: order creation failed in storage.
    #[error("Error creating order")]
    ErrorCreatingOrder,
    /// 603: the order has no products.
    #[error("Missing products")]
    MissingProducts,
    /// 604: unknown product code; carries the code as received.
    #[error("Product not exist: {0}")]
    ProductNotExist(String),
    /// 605: a physical product without full delivery data.
    #[error("Not having any data for delivery products")]
    NoDeliveryData,
    /// 606: order creation through the API is switched off for the tenant.
    #[error("Function for creating new orders throw API was disabled for your account")]
    ApiOrdersDisabled,
    /// 700: `GetAllGoods` on an empty catalogue.
    #[error("No products")]
    NoProducts,
    /// 800: `DeleteSubscribe` names a group that does not exist.
    #[error("Group subscribers is not found")]
    GroupSubscribersNotFound,
    /// 801: `DeleteSubscribe`: the contact is not in a named group.
    #[error("Subscriber with such address is not found")]
    SubscriberAddressNotFound,
    /// 1000: `GetPartnerStats` with an unknown partner login.
    #[error("Partner not found")]
    PartnerNotFound,
}

impl ApiError {
    /// The `error_code` this error is answered with.
    pub fn code(&self) -> i64 {
        use ApiError::*;
        match self {
            NotTransferredHash => 1,
            NoTransmittedData => 2,
            WrongPostedData | UnknownMethod(_) | MethodNotAllowed(_) | IdempotencyKeyReused
            | InternalError => 3,
            IncorrectHash => 4,
            InvalidUserName => 5,
            AccountDisabled => 7,
            SubscribeLimit { .. } => 8,
            EmailMissing => 100,
            SubscriptionError { .. } => 101,
            NonexistentOrder => 200,
            WrongStatus => 201,
            OrderNotPaid => 202,
            OrderNumberEmpty => 203,
            OrderStatusNotChanged => 204,
            ProductNotFound => 300,
            ProductAlreadyExist => 301,
            FailedToRemoveProduct => 302,
            FailedToAddProduct => 303,
            OrderNotFound => 400,
            OrdersNotFound => 401,
            SubscriberNotFound => 500,
            GroupNotFound => 501,
            WrongEmail(_) => 600,
            DuplicateOrder { .. } => 601,
            ErrorCreatingOrder => 602,
            MissingProducts => 603,
            ProductNotExist(_) => 604,
            NoDeliveryData => 605,
            ApiOrdersDisabled => 606,
            NoProducts => 700,
            GroupSubscribersNotFound => 800,
            SubscriberAddressNotFound => 801,
            PartnerNotFound => 1000,
        }
    }

    /// The exact `error_text`, borrowed when it has no inserted value.
    pub fn text(&self) -> Cow<'static, str> {
        use ApiError::*;
        match self {
            UnknownMethod(_)
            | MethodNotAllowed(_)
            | SubscribeLimit { .. }
            | SubscriptionError { .. }
            | WrongEmail(_)
            | ProductNotExist(_) => Cow::Owned(self.to_string()),
            NotTransferredHash => Cow::Borrowed("Not transferred hash"),
            NoTransmittedData => Cow::Borrowed("No transmitted data"),
            WrongPostedData => Cow::Borrowed("Wrong posted data"),
            IdempotencyKeyReused => {
                Cow::Borrowed("Idempotency key reused with different parameters")
            }
            InternalError => Cow::Borrowed("Internal error"),
            IncorrectHash => Cow::Borrowed("Incorrect hash"),
            InvalidUserName => Cow::Borrowed("Invalid user name"),
            AccountDisabled => Cow::Borrowed("Account disabled"),
            EmailMissing => Cow::Borrowed("Email is missing"),
            NonexistentOrder => Cow::Borrowed("Nonexistent order"),
            WrongStatus => Cow::Borrowed("Wrong status"),
            OrderNotPaid => Cow::Borrowed("Order not paid"),
            OrderNumberEmpty => Cow::Borrowed("Order number is empty"),
            OrderStatusNotChanged => Cow::Borrowed("Order status is not changed"),
            ProductNotFound => Cow::Borrowed("Product not found"),
            ProductAlreadyExist => Cow::Borrowed("Product already exist"),
            FailedToRemoveProduct => Cow::Borrowed("Failed to remove product"),
            FailedToAddProduct => Cow::Borrowed("Failed to add product"),
            OrderNotFound => Cow::Borrowed("Order not found"),
            OrdersNotFound => Cow::Borrowed("Orders not found"),
            SubscriberNotFound => Cow::Borrowed("Subscriber not found"),
            GroupNotFound => Cow::Borrowed("Group not found"),
            DuplicateOrder { .. } => {
                Cow::Borrowed("Order already exist. His number send in result array.")
            }
            ErrorCreatingOrder => Cow::Borrowed("Error creating order"),
            MissingProducts => Cow::Borrowed("Missing products"),
            NoDeliveryData => Cow::Borrowed("Not having any data for delivery products"),
            ApiOrdersDisabled => Cow::Borrowed(
                "Function for creating new orders throw API was disabled for your account",
            ),
            NoProducts => Cow::Borrowed("No products"),
            GroupSubscribersNotFound => Cow::Borrowed("Group subscribers is not found"),
            SubscriberAddressNotFound => Cow::Borrowed("Subscriber with such address is not found"),
            PartnerNotFound => Cow::Borrowed("Partner not found"),
        }
    }

    /// The HTTP status the answer travels with (§2.3): 404, 405 and 409 for the three errors
    /// produced outside the method layer, 200 for everything else.
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::UnknownMethod(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::IdempotencyKeyReused => 409,
            _ => 200,
        }
    }

    /// Whether the answer is signed with the empty secret instead of the tenant's (§3.2).
    pub fn signed_with_empty_secret(&self) -> bool {
        matches!(self, ApiError::InvalidUserName)
    }
}

/// The outcomes that succeed (code 0) but say different things (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Success {
    /// `OK`: success of most methods.
    Ok,
    /// `Order created`: `CreateOrder` (1.0).
    OrderCreated,
    /// `Order status changed`: `UpdateOrderStatus` with `status=moneyback`.
    OrderStatusChanged,
    /// `Activation email sent to subscriber`: `AddLeadToGroup` created pending subscriptions.
    ActivationEmailSent,
    /// `The subscriber is already registered`: `AddLeadToGroup` changed nothing.
    AlreadyRegistered,
    /// `Has an invalid subscriptions group`: `AddLeadToGroup` found no usable group.
    InvalidSubscriptionsGroup,
}

/// `error_text` of [`Success::Ok`].
pub const OK: &str = "OK";
/// `error_text` of [`Success::OrderCreated`].
pub const ORDER_CREATED: &str = "Order created";
/// `error_text` of [`Success::OrderStatusChanged`].
pub const ORDER_STATUS_CHANGED: &str = "Order status changed";
/// `error_text` of [`Success::ActivationEmailSent`].
pub const ACTIVATION_EMAIL_SENT: &str = "Activation email sent to subscriber";
/// `error_text` of [`Success::AlreadyRegistered`].
pub const ALREADY_REGISTERED: &str = "The subscriber is already registered";
/// `error_text` of [`Success::InvalidSubscriptionsGroup`].
pub const INVALID_SUBSCRIPTIONS_GROUP: &str = "Has an invalid subscriptions group";

impl Success {
    /// Every success outcome, for tests and documentation.
    pub const ALL: [Success; 6] = [
        Success::Ok,
        Success::OrderCreated,
        Success::OrderStatusChanged,
        Success::ActivationEmailSent,
        Success::AlreadyRegistered,
        Success::InvalidSubscriptionsGroup,
    ];

    /// Always 0.
    pub fn code(self) -> i64 {
        0
    }

    /// The exact `error_text`.
    pub fn text(self) -> &'static str {
        match self {
            Success::Ok => OK,
            Success::OrderCreated => ORDER_CREATED,
            Success::OrderStatusChanged => ORDER_STATUS_CHANGED,
            Success::ActivationEmailSent => ACTIVATION_EMAIL_SENT,
            Success::AlreadyRegistered => ALREADY_REGISTERED,
            Success::InvalidSubscriptionsGroup => INVALID_SUBSCRIPTIONS_GROUP,
        }
    }
}

impl std::fmt::Display for Success {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_the_catalogue() {
        let cases: Vec<(ApiError, i64, &str)> = vec![
            (ApiError::NotTransferredHash, 1, "Not transferred hash"),
            (ApiError::NoTransmittedData, 2, "No transmitted data"),
            (ApiError::WrongPostedData, 3, "Wrong posted data"),
            (
                ApiError::UnknownMethod("GetEverything".into()),
                3,
                "Unknown method: GetEverything",
            ),
            (
                ApiError::MethodNotAllowed("GET".into()),
                3,
                "Method not allowed: GET",
            ),
            (
                ApiError::IdempotencyKeyReused,
                3,
                "Idempotency key reused with different parameters",
            ),
            (ApiError::InternalError, 3, "Internal error"),
            (ApiError::IncorrectHash, 4, "Incorrect hash"),
            (ApiError::InvalidUserName, 5, "Invalid user name"),
            (ApiError::AccountDisabled, 7, "Account disabled"),
            (
                ApiError::SubscribeLimit {
                    ip: "203.0.113.7".into(),
                },
                8,
                "Limit to subscribe for this IP exided. Try later.203.0.113.7",
            ),
            (ApiError::EmailMissing, 100, "Email is missing"),
            (
                ApiError::SubscriptionError {
                    description: "db down".into(),
                    rass_id: 3,
                },
                101,
                "Subscription error: db down rass_id=3",
            ),
            (ApiError::NonexistentOrder, 200, "Nonexistent order"),
            (ApiError::WrongStatus, 201, "Wrong status"),
            (ApiError::OrderNotPaid, 202, "Order not paid"),
            (ApiError::OrderNumberEmpty, 203, "Order number is empty"),
            (
                ApiError::OrderStatusNotChanged,
                204,
                "Order status is not changed",
            ),
            (ApiError::ProductNotFound, 300, "Product not found"),
            (ApiError::ProductAlreadyExist, 301, "Product already exist"),
            (
                ApiError::FailedToRemoveProduct,
                302,
                "Failed to remove product",
            ),
            (ApiError::FailedToAddProduct, 303, "Failed to add product"),
            (ApiError::OrderNotFound, 400, "Order not found"),
            (ApiError::OrdersNotFound, 401, "Orders not found"),
            (ApiError::SubscriberNotFound, 500, "Subscriber not found"),
            (ApiError::GroupNotFound, 501, "Group not found"),
            (
                ApiError::WrongEmail("client.example.com".into()),
                600,
                "Wrong email: 'client.example.com'",
            ),
            (ApiError::WrongEmail(String::new()), 600, "Wrong email: ''"),
            (
                ApiError::DuplicateOrder { bill_id: 12345 },
                601,
                "Order already exist. His number send in result array.",
            ),
            (ApiError::ErrorCreatingOrder, 602, "Error creating order"),
            (ApiError::MissingProducts, 603, "Missing products"),
            (
                ApiError::ProductNotExist("nosuch".into()),
                604,
                "Product not exist: nosuch",
            ),
            (
                ApiError::NoDeliveryData,
                605,
                "Not having any data for delivery products",
            ),
            (
                ApiError::ApiOrdersDisabled,
                606,
                "Function for creating new orders throw API was disabled for your account",
            ),
            (ApiError::NoProducts, 700, "No products"),
            (
                ApiError::GroupSubscribersNotFound,
                800,
                "Group subscribers is not found",
            ),
            (
                ApiError::SubscriberAddressNotFound,
                801,
                "Subscriber with such address is not found",
            ),
            (ApiError::PartnerNotFound, 1000, "Partner not found"),
        ];
        for (error, code, text) in cases {
            assert_eq!(error.code(), code, "{error:?}");
            assert_eq!(error.text(), text, "{error:?}");
            assert_eq!(error.to_string(), text, "{error:?}");
        }
    }

    #[test]
    fn success_texts() {
        let texts: Vec<_> = Success::ALL.iter().map(|s| s.text()).collect();
        assert_eq!(
            texts,
            [
                "OK",
                "Order created",
                "Order status changed",
                "Activation email sent to subscriber",
                "The subscriber is already registered",
                "Has an invalid subscriptions group",
            ]
        );
        assert!(Success::ALL.iter().all(|s| s.code() == 0));
    }

    #[test]
    fn statuses_outside_the_method_layer() {
        assert_eq!(ApiError::UnknownMethod("x".into()).http_status(), 404);
        assert_eq!(ApiError::MethodNotAllowed("GET".into()).http_status(), 405);
        assert_eq!(ApiError::IdempotencyKeyReused.http_status(), 409);
        assert_eq!(ApiError::WrongPostedData.http_status(), 200);
        assert!(ApiError::InvalidUserName.signed_with_empty_secret());
        assert!(!ApiError::IncorrectHash.signed_with_empty_secret());
    }
}
