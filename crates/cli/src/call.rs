//! `clickbill call`: any API method through the SDK, signed, with the answer verified.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context};
use clickbill_client::{Auth, CallOptions, Client, ClientError, Data, Key};
use php_form::Map;

use crate::{exit, failed};

const LONG_ABOUT: &str = "\
Call any API method through the Rust SDK: the parameters are signed as PHP clients sign them
(API 1.0 hash; with --key-auth the secret goes as the API 2.0 `rpsKey` instead), POSTed to
URL/api/METHOD, and the answer is accepted only when its hash verifies.

Parameters are KEY=VALUE, taken literally (no percent-decoding). Keys nest exactly as PHP nests
form fields: `goods[0][good_name]=code1 goods[0][good_sum]=1000` is one goods entry,
`bill_paff[]=5 bill_paff[]=17` a list, `utm[utm_source]=mail` a nested value.";

const AFTER_HELP: &str = "\
Prints the response body (the JSON envelope) exactly as received, followed by a newline; with
--pretty, the envelope re-indented. When the answer cannot be accepted the reason goes to
standard error (and the body, if any, to standard output).

Exit status:
  0  the answer verifies and its error_code is 0
  1  error_code is not 0, the answer's hash does not verify, the answer is not an envelope, or
     the server cannot be reached
  2  usage error (a parameter without '=', an invalid URL)

Examples:
  clickbill call --url http://demo.localhost:8080 --login demo --secret secret \\
      CreateOrder bill_email=client@example.com goods[0][good_name]=code1
  clickbill call --login demo --secret secret --idempotency-key order-0001 \\
      CreateOrder bill_email=client@example.com goods[0][good_name]=code1
  clickbill call --login demo --secret secret --key-auth createorder \\
      customer_email=client@example.com product_names=code1,code2";

#[derive(clap::Args, Debug)]
#[command(
    about = "Call an API method (signed) and print the verified answer",
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Base URL of the tenant [default: http://LOGIN.localhost:8080]
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Tenant login (signs the request).
    #[arg(long, value_name = "L")]
    login: String,

    /// Tenant secret (signs the request, verifies the answer).
    #[arg(
        long,
        value_name = "S",
        env = "CLICKBILL_SECRET",
        hide_env_values = true
    )]
    secret: String,

    /// Re-indent the answer instead of printing it byte for byte.
    #[arg(long)]
    pretty: bool,

    /// Authenticate with the API 2.0 key (`rpsKey`) instead of a signature. The secret then
    /// travels in the body: use it over TLS or on loopback only.
    #[arg(long)]
    key_auth: bool,

    /// Send `Idempotency-Key: KEY`, so that repeating the call (same key, same parameters)
    /// within 24 hours returns the first answer instead of running the method again.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,

    /// Give up after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,

    /// The API method, e.g. getOrderDetails, CreateOrder, GetAllGoods.
    #[arg(value_name = "METHOD")]
    method: String,

    /// Parameters as KEY=VALUE.
    #[arg(value_name = "KEY=VALUE")]
    params: Vec<String>,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let params = params(&args.params)?;
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}.localhost:8080", args.login));
    let client = Client::builder(&url, args.login.as_str(), args.secret.as_str())
        .timeout(Duration::from_secs(args.timeout.max(1)))
        .build()
        .context("invalid --url")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(failed)?;
    let mut options = CallOptions::new();
    if args.key_auth {
        options = options.auth(Auth::Key);
    }
    if let Some(key) = &args.idempotency_key {
        options = options.idempotency_key(key.as_str());
    }
    let outcome = runtime.block_on(client.call_with_options(&args.method, &params, &options));
    match outcome {
        Ok(response) => {
            print_body(&response.body, args.pretty)?;
            if response.is_success() {
                Ok(exit::OK)
            } else {
                eprintln!(
                    "clickbill: {}: error {}: {}",
                    args.method, response.error_code, response.error_text
                );
                Ok(exit::CHECK_FAILED)
            }
        }
        Err(error) => {
            if let Some(body) = error.body() {
                print_body(body, args.pretty)?;
            }
            match &error {
                ClientError::BadResponseHash { .. } => eprintln!(
                    "clickbill: error: {error} (a wrong --secret, or the answer did not come \
                     from the server)"
                ),
                _ => eprintln!("clickbill: error: {error}"),
            }
            Ok(exit::CHECK_FAILED)
        }
    }
}

/// Builds the parameter tree from `KEY=VALUE` arguments the way PHP builds `$_POST` from form
/// fields of those names: brackets nest, `[]` appends, a repeated key replaces, `.` and ` ` in
/// the base name become `_`.
pub fn params(pairs: &[String]) -> anyhow::Result<Vec<(Key, Data)>> {
    let mut map = Map::new();
    let depth = php_form::Limits::default().max_depth;
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("expected KEY=VALUE, got {pair:?}");
        };
        if key.is_empty() {
            bail!("expected KEY=VALUE with a non-empty KEY, got {pair:?}");
        }
        php_form::register_variable(&mut map, key.as_bytes(), value.as_bytes().to_vec(), depth);
    }
    // A map always converts to an array; the fallback only spares a panic path.
    let Data::Array(entries) = Data::from(&map) else {
        return Ok(Vec::new());
    };
    Ok(entries)
}

fn print_body(body: &[u8], pretty: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let pretty_text = pretty
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|value| serde_json::to_string_pretty(&value).ok());
    match pretty_text {
        Some(text) => out.write_all(text.as_bytes()),
        None => out.write_all(body),
    }
    .and_then(|()| {
        if body.ends_with(b"\n") && !pretty {
            Ok(())
        } else {
            out.write_all(b"\n")
        }
    })
    .and_then(|()| out.flush())
    .context("writing to standard output")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[&str]) -> String {
        let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        String::from_utf8(php_form::build_query_data(&params(&pairs).unwrap())).unwrap()
    }

    #[test]
    fn keys_nest_as_php_nests_them() {
        assert_eq!(
            query(&[
                "bill_email=a@b.ru",
                "goods[0][good_name]=code1",
                "goods[0][good_sum]=1000",
                "goods[1][good_name]=code2",
            ]),
            "bill_email=a%40b.ru&goods%5B0%5D%5Bgood_name%5D=code1&goods%5B0%5D%5Bgood_sum%5D=1000\
             &goods%5B1%5D%5Bgood_name%5D=code2"
        );
        assert_eq!(
            query(&["bill_paff[]=5", "bill_paff[]=17"]),
            "bill_paff%5B0%5D=5&bill_paff%5B1%5D=17"
        );
        assert_eq!(query(&["a.b=1", "a=x", "a=y"]), "a_b=1&a=y");
        assert_eq!(
            query(&["comment=50% off & more=yes"]),
            "comment=50%25+off+%26+more%3Dyes"
        );
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn pairs_need_an_equals_sign_and_a_key() {
        assert!(params(&["bill_id".into()]).is_err());
        assert!(params(&["=5".into()]).is_err());
        assert!(params(&["bill_id=".into()]).is_ok());
    }
}
