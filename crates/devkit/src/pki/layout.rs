//! The file names under the development PKI directory (see the layout in
//! [the module](super)) and the CA's common name.

/// Common name of the development CA.
pub const CA_COMMON_NAME: &str = "Doorstroom Dev CA";
pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVER_CERT_FILE: &str = "server.pem";
pub const SERVER_KEY_FILE: &str = "server.key";
pub const CLIENT_CERT_FILE: &str = "client.pem";
pub const CLIENT_KEY_FILE: &str = "client.key";
pub const CLIENT_FINGERPRINT_FILE: &str = "client.fingerprint";
pub const SIGN_JWK_FILE: &str = "sign.jwk";
pub const SIGN_PUBLIC_JWK_FILE: &str = "sign.pub.jwk";
pub const ENC_JWK_FILE: &str = "enc.jwk";
pub const ENC_PUBLIC_JWK_FILE: &str = "enc.pub.jwk";
