//! Staff access tokens: JWTs (RFC 9068 `at+jwt`) MACed with HS256 under the
//! broker's token key. Only the broker issues and checks them, so a shared
//! key is enough; several broker nodes read the same key file. Expiry is
//! checked against the injected clock, and the account is re-read on every
//! request, so a deactivated account's tokens stop working at once.

use chrono::{DateTime, Duration, Utc};
use doorstroom_domain::{Brin, Role, StaffId};
use josekit::jws::{HS256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::Value;

const ISSUER: &str = "doorstroom";
const TOKEN_TYPE: &str = "at+jwt";

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub staff: StaffId,
    pub role: Role,
    pub institution: Option<Brin>,
    pub second_factor: bool,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("access token is malformed or its signature is invalid")]
    Invalid,
    #[error("access token has expired")]
    Expired,
}

pub struct TokenIssuer {
    key: Vec<u8>,
    ttl: Duration,
}

impl TokenIssuer {
    pub fn new(key: &[u8], ttl: Duration) -> Self {
        Self { key: key.to_vec(), ttl }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for `claims` (whose `expires_at` is ignored) at `now`.
    pub fn issue(
        &self,
        staff: StaffId,
        role: Role,
        institution: Option<&Brin>,
        second_factor: bool,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), TokenError> {
        // JWT times are whole seconds: truncate, so that the token expires
        // exactly `ttl` after the second it was issued in.
        let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expires_at = now + self.ttl;
        let mut header = JwsHeader::new();
        header.set_token_type(TOKEN_TYPE);
        let mut payload = JwtPayload::new();
        payload.set_issuer(ISSUER);
        payload.set_subject(staff.to_string());
        payload.set_issued_at(&now.into());
        payload.set_expires_at(&expires_at.into());
        payload.set_jwt_id(uuid::Uuid::new_v4().to_string());
        let claims = [
            ("role", Value::from(role.as_str())),
            (
                "inst",
                institution.map(|b| Value::from(b.as_str())).unwrap_or(Value::Null),
            ),
            ("mfa", Value::from(second_factor)),
        ];
        for (name, value) in claims {
            payload.set_claim(name, Some(value)).map_err(|_| TokenError::Invalid)?;
        }
        let signer = HS256.signer_from_bytes(&self.key).map_err(|_| TokenError::Invalid)?;
        let token = jwt::encode_with_signer(&payload, &header, &signer).map_err(|_| TokenError::Invalid)?;
        Ok((token, expires_at))
    }

    /// Verifies the MAC, the issuer, the type and the expiry at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let verifier = HS256.verifier_from_bytes(&self.key).map_err(|_| TokenError::Invalid)?;
        let (payload, header) = jwt::decode_with_verifier(token, &verifier).map_err(|_| TokenError::Invalid)?;
        if header.token_type() != Some(TOKEN_TYPE) || payload.issuer() != Some(ISSUER) {
            return Err(TokenError::Invalid);
        }
        let expires_at: DateTime<Utc> = payload.expires_at().ok_or(TokenError::Invalid)?.into();
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        let staff = payload
            .subject()
            .and_then(|s| s.parse::<StaffId>().ok())
            .ok_or(TokenError::Invalid)?;
        let role = payload
            .claim("role")
            .and_then(Value::as_str)
            .and_then(|r| Role::parse(r).ok())
            .ok_or(TokenError::Invalid)?;
        let institution = match payload.claim("inst") {
            Some(Value::String(b)) => Some(Brin::parse(b).map_err(|_| TokenError::Invalid)?),
            Some(Value::Null) | None => None,
            Some(_) => return Err(TokenError::Invalid),
        };
        let second_factor = payload
            .claim("mfa")
            .and_then(Value::as_bool)
            .ok_or(TokenError::Invalid)?;
        Ok(AccessClaims {
            staff,
            role,
            institution,
            second_factor,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip_and_expiry() {
        let issuer = TokenIssuer::new(&[7u8; 32], Duration::seconds(900));
        let now = Utc::now();
        let id = StaffId(uuid::Uuid::new_v4());
        let brin = Brin::parse("25LX").ok();
        let (token, exp) = issuer.issue(id, Role::Intaker, brin.as_ref(), false, now).unwrap();
        let claims = issuer.verify(&token, now + Duration::seconds(899)).unwrap();
        assert_eq!(claims.staff, id);
        assert_eq!(claims.institution, brin);
        assert_eq!(claims.expires_at.timestamp(), exp.timestamp());
        assert_eq!(
            issuer.verify(&token, now + Duration::seconds(900)),
            Err(TokenError::Expired)
        );
        let other = TokenIssuer::new(&[8u8; 32], Duration::seconds(900));
        assert_eq!(other.verify(&token, now), Err(TokenError::Invalid));
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert_eq!(issuer.verify(&tampered, now), Err(TokenError::Invalid));
    }
}
