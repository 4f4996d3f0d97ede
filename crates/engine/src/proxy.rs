//! Proxies, for people who reach the cloud through one (corporate networks). Three modes, in
//! the prefs as [`ProxyPrefs`]:
//!
//! - `system` (the default): `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones,
//!   `ALL_PROXY` for either when those are unset, and `NO_PROXY` (each also lowercase), as curl
//!   reads them. An app started from the desktop menu usually has none of these: then direct.
//! - `manual`: one proxy URL (`http://`, `https://`, `socks5://` or `socks5h://`) for every
//!   request, an optional user whose password is in the OS keyring (never in the settings
//!   file), and a "no proxy for" list. The environment is not read at all: the setting wins.
//! - `off`: direct, whatever the environment says.
//!
//! The "no proxy for" list has `NO_PROXY`'s syntax: comma-separated host names (each also
//! matching its subdomains; a leading dot is the same), IP addresses, CIDR ranges, or `*`.
//! In `system` mode a list in the prefs replaces `NO_PROXY`.
//!
//! This machine is never reached through a proxy (`localhost`, `*.localhost`, loopback
//! addresses): the built-in sandbox and local test servers are on 127.0.0.1, a proxy elsewhere
//! could not reach them, and plain HTTP carries secrets only to this machine
//! (`http::require_tls_off_loopback`). Tests switch that off with `TWINDROP_TEST_PROXY_LOOPBACK=1`
//! to route a loopback emulator through a loopback proxy: a non-loopback-looking name pinned
//! to 127.0.0.1 with reqwest's `resolve` would not do, since through a proxy the *proxy*
//! resolves the name, and plain HTTP to such a name is refused anyway.
//!
//! The route is one per process ([`set_route`]), like the environment variables it stands in
//! for, and it is read on every request ([`Route::proxy_for`], installed into every client by
//! `http::http_builder`): a change in Settings reaches the open session's clients without
//! rebuilding them. Connections already open (pooled) finish their life on the old route.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock, RwLock};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::credentials::Secret;
use crate::error::{Error, Invalid, Result};

/// The keyring entry of the proxy's password. A profile is named after a host name, which
/// cannot hold `@`: no profile can take this entry.
pub const PASSWORD_ENTRY: &str = "@proxy";

/// Set to `1` (tests only): loopback URLs go through the proxy too.
pub const TEST_LOOPBACK_VAR: &str = "TWINDROP_TEST_PROXY_LOOPBACK";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// The environment's `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
    #[default]
    System,
    /// The URL of the prefs.
    Manual,
    /// Direct, whatever the environment says.
    Off,
}

/// The proxy part of the prefs. Never the password: that is in the keyring ([`PASSWORD_ENTRY`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(default, rename_all = "camelCase")]
pub struct ProxyPrefs {
    pub mode: ProxyMode,
    /// `http://host:port` (also `https://`, `socks5://`, `socks5h://`); used in `manual` mode.
    pub url: Option<String>,
    /// The proxy's user, in `manual` mode; its password is in the keyring.
    pub username: Option<String>,
    /// Hosts, domains, IPs and CIDR ranges reached directly, comma-separated (`NO_PROXY`'s syntax).
    pub no_proxy: Option<String>,
}

fn invalid(message: String) -> Error {
    Error::invalid(Invalid::Proxy, message)
}

fn blank_to_none(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ProxyPrefs {
    /// Check every field and write them in canonical form (trimmed; the list as `a,b,c`). The
    /// error (`proxy.invalid`) names the value that is wrong.
    pub fn validated(self) -> Result<Self> {
        let url = blank_to_none(self.url).map(|u| parse_proxy_url(&u).map(|_| u)).transpose()?;
        if self.mode == ProxyMode::Manual && url.is_none() {
            return Err(invalid("proxy: manual mode needs a proxy URL, such as http://proxy.example:3128".into()));
        }
        let username = blank_to_none(self.username);
        if let Some(user) = &username {
            if user.contains(':') || user.chars().any(char::is_control) {
                return Err(invalid(format!("proxy: the user {user:?} cannot hold ':' or control characters")));
            }
        }
        let no_proxy = blank_to_none(self.no_proxy).map(|l| NoProxy::parse(&l).map(|n| n.to_string())).transpose()?;
        Ok(ProxyPrefs { mode: self.mode, url, username, no_proxy: no_proxy.filter(|l| !l.is_empty()) })
    }

    /// The CLI's `--proxy` and `--no-proxy` over these prefs, for one run: `--proxy` takes a URL
    /// (manual mode, keeping the user of the prefs), `system` or `off`; `--no-proxy` replaces
    /// the list in any mode.
    pub fn overridden(mut self, proxy: Option<&str>, no_proxy: Option<&str>) -> Result<Self> {
        match proxy.map(str::trim) {
            None => {}
            Some("off" | "none" | "direct") => self.mode = ProxyMode::Off,
            Some("system" | "env") => self.mode = ProxyMode::System,
            Some(url) => {
                self.mode = ProxyMode::Manual;
                self.url = Some(url.to_owned());
            }
        }
        if let Some(list) = no_proxy {
            self.no_proxy = Some(list.to_owned());
        }
        self.validated()
    }

    /// The route these prefs give, with the proxy's password (`None`: ask no password).
    pub fn route(&self, password: Option<&Secret>) -> Result<Route> {
        let prefs = self.clone().validated()?;
        let list = prefs.no_proxy.as_deref().map(NoProxy::parse).transpose()?;
        let through_loopback = std::env::var(TEST_LOOPBACK_VAR).as_deref() == Ok("1");
        match prefs.mode {
            ProxyMode::Off => Ok(Route { through_loopback, ..Route::direct() }),
            ProxyMode::System => {
                let mut route = Route::from_env();
                if let Some(list) = list {
                    route.no_proxy = list;
                }
                Ok(route)
            }
            ProxyMode::Manual => {
                let mut url = parse_proxy_url(prefs.url.as_deref().expect("validated: manual has a URL"))?;
                if let Some(user) = &prefs.username {
                    let ok = url.set_username(user).is_ok() && url.set_password(password.map(Secret::expose)).is_ok();
                    if !ok {
                        return Err(invalid(format!("proxy: {} cannot carry a user", redacted(&url))));
                    }
                }
                Ok(Route {
                    http: Some(url.clone()),
                    https: Some(url),
                    no_proxy: list.unwrap_or_default(),
                    through_loopback,
                })
            }
        }
    }
}

/// A proxy URL as a person writes it, checked. A password written into it is refused: it
/// would then sit in the settings file.
pub fn parse_proxy_url(text: &str) -> Result<Url> {
    let text = text.trim();
    let bad = |why: &str| invalid(format!("proxy: {:?} {why}", crate::redact::redact_text(text)));
    let url = Url::parse(text)
        .map_err(|_| bad("is not a proxy URL; write it as http://host:port (or https://, socks5://, socks5h://)"))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(bad("has a scheme Twindrop cannot use; use http://, https://, socks5:// or socks5h://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("names no host"));
    }
    if url.password().is_some() || !url.username().is_empty() {
        return Err(invalid(
            "proxy: put the user in its own field and the password in the keyring, not in the URL".into(),
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a path or query; a proxy URL is only scheme://host:port"));
    }
    Ok(url)
}

/// `url` without its user and password, for messages.
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// A "no proxy for" list (`NO_PROXY`'s syntax, as curl reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    nets: Vec<ipnet::IpNet>,
    domains: Vec<String>,
}

impl NoProxy {
    /// Parse a list; an entry that is no host name, address, range or `*` is refused by name.
    pub fn parse(list: &str) -> Result<NoProxy> {
        let mut parsed = NoProxy::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                parsed.all = true;
            } else if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                parsed.nets.push(net);
            } else if let Ok(ip) = entry.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                parsed.nets.push(ip.into());
            } else {
                let domain = entry.trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
                let fine = !domain.is_empty()
                    && domain.split('.').all(|label| {
                        !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    });
                if !fine {
                    return Err(invalid(format!(
                        "no proxy for: {entry:?} is not a host name, IP address, CIDR range or *"
                    )));
                }
                parsed.domains.push(domain);
            }
        }
        Ok(parsed)
    }

    /// Whether `host` (a URL's host; an IPv6 one in brackets or not) is on the list.
    pub fn contains(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.nets.iter().any(|n| n.contains(&ip));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().any(|d| host == *d || host.strip_suffix(d.as_str()).is_some_and(|rest| rest.ends_with('.')))
    }
}

impl std::fmt::Display for NoProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let all = self.all.then(|| "*".to_owned());
        let nets = self.nets.iter().map(|n| {
            if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            }
        });
        let entries: Vec<String> = all.into_iter().chain(nets).chain(self.domains.iter().cloned()).collect();
        f.write_str(&entries.join(","))
    }
}

/// Where each request goes: which proxy for http and https URLs (with its credentials), and
/// which hosts go direct.
#[derive(Clone, Default)]
pub struct Route {
    http: Option<Url>,
    https: Option<Url>,
    no_proxy: NoProxy,
    through_loopback: bool,
}

impl std::fmt::Debug for Route {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("http", &self.http.as_ref().map(redacted))
            .field("https", &self.https.as_ref().map(redacted))
            .field("no_proxy", &self.no_proxy.to_string())
            .finish()
    }
}

impl Route {
    /// No proxy at all.
    pub fn direct() -> Route {
        Route::default()
    }

    /// The environment's proxies, as curl reads them. A variable that is no usable proxy URL is
    /// ignored with a warning rather than failing every request.
    pub fn from_env() -> Route {
        let var = |names: &[&str]| {
            names.iter().find_map(|n| std::env::var(n).ok()).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
        };
        let proxy = |names: &[&str]| {
            let value = var(names)?;
            // A bare `host:port` is an http proxy, as curl takes it.
            let with_scheme = if value.contains("://") { value.clone() } else { format!("http://{value}") };
            match Url::parse(&with_scheme) {
                Ok(url) if matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") && url.host().is_some() => {
                    Some(url)
                }
                _ => {
                    tracing::warn!("{}: not a proxy URL Twindrop can use; ignored", names[0]);
                    None
                }
            }
        };
        let all = proxy(&["ALL_PROXY", "all_proxy"]);
        // Under CGI, HTTP_PROXY may be the request's `Proxy:` header (httpoxy): not trusted.
        let http = match std::env::var_os("REQUEST_METHOD") {
            Some(_) => None,
            None => proxy(&["HTTP_PROXY", "http_proxy"]),
        };
        let https = proxy(&["HTTPS_PROXY", "https_proxy"]);
        let no_proxy = var(&["NO_PROXY", "no_proxy"])
            .map(|l| {
                NoProxy::parse(&l).unwrap_or_else(|e| {
                    tracing::warn!("NO_PROXY: {e}; ignored");
                    NoProxy::default()
                })
            })
            .unwrap_or_default();
        Route {
            http: http.or_else(|| all.clone()),
            https: https.or(all),
            no_proxy,
            through_loopback: std::env::var(TEST_LOOPBACK_VAR).as_deref() == Ok("1"),
        }
    }

    /// The proxy for `url` (its user and password in it), or `None` to go direct.
    pub fn proxy_for(&self, url: &Url) -> Option<Url> {
        if crate::loopback::on_this_machine(url) && !self.through_loopback {
            return None;
        }
        let proxy = match url.scheme() {
            "https" => self.https.as_ref()?,
            "http" => self.http.as_ref()?,
            _ => return None,
        };
        if self.no_proxy.contains(url.host_str()?) {
            return None;
        }
        Some(proxy.clone())
    }

    /// How requests to `url` go, for the doctor: "direct", or "through proxy URL" without its
    /// credentials.
    pub fn describe_for(&self, url: &Url) -> String {
        match self.proxy_for(url) {
            Some(proxy) => format!("through proxy {}", redacted(&proxy)),
            None => "direct".into(),
        }
    }

    /// The proxy https URLs go through, without its credentials (for messages, the doctor).
    pub fn describe(&self) -> String {
        match (&self.https, &self.http) {
            (None, None) => "direct".into(),
            (Some(p), _) | (None, Some(p)) => redacted(p),
        }
    }
}

static ROUTE: LazyLock<RwLock<Arc<Route>>> = LazyLock::new(|| RwLock::new(Arc::new(Route::from_env())));

/// The process's route from now on, for every client the engine built or will build.
pub fn set_route(route: Route) {
    tracing::info!(proxy = %route.describe(), "network route");
    *ROUTE.write().expect("proxy route lock") = Arc::new(route);
}

/// The process's route: the last [`set_route`], or the environment's until then.
pub fn route() -> Arc<Route> {
    ROUTE.read().expect("proxy route lock").clone()
}

/// Apply `prefs` to the process ([`set_route`]). The password is `password` when given (the
/// CLI's `TWINDROP_PROXY_PASSWORD`), else the keyring's when the prefs name a user. A user
/// with no password stored is refused here, not by the proxy's 407 on every request.
pub async fn configure(prefs: &ProxyPrefs, password: Option<Secret>) -> Result<()> {
    let needs_password = prefs.mode == ProxyMode::Manual && blank_to_none(prefs.username.clone()).is_some();
    let password = match (needs_password, password) {
        (false, _) => None,
        (true, Some(given)) => Some(given),
        (true, None) => Some(load_password().await?.ok_or_else(|| {
            invalid(
                "proxy: the proxy's user has no password in the keyring; set it in Settings (or TWINDROP_PROXY_PASSWORD)"
                    .into(),
            )
        })?),
    };
    set_route(prefs.route(password.as_ref())?);
    Ok(())
}

/// The proxy's password from the keyring, `None` when none is stored.
pub async fn load_password() -> Result<Option<Secret>> {
    match crate::credentials::load_secret(PASSWORD_ENTRY).await {
        Ok(secret) => Ok(Some(secret)),
        Err(Error::NoSecret(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Store the proxy's password in the keyring; `None` or blank removes it.
pub async fn save_password(password: Option<&str>) -> Result<()> {
    match password.filter(|p| !p.is_empty()) {
        Some(p) => crate::credentials::save_secret(PASSWORD_ENTRY, &Secret::new(p)).await,
        None => crate::credentials::delete_secret(PASSWORD_ENTRY).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn manual(proxy: &str, no_proxy: Option<&str>) -> ProxyPrefs {
        ProxyPrefs {
            mode: ProxyMode::Manual,
            url: Some(proxy.into()),
            username: None,
            no_proxy: no_proxy.map(str::to_owned),
        }
    }

    #[test]
    fn bad_proxy_urls_are_refused_by_name() {
        for bad in ["ftp://proxy:21", "proxy.example:3128", "http://", "http://proxy:3128/path", "http://p:1?x=1"] {
            let e = manual(bad, None).validated().unwrap_err();
            assert_eq!(e.code(), "proxy.invalid", "{bad}");
        }
        let e = manual("ftp://proxy.corp:21", None).validated().unwrap_err();
        assert!(e.to_string().contains("\"ftp://proxy.corp:21\""), "{e}");
        // A password in the URL would be written to the settings file: refused, and not echoed.
        let e = manual("http://alice:hunter2@proxy:3128", None).validated().unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = ProxyPrefs { mode: ProxyMode::Manual, ..ProxyPrefs::default() }.validated().unwrap_err();
        assert!(e.to_string().contains("needs a proxy URL"), "{e}");
        for good in ["http://proxy:3128", "https://proxy.corp:8443/", "socks5h://127.0.0.1:1080", " http://[::1]:3128 "]
        {
            assert!(manual(good, None).validated().is_ok(), "{good}");
        }
        // The URL is kept (checked) in the other modes, so switching back loses nothing.
        let kept = ProxyPrefs { mode: ProxyMode::Off, url: Some(" http://p:1 ".into()), ..ProxyPrefs::default() };
        assert_eq!(kept.validated().unwrap().url.as_deref(), Some("http://p:1"));
    }

    #[test]
    fn the_no_proxy_list_has_curls_syntax() {
        let list = NoProxy::parse(" .corp.example, 10.0.0.0/8 ,192.168.1.7, [::1], intranet, ").unwrap();
        assert_eq!(list.to_string(), "10.0.0.0/8,192.168.1.7,::1,corp.example,intranet");
        for direct in ["corp.example", "files.corp.example", "10.2.3.4", "192.168.1.7", "::1", "[::1]", "INTRANET"] {
            assert!(list.contains(direct), "{direct}");
        }
        for proxied in ["notcorp.example", "example", "192.168.1.8", "11.0.0.1", "intranet.other"] {
            assert!(!list.contains(proxied), "{proxied}");
        }
        assert!(NoProxy::parse("*").unwrap().contains("anything.at.all"));
        let e = NoProxy::parse("good.host, bad host").unwrap_err();
        assert_eq!(e.code(), "proxy.invalid");
        assert!(e.to_string().contains("\"bad host\""), "{e}");
        assert_eq!(manual("http://p:1", Some(" a.b , c ")).validated().unwrap().no_proxy.as_deref(), Some("a.b,c"));
    }

    #[test]
    fn a_manual_route_sends_everything_but_the_list_and_this_machine_through_the_proxy() {
        let prefs =
            ProxyPrefs { username: Some("alice".into()), ..manual("http://proxy.corp:3128", Some("corp.example")) };
        let route = prefs.route(Some(&Secret::new("s3cr:t@"))).unwrap();
        let through = route.proxy_for(&url("https://api.trustedtwin.com/twins")).unwrap();
        assert_eq!((through.username(), through.password()), ("alice", Some("s3cr%3At%40")));
        assert_eq!(through.host_str(), Some("proxy.corp"));
        assert!(route.proxy_for(&url("http://storage.example/upload")).is_some());
        assert!(route.proxy_for(&url("https://files.corp.example/x")).is_none(), "on the list");
        for local in
            ["http://127.0.0.1:8080/", "http://localhost:1/", "http://[::1]:9/", "http://bucket.oss.localhost:5/"]
        {
            assert!(route.proxy_for(&url(local)).is_none(), "{local} is this machine");
        }
        assert!(!format!("{route:?}").contains("s3cr"), "{route:?}");
        assert_eq!(route.describe(), "http://proxy.corp:3128/");
        let off = ProxyPrefs { mode: ProxyMode::Off, ..prefs.clone() }.route(None).unwrap();
        assert!(off.proxy_for(&url("https://api.trustedtwin.com/")).is_none());
    }

    #[test]
    fn command_line_flags_override_the_prefs() {
        let prefs = ProxyPrefs { username: Some("alice".into()), ..manual("http://proxy.corp:3128", Some("a.b")) };
        let o = prefs.clone().overridden(Some("http://other:8080"), None).unwrap();
        assert_eq!(
            (o.mode, o.url.as_deref(), o.username.as_deref()),
            (ProxyMode::Manual, Some("http://other:8080"), Some("alice"))
        );
        assert_eq!(o.no_proxy.as_deref(), Some("a.b"));
        assert_eq!(prefs.clone().overridden(Some("off"), None).unwrap().mode, ProxyMode::Off);
        assert_eq!(prefs.clone().overridden(None, Some("x.y")).unwrap().no_proxy.as_deref(), Some("x.y"));
        assert_eq!(ProxyPrefs::default().overridden(Some("ftp://x"), None).unwrap_err().code(), "proxy.invalid");
    }
}
