//! Webhook endpoints are checked against the operating system's trust
//! store: what `SSL_CERT_FILE` names (as OpenSSL and the system's tools
//! read it) is what the deliverer trusts. The environment is the whole
//! process's (and setting it is `unsafe`), so the test runs its check in a
//! child process of this same binary with the variables set.

use std::process::Command;

const CHILD: &str = "DOORSTROOM_TRUST_CHECK_EXPECT";

#[test]
fn the_system_trust_store_is_what_ssl_cert_file_names() {
    if let Ok(expected) = std::env::var(CHILD) {
        let roots = doorstroom_server::webhooks::load_system_roots();
        assert_eq!(roots.len().to_string(), expected, "exactly the roots of the file");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let one = rcgen::generate_simple_self_signed(vec!["ca-one.example".into()]).expect("a certificate");
    let two = rcgen::generate_simple_self_signed(vec!["ca-two.example".into()]).expect("a certificate");
    let bundle = dir.path().join("roots.pem");
    std::fs::write(&bundle, format!("{}{}", one.cert.pem(), two.cert.pem())).expect("written");
    let status = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "the_system_trust_store_is_what_ssl_cert_file_names",
            "--nocapture",
        ])
        .env(CHILD, "2")
        .env("SSL_CERT_FILE", &bundle)
        .env("SSL_CERT_DIR", dir.path().join("none"))
        .status()
        .expect("the child runs");
    assert!(status.success(), "the child's check failed: {status}");
}
