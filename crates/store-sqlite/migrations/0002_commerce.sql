-- clickbill embedded schema, version 2: disabled coupons, managers, the API 2.0 fields of
-- orders, the partner-fee index behind partner statistics, and Idempotency-Key responses.

-- A disabled coupon keeps its row, so its code stays taken and old orders keep naming it.
ALTER TABLE coupons ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

CREATE TABLE managers (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id        INTEGER NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

-- JSON, see the store's codec; '{}' is an order without API 2.0 fields.
ALTER TABLE orders ADD COLUMN extras TEXT NOT NULL DEFAULT '{}';

-- What each partner earns on each order: the sum of the partner's entries over the order's
-- items. Fees are fixed when the order is created, so partner statistics join this index with
-- the order's current payment state instead of reading every order's items. An order with a
-- 0.00 entry still has its row: it counts among the partner's bills.
CREATE TABLE order_partner_fees (
    tenant_id  INTEGER NOT NULL,
    partner_id INTEGER NOT NULL,
    bill_id    INTEGER NOT NULL,
    fee        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, partner_id, bill_id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id) ON DELETE CASCADE
) WITHOUT ROWID;

INSERT INTO order_partner_fees (tenant_id, partner_id, bill_id, fee)
SELECT o.tenant_id, json_extract(entry.value, '$.i'), o.bill_id,
       sum(json_extract(entry.value, '$.f'))
FROM orders o, json_each(o.items) AS item, json_each(item.value, '$.pa') AS entry
GROUP BY o.tenant_id, json_extract(entry.value, '$.i'), o.bill_id;

-- Sub-partners registered in a window.
CREATE INDEX partners_parent ON partners (tenant_id, parent_id, registered_at);

-- One row per tenant and key. `completed_at`, `status` and `body` are set once the request
-- completed (`state` 'done'); while it runs (`state` 'pending') they are NULL, and the claim
-- lapses when the lease that each claim names has passed since `claimed_at`.
CREATE TABLE idempotency_keys (
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    claimed_at   INTEGER NOT NULL,
    completed_at INTEGER,
    status       INTEGER,
    body         BLOB,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
-- The purge looks across tenants for keys whose last change is older than their lifetime.
CREATE INDEX idempotency_keys_age ON idempotency_keys (coalesce(completed_at, claimed_at));
