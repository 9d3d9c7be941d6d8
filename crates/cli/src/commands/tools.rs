//! Small aids: `doorstroom totp` (the current code for a secret, for
//! development) and `doorstroom openapi` (the API document).

use anyhow::Context as _;

pub fn totp(secret: String) -> anyhow::Result<()> {
    let code = totp_rs::Secret::Encoded(secret)
        .to_bytes()
        .ok()
        .and_then(|bytes| totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).ok())
        .and_then(|totp| totp.generate_current().ok())
        .context("not a valid base32 TOTP secret")?;
    println!("{code}");
    Ok(())
}

pub fn openapi() {
    print!("{}", doorstroom_server::openapi::document_json());
}
