-- The delivery side of the outbox (SPEC §16).
--
-- A delivery is one event for one destination URL, written in the transaction of the change
-- that caused the event, with the exact body to POST. `id` comes from `delivery_ids` and is
-- unique across tenants; `event_id` is the UUID sent as `X-Clickbill-Event-Id`. Times are unix
-- milliseconds. A worker claims due rows with FOR UPDATE SKIP LOCKED and moves `due_at` to the
-- end of its lease, so another replica skips the row while the attempt runs and takes it over
-- when the lease has passed (the claimer died).
CREATE SEQUENCE delivery_ids;

CREATE TABLE outbox_deliveries (
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    bill_id     BIGINT,
    kind        TEXT NOT NULL,
    url         TEXT NOT NULL,
    body        BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    attempts    BIGINT NOT NULL DEFAULT 0,
    round_start BIGINT NOT NULL DEFAULT 0,
    due_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX outbox_deliveries_id ON outbox_deliveries (id);
CREATE UNIQUE INDEX outbox_deliveries_event ON outbox_deliveries (event_id);
CREATE INDEX outbox_deliveries_bill ON outbox_deliveries (tenant_id, bill_id);
-- The workers' question, across tenants: what is due next.
CREATE INDEX outbox_deliveries_due ON outbox_deliveries (due_at, tenant_id, id)
    WHERE state = 'pending';

-- The delivery log: one row per attempt.
CREATE TABLE outbox_attempts (
    tenant_id   BIGINT NOT NULL,
    delivery_id BIGINT NOT NULL,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      INTEGER,
    error       TEXT NOT NULL,
    latency_ms  BIGINT NOT NULL,
    response    BYTEA NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id, attempt),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES outbox_deliveries (tenant_id, id)
        ON DELETE CASCADE
);
