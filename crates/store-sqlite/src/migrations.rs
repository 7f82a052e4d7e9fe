//! The schema's history. Migration *n* brings a database from `user_version` *n − 1* to *n*;
//! each runs in its own transaction, so a crash leaves the database at a whole version.

use clickbill_domain::StoreError;
use rusqlite::{Connection, TransactionBehavior};

/// Append only: a released migration is never edited, a change is a new entry.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_commerce.sql"),
    include_str!("../migrations/0003_outbox.sql"),
    include_str!("../migrations/0004_contacts.sql"),
    include_str!("../migrations/0005_payments.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Applies every missing migration and returns the resulting version.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    loop {
        // The version is read inside the write transaction, so two processes opening a new
        // database at once apply each migration exactly once.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(crate::db_error)?;
        let version: u32 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(crate::db_error)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the database has schema version {version}, newer than this build's \
                 {SCHEMA_VERSION}; use a newer clickbill"
            )));
        }
        let Some(sql) = MIGRATIONS.get(version as usize) else {
            return Ok(version);
        };
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {}: {e}", version + 1)))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(crate::db_error)?;
        tx.commit().map_err(crate::db_error)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An order row of schema version 1 with these items.
    fn insert_v1_order(conn: &Connection, bill_id: i64, items: &str) {
        conn.execute(
            "INSERT INTO orders (tenant_id, bill_id, inserted_at, created, email, first_name, \
             last_name, middle_name, phone, country, region, city, address, postalcode, tag, \
             comment, kupon, domain, client_ip, utm_medium, utm_source, utm_campaign, \
             utm_content, utm_term, aff_utm_medium, aff_utm_source, aff_utm_campaign, \
             aff_utm_content, aff_utm_term, pay_status, paid_at, payway, delivery_status, \
             delivery_date, rpo, ext_ref_no, items, payments) \
             VALUES (1, ?1, 0, 0, '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', \
             '', '', '', '', '', '', '', '', '', '', 'paid', 5, '', '', 0, '', '', ?2, '[]')",
            rusqlite::params![bill_id, items],
        )
        .unwrap();
    }

    #[test]
    fn upgrading_indexes_the_partner_fees_of_existing_orders() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO tenants (login, secret) VALUES ('old', 's')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO coupons (tenant_id, id, code, kind, value) VALUES (1, 1, 'c', 'fixed', 1)",
            [],
        )
        .unwrap();
        insert_v1_order(
            &conn,
            1,
            r#"[{"p":1,"c":"a","t":"A","pr":100,"s":100,
                 "pa":[{"l":1,"i":17,"n":"anna","f":10},{"l":2,"i":5,"n":"boris","f":0}]},
                {"p":2,"c":"b","t":"B","pr":50,"s":50,"pa":[{"l":1,"i":17,"n":"anna","f":5}]}]"#,
        );
        insert_v1_order(&conn, 2, r#"[{"p":1,"c":"a","t":"A","pr":100,"s":100}]"#);

        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        let fees: Vec<(i64, i64, i64)> = conn
            .prepare("SELECT partner_id, bill_id, fee FROM order_partner_fees ORDER BY partner_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(fees, [(5, 1, 0), (17, 1, 15)]);
        let (extras, disabled): (String, bool) = conn
            .query_row(
                "SELECT o.extras, c.disabled FROM orders o, coupons c WHERE o.bill_id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((extras.as_str(), disabled), ("{}", false));
    }
}
