//! The results of the contact and group methods (§12, §15.7). The 1.0 lists carry every scalar
//! as a JSON string; `getalllists` writes its ids as JSON integers (§15.1).

use serde::{Deserialize, Serialize};

/// One group of `GetLeadGroups` (§12.4).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadGroupEntry {
    pub rass_name: String,
    pub rass_title: String,
}

/// One subscription of `GetLeadGroupStatuses` (§12.5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadGroupStatusEntry {
    pub rass_name: String,
    pub rass_title: String,
    /// One of the five `STATUS_*` strings of §9.6.
    pub rass_status: String,
    /// Unix seconds as text.
    pub subscription_time: String,
}

/// One group of `GetAllGroups` (§12.6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntry {
    /// The group's number as text.
    pub rass_id: String,
    pub rass_name: String,
    pub rass_title: String,
}

/// One group of API 2.0 `getalllists` (§15.7); `id` and `rass_id` are equal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub id: i64,
    pub rass_id: i64,
    pub rass_name: String,
    pub rass_title: String,
}

impl ListEntry {
    pub fn new(id: i64, name: impl Into<String>, title: impl Into<String>) -> ListEntry {
        ListEntry {
            id,
            rass_id: id,
            rass_name: name.into(),
            rass_title: title.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::to_php_json;

    #[test]
    fn lists_render_as_the_spec_shows() {
        let statuses = [LeadGroupStatusEntry {
            rass_name: "grp1".into(),
            rass_title: "Newsletter".into(),
            rass_status: "STATUS_SUBSCRIBE".into(),
            subscription_time: "1700000100".into(),
        }];
        assert_eq!(
            String::from_utf8(to_php_json(&statuses)).unwrap(),
            r#"[{"rass_name":"grp1","rass_title":"Newsletter","rass_status":"STATUS_SUBSCRIBE","subscription_time":"1700000100"}]"#
        );
        let lists = [ListEntry::new(3, "1605189997.0025174394", "#27950")];
        assert_eq!(
            String::from_utf8(to_php_json(&lists)).unwrap(),
            r##"[{"id":3,"rass_id":3,"rass_name":"1605189997.0025174394","rass_title":"#27950"}]"##
        );
    }
}
