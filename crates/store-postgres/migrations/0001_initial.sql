-- clickbill PostgreSQL schema, version 1: the tables of the embedded store's versions 1 and 2,
-- with the same meaning.
--
-- Built for many replicas on one database, and for Postgres-compatible databases sharded by
-- tenant: every table but the global ones (`meta`, `tenants`, `tenant_domains`) starts its
-- primary key and its indexes with `tenant_id`; the only cross-tenant indexes serve the sweeps
-- that walk every tenant (auto-cancel timers, expired idempotency keys) and the event id.
-- Nothing relies on advisory locks or LISTEN/NOTIFY; writers serialise on rows.
--
-- Money is BIGINT minor units, times BIGINT unix seconds. Codes and logins compare
-- case-insensitively in ASCII only (`COLLATE "C"` makes `lower` leave other letters alone),
-- as the embedded store's NOCASE does.

-- Global numbers that are not tied to one tenant.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('tenants_version', 0);

-- Sequences rather than counter rows: every replica takes ids without waiting for another, and
-- a number once handed out is never handed out again (gaps are allowed).
CREATE SEQUENCE tenant_ids;
CREATE SEQUENCE event_ids;

CREATE TABLE tenants (
    id                     BIGINT PRIMARY KEY DEFAULT nextval('tenant_ids'),
    login                  TEXT COLLATE "C" NOT NULL,
    secret                 TEXT NOT NULL,
    enabled                BOOLEAN NOT NULL DEFAULT TRUE,
    time_zone              TEXT NOT NULL DEFAULT 'Europe/Moscow',
    first_bill_id          BIGINT NOT NULL DEFAULT 1,
    api_orders_enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    prepayment_enabled     BOOLEAN NOT NULL DEFAULT FALSE,
    prepayment_minsum      BIGINT NOT NULL DEFAULT 100000,
    require_activation     BOOLEAN NOT NULL DEFAULT FALSE,
    subscribe_limit_per_ip BIGINT NOT NULL DEFAULT 0,
    unsubscribe_url        TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX tenants_login ON tenants (lower(login));

-- A host belongs to at most one tenant, so the host alone is the key; hosts are stored in
-- lower case. `position` keeps the order in which the tenant's domains were given.
CREATE TABLE tenant_domains (
    domain    TEXT COLLATE "C" PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id, position);

-- `tenants_version` is bumped by triggers rather than by the store's code, so that a change
-- made by any process (another replica, the admin command line, plain SQL) is seen by every
-- cache. The function keeps the search path it was created with, so that it finds `meta`
-- whatever the search path of the session that fires it.
CREATE FUNCTION bump_tenants_version() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'tenants_version';
    RETURN NULL;
END
$$;
CREATE TRIGGER tenants_version AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION bump_tenants_version();
CREATE TRIGGER tenant_domains_version AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
    FOR EACH ROW EXECUTE FUNCTION bump_tenants_version();

-- Per-tenant number sequences (`bill`, `product`, `coupon`, `partner`, `manager`). They live
-- apart from `tenants` so that taking a number neither fires the tenants triggers nor touches
-- a global row. `next` is the lowest number not yet handed out. Locking a tenant's `bill` row
-- is what serialises the tenant's order creation across replicas.
CREATE TABLE counters (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    next      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Deleted products stay as rows (orders and statistics may still name their id) but leave the
-- partial unique index, which frees their code for a new product.
CREATE TABLE products (
    tenant_id             BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    BIGINT NOT NULL,
    code                  TEXT COLLATE "C" NOT NULL,
    deleted               BOOLEAN NOT NULL DEFAULT FALSE,
    title                 TEXT NOT NULL,
    physical              BOOLEAN NOT NULL,
    price                 BIGINT NOT NULL,
    parent_id             TEXT NOT NULL,
    url_new_order         TEXT NOT NULL,
    url_paid              TEXT NOT NULL,
    url_prepaid           TEXT NOT NULL,
    url_cancel            TEXT NOT NULL,
    url_moneyback         TEXT NOT NULL,
    success_link          TEXT NOT NULL,
    client_groups         TEXT[] NOT NULL,
    cash_on_delivery_only BOOLEAN NOT NULL,
    quickpost_article     TEXT NOT NULL,
    post_service          TEXT NOT NULL,
    prepayment_minsum     BIGINT,
    timer_kill            BIGINT NOT NULL,
    partner_fees          JSONB NOT NULL,  -- see the store's codec
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX products_live_code ON products (tenant_id, lower(code)) WHERE NOT deleted;

-- A disabled coupon keeps its row, so its code stays taken and old orders keep naming it.
CREATE TABLE coupons (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         BIGINT NOT NULL,
    code       TEXT COLLATE "C" NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value      BIGINT NOT NULL,  -- hundredths of a percent, or minor units
    expires_at BIGINT,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX coupons_code ON coupons (tenant_id, lower(code));

-- The products a coupon is limited to; none means every product.
CREATE TABLE coupon_products (
    tenant_id  BIGINT NOT NULL,
    coupon_id  BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, coupon_id, product_id),
    FOREIGN KEY (tenant_id, coupon_id) REFERENCES coupons (tenant_id, id) ON DELETE CASCADE
);

-- The parent reference is checked at commit, so that a copy may write a partner before a
-- parent that has a higher id in the same transaction.
CREATE TABLE partners (
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            BIGINT NOT NULL,
    login         TEXT COLLATE "C" NOT NULL,
    parent_id     BIGINT,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES partners (tenant_id, id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX partners_login ON partners (tenant_id, lower(login));
-- Sub-partners registered in a window.
CREATE INDEX partners_parent ON partners (tenant_id, parent_id, registered_at);

CREATE TABLE managers (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id        BIGINT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One row holds the whole order, items (with their partner entries), payments and API 2.0
-- fields included as JSON, so that reading an order is a single primary-key seek.
CREATE TABLE orders (
    tenant_id                 BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bill_id                   BIGINT NOT NULL,
    deleted                   BOOLEAN NOT NULL DEFAULT FALSE,
    inserted_at               BIGINT NOT NULL,
    created                   BIGINT NOT NULL,
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
    paid_at                   BIGINT NOT NULL,
    payway                    TEXT NOT NULL,
    delivery_status           TEXT NOT NULL,
    delivery_date             BIGINT NOT NULL,
    rpo                       TEXT NOT NULL,
    auto_cancel_at            BIGINT,
    ext_ref_no                TEXT NOT NULL,
    product_prepayment_minsum BIGINT,
    items                     JSONB NOT NULL,  -- see the store's codec
    payments                  JSONB NOT NULL,  -- see the store's codec
    extras                    JSONB NOT NULL,  -- see the store's codec; {} without API 2.0 fields
    PRIMARY KEY (tenant_id, bill_id)
);
-- Customer look-ups and the duplicate rule (same e-mail, inserted in the last day).
CREATE INDEX orders_email ON orders (tenant_id, email, inserted_at);
-- Time windows of the order lists: by creation time, or by payment time.
CREATE INDEX orders_created ON orders (tenant_id, created);
CREATE INDEX orders_paid ON orders (tenant_id, paid_at);
-- The auto-cancel sweep looks across tenants for the next timers due, in the order it takes
-- them.
CREATE INDEX orders_auto_cancel ON orders (auto_cancel_at, tenant_id, bill_id)
    WHERE auto_cancel_at IS NOT NULL AND NOT deleted;

-- Which live orders contain which product, for the product filters of the order lists.
CREATE TABLE order_products (
    tenant_id  BIGINT NOT NULL,
    product_id BIGINT NOT NULL,
    bill_id    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id, bill_id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id) ON DELETE CASCADE
);

-- What each partner earns on each order: the sum of the partner's entries over the order's
-- items. Fees are fixed when the order is created, so partner statistics join this index with
-- the order's current payment state instead of reading every order's items. An order with a
-- 0.00 entry still has its row: it counts among the partner's bills.
CREATE TABLE order_partner_fees (
    tenant_id  BIGINT NOT NULL,
    partner_id BIGINT NOT NULL,
    bill_id    BIGINT NOT NULL,
    fee        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, partner_id, bill_id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id) ON DELETE CASCADE
);

-- The outbox: written in the transaction of the change that caused the event. `id` comes from
-- `event_ids` and is unique across tenants, so that the delivery worker can walk every
-- tenant's events in one order.
CREATE TABLE order_events (
    tenant_id BIGINT NOT NULL,
    id        BIGINT NOT NULL,
    bill_id   BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bill_id) REFERENCES orders (tenant_id, bill_id)
);
CREATE UNIQUE INDEX order_events_id ON order_events (id);

-- One row per tenant and key. `completed_at`, `status` and `body` are set once the request
-- completed (`state` 'done'); while it runs (`state` 'pending') they are NULL, and the claim
-- lapses when the lease that each claim names has passed since `claimed_at`.
CREATE TABLE idempotency_keys (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    claimed_at   BIGINT NOT NULL,
    completed_at BIGINT,
    status       BIGINT,
    body         BYTEA,
    PRIMARY KEY (tenant_id, key)
);
-- The purge looks across tenants for keys whose last change is older than their lifetime.
CREATE INDEX idempotency_keys_age ON idempotency_keys ((coalesce(completed_at, claimed_at)));
