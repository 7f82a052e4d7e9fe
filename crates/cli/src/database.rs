//! The `--database` URL and opening the store it names, shared by every subcommand that needs
//! one. Everything above this module sees a backend-independent [`Store`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clickbill_domain::model::Tenant;
use clickbill_domain::transfer::Transfer;
use clickbill_domain::Store;
use clickbill_protocol::value::Login;
use clickbill_store_postgres::{PostgresOptions, PostgresStore};
use clickbill_store_sqlite::{SqliteOptions, SqliteStore};

use crate::{failed, Global};

/// The TLS modes of a PostgreSQL URL's `sslmode` (see `--help`).
const SSL_MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

/// Where the data lives, as the database URL names it.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded store: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its full connection URL (which may carry a password: see
    /// [`Database::describe`] for what may be shown).
    Postgres(String),
}

impl Database {
    /// Parses `sqlite://PATH` (`sqlite:///abs/path` for an absolute path) or
    /// `postgres://...` / `postgresql://...`. The URL itself never appears in an error: it may
    /// carry a password.
    pub fn parse(url: &str) -> anyhow::Result<Database> {
        let url = url.trim();
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = url["sqlite:".len()..]
                    .strip_prefix("//")
                    .unwrap_or(&url["sqlite:".len()..]);
                if path.is_empty() {
                    bail!("the database URL sqlite:// names no file; use sqlite://PATH");
                }
                if path.contains('?') {
                    bail!(
                        "the database URL carries options (`?...`), which clickbill does not \
                         take for SQLite; use sqlite://PATH"
                    );
                }
                Ok(Database::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => {
                let Ok(parsed) = reqwest::Url::parse(url) else {
                    bail!(
                        "the PostgreSQL URL is malformed; expected \
                         postgres://USER:PASSWORD@HOST:PORT/DATABASE[?sslmode=MODE] (a password \
                         with special characters is percent-encoded)"
                    );
                };
                // The store would refuse it too, but only once connecting: this is an input
                // error, told as one.
                for (key, value) in parsed.query_pairs() {
                    if key == "sslmode" && !SSL_MODES.contains(&value.as_ref()) {
                        bail!(
                            "the PostgreSQL URL has sslmode={value:?}; use one of {}",
                            SSL_MODES.join(", ")
                        );
                    }
                }
                Ok(Database::Postgres(url.to_owned()))
            }
            "" => bail!("the database URL has no scheme; use sqlite://PATH or postgres://..."),
            other => bail!(
                "unsupported database URL scheme {other:?}; use sqlite://PATH or \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ),
        }
    }

    /// A description for log lines and messages: the SQLite path, or the PostgreSQL URL without
    /// its password and parameters (a parameter may be a password too).
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres(url) => match reqwest::Url::parse(url) {
                Ok(url) => {
                    let user = match url.username() {
                        "" => String::new(),
                        user => format!("{user}@"),
                    };
                    let host = url.host_str().unwrap_or_default();
                    let port = url
                        .port()
                        .map(|port| format!(":{port}"))
                        .unwrap_or_default();
                    format!("{}://{user}{host}{port}{}", url.scheme(), url.path())
                }
                Err(_) => "a PostgreSQL database".to_owned(),
            },
        }
    }
}

/// Shows what [`Database::describe`] shows, so that a debug print cannot leak a password.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// How clickbill uses a PostgreSQL server: the global `--db-*` options. SQLite ignores them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresSettings {
    /// Connections this process keeps open at most.
    pub pool_size: usize,
    /// How long one statement may run before the server cancels it.
    pub statement_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
}

impl PostgresSettings {
    fn options(&self, url: &str) -> PostgresOptions {
        let mut options = PostgresOptions::new(url);
        options.pool_size = self.pool_size;
        options.statement_timeout = self.statement_timeout;
        options.connect_timeout = self.connect_timeout;
        options
    }
}

/// Whether an admin command may create the database or needs an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Commands that write (add, set, …) create and migrate the file on first use, so that
    /// tenants can be set up before the first `serve`.
    IfMissing,
    /// Commands that only read refuse a missing file rather than leave an empty database behind
    /// a mistyped path. (A PostgreSQL database always has to exist; clickbill creates only its
    /// tables in it.)
    Never,
}

/// An open store of either backend.
pub enum OpenStore {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PostgresStore>),
}

impl OpenStore {
    /// The store, for the domain, the server and the admin commands.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(store) => store.clone(),
            OpenStore::Postgres(store) => store.clone(),
        }
    }

    /// The schema version the database is at: this build's, since opening migrates it.
    pub fn schema_version(&self) -> u32 {
        match self {
            OpenStore::Sqlite(_) => clickbill_store_sqlite::SCHEMA_VERSION,
            OpenStore::Postgres(_) => clickbill_store_postgres::SCHEMA_VERSION,
        }
    }

    /// The same store, for copying its rows to or from another one.
    pub fn transfer(&self) -> Arc<dyn Transfer> {
        match self {
            OpenStore::Sqlite(store) => store.clone(),
            OpenStore::Postgres(store) => store.clone(),
        }
    }

    /// Commits what the SQLite writer still holds and stops it, or closes the PostgreSQL
    /// connections. Call it after every other holder of [`OpenStore::store`] has let go.
    pub async fn close(self) -> anyhow::Result<()> {
        match self {
            OpenStore::Sqlite(store) => close_sqlite(store).await,
            OpenStore::Postgres(store) => {
                store.close().await;
                Ok(())
            }
        }
    }
}

/// Opens the store `url` names: a SQLite file is created and migrated as `create` allows; a
/// PostgreSQL database is connected to with `pg` and migrated.
pub async fn open_store(
    url: &str,
    create: Create,
    pg: &PostgresSettings,
    sqlite: SqliteOptions,
) -> anyhow::Result<OpenStore> {
    let database = Database::parse(url)?;
    match &database {
        Database::Sqlite(path) => {
            if create == Create::Never && !path.exists() {
                bail!(
                    "no database at {} (it is created by `clickbill migrate`, `clickbill serve` \
                     or the first admin command that writes)",
                    path.display()
                );
            }
            let store = SqliteStore::open_with(path, sqlite)
                .with_context(|| format!("opening the database {}", path.display()))
                .map_err(failed)?;
            Ok(OpenStore::Sqlite(Arc::new(store)))
        }
        Database::Postgres(url) => {
            let store = PostgresStore::connect(pg.options(url))
                .await
                .with_context(|| format!("opening the database {}", database.describe()))
                .map_err(failed)?;
            Ok(OpenStore::Postgres(Arc::new(store)))
        }
    }
}

/// Brings the schema of the database `url` names up to date without opening a store; returns
/// the database's description and the schema version it is at.
pub fn migrate(url: &str, pg: &PostgresSettings) -> anyhow::Result<(String, u32)> {
    let database = Database::parse(url)?;
    let migrated = match &database {
        Database::Sqlite(path) => SqliteStore::migrate(path),
        Database::Postgres(url) => runtime()?.block_on(PostgresStore::migrate(&pg.options(url))),
    };
    let description = database.describe();
    let version = migrated
        .with_context(|| format!("migrating {description}"))
        .map_err(failed)?;
    Ok((description, version))
}

/// Opens the store the global options name, runs `work` on it inside a small runtime and closes
/// the store (flushing its writer) whatever `work` returned.
pub fn with_store<T, F, Fut>(global: &Global, create: Create, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    runtime()?.block_on(async {
        let open = open_store(
            &global.database,
            create,
            &global.postgres_settings(),
            SqliteOptions::default(),
        )
        .await?;
        let outcome = work(open.store()).await;
        let closed = open.close().await;
        let value = outcome?;
        closed?;
        Ok(value)
    })
}

/// The runtime of a one-shot command: one thread is plenty for a handful of queries.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)
}

/// Closes the SQLite store once every other holder has let go of it, so that queued writes are
/// committed and the writer thread ends before the process does. Holders that are still winding
/// down (aborted tasks) get a moment; after that the last one to drop it flushes it.
async fn close_sqlite(mut store: Arc<SqliteStore>) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Arc::try_unwrap(store) {
            Ok(store) => {
                return store
                    .close()
                    .await
                    .context("closing the database")
                    .map_err(failed)
            }
            Err(shared) if Instant::now() < deadline => {
                store = shared;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => {
                tracing::warn!("the database is still in use; it is flushed when released");
                return Ok(());
            }
        }
    }
}

/// The tenant `login` names, or an input error saying there is none.
pub async fn tenant(store: &dyn Store, login: &str) -> anyhow::Result<Tenant> {
    let parsed = Login::parse(login).map_err(|_| invalid_login(login))?;
    store
        .tenant_by_login(parsed.as_str())
        .await
        .context("reading the tenant")
        .map_err(failed)?
        .with_context(|| format!("no tenant {}", parsed.as_str()))
}

pub fn invalid_login(login: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "invalid login {login:?}: 1-63 characters from a-z, 0-9, '-' and '_', starting with a \
         letter or digit"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(url: &str) -> PathBuf {
        match Database::parse(url).unwrap() {
            Database::Sqlite(path) => path,
            other => panic!("{url} is not SQLite: {other:?}"),
        }
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(path("sqlite://clickbill.db"), PathBuf::from("clickbill.db"));
        assert_eq!(
            path("sqlite:///var/lib/x.db"),
            PathBuf::from("/var/lib/x.db")
        );
        assert_eq!(path("sqlite:data/x.db"), PathBuf::from("data/x.db"));
        assert_eq!(path("SQLITE://x.db"), PathBuf::from("x.db"));
    }

    #[test]
    fn postgres_urls_are_kept_whole_and_described_without_secrets() {
        for (url, described) in [
            (
                "postgres://app:hunter2@db.internal:5433/clickbill?sslmode=verify-full",
                "postgres://app@db.internal:5433/clickbill",
            ),
            (
                "postgresql://db/clickbill?password=hunter2",
                "postgresql://db/clickbill",
            ),
            ("postgres:///clickbill", "postgres:///clickbill"),
        ] {
            let database = Database::parse(url).unwrap();
            assert_eq!(database, Database::Postgres(url.to_owned()));
            assert_eq!(database.describe(), described);
            assert_eq!(format!("{database:?}"), described);
        }
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for url in [
            "postgres://user:hunter2@db:notaport/clickbill",
            "postgres://user:hunter2@db/clickbill?sslmode=sometimes",
            "mysql://user:hunter2@db/x",
            "sqlite://",
            "sqlite://x.db?mode=rwc",
            "clickbill.db",
        ] {
            let error = Database::parse(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn postgres_settings_reach_the_store_options() {
        let settings = PostgresSettings {
            pool_size: 3,
            statement_timeout: Duration::from_secs(4),
            connect_timeout: Duration::from_secs(5),
        };
        let options = settings.options("postgres://db/clickbill");
        assert_eq!(options.url, "postgres://db/clickbill");
        assert_eq!(options.pool_size, 3);
        assert_eq!(options.statement_timeout, Duration::from_secs(4));
        assert_eq!(options.connect_timeout, Duration::from_secs(5));
        assert_eq!(options.schema, None);
    }
}
