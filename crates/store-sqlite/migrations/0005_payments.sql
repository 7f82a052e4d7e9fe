-- The bill page's test payment provider, switched on per tenant.
ALTER TABLE tenants ADD COLUMN test_payments INTEGER NOT NULL DEFAULT 0;
