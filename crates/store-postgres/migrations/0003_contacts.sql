-- clickbill PostgreSQL schema: contacts, their groups and subscriptions (SPEC §9.6), the calls
-- behind the per-IP subscription limit, and the unsubscribe events. Every key leads with
-- tenant_id.

CREATE TABLE contact_groups (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id        BIGINT NOT NULL,
    name      TEXT COLLATE "C" NOT NULL,
    title     TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('standard', 'client', 'auto')),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX contact_groups_name ON contact_groups (tenant_id, lower(name));

-- `email` is NULL for a contact created without one; such contacts are reached by no look-up.
-- `extras` is a JSON object of the API 2.0 fields that are only stored.
CREATE TABLE contacts (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          BIGINT NOT NULL,
    email       TEXT,
    name        TEXT NOT NULL,
    first_name  TEXT NOT NULL,
    middle_name TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    phone       TEXT NOT NULL,
    city        TEXT NOT NULL,
    tags        TEXT[] NOT NULL DEFAULT '{}',
    partner_id  BIGINT,
    created_at  BIGINT NOT NULL,
    extras      TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX contacts_email ON contacts (tenant_id, email);
-- Partner statistics count the contacts a partner brought in a window.
CREATE INDEX contacts_partner ON contacts (tenant_id, partner_id, created_at);

CREATE TABLE subscriptions (
    tenant_id        BIGINT NOT NULL,
    contact_id       BIGINT NOT NULL,
    group_id         BIGINT NOT NULL,
    status           TEXT NOT NULL,
    subscribed_at    BIGINT NOT NULL,
    ip               TEXT NOT NULL,
    utm_medium       TEXT NOT NULL,
    utm_source       TEXT NOT NULL,
    utm_campaign     TEXT NOT NULL,
    utm_content      TEXT NOT NULL,
    utm_term         TEXT NOT NULL,
    aff_utm_medium   TEXT NOT NULL,
    aff_utm_source   TEXT NOT NULL,
    aff_utm_campaign TEXT NOT NULL,
    aff_utm_content  TEXT NOT NULL,
    aff_utm_term     TEXT NOT NULL,
    doneurl2         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, group_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES contact_groups (tenant_id, id)
);
-- Counting a group's subscribers.
CREATE INDEX subscriptions_group ON subscriptions (tenant_id, group_id, status);

-- One row per AddLeadToGroup call that created a subscription, for the per-IP limit; rows
-- older than the limit's window are removed when the same address calls again.
CREATE TABLE subscribe_calls (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    ip         TEXT NOT NULL,
    at         BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX subscribe_calls_ip ON subscribe_calls (tenant_id, ip, at);

-- Unsubscribe notifications (SPEC §16.9), written in the transaction of the change, with the
-- contact's data as it was then. `id` comes from `event_ids`, like order events.
CREATE TABLE unsubscribe_events (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         BIGINT NOT NULL,
    contact_id BIGINT NOT NULL,
    group_id   BIGINT NOT NULL,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL,
    phone      TEXT NOT NULL,
    city       TEXT NOT NULL,
    ip         TEXT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX unsubscribe_events_id ON unsubscribe_events (id);
