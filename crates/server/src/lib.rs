//! clickbill's HTTP adapter: serves the JustClick API (`/api/*`) and `/healthz` over the domain
//! and a [`clickbill_domain::Store`].
//!
//! ```no_run
//! # async fn serve(store: std::sync::Arc<dyn clickbill_domain::Store>) -> anyhow::Result<()> {
//! use clickbill_server::{Application, ServerConfig};
//! let mut config = ServerConfig::new("127.0.0.1:8080".parse()?);
//! config.base_domains.push("justclick.ru".into());
//! let app = Application::build(config, store, std::sync::Arc::new(clickbill_domain::SystemClock)).await?;
//! println!("listening on {}", app.local_addr());
//! app.run_until_stopped().await?;
//! # Ok(())
//! # }
//! ```
//!
//! Handlers are thin: they read parameters with [`clickbill_protocol::value::Params`], hand them
//! to the domain and render what comes back with the protocol's types.

mod api;
mod bill;
mod body;
mod config;
mod idempotency;
mod limits;
pub mod logging;
mod methods;
pub mod metrics;
mod notifier;
mod render;
mod startup;
mod tenants;
mod timers;

pub use config::ServerConfig;
pub use notifier::NotifierConfig;
pub use startup::{Application, ShutdownHandle};
