//! The `--database` URL and opening the store it names, shared by every subcommand that needs
//! one.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clickbill_domain::model::Tenant;
use clickbill_domain::Store;
use clickbill_protocol::value::Login;
use clickbill_store_sqlite::SqliteStore;

use crate::failed;

/// Where the data lives, as the database URL names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// The embedded store: one SQLite file.
    Sqlite(PathBuf),
}

impl Database {
    /// Parses `sqlite://PATH` (`sqlite:///abs/path` for an absolute path). `postgres://` is
    /// recognised and refused until that store exists. The URL itself never appears in an error:
    /// it may carry a password.
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
                         take; use sqlite://PATH"
                    );
                }
                Ok(Database::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => bail!(
                "PostgreSQL is not supported yet (it arrives with a later release); use the \
                 embedded store with --database sqlite://PATH"
            ),
            "" => bail!("the database URL has no scheme; use sqlite://PATH"),
            other => bail!(
                "unsupported database URL scheme {other:?}; use sqlite://PATH (PostgreSQL \
                 arrives with a later release)"
            ),
        }
    }

    /// A short description for log lines and messages.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }
}

/// Whether an admin command may create the database or needs an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Commands that write (add, set, …) create and migrate the file on first use, so that
    /// tenants can be set up before the first `serve`.
    IfMissing,
    /// Commands that only read refuse a missing file rather than leave an empty database behind
    /// a mistyped path.
    Never,
}

/// Opens the store `url` names, runs `work` on it inside a small runtime and closes the store
/// (flushing its writer) whatever `work` returned.
pub fn with_store<T, F, Fut>(url: &str, create: Create, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Arc<SqliteStore>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let Database::Sqlite(path) = Database::parse(url)?;
    if create == Create::Never && !path.exists() {
        bail!(
            "no database at {} (it is created by `clickbill migrate`, `clickbill serve` or the \
             first admin command that writes)",
            path.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)?;
    runtime.block_on(async {
        let store = Arc::new(open(&path)?);
        let outcome = work(Arc::clone(&store)).await;
        let closed = close(store).await;
        let value = outcome?;
        closed?;
        Ok(value)
    })
}

/// Opens (creating and migrating as needed) the SQLite store at `path`.
pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path)
        .with_context(|| format!("opening the database {}", path.display()))
        .map_err(failed)
}

/// Closes the store once every other holder has let go of it, so that queued writes are
/// committed and the writer thread ends before the process does. Holders that are still winding
/// down (aborted tasks) get a moment; after that the last one to drop it flushes it.
pub async fn close(mut store: Arc<SqliteStore>) -> anyhow::Result<()> {
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
pub async fn tenant(store: &SqliteStore, login: &str) -> anyhow::Result<Tenant> {
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
    fn other_urls_are_refused_without_echoing_them() {
        for url in [
            "postgres://user:hunter2@db/clickbill",
            "postgresql://user:hunter2@db/clickbill",
            "mysql://user:hunter2@db/x",
            "sqlite://",
            "sqlite://x.db?mode=rwc",
            "clickbill.db",
        ] {
            let error = Database::parse(url).unwrap_err().to_string();
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = Database::parse("postgres://h/db").unwrap_err().to_string();
        assert!(error.contains("not supported yet"), "{error}");
    }
}
