//! Method names and routing (§2.2).

#![warn(missing_docs)]

use php_form::Map;
use std::fmt;

/// The two generations of the API: they differ in authentication habits and parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiVersion {
    /// API 1.0: PascalCase / camelCase names, md5 `hash` (§12–§14).
    V1,
    /// API 2.0: lowercase names, `rpsKey` (§15).
    V2,
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiVersion::V1 => "1.0",
            ApiVersion::V2 => "2.0",
        })
    }
}

/// Every method of §2.2. `CreateOrder` and `createorder` are one name under case-insensitive
/// matching, hence one variant; [`create_order_version`] picks the parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `AddLeadToGroup` (§12.1).
    AddLeadToGroup,
    /// `UpdateSubscriberData` (§12.2).
    UpdateSubscriberData,
    /// `DeleteSubscribe` (§12.3).
    DeleteSubscribe,
    /// `GetLeadGroups` (§12.4, deprecated).
    GetLeadGroups,
    /// `GetLeadGroupStatuses` (§12.5).
    GetLeadGroupStatuses,
    /// `GetAllGroups` (§12.6).
    GetAllGroups,
    /// `GetCountSubscribe` (§12.7).
    GetCountSubscribe,
    /// `CreateOrder` (§13.1) and `createorder` (§15.2).
    CreateOrder,
    /// `getOrderDetails` (§13.2).
    GetOrderDetails,
    /// `GetOrderInfo` (§13.3, deprecated).
    GetOrderInfo,
    /// `GetOrders` (§13.4, deprecated).
    GetOrders,
    /// `getOrdersWithGoods` (§13.5).
    GetOrdersWithGoods,
    /// `GetBills` (§13.6).
    GetBills,
    /// `UpdateOrderStatus` (§13.7).
    UpdateOrderStatus,
    /// `DeleteOrder` (§13.8).
    DeleteOrder,
    /// `AddGood` (§14.1).
    AddGood,
    /// `UpdateGood` (§14.2).
    UpdateGood,
    /// `DeleteGood` (§14.3).
    DeleteGood,
    /// `GetAllGoods` (§14.4).
    GetAllGoods,
    /// `GetPartnerStats` (§14.5).
    GetPartnerStats,
    /// `addupdatelead` (§15.3).
    AddUpdateLead,
    /// `addtagtolead` (§15.4).
    AddTagToLead,
    /// `removetagfromlead` (§15.5).
    RemoveTagFromLead,
    /// `removeleadfromlist` (§15.6).
    RemoveLeadFromList,
    /// `getalllists` (§15.7).
    GetAllLists,
    /// `getgoods` (§15.8).
    GetGoods,
    /// `getcoupons` (§15.9).
    GetCoupons,
    /// `getpersonalmanagers` (§15.10).
    GetPersonalManagers,
}

impl Method {
    /// Every method, in the order of the table of §2.2.
    pub const ALL: [Method; 28] = [
        Method::AddLeadToGroup,
        Method::UpdateSubscriberData,
        Method::DeleteSubscribe,
        Method::GetLeadGroups,
        Method::GetLeadGroupStatuses,
        Method::GetAllGroups,
        Method::GetCountSubscribe,
        Method::CreateOrder,
        Method::GetOrderDetails,
        Method::GetOrderInfo,
        Method::GetOrders,
        Method::GetOrdersWithGoods,
        Method::GetBills,
        Method::UpdateOrderStatus,
        Method::DeleteOrder,
        Method::AddGood,
        Method::UpdateGood,
        Method::DeleteGood,
        Method::GetAllGoods,
        Method::GetPartnerStats,
        Method::AddUpdateLead,
        Method::AddTagToLead,
        Method::RemoveTagFromLead,
        Method::RemoveLeadFromList,
        Method::GetAllLists,
        Method::GetGoods,
        Method::GetCoupons,
        Method::GetPersonalManagers,
    ];

    /// The spelling of §2.2 (the 1.0 spelling `CreateOrder` for the shared name), used by the SDK
    /// to build paths and by logs and metrics as a stable label.
    pub fn canonical_name(self) -> &'static str {
        use Method::*;
        match self {
            AddLeadToGroup => "AddLeadToGroup",
            UpdateSubscriberData => "UpdateSubscriberData",
            DeleteSubscribe => "DeleteSubscribe",
            GetLeadGroups => "GetLeadGroups",
            GetLeadGroupStatuses => "GetLeadGroupStatuses",
            GetAllGroups => "GetAllGroups",
            GetCountSubscribe => "GetCountSubscribe",
            CreateOrder => "CreateOrder",
            GetOrderDetails => "getOrderDetails",
            GetOrderInfo => "GetOrderInfo",
            GetOrders => "GetOrders",
            GetOrdersWithGoods => "getOrdersWithGoods",
            GetBills => "GetBills",
            UpdateOrderStatus => "UpdateOrderStatus",
            DeleteOrder => "DeleteOrder",
            AddGood => "AddGood",
            UpdateGood => "UpdateGood",
            DeleteGood => "DeleteGood",
            GetAllGoods => "GetAllGoods",
            GetPartnerStats => "GetPartnerStats",
            AddUpdateLead => "addupdatelead",
            AddTagToLead => "addtagtolead",
            RemoveTagFromLead => "removetagfromlead",
            RemoveLeadFromList => "removeleadfromlist",
            GetAllLists => "getalllists",
            GetGoods => "getgoods",
            GetCoupons => "getcoupons",
            GetPersonalManagers => "getpersonalmanagers",
        }
    }

    /// The API generation of the method's name. `CreateOrder` reports 1.0; a request's actual
    /// parameter set is decided by [`create_order_version`].
    pub fn api_version(self) -> ApiVersion {
        use Method::*;
        match self {
            AddUpdateLead | AddTagToLead | RemoveTagFromLead | RemoveLeadFromList | GetAllLists
            | GetGoods | GetCoupons | GetPersonalManagers => ApiVersion::V2,
            _ => ApiVersion::V1,
        }
    }

    /// The API generation whose parameter set handles a request with `params` (§2.2): for
    /// `CreateOrder` it depends on the parameters, for every other method it is fixed.
    pub fn version_for(self, params: &Map) -> ApiVersion {
        match self {
            Method::CreateOrder => create_order_version(params),
            other => other.api_version(),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical_name())
    }
}

/// Which parameter set a `CreateOrder`/`createorder` request uses (§2.2): API 2.0 (§15.2) when
/// the parsed parameters contain the top-level key `product_names`, API 1.0 (§13.1) otherwise.
pub fn create_order_version(params: &Map) -> ApiVersion {
    if params.get_str("product_names").is_some() {
        ApiVersion::V2
    } else {
        ApiVersion::V1
    }
}

/// The method name a path remainder (the part after `/api/`) spells: the remainder with one
/// trailing `/` removed. It is what `Unknown method: <name>` quotes (§2.3).
pub fn method_name(path_remainder: &str) -> &str {
    path_remainder.strip_suffix('/').unwrap_or(path_remainder)
}

/// Routes the path remainder after `/api/` to a method (§2.2): ASCII case-insensitive, one
/// trailing `/` ignored, no percent-decoding; an empty name or one containing `/` is unknown.
pub fn route(path_remainder: &str) -> Option<Method> {
    let name = method_name(path_remainder);
    // The longest name has 20 bytes; anything longer cannot match.
    let mut lower = [0u8; 20];
    if name.is_empty() || name.len() > lower.len() {
        return None;
    }
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    use Method::*;
    Some(match &*lower {
        b"addleadtogroup" => AddLeadToGroup,
        b"updatesubscriberdata" => UpdateSubscriberData,
        b"deletesubscribe" => DeleteSubscribe,
        b"getleadgroups" => GetLeadGroups,
        b"getleadgroupstatuses" => GetLeadGroupStatuses,
        b"getallgroups" => GetAllGroups,
        b"getcountsubscribe" => GetCountSubscribe,
        b"createorder" => CreateOrder,
        b"getorderdetails" => GetOrderDetails,
        b"getorderinfo" => GetOrderInfo,
        b"getorders" => GetOrders,
        b"getorderswithgoods" => GetOrdersWithGoods,
        b"getbills" => GetBills,
        b"updateorderstatus" => UpdateOrderStatus,
        b"deleteorder" => DeleteOrder,
        b"addgood" => AddGood,
        b"updategood" => UpdateGood,
        b"deletegood" => DeleteGood,
        b"getallgoods" => GetAllGoods,
        b"getpartnerstats" => GetPartnerStats,
        b"addupdatelead" => AddUpdateLead,
        b"addtagtolead" => AddTagToLead,
        b"removetagfromlead" => RemoveTagFromLead,
        b"removeleadfromlist" => RemoveLeadFromList,
        b"getalllists" => GetAllLists,
        b"getgoods" => GetGoods,
        b"getcoupons" => GetCoupons,
        b"getpersonalmanagers" => GetPersonalManagers,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_canonical_name_routes_to_itself() {
        for method in Method::ALL {
            let name = method.canonical_name();
            assert_eq!(route(name), Some(method), "{name}");
            assert_eq!(route(&name.to_ascii_uppercase()), Some(method), "{name}");
            assert_eq!(route(&name.to_ascii_lowercase()), Some(method), "{name}");
            assert_eq!(route(&format!("{name}/")), Some(method), "{name}");
            assert_eq!(route(&format!("{name}//")), None, "{name}");
            assert_eq!(route(&format!("/{name}")), None, "{name}");
            assert_eq!(route(&format!("{name}x")), None, "{name}");
        }
        let distinct: std::collections::HashSet<_> =
            Method::ALL.iter().map(|m| m.canonical_name()).collect();
        assert_eq!(distinct.len(), 28);
    }

    #[test]
    fn twenty_nine_names_of_the_table() {
        let names = [
            "AddLeadToGroup",
            "UpdateSubscriberData",
            "DeleteSubscribe",
            "GetLeadGroups",
            "GetLeadGroupStatuses",
            "GetAllGroups",
            "GetCountSubscribe",
            "CreateOrder",
            "getOrderDetails",
            "GetOrderInfo",
            "GetOrders",
            "getOrdersWithGoods",
            "GetBills",
            "UpdateOrderStatus",
            "DeleteOrder",
            "AddGood",
            "UpdateGood",
            "DeleteGood",
            "GetAllGoods",
            "GetPartnerStats",
            "createorder",
            "addupdatelead",
            "addtagtolead",
            "removetagfromlead",
            "removeleadfromlist",
            "getalllists",
            "getgoods",
            "getcoupons",
            "getpersonalmanagers",
        ];
        for (index, name) in names.iter().enumerate() {
            let method = route(name).unwrap_or_else(|| panic!("{name}"));
            let version = if index < 20 {
                ApiVersion::V1
            } else {
                ApiVersion::V2
            };
            if method != Method::CreateOrder {
                assert_eq!(method.api_version(), version, "{name}");
            }
        }
        assert_eq!(route("createorder"), Some(Method::CreateOrder));
    }

    #[test]
    fn unknown_names() {
        for name in [
            "",
            "/",
            "GetEverything",
            "Get%4FrderInfo",
            "GetOrderInfo%2F",
            "getorderinfo/x",
            "get orderinfo",
            "GetOrderİnfo",
            "addupdatelead\u{0}",
            "UpdateSubscriberDataX",
        ] {
            assert_eq!(route(name), None, "{name:?}");
        }
        assert_eq!(method_name("GetEverything/"), "GetEverything");
        assert_eq!(method_name("a//"), "a/");
        assert_eq!(method_name(""), "");
    }

    #[test]
    fn create_order_parameter_set() {
        let v1 = php_form::parse(b"bill_email=a%40b.cd&goods[0][good_name]=code1");
        let v2 = php_form::parse(b"customer_email=a%40b.cd&product_names=code1");
        let v2_empty = php_form::parse(b"product_names=");
        let nested = php_form::parse(b"x[product_names]=code1");
        assert_eq!(create_order_version(&v1), ApiVersion::V1);
        assert_eq!(create_order_version(&v2), ApiVersion::V2);
        assert_eq!(create_order_version(&v2_empty), ApiVersion::V2);
        assert_eq!(create_order_version(&nested), ApiVersion::V1);
        assert_eq!(Method::CreateOrder.version_for(&v2), ApiVersion::V2);
        assert_eq!(Method::GetGoods.version_for(&v1), ApiVersion::V2);
        assert_eq!(Method::GetBills.version_for(&v2), ApiVersion::V1);
        assert_eq!(ApiVersion::V2.to_string(), "2.0");
    }
}
