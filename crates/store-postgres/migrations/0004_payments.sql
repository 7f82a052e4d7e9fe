-- The bill page's test payment provider, switched on per tenant.
ALTER TABLE tenants ADD COLUMN test_payments BOOLEAN NOT NULL DEFAULT FALSE;
