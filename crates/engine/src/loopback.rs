//! This machine as a network place: what plain HTTP may reach (`http`), what a proxy never
//! carries (`proxy`), where a local emulator plays a virtual-hosted bucket (`transfer::form`).

/// Whether `url`'s host is this machine: a loopback address, `localhost`, or a name under
/// `.localhost`, which RFC 6761 reserves for loopback (a local emulator can then play a
/// virtual-hosted bucket, `bucket.oss-….localhost`).
pub(crate) fn on_this_machine(url: &url::Url) -> bool {
    use url::Host;
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}
