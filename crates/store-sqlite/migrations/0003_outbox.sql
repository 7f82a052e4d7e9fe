-- clickbill embedded schema: the delivery side of the outbox (SPEC §16).
--
-- A delivery is one event for one destination URL, written in the transaction of the change
-- that caused the event, with the exact body to POST. `id` is unique across tenants (from meta
-- `next_delivery_id`) so that copies keep a global order; `event_id` is the UUID sent as
-- `X-Clickbill-Event-Id`. Times are unix milliseconds. While an attempt runs, `due_at` is the
-- end of its lease: a worker that died mid-attempt leaves the delivery due again after it.
INSERT INTO meta (key, value) VALUES ('next_delivery_id', 1);

CREATE TABLE outbox_deliveries (
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    bill_id     INTEGER,
    kind        TEXT NOT NULL,
    url         TEXT NOT NULL,
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    round_start INTEGER NOT NULL DEFAULT 0,
    due_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX outbox_deliveries_id ON outbox_deliveries (id);
CREATE UNIQUE INDEX outbox_deliveries_event ON outbox_deliveries (event_id);
CREATE INDEX outbox_deliveries_bill ON outbox_deliveries (tenant_id, bill_id);
-- The worker's question, across tenants: what is due next.
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (due_at) WHERE state = 'pending';

-- The delivery log: one row per attempt.
CREATE TABLE outbox_attempts (
    tenant_id   INTEGER NOT NULL,
    delivery_id INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT NOT NULL,
    latency_ms  INTEGER NOT NULL,
    response    BLOB NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id, attempt),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES outbox_deliveries (tenant_id, id)
        ON DELETE CASCADE
) WITHOUT ROWID;
