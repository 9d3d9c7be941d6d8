//! Signed webhooks: an institution admin registers the institution's one
//! HTTPS endpoint ([`set_webhook`]) and reads its latest deliveries
//! ([`read_webhook`]); the broker posts every entry of the institution's
//! event feed to it, as a JWS signed with the broker's key
//! ([`delivery_jws`]; receivers verify it against `/v1/broker/jwks`).
//! The outbox row is written with the feed entry, in its transaction
//! (`doorstroom_store::events::append`); the server's deliverer sends it.
//!
//! Registering is the registry's business, under the same policy as an
//! institution's client certificates (`manage_certificates`: the
//! institution's admin, or the broker's); reading the deliveries is
//! `read_credentials` (admin, privacy officer, the institution's system).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use doorstroom_api::events::{DeliveryView, WebhookRequest, WebhookStatus, WebhookView};
use doorstroom_domain::{Action, Brin, Purpose, Resource, ResourceKind, ResourceRef};
use doorstroom_store::events::FeedEvent;
use doorstroom_store::webhooks;
use serde_json::json;

use crate::{Access, App, AppError, Caller, perform_in};

/// The `typ` of a delivery's JWS.
pub const DELIVERY_TYP: &str = "doorstroom-event+jwt";

/// The most bytes of a CA PEM an admin may upload.
const MAX_CA_PEM: usize = 64 * 1024;

/// Whether `ip` is an address a webhook may not reach unless the
/// development setting allows it: loopback, private, link-local, shared
/// (CGNAT), unspecified, multicast, documentation, unique-local, and IPv4
/// mapped into IPv6 of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
            }
        },
    }
}

/// The endpoint's URL as the rules allow it: `https`, a host, no user or
/// password, no fragment; an address literal must not be internal unless
/// `allow_internal`. (A host name is resolved, and its addresses checked,
/// at every delivery.)
pub fn checked_url(raw: &str, allow_internal: bool) -> Result<url::Url, AppError> {
    let bad = |detail: &str| AppError::invalid("/url", format!("url: {detail}"));
    let url = url::Url::parse(raw).map_err(|_| bad("not a URL"))?;
    if url.scheme() != "https" {
        return Err(bad("must be https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not hold a user or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let internal = match url.host() {
        None => return Err(bad("must name a host")),
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"),
    };
    if internal && !allow_internal {
        return Err(bad("a loopback, private or link-local address is not allowed"));
    }
    Ok(url)
}

fn checked_ca(ca_pem: Option<&str>) -> Result<Option<&str>, AppError> {
    let Some(pem) = ca_pem else { return Ok(None) };
    // Parsed, not only looked at: a PEM block that is no certificate would
    // otherwise fail every delivery instead of the registration.
    let parses = || openssl::x509::X509::stack_from_pem(pem.as_bytes()).is_ok_and(|certs| !certs.is_empty());
    if pem.len() > MAX_CA_PEM || !pem.contains("-----BEGIN CERTIFICATE-----") || !parses() {
        return Err(AppError::invalid(
            "/ca_pem",
            "ca_pem: one or more PEM certificates, at most 64 KiB",
        ));
    }
    Ok(Some(pem))
}

/// Registers (or replaces) `institution`'s endpoint. Records
/// `manage_certificates` on the institution's webhook.
pub fn set_webhook(
    app: &App,
    caller: Caller<'_>,
    institution: Brin,
    request: WebhookRequest,
    allow_internal: bool,
) -> Result<WebhookView, AppError> {
    let access = manage_access(&institution);
    // Checked before the transaction; a refusal is still the access's
    // audited outcome.
    let checked =
        checked_url(&request.url, allow_internal).and_then(|url| Ok((url, checked_ca(request.ca_pem.as_deref())?)));
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let (url, ca) = checked?;
        let endpoint = webhooks::set_endpoint(ctx.conn, &institution, url.as_str(), ca, ctx.now)?;
        Ok(view(endpoint))
    })
}

/// Removes `institution`'s endpoint, if it has one (answers whether it
/// had): nothing more is queued for it, and deliveries still pending are
/// given up when due. Records `manage_certificates` on the institution's
/// webhook, as registering does.
pub fn remove_webhook(app: &App, caller: Caller<'_>, institution: Brin) -> Result<bool, AppError> {
    let access = manage_access(&institution);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        Ok(webhooks::delete_endpoint(ctx.conn, &institution)?)
    })
}

fn manage_access(institution: &Brin) -> Access {
    Access::new(
        Action::ManageCertificates,
        Resource::Institution(institution.clone()),
        ResourceRef::new(ResourceKind::WebhookEndpoint, Some(institution.to_string())),
        Purpose::Administration,
    )
}

fn view(e: webhooks::Endpoint) -> WebhookView {
    WebhookView {
        url: e.url,
        own_ca: e.ca_pem.is_some(),
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

/// `institution`'s endpoint and its latest 100 deliveries. Records
/// `read_credentials` on the institution's webhook.
pub fn read_webhook(app: &App, caller: Caller<'_>, institution: Brin) -> Result<WebhookStatus, AppError> {
    let access = Access::new(
        Action::ReadCredentials,
        Resource::Institution(institution.clone()),
        ResourceRef::new(ResourceKind::WebhookEndpoint, Some(institution.to_string())),
        Purpose::Administration,
    );
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let endpoint = webhooks::endpoint(ctx.conn, &institution)?.map(view);
        let mut deliveries = Vec::new();
        for d in webhooks::recent(ctx.conn, &institution, 100)? {
            deliveries.push(DeliveryView {
                event_id: uuid::Uuid::parse_str(&d.event_id)
                    .map_err(|_| AppError::Internal("webhook_deliveries.event_id: not a UUID".into()))?,
                state: d.state,
                attempts: d.attempts,
                last_attempt_at: d.last_attempt_at,
                last_outcome: d.last_outcome,
                created_at: d.created_at,
                delivered_at: d.delivered_at,
            });
        }
        Ok(WebhookStatus { endpoint, deliveries })
    })
}

/// The body of a delivery: a JWS by the broker's key over `{iss, aud, jti,
/// iat, event}` (`aud` the institution, `jti` the entry's id, `event` the
/// entry as `GET /v1/events` gives it).
pub fn delivery_jws(app: &App, institution: &Brin, event: &FeedEvent, now: DateTime<Utc>) -> Result<String, AppError> {
    let entry = crate::events::entry(event.clone());
    let claims = json!({
        "iss": "doorstroom",
        "aud": institution.as_str(),
        "jti": event.id.to_string(),
        "iat": now.timestamp(),
        "event": entry,
    });
    app.signer.sign(DELIVERY_TYP, &claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["145.97.1.1", "8.8.8.8", "2a00:1450::1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_are_checked() {
        assert!(checked_url("https://hooks.example.nl/doorstroom", false).is_ok());
        for bad in [
            "http://hooks.example.nl/",
            "ftp://hooks.example.nl/",
            "https://user:pw@hooks.example.nl/",
            "https://hooks.example.nl/#x",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "https://localhost/",
            "https://10.0.0.8/",
            "not a url",
        ] {
            assert!(checked_url(bad, false).is_err(), "{bad}");
        }
        assert!(checked_url("https://127.0.0.1:8443/", true).is_ok());
        assert!(checked_url("http://127.0.0.1:8443/", true).is_err());
    }
}
