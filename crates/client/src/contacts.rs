//! Contact and group methods: `AddLeadToGroup`, `UpdateSubscriberData`, `DeleteSubscribe`,
//! `GetLeadGroups`, `GetLeadGroupStatuses`, `GetAllGroups`, `GetCountSubscribe` (§12) and API
//! 2.0 `addupdatelead`, `addtagtolead`, `removetagfromlead`, `removeleadfromlist`,
//! `getalllists` (§15.3–§15.7).

use crate::client::{Auth, CallOptions, Client};
use crate::error::ClientError;
use crate::params::{set_in, Params};
use clickbill_protocol::error::{
    ACTIVATION_EMAIL_SENT, ALREADY_REGISTERED, INVALID_SUBSCRIPTIONS_GROUP,
};
use clickbill_protocol::methods::{GroupEntry, LeadGroupEntry, LeadGroupStatusEntry, ListEntry};
use clickbill_protocol::Method;
use php_form::{Data, Key};

/// A subscription request for [`Client::add_lead_to_group`]. Parameters go out in the order they
/// were set, so a recorded request can be reproduced exactly.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewLead {
    params: Params,
}

macro_rules! text_setters {
    ($($(#[$doc:meta])* $name:ident => $param:literal;)+) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.params.set($param, Data::from(value.into()));
                self
            }
        )+
    };
}

impl NewLead {
    /// A subscription of `lead_email` to the groups `rid` (API ids or numbers), in order.
    pub fn new<S: AsRef<str>>(lead_email: &str, groups: impl IntoIterator<Item = S>) -> NewLead {
        let mut params = Params::default();
        let rid = groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| (Key::Int(i as i64), Data::from(g.as_ref())))
            .collect();
        params.set("rid", Data::Array(rid));
        params.set("lead_email", Data::from(lead_email));
        NewLead { params }
    }

    text_setters! {
        /// `lead_name`.
        lead_name => "lead_name";
        /// `lead_phone`.
        lead_phone => "lead_phone";
        /// `lead_city`.
        lead_city => "lead_city";
        /// `tag`: a tag added to the contact.
        tag => "tag";
        /// `doneurl2`: where the contact goes after activation.
        doneurl2 => "doneurl2";
    }

    /// `activation`: new subscriptions await activation.
    pub fn activation(mut self, on: bool) -> NewLead {
        self.params.set("activation", Data::Bool(on));
        self
    }

    /// `aff`: the id of the partner to attribute the contact to.
    pub fn aff(mut self, partner_id: i64) -> NewLead {
        self.params.set("aff", Data::Int(partner_id));
        self
    }

    /// `noaff`: no partner attribution.
    pub fn noaff(mut self) -> NewLead {
        self.params.set("noaff", Data::from("1"));
        self
    }

    /// `utm[name]`, for example `utm("utm_medium", "affiliate")`.
    pub fn utm(mut self, name: &str, value: impl Into<String>) -> NewLead {
        let utm = self.params.nested("utm");
        set_in(utm, Key::from(name), Data::from(value.into()));
        self
    }

    /// Any other parameter.
    pub fn param(mut self, name: &str, value: impl Into<Data>) -> NewLead {
        self.params.set(name, value.into());
        self
    }

    /// The parameters as they will be sent.
    pub fn params(&self) -> &[(Key, Data)] {
        self.params.as_slice()
    }
}

/// How `AddLeadToGroup` ended; each is code 0 with its own text (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// `OK`: subscribed.
    Subscribed,
    /// `Activation email sent to subscriber`: the new subscriptions await activation.
    ActivationNeeded,
    /// `The subscriber is already registered`: already in every group named.
    AlreadyRegistered,
    /// `Has an invalid subscriptions group`: no group named accepts subscriptions.
    InvalidGroup,
}

/// A change for [`Client::update_subscriber_data`]: each value set replaces the stored one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriberUpdate {
    params: Params,
}

impl SubscriberUpdate {
    pub fn new(lead_email: &str) -> SubscriberUpdate {
        let mut params = Params::default();
        params.set("lead_email", Data::from(lead_email));
        SubscriberUpdate { params }
    }

    text_setters! {
        /// `lead_name`.
        lead_name => "lead_name";
        /// `lead_phone`.
        lead_phone => "lead_phone";
        /// `lead_city`.
        lead_city => "lead_city";
    }

    /// `lead_tags`: the whole new tag set.
    pub fn lead_tags<S: AsRef<str>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.params.set("lead_tags", Data::from(join(tags)));
        self
    }
}

/// A contact for API 2.0 [`Client::add_update_lead`]; without `lead_email` a new contact without
/// e-mail is created.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadV2 {
    params: Params,
}

impl LeadV2 {
    pub fn new() -> LeadV2 {
        LeadV2::default()
    }

    text_setters! {
        /// `lead_email`.
        lead_email => "lead_email";
        /// `lead_first_name`.
        lead_first_name => "lead_first_name";
        /// `lead_middle_name`.
        lead_middle_name => "lead_middle_name";
        /// `lead_last_name`.
        lead_last_name => "lead_last_name";
        /// `lead_phone`.
        lead_phone => "lead_phone";
    }

    /// `add_to_lists`: groups to join.
    pub fn add_to_lists<S: AsRef<str>>(mut self, lists: impl IntoIterator<Item = S>) -> Self {
        self.params.set("add_to_lists", Data::from(join(lists)));
        self
    }

    /// `remove_from_lists`: groups to leave.
    pub fn remove_from_lists<S: AsRef<str>>(mut self, lists: impl IntoIterator<Item = S>) -> Self {
        self.params
            .set("remove_from_lists", Data::from(join(lists)));
        self
    }

    /// `add_tags`.
    pub fn add_tags<S: AsRef<str>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.params.set("add_tags", Data::from(join(tags)));
        self
    }

    /// `remove_tags`.
    pub fn remove_tags<S: AsRef<str>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.params.set("remove_tags", Data::from(join(tags)));
        self
    }

    /// Any other parameter of §15.3 (`lead_utc`, addresses, social profiles, …).
    pub fn param(mut self, name: &str, value: impl Into<Data>) -> LeadV2 {
        self.params.set(name, value.into());
        self
    }
}

fn join<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> String {
    values
        .into_iter()
        .map(|v| v.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

fn key_auth() -> CallOptions {
    CallOptions::new().auth(Auth::Key)
}

fn one(name: &str, value: &str) -> Vec<(Key, Data)> {
    vec![(Key::from(name), Data::from(value))]
}

fn name(method: Method) -> &'static str {
    method.canonical_name()
}

impl Client {
    /// `AddLeadToGroup` (§12.1). Codes 8 and 100 are [`ClientError::Api`].
    pub async fn add_lead_to_group(&self, lead: &NewLead) -> Result<SubscribeOutcome, ClientError> {
        let response = self
            .call_ok(
                name(Method::AddLeadToGroup),
                lead.params(),
                &CallOptions::new(),
            )
            .await?;
        Ok(match response.error_text.as_str() {
            ACTIVATION_EMAIL_SENT => SubscribeOutcome::ActivationNeeded,
            ALREADY_REGISTERED => SubscribeOutcome::AlreadyRegistered,
            INVALID_SUBSCRIPTIONS_GROUP => SubscribeOutcome::InvalidGroup,
            _ => SubscribeOutcome::Subscribed,
        })
    }

    /// `UpdateSubscriberData` (§12.2); an unknown contact is [`ClientError::Api`] 500.
    pub async fn update_subscriber_data(
        &self,
        update: &SubscriberUpdate,
    ) -> Result<(), ClientError> {
        self.call_ok(
            name(Method::UpdateSubscriberData),
            update.params.as_slice(),
            &CallOptions::new(),
        )
        .await?;
        Ok(())
    }

    /// `DeleteSubscribe` (§12.3): leaves the groups named (800 and 801 are
    /// [`ClientError::Api`]).
    pub async fn delete_subscribe<S: AsRef<str>>(
        &self,
        lead_email: &str,
        groups: impl IntoIterator<Item = S>,
    ) -> Result<(), ClientError> {
        let names = groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| (Key::Int(i as i64), Data::from(g.as_ref())))
            .collect();
        let params = vec![
            (Key::from("lead_email"), Data::from(lead_email)),
            (Key::from("rass_name"), Data::Array(names)),
        ];
        self.call_ok(name(Method::DeleteSubscribe), &params, &CallOptions::new())
            .await?;
        Ok(())
    }

    /// `GetLeadGroups` (§12.4): the groups the contact is in.
    pub async fn get_lead_groups(&self, email: &str) -> Result<Vec<LeadGroupEntry>, ClientError> {
        self.call_ok(
            name(Method::GetLeadGroups),
            &one("email", email),
            &CallOptions::new(),
        )
        .await?
        .decode_result()
    }

    /// `GetLeadGroupStatuses` (§12.5): every subscription of the contact.
    pub async fn get_lead_group_statuses(
        &self,
        email: &str,
    ) -> Result<Vec<LeadGroupStatusEntry>, ClientError> {
        self.call_ok(
            name(Method::GetLeadGroupStatuses),
            &one("email", email),
            &CallOptions::new(),
        )
        .await?
        .decode_result()
    }

    /// `GetAllGroups` (§12.6).
    pub async fn get_all_groups(&self) -> Result<Vec<GroupEntry>, ClientError> {
        self.call_ok(name(Method::GetAllGroups), &[], &CallOptions::new())
            .await?
            .decode_result()
    }

    /// `GetCountSubscribe` (§12.7): a group id, `unique`, or `all`.
    pub async fn get_count_subscribe(&self, group_name: &str) -> Result<u64, ClientError> {
        self.call_ok(
            name(Method::GetCountSubscribe),
            &one("group_name", group_name),
            &CallOptions::new(),
        )
        .await?
        .decode_result()
    }

    /// `addupdatelead` (§15.3).
    pub async fn add_update_lead(&self, lead: &LeadV2) -> Result<(), ClientError> {
        self.call_ok(
            name(Method::AddUpdateLead),
            lead.params.as_slice(),
            &key_auth(),
        )
        .await?;
        Ok(())
    }

    /// `addtagtolead` (§15.4).
    pub async fn add_tag_to_lead<S: AsRef<str>>(
        &self,
        lead_email: &str,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<(), ClientError> {
        let mut params = one("lead_email", lead_email);
        params.push((Key::from("add_tags"), Data::from(join(tags))));
        self.call_ok(name(Method::AddTagToLead), &params, &key_auth())
            .await?;
        Ok(())
    }

    /// `removetagfromlead` (§15.5).
    pub async fn remove_tag_from_lead<S: AsRef<str>>(
        &self,
        lead_email: &str,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<(), ClientError> {
        let mut params = one("lead_email", lead_email);
        params.push((Key::from("remove_tags"), Data::from(join(tags))));
        self.call_ok(name(Method::RemoveTagFromLead), &params, &key_auth())
            .await?;
        Ok(())
    }

    /// `removeleadfromlist` (§15.6).
    pub async fn remove_lead_from_list<S: AsRef<str>>(
        &self,
        lead_email: &str,
        lists: impl IntoIterator<Item = S>,
    ) -> Result<(), ClientError> {
        let mut params = one("lead_email", lead_email);
        params.push((Key::from("remove_from_lists"), Data::from(join(lists))));
        self.call_ok(name(Method::RemoveLeadFromList), &params, &key_auth())
            .await?;
        Ok(())
    }

    /// `getalllists` (§15.7).
    pub async fn get_all_lists(&self) -> Result<Vec<ListEntry>, ClientError> {
        self.call_ok(name(Method::GetAllLists), &[], &key_auth())
            .await?
            .decode_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signed_body;

    /// The Python client's recorded request of §5.4, rebuilt.
    #[test]
    fn the_recorded_subscription() {
        let lead = NewLead::new("lead+1@example.com", ["grp1", "grp 2"])
            .lead_name("Вася Пупкин")
            .doneurl2("https://site.example/ok?a=1&b=2");
        assert_eq!(
            String::from_utf8(signed_body(lead.params(), "demo", "secret")).unwrap(),
            "rid%5B0%5D=grp1&rid%5B1%5D=grp+2&lead_email=lead%2B1%40example.com&lead_name=%D0%92%D0%B0%D1%81%D1%8F+%D0%9F%D1%83%D0%BF%D0%BA%D0%B8%D0%BD&doneurl2=https%3A%2F%2Fsite.example%2Fok%3Fa%3D1%26b%3D2&hash=bab71a7dd29b4f2ebc446ce1898075a3"
        );
    }
}
