//! The senders' signing keys, parsed once: parsing a stored JWK checks its
//! key material and decodes its `x5c` chain (OpenSSL, a fifth of a
//! submission's work), so the parsed key is kept per (institution, `kid`)
//! and a submission verifies its envelope with it before the write
//! transaction begins.
//!
//! A cached key is never trusted for its *status*: the submission's
//! transaction reads the key's use and status (one indexed `SELECT`) and
//! refuses a retired or revoked key there, so a revocation by another
//! broker node or by the command line counts on the very next submission.
//! What is cached is only what cannot change: a key's JWK is written once
//! when it is published and never updated or deleted (`kid`s are unique
//! across the broker), so the parsed form of (institution, `kid`) stays
//! right for as long as the key exists. This node's registry use cases
//! still forget a key they retire or revoke, so that the cache holds no key
//! that is of no more use.
//!
//! Bounded: at most [`KeyCache::capacity`] keys; when full, an arbitrary
//! key makes room (a miss costs one read and one parse, nothing more).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use doorstroom_domain::Brin;
use doorstroom_jose::PublicJwk;

/// How many parsed keys a [`KeyCache`] holds by default: every signing key
/// of a region's schools, with room to spare (a key is a few KB).
pub const DEFAULT_CAPACITY: usize = 4096;

/// Parsed public keys per (institution, `kid`). Shared by every request.
pub struct KeyCache {
    entries: Mutex<HashMap<(Brin, String), Arc<PublicJwk>>>,
    capacity: usize,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl KeyCache {
    /// A cache of at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The parsed key `kid` of `brin`, if cached.
    pub fn get(&self, brin: &Brin, kid: &str) -> Option<Arc<PublicJwk>> {
        // A lookup by borrowed parts would need a custom key type; the
        // clone of a BRIN and a kid is cheap next to the work it saves.
        self.lock().get(&(brin.clone(), kid.to_owned())).cloned()
    }

    /// Keeps the parsed key `kid` of `brin`. When the cache is full, an
    /// arbitrary other key is dropped first.
    pub fn insert(&self, brin: &Brin, kid: &str, key: Arc<PublicJwk>) {
        let mut entries = self.lock();
        let id = (brin.clone(), kid.to_owned());
        if entries.len() >= self.capacity
            && !entries.contains_key(&id)
            && let Some(victim) = entries.keys().next().cloned()
        {
            entries.remove(&victim);
        }
        entries.insert(id, key);
    }

    /// Drops the key `kid` of `brin` (retired or revoked on this node).
    pub fn forget(&self, brin: &Brin, kid: &str) {
        self.lock().remove(&(brin.clone(), kid.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Brin, String), Arc<PublicJwk>>> {
        // The map is consistent after every statement: a panic elsewhere
        // while it was held leaves nothing half-done.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str) -> Arc<PublicJwk> {
        // A P-256 signing key with a one-certificate chain (the dev CA's
        // form); the certificate is only decoded, never trusted, here.
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id(kid);
        jwk.set_key_use("sig");
        jwk.set_algorithm("ES256");
        let mut json = serde_json::to_value(jwk.as_ref()).unwrap();
        json["x5c"] = serde_json::json!([self_signed_der()]);
        Arc::new(PublicJwk::parse(&json).unwrap())
    }

    fn self_signed_der() -> String {
        use base64::Engine as _;
        use openssl::asn1::Asn1Time;
        use openssl::ec::{EcGroup, EcKey};
        use openssl::hash::MessageDigest;
        use openssl::nid::Nid;
        use openssl::pkey::PKey;
        use openssl::x509::{X509, X509NameBuilder};
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "test").unwrap();
        let name = name.build();
        let mut cert = X509::builder().unwrap();
        cert.set_version(2).unwrap();
        cert.set_subject_name(&name).unwrap();
        cert.set_issuer_name(&name).unwrap();
        cert.set_pubkey(&pkey).unwrap();
        cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
        cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
        cert.sign(&pkey, MessageDigest::sha256()).unwrap();
        base64::engine::general_purpose::STANDARD.encode(cert.build().to_der().unwrap())
    }

    fn brin(raw: &str) -> Brin {
        Brin::parse(raw).unwrap()
    }

    #[test]
    fn keys_are_kept_per_institution_and_kid_and_forgotten() {
        let cache = KeyCache::new(8);
        let a = key("k1");
        cache.insert(&brin("07AB"), "k1", a.clone());
        assert_eq!(cache.get(&brin("07AB"), "k1").as_deref(), Some(&*a));
        // The same kid under another institution is another key.
        assert!(cache.get(&brin("25LX"), "k1").is_none());
        assert!(cache.get(&brin("07AB"), "k2").is_none());
        cache.forget(&brin("07AB"), "k1");
        assert!(cache.get(&brin("07AB"), "k1").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cache = KeyCache::new(3);
        let k = key("k");
        for i in 0..10 {
            cache.insert(&brin("07AB"), &format!("k{i}"), k.clone());
            assert!(cache.len() <= 3, "{} keys held", cache.len());
        }
        assert_eq!(cache.len(), 3);
        // The newest is always kept; replacing a held key drops nothing.
        assert!(cache.get(&brin("07AB"), "k9").is_some());
        cache.insert(&brin("07AB"), "k9", k);
        assert_eq!(cache.len(), 3);
    }
}
