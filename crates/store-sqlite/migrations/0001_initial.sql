-- clickbill embedded schema, version 1.
--
-- Every table except `meta` and `tenants` starts its primary key with `tenant_id`, so that the
-- same layout shards by tenant on the PostgreSQL store. Money is stored in integer minor units,
-- times in unix seconds, booleans as 0/1.

-- Global numbers that are not tied to one tenant.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

-- `tenants_version` is bumped by the triggers below rather than by the store's code, so that a
-- change made by any process (the admin command line, an older build) is seen by every cache.
INSERT INTO meta (key, value) VALUES ('tenants_version', 0), ('next_event_id', 1);

-- AUTOINCREMENT: a tenant id is never handed out twice, so rows left behind by a removed tenant
-- can never surface under a new one.
CREATE TABLE tenants (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    login                  TEXT NOT NULL COLLATE NOCASE UNIQUE,
    secret                 TEXT NOT NULL,
    enabled                INTEGER NOT NULL DEFAULT 1,
    time_zone              TEXT NOT NULL DEFAULT 'Europe/Moscow',
    first_bill_id          INTEGER NOT NULL DEFAULT 1,
    api_orders_enabled     INTEGER NOT NULL DEFAULT 1,
    prepayment_enabled     INTEGER NOT NULL DEFAULT 0,
    prepayment_minsum      INTEGER NOT NULL DEFAULT 100000,
    require_activation     INTEGER NOT NULL DEFAULT 0,
    subscribe_limit_per_ip INTEGER NOT NULL DEFAULT 0,
    unsubscribe_url        TEXT NOT NULL DEFAULT ''
);

-- A host belongs to at most one tenant, so the host alone is the key; `position` keeps the
-- order in which the tenant's domains were given.
CREATE TABLE tenant_domains (
    domain    TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id, position);

CREATE TRIGGER tenants_version_insert AFTER INSERT ON tenants
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;
CREATE TRIGGER tenants_version_update AFTER UPDATE ON tenants
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;
CREATE TRIGGER tenants_version_delete AFTER DELETE ON tenants
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;
CREATE TRIGGER tenant_domains_version_insert AFTER INSERT ON tenant_domains
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;
CREATE TRIGGER tenant_domains_version_update AFTER UPDATE ON tenant_domains
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;
CREATE TRIGGER tenant_domains_version_delete AFTER DELETE ON tenant_domains
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'tenants_version'; END;

-- Per-tenant number sequences (`bill`, `product`, `coupon`, `partner`, ...). They live apart
-- from `tenants` so that taking a number does not fire the tenants triggers and invalidate
-- every tenant cache on each new order. `next` is the lowest number not yet handed out.
CREATE TABLE counters (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    next      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

-- Deleted products stay as rows (orders and statistics may still name their id) but leave the
-- partial unique index, which frees their code for a new product.
CREATE TABLE products (
    tenant_id             INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    INTEGER NOT NULL,
    code                  TEXT NOT NULL COLLATE NOCASE,
    deleted               INTEGER NOT NULL DEFAULT 0,
    title                 TEXT NOT NULL,
    physical              INTEGER NOT NULL,
    price                 INTEGER NOT NULL,
    parent_id             TEXT NOT NULL,
    url_new_order         TEXT NOT NULL,
    url_paid              TEXT NOT NULL,
    url_prepaid           TEXT NOT NULL,
    url_cancel            TEXT NOT NULL,
    url_moneyback         TEXT NOT NULL,
    success_link          TEXT NOT NULL,
    client_groups         TEXT NOT NULL,  -- JSON array of strings
    cash_on_delivery_only INTEGER NOT NULL,
    quickpost_article     TEXT NOT NULL,
    post_service          TEXT NOT NULL,
    prepayment_minsum     INTEGER,
    timer_kill            INTEGER NOT NULL,
    partner_fees          TEXT NOT NULL,  -- JSON, see the store's codec
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX products_live_code ON products (tenant_id, code) WHERE deleted = 0;

CREATE TABLE coupons (
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         INTEGER NOT NULL,
    code       TEXT NOT NULL COLLATE NOCASE,
    kind       TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value      INTEGER NOT NULL,  -- hundredths of a percent, or minor units
    expires_at INTEGER,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX coupons_code ON coupons (tenant_id, code);

-- The products a coupon is limited to; none means every product.
CREATE TABLE coupon_products (
    tenant_id  INTEGER NOT NULL,
    coupon_id  INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, coupon_id, product_id),
    FOREIGN KEY (tenant_id, coupon_id) REFERENCES coupons (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE partners (
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            INTEGER NOT NULL,
    login         TEXT NOT NULL COLLATE NOCASE,
    parent_id     INTEGER,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES partners (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX partners_login ON partners (tenant_id, login);

-- One row holds the whole order, items (with their partner entries) and payments included as
-- compact JSON, so that reading an order is a single primary-key seek.
CREATE TABLE orders (
    tenant_id                 INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bill_id                   INTEGER NOT NULL,
    deleted                   INTEGER NOT NULL DEFAULT 0,
    inserted_at               INTEGER NOT NULL,
    created                   INTEGER NOT NULL,
    email                     TEXT NOT NULL,
    first_name                TEXT NOT NULL,
    last_name                 TEXT NOT NULL,
    middle_name               TEXT NOT NULL,
    phone                     TEXT NOT NULL,
    country                   TEXT NOT NULL,
    region                    TEXT NOT NULL,
    city                      TEXT NOT NULL,
    address                   TEXT NOT NULL,
    postalcode                TEXT NOT NULL,
    tag                       TEXT NOT NULL,
    comment                   TEXT NOT NULL,
    kupon                     TEXT NOT NULL,
    domain                    TEXT NOT NULL,
    client_ip                 TEXT NOT NULL,
    utm_medium                TEXT NOT NULL,
    utm_source                TEXT NOT NULL,
    utm_campaign              TEXT NOT NULL,
    utm_content               TEXT NOT NULL,
    utm_term                  TEXT NOT NULL,
    aff_utm_medium            TEXT NOT NULL,
    aff_utm_source            TEXT NOT NULL,
    aff_utm_campaign          TEXT NOT NULL,
    aff_utm_content           TEXT NOT NULL,
    aff_utm_term              TEXT NOT NULL,
    pay_status                TEXT NOT NULL,
    paid_at                   INTEGER NOT NULL,
    payway                    TEXT NOT NULL,
    delivery_status           TEXT NOT NULL,
    delivery_date             INTEGER NOT NULL,
    rpo                       TEXT NOT NULL,
    auto_cancel_at            INTEGER,
    ext_ref_no                TEXT NOT NULL,
    product_prepayment_minsum INTEGER,
    items                     TEXT NOT NULL,  -- JSON, see the store's codec
    payments                  TEXT NOT NULL,  -- JSON, see the store's codec
    PRIMARY KEY (tenant_id, bill_id)
) WITHOUT ROWID;
-- Customer look-ups and the duplicate rule (same e-mail, inserted in the last day).
CREATE INDEX orders_email ON orders (tenant_id, email, inserted_at);
-- Time windows of the order lists: by creation time, or by payment time.
CREATE INDEX orders_created ON orders (tenant_id, created);
CREATE INDEX orders_paid ON orders (tenant_id, paid_at);
-- The auto-cancel sweep looks across tenants for the next timers due.
CREATE INDEX orders_auto_cancel ON orders (auto_cancel_at)
    WHERE auto_cancel_at IS NOT NULL AND deleted = 0;

-- Which live orders contain which product, for the product filters of the order lists.
CREATE TABLE order_products (
    tenant_id  INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    bill_id    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, product_id, bill_id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The outbox: written in the transaction of the change that caused the event. `id` is unique
-- across tenants (from meta `next_event_id`) so that the delivery worker can walk every tenant's
-- events in one order.
CREATE TABLE order_events (
    tenant_id INTEGER NOT NULL,
    id        INTEGER NOT NULL,
    bill_id   INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX order_events_id ON order_events (id);
