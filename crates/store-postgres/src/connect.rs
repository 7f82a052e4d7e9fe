//! From [`PostgresOptions`] to a connection configuration: the URL, the session settings every
//! connection starts with, and TLS as libpq's `sslmode` asks for it.
//!
//! Nothing here puts the URL, or any part of it, into an error: it may carry a password.

use crate::db::describe;
use crate::PostgresOptions;
use clickbill_domain::StoreError;
use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, WebPkiServerVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres::config::SslMode as WireSslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// What libpq's `sslmode` asks for. `allow` is left out: it would fall back to plain text only
/// after the server refused it, which `prefer` does better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, without checking its certificate (libpq's default).
    Prefer,
    /// TLS or no connection, without checking the certificate.
    Require,
    /// TLS with a certificate signed by a trusted authority, for whatever host name.
    VerifyCa,
    /// TLS with a trusted certificate for the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, StoreError> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(StoreError::Backend(format!(
                    "the database URL has sslmode={text:?}; use disable, prefer, require, \
                     verify-ca or verify-full"
                )))
            }
        })
    }

    fn wire(self) -> WireSslMode {
        match self {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Prefer => WireSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireSslMode::Require,
        }
    }
}

/// How to open a connection: the driver's configuration and the TLS connector it uses.
pub(crate) struct Connector {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) tls: MakeRustlsConnect,
}

/// The URL split into what the driver reads and the TLS parameters it does not know.
#[derive(Debug, PartialEq, Eq)]
struct ParsedUrl {
    /// The URL without `sslmode` and `sslrootcert`.
    rest: String,
    ssl_mode: SslMode,
    /// A PEM file of the authorities to trust instead of the public web's.
    root_cert: Option<String>,
}

fn parse_url(url: &str) -> Result<ParsedUrl, StoreError> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(StoreError::Backend(
            "the database URL must start with postgres:// or postgresql://".into(),
        ));
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut ssl_mode = SslMode::Prefer;
    let mut root_cert = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || {
            percent_decode_str(value)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(|_| StoreError::Backend(format!("the database URL's {key} is not UTF-8")))
        };
        match key {
            "sslmode" => ssl_mode = SslMode::parse(&decoded()?)?,
            "sslrootcert" => root_cert = Some(decoded()?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(ParsedUrl {
        rest,
        ssl_mode,
        root_cert,
    })
}

/// A schema name that needs no quoting anywhere: PostgreSQL folds unquoted names to lower
/// case, and the name goes unquoted into the `search_path` startup option.
fn check_schema_name(name: &str) -> Result<(), StoreError> {
    let valid = (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
        && !name.starts_with("pg_");
    if valid {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "schema name {name:?}: use 1–63 lower-case letters, digits and underscores, \
             not starting with a digit or pg_"
        )))
    }
}

pub(crate) fn connector(options: &PostgresOptions) -> Result<Connector, StoreError> {
    let url = parse_url(&options.url)?;
    let mut config = tokio_postgres::Config::from_str(&url.rest)
        .map_err(|e| StoreError::Backend(format!("the database URL: {}", describe(&e))))?;
    config.ssl_mode(url.ssl_mode.wire());
    config.connect_timeout(options.connect_timeout);
    // Session settings travel in the startup packet, so every connection has them before its
    // first statement, without a round trip.
    let mut settings = config.get_options().map(str::to_owned).unwrap_or_default();
    let timeout_ms = options.statement_timeout.as_millis().max(1);
    settings.push_str(&format!(" -c statement_timeout={timeout_ms}"));
    if let Some(schema) = &options.schema {
        check_schema_name(schema)?;
        settings.push_str(&format!(" -c search_path={schema}"));
    }
    config.options(settings.trim_start());
    Ok(Connector {
        config,
        tls: MakeRustlsConnect::new(tls_config(url.ssl_mode, url.root_cert.as_deref())?),
    })
}

fn tls_config(mode: SslMode, root_cert: Option<&str>) -> Result<ClientConfig, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Backend(format!("TLS setup: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Lenient {
            roots: None,
            provider,
        }),
        SslMode::VerifyCa => Arc::new(Lenient {
            roots: Some(Arc::new(trusted_roots(root_cert)?)),
            provider,
        }),
        SslMode::VerifyFull => WebPkiServerVerifier::builder_with_provider(
            Arc::new(trusted_roots(root_cert)?),
            provider,
        )
        .build()
        .map_err(|e| StoreError::Backend(format!("TLS setup: {e}")))?,
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The authorities in `root_cert` (a PEM file, libpq's `sslrootcert`), or else those the
/// public web trusts.
fn trusted_roots(root_cert: Option<&str>) -> Result<RootCertStore, StoreError> {
    let Some(path) = root_cert else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let unreadable = |e: &dyn std::fmt::Display| {
        StoreError::Backend(format!("sslrootcert {path:?} cannot be read: {e}"))
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        let cert = cert.map_err(|e| unreadable(&e))?;
        roots.add(cert).map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"it holds no certificate"));
    }
    Ok(roots)
}

/// The checks of the modes below `verify-full`: with `roots`, the certificate must chain to one
/// of them (`verify-ca`); without, any certificate is accepted (`prefer`, `require`). Either
/// way the server must prove it holds the certificate's key.
#[derive(Debug)]
struct Lenient {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn options(url: &str) -> PostgresOptions {
        PostgresOptions::new(url)
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_the_url() {
        let parsed =
            parse_url("postgres://u:p@h:5432/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca%20x.pem")
                .unwrap();
        assert_eq!(
            parsed,
            ParsedUrl {
                rest: "postgres://u:p@h:5432/db?application_name=x".into(),
                ssl_mode: SslMode::VerifyFull,
                root_cert: Some("/etc/ca x.pem".into()),
            }
        );
        let plain = parse_url("postgresql://h/db").unwrap();
        assert_eq!(plain.rest, "postgresql://h/db");
        assert_eq!(plain.ssl_mode, SslMode::Prefer, "libpq's default");
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
        ] {
            let parsed = parse_url(&format!("postgres://h/db?sslmode={text}")).unwrap();
            assert_eq!(
                (parsed.ssl_mode, parsed.rest.as_str()),
                (mode, "postgres://h/db")
            );
        }
    }

    #[test]
    fn errors_never_show_the_url() {
        let secret = "hunter2-secret";
        for url in [
            format!("postgres://u:{secret}@h/db?sslmode=sometimes"),
            format!("mysql://u:{secret}@h/db"),
            format!("postgres://u:{secret}@h:notaport/db"),
            format!("postgres://u:{secret}@h/db?bogus_option=1"),
            format!("postgres://u:{secret}@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem"),
        ] {
            let Err(error) = connector(&options(&url)) else {
                panic!("{url} should be refused");
            };
            let text = error.to_string();
            assert!(!text.contains(secret), "{text}");
            assert!(matches!(error, StoreError::Backend(_)), "{text}");
        }
    }

    #[test]
    fn sessions_get_the_statement_timeout_and_the_schema() {
        let mut with_schema = options("postgres://h/db?options=-c%20work_mem%3D8MB");
        with_schema.statement_timeout = Duration::from_millis(2500);
        with_schema.schema = Some("tenant_store_1".into());
        let connector = connector(&with_schema).unwrap();
        assert_eq!(
            connector.config.get_options(),
            Some("-c work_mem=8MB -c statement_timeout=2500 -c search_path=tenant_store_1")
        );
        assert_eq!(connector.config.get_ssl_mode(), WireSslMode::Prefer);

        for bad in [
            "",
            "Upper",
            "9lives",
            "pg_catalog",
            "a b",
            "x;drop",
            &"a".repeat(64),
        ] {
            let mut options = options("postgres://h/db");
            options.schema = Some(bad.to_owned());
            assert!(super::connector(&options).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn verifying_modes_require_tls_and_a_root_store() {
        for mode in ["require", "verify-ca", "verify-full"] {
            let connector = connector(&options(&format!("postgres://h/db?sslmode={mode}")))
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
            assert_eq!(
                connector.config.get_ssl_mode(),
                WireSslMode::Require,
                "{mode}"
            );
        }
        let disabled = connector(&options("postgres://h/db?sslmode=disable")).unwrap();
        assert_eq!(disabled.config.get_ssl_mode(), WireSslMode::Disable);
    }
}
