//! `clickbill tenant`: accounts, their secrets, custom domains and settings (SPEC §3, §9.1).
//!
//! Changes go straight to the database the server uses; a running server notices them through
//! the store's tenant version within a fraction of a second.

use anyhow::{bail, Context};
use clap::Subcommand;
use clickbill_domain::model::{NewTenant, Tenant, TenantSettings};
use clickbill_domain::{Store, StoreError};
use clickbill_protocol::value::{parse_int, Login, Money};
use serde_json::{json, Value as Json};

use crate::database::{self, invalid_login, with_store, Create};
use crate::{exit, failed, print_json, Global};

const AFTER_HELP: &str = "\
Standard output carries data only: the secret for `add` (when generated) and `rotate-secret`,
one line per tenant for `list` (LOGIN, enabled|disabled, custom domains separated by commas or
`-`; tab-separated), a JSON object for `show` and `list --json`. Confirmations go to standard
error. Secrets are never shown by `list` or `show`.

Running servers on the same database, however many, pick every change up within about a
second (they ask the database whether tenants changed four times a second): after `disable` or
`rotate-secret`, at most a second of requests may still be answered with the old state.

Settings (SPEC §9.1), for `set` and `add`, as KEY=VALUE:
  time_zone=Europe/Moscow        an IANA time zone name
  first_bill_id=102937           positive integer: the first order number
  api_orders_enabled=true        false: order creation answers 606
  prepayment_enabled=false       partial payments
  prepayment_minsum=1000.00      minimum partial payment
  require_activation=false       AddLeadToGroup subscriptions await activation
  subscribe_limit_per_ip=0       0 = no limit
  unsubscribe_url=               an http(s) URL, or empty
  test_payments=false            the bill page offers test payments (pay, pay part,
                                 decline) without money; `serve --sandbox` offers them to all
Booleans take true/false, 1/0, yes/no or on/off.

Exit status:
  0  done
  1  the database failed
  2  usage or input error (invalid login, setting or domain, unknown tenant, login or domain
     taken)";

/// Manage tenants: add, list, show, disable, enable, rotate-secret, set, domain.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: TenantCommand,
}

#[derive(Subcommand, Debug)]
enum TenantCommand {
    /// Add a tenant; prints its secret when it is generated (it is not shown again).
    Add {
        /// Login: 1-63 characters from a-z, 0-9, '-', '_'; stored in lower case.
        login: String,
        /// The secret; by default 40 random hex characters are generated and printed once.
        #[arg(long, value_name = "S")]
        secret: Option<String>,
        /// A custom domain (host name or IP) that selects this tenant; repeatable.
        #[arg(long = "domain", value_name = "D")]
        domains: Vec<String>,
        /// Settings to start with, as for `set`.
        #[arg(value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// List the tenants.
    List {
        /// One JSON array of the objects `show` prints.
        #[arg(long)]
        json: bool,
    },
    /// Show a tenant's state, domains and settings as JSON (never its secret).
    Show { login: String },
    /// Refuse every API call of a tenant (code 7) until it is enabled again; running servers
    /// pick this up within about a second.
    Disable { login: String },
    /// Serve a disabled tenant again.
    Enable { login: String },
    /// Replace a tenant's secret with a generated one and print it (it is not shown again);
    /// running servers accept only the new one within about a second.
    RotateSecret { login: String },
    /// Change settings (see below).
    Set {
        login: String,
        #[arg(value_name = "KEY=VALUE", required = true)]
        settings: Vec<String>,
    },
    /// Add or remove a custom domain.
    Domain {
        #[command(subcommand)]
        action: DomainAction,
    },
}

#[derive(Subcommand, Debug)]
enum DomainAction {
    /// Let a host name (or IP) select the tenant.
    Add { login: String, domain: String },
    /// Stop a host name selecting the tenant.
    Remove { login: String, domain: String },
}

pub fn run(args: &Args, global: &Global) -> anyhow::Result<u8> {
    match &args.command {
        TenantCommand::Add {
            login,
            secret,
            domains,
            settings,
        } => {
            let login = Login::parse(login).map_err(|_| invalid_login(login))?;
            let generated = secret.is_none();
            let secret = match secret {
                Some(secret) => check_secret(secret)?,
                None => generate_secret()?,
            };
            let domains = domains
                .iter()
                .map(|d| normalize_domain(d))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut tenant_settings = TenantSettings::default();
            for pair in settings {
                apply_setting(&mut tenant_settings, pair)?;
            }
            let new = NewTenant {
                login: login.clone(),
                secret: secret.clone(),
                custom_domains: domains,
                settings: tenant_settings,
            };
            with_store(global, Create::IfMissing, |store| async move {
                add(store.as_ref(), new).await
            })?;
            eprintln!("added tenant {login}");
            if generated {
                eprintln!("its secret follows; it is not shown again");
                println!("{secret}");
            }
            Ok(exit::OK)
        }
        TenantCommand::List { json } => {
            let tenants = with_store(global, Create::Never, |store| async move {
                store
                    .tenants()
                    .await
                    .context("reading the tenants")
                    .map_err(failed)
            })?;
            if *json {
                let all: Vec<Json> = tenants.iter().map(describe).collect();
                print_json(&Json::Array(all))?;
            } else {
                for tenant in &tenants {
                    let domains = if tenant.custom_domains.is_empty() {
                        "-".to_owned()
                    } else {
                        tenant.custom_domains.join(",")
                    };
                    println!(
                        "{}\t{}\t{}",
                        tenant.login,
                        if tenant.enabled {
                            "enabled"
                        } else {
                            "disabled"
                        },
                        domains
                    );
                }
            }
            Ok(exit::OK)
        }
        TenantCommand::Show { login } => {
            let login = login.clone();
            let tenant = with_store(global, Create::Never, |store| async move {
                database::tenant(store.as_ref(), &login).await
            })?;
            print_json(&describe(&tenant))?;
            Ok(exit::OK)
        }
        TenantCommand::Disable { login } | TenantCommand::Enable { login } => {
            let enabled = matches!(args.command, TenantCommand::Enable { .. });
            let login = login.clone();
            let name = update(global, &login, move |tenant| {
                tenant.enabled = enabled;
                Ok(())
            })?;
            let state = if enabled { "enabled" } else { "disabled" };
            eprintln!("tenant {name} {state}; running servers pick this up within about a second");
            Ok(exit::OK)
        }
        TenantCommand::RotateSecret { login } => {
            let secret = generate_secret()?;
            let fresh = secret.clone();
            let name = update(global, login, move |tenant| {
                tenant.secret = fresh;
                Ok(())
            })?;
            eprintln!(
                "new secret of tenant {name} follows; it is not shown again; running servers \
                 accept only it within about a second"
            );
            println!("{secret}");
            Ok(exit::OK)
        }
        TenantCommand::Set { login, settings } => {
            let settings = settings.clone();
            let keys: Vec<&str> = settings
                .iter()
                .map(|pair| pair.split_once('=').map_or(pair.as_str(), |(key, _)| key))
                .collect();
            let keys = keys.join(", ");
            let name = update(global, login, move |tenant| {
                for pair in &settings {
                    apply_setting(&mut tenant.settings, pair)?;
                }
                Ok(())
            })?;
            eprintln!("tenant {name}: set {keys}");
            Ok(exit::OK)
        }
        TenantCommand::Domain { action } => match action {
            DomainAction::Add { login, domain } => {
                let domain = normalize_domain(domain)?;
                let added = domain.clone();
                let name = update(global, login, move |tenant| {
                    if tenant.custom_domains.contains(&added) {
                        bail!("tenant {} already has the domain {added}", tenant.login);
                    }
                    tenant.custom_domains.push(added);
                    Ok(())
                })?;
                eprintln!("tenant {name}: added domain {domain}");
                Ok(exit::OK)
            }
            DomainAction::Remove { login, domain } => {
                let domain = normalize_domain(domain)?;
                let removed = domain.clone();
                let name = update(global, login, move |tenant| {
                    let before = tenant.custom_domains.len();
                    tenant.custom_domains.retain(|d| *d != removed);
                    if tenant.custom_domains.len() == before {
                        bail!("tenant {} has no domain {removed}", tenant.login);
                    }
                    Ok(())
                })?;
                eprintln!("tenant {name}: removed domain {domain}");
                Ok(exit::OK)
            }
        },
    }
}

/// Adds a tenant, telling a taken login or domain (input errors) from storage failures.
async fn add(store: &dyn Store, new: NewTenant) -> anyhow::Result<()> {
    let read_failed = |e: StoreError| failed(anyhow::Error::new(e).context("reading the tenants"));
    if store
        .tenant_by_login(new.login.as_str())
        .await
        .map_err(read_failed)?
        .is_some()
    {
        bail!("a tenant {} already exists", new.login);
    }
    for domain in &new.custom_domains {
        if let Some(owner) = store.tenant_by_domain(domain).await.map_err(read_failed)? {
            bail!(
                "the domain {domain} already belongs to tenant {}",
                owner.login
            );
        }
    }
    match store.add_tenant(new).await {
        Ok(_) => Ok(()),
        // Another process took the login or a domain between the checks and the write.
        Err(StoreError::Conflict(what)) => bail!("{what} is already taken"),
        Err(error) => Err(failed(
            anyhow::Error::new(error).context("adding the tenant"),
        )),
    }
}

/// Reads a tenant, lets `change` edit it and saves it; returns the login.
fn update<F>(global: &Global, login: &str, change: F) -> anyhow::Result<String>
where
    F: FnOnce(&mut Tenant) -> anyhow::Result<()>,
{
    let login = login.to_owned();
    with_store(global, Create::Never, |store| async move {
        let mut tenant = database::tenant(store.as_ref(), &login).await?;
        change(&mut tenant)?;
        for domain in &tenant.custom_domains {
            let owner = store
                .tenant_by_domain(domain)
                .await
                .context("reading the tenants")
                .map_err(failed)?;
            if let Some(owner) = owner.filter(|owner| owner.id != tenant.id) {
                bail!(
                    "the domain {domain} already belongs to tenant {}",
                    owner.login
                );
            }
        }
        match store.save_tenant(&tenant).await {
            Ok(()) => Ok(tenant.login.as_str().to_owned()),
            Err(StoreError::Conflict(what)) => bail!("{what} is already taken"),
            Err(error) => Err(failed(
                anyhow::Error::new(error).context("saving the tenant"),
            )),
        }
    })
}

/// What `show` prints: everything but the secret, with the setting names `set` takes.
fn describe(tenant: &Tenant) -> Json {
    let s = &tenant.settings;
    json!({
        "login": tenant.login.as_str(),
        "enabled": tenant.enabled,
        "custom_domains": tenant.custom_domains,
        "time_zone": s.time_zone.name(),
        "first_bill_id": s.first_bill_id,
        "api_orders_enabled": s.api_orders_enabled,
        "prepayment_enabled": s.prepayment_enabled,
        "prepayment_minsum": s.prepayment_minsum.to_string(),
        "require_activation": s.require_activation,
        "subscribe_limit_per_ip": s.subscribe_limit_per_ip,
        "unsubscribe_url": s.unsubscribe_url,
        "test_payments": s.test_payments,
    })
}

/// The setting names `set` accepts, in the order of SPEC §9.1.
const SETTINGS: &[&str] = &[
    "time_zone",
    "first_bill_id",
    "api_orders_enabled",
    "prepayment_enabled",
    "prepayment_minsum",
    "require_activation",
    "subscribe_limit_per_ip",
    "unsubscribe_url",
    "test_payments",
];

/// Applies one `KEY=VALUE` to `settings`, validating the value as the server would need it.
pub fn apply_setting(settings: &mut TenantSettings, pair: &str) -> anyhow::Result<()> {
    let Some((key, value)) = pair.split_once('=') else {
        bail!("expected KEY=VALUE, got {pair:?}");
    };
    let key = key.trim();
    let trimmed = value.trim();
    match key {
        "time_zone" => {
            settings.time_zone = trimmed.parse::<chrono_tz::Tz>().map_err(|_| {
                anyhow::anyhow!(
                    "time_zone: {trimmed:?} is not an IANA time zone name (such as Europe/Moscow \
                     or UTC; the spelling is case-sensitive)"
                )
            })?;
        }
        "first_bill_id" => {
            settings.first_bill_id = match parse_int(trimmed.as_bytes()) {
                Ok(n) if n > 0 => n,
                _ => bail!("first_bill_id: expected a positive integer, got {value:?}"),
            };
        }
        "api_orders_enabled" => settings.api_orders_enabled = boolean(key, trimmed)?,
        "prepayment_enabled" => settings.prepayment_enabled = boolean(key, trimmed)?,
        "require_activation" => settings.require_activation = boolean(key, trimmed)?,
        "test_payments" => settings.test_payments = boolean(key, trimmed)?,
        "prepayment_minsum" => {
            settings.prepayment_minsum = Money::parse(trimmed.as_bytes()).map_err(|_| {
                anyhow::anyhow!(
                    "prepayment_minsum: expected an amount such as 1000.00, got {value:?}"
                )
            })?;
        }
        "subscribe_limit_per_ip" => {
            settings.subscribe_limit_per_ip = trimmed.parse::<u32>().map_err(|_| {
                anyhow::anyhow!(
                    "subscribe_limit_per_ip: expected an integer of 0 or more, got {value:?}"
                )
            })?;
        }
        "unsubscribe_url" => {
            if !trimmed.is_empty() {
                let url = reqwest::Url::parse(trimmed).map_err(|e| {
                    anyhow::anyhow!("unsubscribe_url: {trimmed:?} is not a URL ({e})")
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    bail!("unsubscribe_url: expected an http:// or https:// URL, got {trimmed:?}");
                }
            }
            settings.unsubscribe_url = trimmed.to_owned();
        }
        _ => bail!(
            "unknown setting {key:?}; the settings are {}",
            SETTINGS.join(", ")
        ),
    }
    Ok(())
}

fn boolean(key: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{key}: expected true or false, got {value:?}"),
    }
}

/// A custom domain as the resolver compares it (SPEC §3.2): lower case, no trailing dot, no
/// port. Host names, IPv4 literals and bracketed IPv6 literals are accepted.
pub fn normalize_domain(domain: &str) -> anyhow::Result<String> {
    let trimmed = domain.trim();
    let host = trimmed
        .strip_suffix('.')
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    let valid = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if !valid {
        bail!(
            "invalid domain {domain:?}: expected a host name such as shop.example, an IPv4 \
             address or a bracketed IPv6 address, without scheme, port or path"
        );
    }
    Ok(host)
}

fn check_secret(secret: &str) -> anyhow::Result<String> {
    if secret.is_empty() {
        bail!("the secret must not be empty");
    }
    if secret.chars().any(char::is_control) {
        bail!("the secret must not contain control characters");
    }
    Ok(secret.to_owned())
}

/// 40 hexadecimal characters (160 bits) from the operating system's CSPRNG, the length of the
/// keys the original service hands out.
pub fn generate_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| failed(anyhow::anyhow!("no randomness for a secret: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_40_hex_characters_and_differ() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn settings_are_validated() {
        let mut s = TenantSettings::default();
        for pair in [
            "time_zone=Asia/Tokyo",
            "first_bill_id=102937",
            "api_orders_enabled=off",
            "prepayment_enabled=1",
            "prepayment_minsum=500.5",
            "require_activation=yes",
            "subscribe_limit_per_ip=3",
            "unsubscribe_url=https://crm.example/unsub.php",
            "test_payments=on",
        ] {
            apply_setting(&mut s, pair).unwrap();
        }
        assert_eq!(s.time_zone, chrono_tz::Asia::Tokyo);
        assert_eq!(s.first_bill_id, 102_937);
        assert!(!s.api_orders_enabled);
        assert!(s.prepayment_enabled);
        assert_eq!(s.prepayment_minsum, Money::from_minor(50_050));
        assert!(s.require_activation);
        assert_eq!(s.subscribe_limit_per_ip, 3);
        assert_eq!(s.unsubscribe_url, "https://crm.example/unsub.php");
        assert!(s.test_payments);
        apply_setting(&mut s, "unsubscribe_url=").unwrap();
        assert_eq!(s.unsubscribe_url, "");

        for bad in [
            "time_zone=Mars/Olympus",
            "time_zone=europe/moscow",
            "first_bill_id=0",
            "first_bill_id=-5",
            "first_bill_id=1e3",
            "api_orders_enabled=maybe",
            "test_payments=sometimes",
            "prepayment_minsum=-1",
            "subscribe_limit_per_ip=-1",
            "unsubscribe_url=ftp://x.example/",
            "unsubscribe_url=not a url",
            "colour=blue",
            "time_zone",
        ] {
            assert!(apply_setting(&mut s, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(normalize_domain("Shop.Example.").unwrap(), "shop.example");
        assert_eq!(normalize_domain("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(normalize_domain("[::1]").unwrap(), "[::1]");
        for bad in [
            "",
            "http://shop.example",
            "shop.example:8080",
            "shop.example/x",
            "a..b",
            "[nope]",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
