//! Contacts, their groups and subscriptions (SPEC §9.6) and the rules that change them.
//!
//! Every change to a contact is a [`ContactCommand`]: plain data the store applies to the
//! contact's current state inside its write transaction ([`ContactCommand::apply`]). The rules
//! live here, so both stores decide alike; the stores only load, lock and save.

use crate::model::{Order, PartnerId, Utm};
use clickbill_protocol::notification::UnsubscribeNotification;
use std::collections::BTreeMap;
use std::fmt;

/// A group's number (`rass_id`) within its tenant, increasing from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub i64);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A contact's internal number within its tenant; never on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(pub i64);

/// What a group is for. `Auto` groups are filled by the service itself: they never accept API
/// subscriptions and are not listed by `GetAllGroups` or `getalllists`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupKind {
    Standard,
    Client,
    Auto,
}

impl GroupKind {
    pub const ALL: [GroupKind; 3] = [GroupKind::Standard, GroupKind::Client, GroupKind::Auto];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupKind::Standard => "standard",
            GroupKind::Client => "client",
            GroupKind::Auto => "auto",
        }
    }

    pub fn parse(text: &str) -> Option<GroupKind> {
        GroupKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// Whether API methods may subscribe contacts to a group of this kind.
    pub fn accepts_subscriptions(self) -> bool {
        self != GroupKind::Auto
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A contact group (mailing list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    /// The API id (`rass_name`), unique per tenant compared case-insensitively.
    pub name: String,
    pub title: String,
    pub kind: GroupKind,
}

/// A group as administration (or `AddGood`'s client groups) creates it; `id` keeps a number the
/// group already has elsewhere, otherwise the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGroup {
    pub id: Option<GroupId>,
    pub name: String,
    pub title: String,
    pub kind: GroupKind,
}

/// The group a value names (SPEC §7.8): its `rass_name` compared case-insensitively, or, when no
/// name matches and the value is a positive integer, its `rass_id`.
pub fn find_group<'g>(groups: &'g [Group], value: &str) -> Option<&'g Group> {
    groups
        .iter()
        .find(|group| group.name.eq_ignore_ascii_case(value))
        .or_else(|| {
            let id = value.parse::<i64>().ok().filter(|id| *id > 0)?;
            groups.iter().find(|group| group.id.0 == id)
        })
}

/// The state of one contact in one group (`rass_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// Awaiting activation.
    Wait,
    Subscribe,
    Unsubscribe,
    /// Removed by the service; set only by administration.
    UnsubscribeByService,
    /// The address does not exist; set only by administration.
    InvalidEmail,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 5] = [
        SubscriptionStatus::Wait,
        SubscriptionStatus::Subscribe,
        SubscriptionStatus::Unsubscribe,
        SubscriptionStatus::UnsubscribeByService,
        SubscriptionStatus::InvalidEmail,
    ];

    /// The exact wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Wait => "STATUS_WAIT",
            SubscriptionStatus::Subscribe => "STATUS_SUBSCRIBE",
            SubscriptionStatus::Unsubscribe => "STATUS_UNSUBSCRIBE",
            SubscriptionStatus::UnsubscribeByService => "STATUS_UNSUBSCRIBE_BY_SERVICE",
            SubscriptionStatus::InvalidEmail => "STATUS_INVALID_EMAIL",
        }
    }

    pub fn parse(text: &str) -> Option<SubscriptionStatus> {
        SubscriptionStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// A contact is *in* a group while it is subscribed or awaiting activation.
    pub fn is_in(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Subscribe | SubscriptionStatus::Wait
        )
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One contact's subscription to one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub group: GroupId,
    pub status: SubscriptionStatus,
    /// Time of the last change to `STATUS_WAIT` or `STATUS_SUBSCRIBE`.
    pub time: i64,
    /// The client IP of that change, `""` when none is known.
    pub ip: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    pub doneurl2: String,
}

/// The name a contact gets when none is given: "Dear friend".
pub const DEFAULT_NAME: &str = "Дорогой друг";

/// A contact (subscriber) with its subscriptions, ordered by group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// The normalised e-mail; `None` for a contact created by `addupdatelead` without one.
    pub email: Option<String>,
    pub name: String,
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
    pub phone: String,
    pub city: String,
    /// An ordered set, compared case-sensitively.
    pub tags: Vec<String>,
    pub partner: Option<PartnerId>,
    pub created_at: i64,
    /// The API 2.0 fields that are only stored (`lead_utc`, addresses, social profiles, …),
    /// under their parameter names.
    pub extras: BTreeMap<String, String>,
    pub subscriptions: Vec<Subscription>,
}

impl Contact {
    /// A contact without any data yet, created at `now`.
    pub fn new(email: Option<String>, now: i64) -> Contact {
        Contact {
            email,
            name: DEFAULT_NAME.to_owned(),
            first_name: String::new(),
            middle_name: String::new(),
            last_name: String::new(),
            phone: String::new(),
            city: String::new(),
            tags: Vec::new(),
            partner: None,
            created_at: now,
            extras: BTreeMap::new(),
            subscriptions: Vec::new(),
        }
    }

    pub fn subscription(&self, group: GroupId) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.group == group)
    }

    /// Whether the contact is subscribed or awaiting activation in `group`.
    pub fn is_in(&self, group: GroupId) -> bool {
        self.subscription(group).is_some_and(|s| s.status.is_in())
    }

    pub fn add_tag(&mut self, tag: &str) {
        if !tag.is_empty() && !self.tags.iter().any(|t| t == tag) {
            self.tags.push(tag.to_owned());
        }
    }

    pub fn remove_tag(&mut self, tag: &str) {
        self.tags.retain(|t| t != tag);
    }

    /// Sets `group` to `status` now, from `origin`; the subscription is created if missing.
    fn subscribe(
        &mut self,
        group: GroupId,
        status: SubscriptionStatus,
        origin: &SubscriptionOrigin,
        now: i64,
    ) {
        let subscription = Subscription {
            group,
            status,
            time: now,
            ip: origin.ip.clone(),
            utm: origin.utm.clone(),
            aff_utm: origin.aff_utm.clone(),
            doneurl2: origin.doneurl2.clone(),
        };
        match self.subscriptions.iter_mut().find(|s| s.group == group) {
            Some(existing) => *existing = subscription,
            None => {
                self.subscriptions.push(subscription);
                self.subscriptions.sort_by_key(|s| s.group);
            }
        }
    }

    /// Ends the subscription in `group` if the contact is in it; `true` when it changed.
    fn unsubscribe(&mut self, group: GroupId) -> bool {
        match self.subscriptions.iter_mut().find(|s| s.group == group) {
            Some(subscription) if subscription.status.is_in() => {
                subscription.status = SubscriptionStatus::Unsubscribe;
                true
            }
            _ => false,
        }
    }
}

/// A stored contact with its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredContact {
    pub id: ContactId,
    pub contact: Contact,
}

/// The unsubscribe notification of SPEC §16.9, recorded with the change that caused it: a
/// snapshot of the contact as it was then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubscribeEvent {
    /// Unique across tenants and across every kind of event.
    pub id: i64,
    pub contact: ContactId,
    pub group: GroupId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub city: String,
    /// The client IP recorded with the subscription, `""` if none.
    pub ip: String,
    /// Server time of the change.
    pub at: i64,
}

/// What an [`UnsubscribeEvent`] holds before the store numbers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribed {
    pub group: GroupId,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub city: String,
    pub ip: String,
}

impl Unsubscribed {
    /// The notification the tenant's `unsubscribe_url` receives (SPEC §16.9).
    pub fn notification(&self) -> UnsubscribeNotification {
        UnsubscribeNotification {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            city: self.city.clone(),
            id_group: self.group.0.to_string(),
            ip: self.ip.clone(),
        }
    }
}

/// One unsubscribe notification for every subscription that is `STATUS_UNSUBSCRIBE` in `after`
/// and was not in `before` (SPEC §9.6: *whenever* a subscription changes to it).
pub fn unsubscriptions(before: Option<&Contact>, after: &Contact) -> Vec<Unsubscribed> {
    after
        .subscriptions
        .iter()
        .filter(|s| s.status == SubscriptionStatus::Unsubscribe)
        .filter(|s| {
            before
                .and_then(|b| b.subscription(s.group))
                .is_none_or(|old| old.status != SubscriptionStatus::Unsubscribe)
        })
        .map(|s| Unsubscribed {
            group: s.group,
            name: after.name.clone(),
            email: after.email.clone().unwrap_or_default(),
            phone: after.phone.clone(),
            city: after.city.clone(),
            ip: s.ip.clone(),
        })
        .collect()
}

/// Where a subscription came from: stored with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionOrigin {
    pub ip: String,
    pub utm: Utm,
    pub aff_utm: Utm,
    pub doneurl2: String,
}

/// The per-IP subscription limit of `AddLeadToGroup` (SPEC §12.1 step 1), checked again inside
/// the write so that simultaneous calls cannot pass it together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpLimit {
    pub ip: String,
    /// Calls that created a subscription allowed per 24 hours; above 0.
    pub max: u32,
}

/// The window of [`IpLimit`].
pub const IP_LIMIT_WINDOW: i64 = 86_400;

/// `AddLeadToGroup` (SPEC §12.1 steps 4–6), once the targets are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddLead {
    /// Existing groups that accept subscriptions, in request order, without repeats.
    pub targets: Vec<GroupId>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub tag: Option<String>,
    /// The tenant requires activation, or the request asked for it.
    pub activation: bool,
    /// The partner to attribute a contact without one to; `None` with `noaff`.
    pub partner: Option<PartnerId>,
    pub origin: SubscriptionOrigin,
    pub limit: Option<IpLimit>,
}

/// `addupdatelead` (SPEC §15.3 steps 3–5), once the lists are resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpsertLead {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// Non-blank stored-only fields by parameter name.
    pub extras: BTreeMap<String, String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    pub join: Vec<GroupId>,
    pub leave: Vec<GroupId>,
    pub origin: SubscriptionOrigin,
}

/// A change to one contact, applied by the store to the contact's current state inside one
/// write transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactCommand {
    AddLead(AddLead),
    /// `UpdateSubscriberData`: each `Some` replaces the stored value; `tags` the whole set.
    UpdateData {
        name: Option<String>,
        phone: Option<String>,
        city: Option<String>,
        tags: Option<Vec<String>>,
    },
    /// `DeleteSubscribe` (`strict`: a named group without a subscription is an error) and
    /// `removeleadfromlist`.
    Unsubscribe {
        groups: Vec<GroupId>,
        strict: bool,
    },
    UpsertLead(UpsertLead),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    /// The buyer of a fully paid order joins the client groups of its products (SPEC §9.5.5).
    JoinClientGroups {
        groups: Vec<GroupId>,
        first_name: String,
        last_name: String,
        ip: String,
    },
    /// Activation of subscriptions awaiting it (outside the API, SPEC §9.6): `STATUS_WAIT` in
    /// these groups becomes `STATUS_SUBSCRIBE` now.
    Activate(Vec<GroupId>),
    /// `clickbill contact import`: the contact's data and subscriptions as given replace the
    /// stored ones; nothing is notified, since nothing changed hands, only places.
    Import(Contact),
}

/// How a [`ContactCommand`] ended. Nothing was written unless the outcome says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactOutcome {
    /// The change was saved.
    Done,
    /// Saved; new subscriptions await activation.
    ActivationNeeded,
    /// The contact is already in every target group.
    AlreadyRegistered,
    /// No contact has that e-mail.
    NotFound,
    /// `strict` unsubscribe: the contact has no subscription in a named group.
    NoSubscription,
    /// The per-IP limit is reached; nothing was written.
    LimitReached,
    /// Nothing to change; nothing was written.
    Unchanged,
}

/// What a command decided: the outcome and, when something is to be saved, the new state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactWrite {
    pub outcome: ContactOutcome,
    pub save: Option<Contact>,
    /// Whether this write counts towards the per-IP limit of its origin.
    pub counts_for_ip: bool,
}

impl ContactWrite {
    fn nothing(outcome: ContactOutcome) -> ContactWrite {
        ContactWrite {
            outcome,
            save: None,
            counts_for_ip: false,
        }
    }

    fn save(outcome: ContactOutcome, contact: Contact) -> ContactWrite {
        ContactWrite {
            outcome,
            save: Some(contact),
            counts_for_ip: false,
        }
    }
}

fn set(slot: &mut String, value: &Option<String>) {
    if let Some(value) = value {
        slot.clone_from(value);
    }
}

impl ContactCommand {
    /// Whether the command creates the contact when no contact has the e-mail.
    pub fn creates(&self) -> bool {
        matches!(
            self,
            ContactCommand::AddLead(_)
                | ContactCommand::UpsertLead(_)
                | ContactCommand::JoinClientGroups { .. }
                | ContactCommand::Import(_)
        )
    }

    /// The per-IP limit the store must check inside the write, if any.
    pub fn ip_limit(&self) -> Option<&IpLimit> {
        match self {
            ContactCommand::AddLead(add) => add.limit.as_ref(),
            _ => None,
        }
    }

    /// The IP a write that [`ContactWrite::counts_for_ip`] is counted under.
    pub fn origin_ip(&self) -> Option<&str> {
        match self {
            ContactCommand::AddLead(add) => Some(&add.origin.ip),
            _ => None,
        }
    }

    /// Decides the change on the contact's current state (`None`: no contact has the e-mail, or
    /// the command creates a contact without one) at server time `now`. Pure: a store may run
    /// it again when it retries its transaction.
    pub fn apply(&self, current: Option<&Contact>, email: Option<&str>, now: i64) -> ContactWrite {
        let fresh = || Contact::new(email.map(str::to_owned), now);
        match self {
            ContactCommand::AddLead(add) => {
                add_lead(add, current.cloned().unwrap_or_else(fresh), now)
            }
            ContactCommand::UpdateData {
                name,
                phone,
                city,
                tags,
            } => {
                let Some(mut contact) = current.cloned() else {
                    return ContactWrite::nothing(ContactOutcome::NotFound);
                };
                set(&mut contact.name, name);
                set(&mut contact.phone, phone);
                set(&mut contact.city, city);
                if let Some(tags) = tags {
                    contact.tags.clear();
                    for tag in tags {
                        contact.add_tag(tag);
                    }
                }
                ContactWrite::save(ContactOutcome::Done, contact)
            }
            ContactCommand::Unsubscribe { groups, strict } => {
                let Some(mut contact) = current.cloned() else {
                    return ContactWrite::nothing(ContactOutcome::NotFound);
                };
                if *strict && groups.iter().any(|g| contact.subscription(*g).is_none()) {
                    return ContactWrite::nothing(ContactOutcome::NoSubscription);
                }
                let mut changed = false;
                for group in groups {
                    changed |= contact.unsubscribe(*group);
                }
                if changed {
                    ContactWrite::save(ContactOutcome::Done, contact)
                } else {
                    ContactWrite::nothing(ContactOutcome::Done)
                }
            }
            ContactCommand::UpsertLead(upsert) => {
                upsert_lead(upsert, current.cloned().unwrap_or_else(fresh), now)
            }
            ContactCommand::AddTags(tags) | ContactCommand::RemoveTags(tags) => {
                let Some(mut contact) = current.cloned() else {
                    return ContactWrite::nothing(ContactOutcome::NotFound);
                };
                for tag in tags {
                    if matches!(self, ContactCommand::AddTags(_)) {
                        contact.add_tag(tag);
                    } else {
                        contact.remove_tag(tag);
                    }
                }
                ContactWrite::save(ContactOutcome::Done, contact)
            }
            ContactCommand::JoinClientGroups {
                groups,
                first_name,
                last_name,
                ip,
            } => {
                let mut contact = match current {
                    Some(contact) => contact.clone(),
                    None => {
                        let mut contact = fresh();
                        contact.first_name.clone_from(first_name);
                        contact.last_name.clone_from(last_name);
                        if let Some(name) = full_name(first_name, last_name) {
                            contact.name = name;
                        }
                        contact
                    }
                };
                let origin = SubscriptionOrigin {
                    ip: ip.clone(),
                    ..SubscriptionOrigin::default()
                };
                let missing: Vec<GroupId> = groups
                    .iter()
                    .copied()
                    .filter(|g| !contact.is_in(*g))
                    .collect();
                if missing.is_empty() && current.is_some() {
                    return ContactWrite::nothing(ContactOutcome::Unchanged);
                }
                for group in missing {
                    contact.subscribe(group, SubscriptionStatus::Subscribe, &origin, now);
                }
                ContactWrite::save(ContactOutcome::Done, contact)
            }
            ContactCommand::Activate(groups) => {
                let Some(mut contact) = current.cloned() else {
                    return ContactWrite::nothing(ContactOutcome::NotFound);
                };
                let mut changed = false;
                for subscription in &mut contact.subscriptions {
                    if groups.contains(&subscription.group)
                        && subscription.status == SubscriptionStatus::Wait
                    {
                        subscription.status = SubscriptionStatus::Subscribe;
                        subscription.time = now;
                        changed = true;
                    }
                }
                if changed {
                    ContactWrite::save(ContactOutcome::Done, contact)
                } else {
                    ContactWrite::nothing(ContactOutcome::Unchanged)
                }
            }
            ContactCommand::Import(imported) => {
                let mut contact = imported.clone();
                contact.email = email.map(str::to_owned);
                contact.subscriptions.sort_by_key(|s| s.group);
                if current == Some(&contact) {
                    ContactWrite::nothing(ContactOutcome::Unchanged)
                } else {
                    ContactWrite::save(ContactOutcome::Done, contact)
                }
            }
        }
    }
}

/// The non-blank parts of a first and last name joined by one space.
fn full_name(first: &str, last: &str) -> Option<String> {
    let parts: Vec<&str> = [first, last]
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn add_lead(add: &AddLead, mut contact: Contact, now: i64) -> ContactWrite {
    let remaining: Vec<GroupId> = add
        .targets
        .iter()
        .copied()
        .filter(|g| !contact.is_in(*g))
        .collect();
    if remaining.is_empty() {
        return ContactWrite::nothing(ContactOutcome::AlreadyRegistered);
    }
    let active_somewhere = contact
        .subscriptions
        .iter()
        .any(|s| s.status == SubscriptionStatus::Subscribe);
    let activation = add.activation && !active_somewhere;
    set(&mut contact.name, &add.name);
    set(&mut contact.phone, &add.phone);
    set(&mut contact.city, &add.city);
    if let Some(tag) = &add.tag {
        contact.add_tag(tag);
    }
    if contact.partner.is_none() {
        contact.partner = add.partner;
    }
    let status = if activation {
        SubscriptionStatus::Wait
    } else {
        SubscriptionStatus::Subscribe
    };
    for group in remaining {
        contact.subscribe(group, status, &add.origin, now);
    }
    let outcome = if activation {
        ContactOutcome::ActivationNeeded
    } else {
        ContactOutcome::Done
    };
    ContactWrite {
        outcome,
        save: Some(contact),
        counts_for_ip: true,
    }
}

fn upsert_lead(upsert: &UpsertLead, mut contact: Contact, now: i64) -> ContactWrite {
    set(&mut contact.first_name, &upsert.first_name);
    set(&mut contact.middle_name, &upsert.middle_name);
    set(&mut contact.last_name, &upsert.last_name);
    set(&mut contact.phone, &upsert.phone);
    if upsert.first_name.is_some() || upsert.last_name.is_some() {
        if let Some(name) = full_name(&contact.first_name, &contact.last_name) {
            contact.name = name;
        }
    }
    for (field, value) in &upsert.extras {
        contact.extras.insert(field.clone(), value.clone());
    }
    for tag in &upsert.add_tags {
        contact.add_tag(tag);
    }
    for tag in &upsert.remove_tags {
        contact.remove_tag(tag);
    }
    for group in &upsert.join {
        if !contact.is_in(*group) {
            contact.subscribe(*group, SubscriptionStatus::Subscribe, &upsert.origin, now);
        }
    }
    for group in &upsert.leave {
        contact.unsubscribe(*group);
    }
    ContactWrite::save(ContactOutcome::Done, contact)
}

/// The buyer of `order` joining `groups` (the client groups of its products): the command the
/// store applies to the contact with the order's e-mail when the order becomes fully paid.
pub fn buyer_joins(order: &Order, groups: Vec<GroupId>) -> ContactCommand {
    ContactCommand::JoinClientGroups {
        groups,
        first_name: order.customer.first_name.clone(),
        last_name: order.customer.last_name.clone(),
        ip: order.client_ip.clone(),
    }
}

/// The groups a product's client-group values name, in order, without repeats; values that
/// name no group are skipped.
pub fn client_group_ids<'v>(
    groups: &[Group],
    values: impl IntoIterator<Item = &'v String>,
) -> Vec<GroupId> {
    let mut ids = Vec::new();
    for value in values {
        if let Some(group) = find_group(groups, value) {
            if !ids.contains(&group.id) {
                ids.push(group.id);
            }
        }
    }
    ids
}

/// What `GetCountSubscribe` counts (SPEC §12.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountScope {
    /// Contacts `STATUS_SUBSCRIBE` in at least one group.
    Unique,
    /// Every contact of the tenant.
    All,
    /// Contacts `STATUS_SUBSCRIBE` in this group.
    Group(GroupId),
}

/// A selection of contacts for administration listings and exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactFilter {
    /// Has a subscription in this group (with `status`, when given).
    pub group: Option<GroupId>,
    /// Has a subscription with this status (in `group`, when given).
    pub status: Option<SubscriptionStatus>,
    pub tag: Option<String>,
    pub partner: Option<PartnerId>,
}

impl ContactFilter {
    pub fn admits(&self, contact: &Contact) -> bool {
        let subscription_matches = match (self.group, self.status) {
            (None, None) => true,
            (group, status) => contact.subscriptions.iter().any(|s| {
                group.is_none_or(|g| s.group == g) && status.is_none_or(|st| s.status == st)
            }),
        };
        subscription_matches
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| contact.tags.iter().any(|t| t == tag))
            && self.partner.is_none_or(|p| contact.partner == Some(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: i64, name: &str, kind: GroupKind) -> Group {
        Group {
            id: GroupId(id),
            name: name.into(),
            title: String::new(),
            kind,
        }
    }

    fn add(targets: &[i64], activation: bool) -> ContactCommand {
        ContactCommand::AddLead(AddLead {
            targets: targets.iter().map(|g| GroupId(*g)).collect(),
            name: Some("Anna".into()),
            phone: None,
            city: None,
            tag: Some("t".into()),
            activation,
            partner: Some(PartnerId(5)),
            origin: SubscriptionOrigin {
                ip: "203.0.113.7".into(),
                ..SubscriptionOrigin::default()
            },
            limit: None,
        })
    }

    #[test]
    fn groups_are_named_by_name_then_number() {
        let groups = [
            group(1, "grp1", GroupKind::Standard),
            group(2, "3", GroupKind::Standard),
            group(3, "x", GroupKind::Auto),
        ];
        assert_eq!(find_group(&groups, "GRP1").map(|g| g.id), Some(GroupId(1)));
        assert_eq!(
            find_group(&groups, "3").map(|g| g.id),
            Some(GroupId(2)),
            "a name wins"
        );
        assert_eq!(find_group(&groups, "1").map(|g| g.id), Some(GroupId(1)));
        assert_eq!(find_group(&groups, "0"), None);
        assert_eq!(find_group(&groups, "nosuch"), None);
    }

    #[test]
    fn statuses_round_trip() {
        for status in SubscriptionStatus::ALL {
            assert_eq!(SubscriptionStatus::parse(status.as_str()), Some(status));
        }
        assert!(SubscriptionStatus::Wait.is_in());
        assert!(!SubscriptionStatus::Unsubscribe.is_in());
    }

    #[test]
    fn a_new_lead_is_subscribed_and_registered_once() {
        let first = add(&[1, 2], false).apply(None, Some("a@example.com"), 100);
        assert_eq!(first.outcome, ContactOutcome::Done);
        assert!(first.counts_for_ip);
        let contact = first.save.unwrap();
        assert_eq!(contact.name, "Anna");
        assert_eq!(contact.tags, ["t"]);
        assert_eq!(contact.partner, Some(PartnerId(5)));
        assert_eq!(contact.subscriptions.len(), 2);
        assert!(contact
            .subscriptions
            .iter()
            .all(|s| s.status == SubscriptionStatus::Subscribe && s.time == 100));
        let again = add(&[2, 1], false).apply(Some(&contact), Some("a@example.com"), 200);
        assert_eq!(again.outcome, ContactOutcome::AlreadyRegistered);
        assert_eq!(again.save, None);
    }

    #[test]
    fn activation_applies_only_to_contacts_active_nowhere() {
        let waiting = add(&[1], true).apply(None, Some("a@example.com"), 100);
        assert_eq!(waiting.outcome, ContactOutcome::ActivationNeeded);
        let contact = waiting.save.unwrap();
        assert_eq!(contact.subscriptions[0].status, SubscriptionStatus::Wait);
        let pending = add(&[1], true).apply(Some(&contact), None, 150);
        assert_eq!(pending.outcome, ContactOutcome::AlreadyRegistered);

        let active = add(&[1], false).apply(None, Some("b@example.com"), 100);
        let active = active.save.unwrap();
        let second = add(&[2], true).apply(Some(&active), None, 150);
        assert_eq!(second.outcome, ContactOutcome::Done);
    }

    #[test]
    fn a_partner_once_set_stays() {
        let mut contact = Contact::new(Some("a@example.com".into()), 1);
        contact.partner = Some(PartnerId(17));
        let saved = add(&[1], false)
            .apply(Some(&contact), None, 2)
            .save
            .unwrap();
        assert_eq!(saved.partner, Some(PartnerId(17)));
    }

    #[test]
    fn unsubscribing_notifies_each_change_once() {
        let contact = add(&[1, 2], false)
            .apply(None, Some("a@example.com"), 100)
            .save
            .unwrap();
        let command = ContactCommand::Unsubscribe {
            groups: vec![GroupId(1)],
            strict: true,
        };
        let after = command.apply(Some(&contact), None, 200).save.unwrap();
        let events = unsubscriptions(Some(&contact), &after);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].group, GroupId(1));
        assert_eq!(events[0].ip, "203.0.113.7");
        assert_eq!(events[0].email, "a@example.com");
        let again = command.apply(Some(&after), None, 300);
        assert_eq!(again.outcome, ContactOutcome::Done);
        assert_eq!(again.save, None, "an unsubscribed contact stays as it is");
        let missing = ContactCommand::Unsubscribe {
            groups: vec![GroupId(3)],
            strict: true,
        };
        assert_eq!(
            missing.apply(Some(&after), None, 300).outcome,
            ContactOutcome::NoSubscription
        );
    }

    #[test]
    fn upsert_names_the_contact_after_its_names() {
        let upsert = ContactCommand::UpsertLead(UpsertLead {
            first_name: Some("Test".into()),
            add_tags: vec!["a".into(), "b".into()],
            remove_tags: vec!["a".into()],
            join: vec![GroupId(1)],
            ..UpsertLead::default()
        });
        let contact = upsert.apply(None, None, 5).save.unwrap();
        assert_eq!(contact.name, "Test");
        assert_eq!(contact.email, None);
        assert_eq!(contact.tags, ["b"]);
        assert!(contact.is_in(GroupId(1)));
        let leave = ContactCommand::UpsertLead(UpsertLead {
            leave: vec![GroupId(1)],
            ..UpsertLead::default()
        });
        let after = leave.apply(Some(&contact), None, 6).save.unwrap();
        assert_eq!(after.name, "Test");
        assert_eq!(unsubscriptions(Some(&contact), &after).len(), 1);
    }

    #[test]
    fn the_filter_combines_its_conditions() {
        let contact = add(&[1], false)
            .apply(None, Some("a@example.com"), 1)
            .save
            .unwrap();
        let subscribed_in_1 = ContactFilter {
            group: Some(GroupId(1)),
            status: Some(SubscriptionStatus::Subscribe),
            ..ContactFilter::default()
        };
        assert!(subscribed_in_1.admits(&contact));
        let wait = ContactFilter {
            status: Some(SubscriptionStatus::Wait),
            ..ContactFilter::default()
        };
        assert!(!wait.admits(&contact));
        let tagged = ContactFilter {
            tag: Some("T".into()),
            ..ContactFilter::default()
        };
        assert!(!tagged.admits(&contact), "tags compare case-sensitively");
    }
}
