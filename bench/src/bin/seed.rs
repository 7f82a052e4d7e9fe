//! Prepares a benchmark: a SQLite database with many orders, and signed request bodies.
//!
//! `seed db --database PATH --orders N` creates (through the store's own migrations) the tenant
//! `bench`, one product and N orders, imported a page per transaction through the store's
//! `clickbill copy` import path; it prints the first and last bill id.
//!
//! `seed bodies --kind read|create|goods --count N ...` prints N signed bodies, one per line,
//! for the load generator: `getOrderDetails` of random seeded orders, `CreateOrder`s that are
//! all distinct (no duplicate rule applies), or `GetAllGoods`.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use clickbill_domain::model::{
    BillId, Customer, GoodName, Item, NewOrder, NewTenant, ProductSpec, TenantSettings,
};
use clickbill_domain::ports::CreatedOrder;
use clickbill_domain::transfer::{Record, Transfer};
use clickbill_domain::Store;
use clickbill_protocol::{Login, Money};
use clickbill_store_sqlite::SqliteStore;
use std::io::{BufWriter, Write};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create and fill a database.
    Db {
        #[arg(long)]
        database: std::path::PathBuf,
        #[arg(long, default_value_t = 100_000)]
        orders: i64,
        #[arg(long, default_value = "bench")]
        login: String,
        #[arg(long, default_value = "benchsecret")]
        secret: String,
        /// Orders per imported page (one transaction each).
        #[arg(long, default_value_t = 10_000)]
        page: usize,
    },
    /// Print signed request bodies, one per line.
    Bodies {
        #[arg(long, value_enum)]
        kind: Kind,
        #[arg(long)]
        count: u64,
        #[arg(long, default_value = "bench")]
        login: String,
        #[arg(long, default_value = "benchsecret")]
        secret: String,
        /// Bill ids to read (`read`): the range `seed db` printed.
        #[arg(long, default_value_t = 1)]
        first_bill: i64,
        #[arg(long, default_value_t = 1)]
        last_bill: i64,
        /// Makes the e-mail addresses of `create` bodies unique across runs.
        #[arg(long, default_value = "run")]
        tag: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Read,
    Create,
    Goods,
}

const PRODUCT: &str = "course";

fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Command::Db {
            database,
            orders,
            login,
            secret,
            page,
        } => clickbill_bench::runtime()?
            .block_on(seed_database(&database, orders, &login, &secret, page)),
        Command::Bodies {
            kind,
            count,
            login,
            secret,
            first_bill,
            last_bill,
            tag,
        } => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            // xorshift: reproducible, spread over the whole range, no dependency.
            let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
            let span = u64::try_from(last_bill - first_bill + 1).context("empty bill range")?;
            for i in 0..count {
                let unsigned = match kind {
                    Kind::Read => {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let offset = i64::try_from(state % span)?;
                        format!("bill_id={}&good_info=1", first_bill + offset)
                    }
                    Kind::Create => format!(
                        "bill_email={tag}-{i}%40example.com&bill_first_name=Bench\
                         &goods%5B0%5D%5Bgood_name%5D={PRODUCT}"
                    ),
                    Kind::Goods => String::new(),
                };
                let mut params = php_form::parse(unsigned.as_bytes());
                clickbill_protocol::sign::add_request_hash(&mut params, &login, &secret);
                out.write_all(&php_form::build_query(&params))?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
            Ok(())
        }
    }
}

async fn seed_database(
    path: &std::path::Path,
    orders: i64,
    login: &str,
    secret: &str,
    page: usize,
) -> anyhow::Result<()> {
    if orders < 1 {
        bail!("--orders must be at least 1");
    }
    let store = SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        .try_into()?;
    let tenant = store
        .add_tenant(NewTenant {
            login: Login::parse(login).context("invalid login")?,
            secret: secret.to_owned(),
            custom_domains: Vec::new(),
            settings: TenantSettings::default(),
        })
        .await?;
    let product = store
        .add_product(
            tenant.id,
            ProductSpec::new(
                GoodName::parse(PRODUCT).context("product code")?,
                "Online course",
                Money::from_minor(250_000),
            ),
        )
        .await?;
    let order = |email: String| NewOrder {
        customer: Customer {
            email,
            first_name: "Bench".into(),
            last_name: "Marker".into(),
            phone: "+7 900 000-00-00".into(),
            city: "Moscow".into(),
            ..Customer::default()
        },
        created: now,
        items: vec![Item {
            product_id: product.id,
            code: PRODUCT.into(),
            title: product.spec.title.clone(),
            physical: false,
            price: product.spec.price,
            sum: product.spec.price,
            pincode: String::new(),
            partners: Vec::new(),
        }],
        ..NewOrder::default()
    };
    let first = match store
        .create_order(&tenant, order("seed-0@example.com".into()), now)
        .await?
    {
        CreatedOrder::Created(bill_id) => bill_id,
        CreatedOrder::Duplicate(_) => bail!("the database already holds orders"),
    };
    let template = store
        .order(tenant.id, first)
        .await?
        .context("the first order vanished")?;
    let mut records = Vec::with_capacity(page);
    for i in 1..orders {
        let mut copy = template.clone();
        copy.bill_id = BillId::new(first.get() + i).context("bill id overflow")?;
        copy.customer.email = format!("seed-{i}@example.com");
        records.push(Record::Order {
            tenant: tenant.id,
            order: copy,
            deleted: false,
        });
        if records.len() == page {
            store.import(std::mem::take(&mut records)).await?;
        }
    }
    if !records.is_empty() {
        store.import(records).await?;
    }
    store.close().await?;
    println!("{} {}", first.get(), first.get() + orders - 1);
    Ok(())
}
