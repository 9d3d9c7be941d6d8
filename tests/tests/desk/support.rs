//! A real desk beside the test broker, a dossier sent to it the way a vo
//! school sends one (the real client: sealed with 07AB's key for 25LX's
//! published key), and a plain HTTP client for the desk's pages.

use std::collections::BTreeMap;

use chrono::Utc;
use doorstroom_desk::{Broker, Desk, RunningDesk, StartupError};
use doorstroom_devkit::pki::{CLIENT_CERT_FILE, CLIENT_KEY_FILE, ENC_JWK_FILE, SIGN_JWK_FILE};
use doorstroom_domain::{Brin, Clock, KeyUse, Section};
use doorstroom_jose::{PackageMeta, SectionInput};
use doorstroom_tests::{MBO, StaffCredentials, TestBroker, VO};
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;
use uuid::Uuid;

/// What `Broker::connect` is given for a desk whose system certificate is
/// `identity_of`'s and whose decryption key is `key_of`'s.
pub async fn connect(broker: &TestBroker, identity_of: &str, key_of: &str) -> Result<Broker, StartupError> {
    let dir = broker.institution_dir(identity_of);
    let mut identity = std::fs::read(dir.join(CLIENT_CERT_FILE)).unwrap();
    identity.push(b'\n');
    identity.extend(std::fs::read(dir.join(CLIENT_KEY_FILE)).unwrap());
    let key_path = broker.institution_dir(key_of).join(ENC_JWK_FILE);
    let key = doorstroom_cli::exchange::load_private_jwk(&key_path, KeyUse::Enc).unwrap();
    Broker::connect(
        &broker.base_url,
        &broker.ca_pem(),
        &identity,
        key,
        broker.trust_anchors(),
        broker.clock.now(),
    )
    .await
}

/// 25LX's desk, on a free port over the broker's own server certificate
/// (so the browser's pin of that certificate covers both).
pub async fn start_desk(broker: &TestBroker) -> (RunningDesk, String) {
    start_desk_of(broker, MBO).await
}

/// The desk of the mbo `brin`.
pub async fn start_desk_of(broker: &TestBroker, brin: &str) -> (RunningDesk, String) {
    let connected = connect(broker, brin, brin).await.expect("the desk starts");
    let tls = doorstroom_desk::tls_config(
        &std::fs::read(broker.pki.server_cert_path()).unwrap(),
        &std::fs::read(broker.pki.server_key_path()).unwrap(),
    )
    .unwrap();
    let desk = Desk::new(connected).await.expect("the desk reads its feed");
    let running = doorstroom_desk::start(desk, "127.0.0.1:0".parse().unwrap(), tls).unwrap();
    let url = format!("https://localhost:{}", running.addr.port());
    (running, url)
}

/// 07AB sends 25LX a dossier for `application`: personal data, support
/// needs, a remark and an attachment. Answers the package id.
pub async fn send_dossier(broker: &TestBroker, application: Uuid) -> String {
    let key_path = broker.institution_dir(VO).join(SIGN_JWK_FILE);
    let key = doorstroom_cli::exchange::load_private_jwk(&key_path, KeyUse::Sig).unwrap();
    let meta = PackageMeta {
        package_id: Uuid::new_v4().to_string(),
        sender: Brin::parse(VO).unwrap(),
        recipient: Brin::parse(MBO).unwrap(),
        application: application.to_string(),
        jti: format!("{VO}-{}", Uuid::new_v4().simple()),
        iat: broker.clock.now().timestamp(),
    };
    let sections: BTreeMap<Section, serde_json::Value> = BTreeMap::from([
        (
            Section::PersonalData,
            json!({"name": "Sam de Vries", "date_of_birth": "2010-05-04", "mentor": "mw. Jansen"}),
        ),
        (
            Section::SupportNeeds,
            json!({"needs": "extra tijd bij toetsen", "arrangement": "prikkelarme ruimte"}),
        ),
        (
            Section::Remarks,
            json!({"by": "ouder", "written_at": "2027-03-02", "text": "Sam wil graag eerst kennismaken."}),
        ),
        (
            Section::Attachments,
            json!({"files": [{"filename": "rapport.txt", "media_type": "text/plain", "data": "UmFwcG9ydCB2YW4gU2Ft"}]}),
        ),
    ]);
    let inputs: Vec<SectionInput> = sections
        .into_iter()
        .map(|(section, content)| SectionInput { section, content })
        .collect();
    let receipt = broker
        .system(VO)
        .send_dossier(&meta, &inputs, &key, &broker.trust_anchors(), Utc::now())
        .await
        .expect("the vo school sends the dossier");
    receipt.package_id
}

/// The student applied at 25LX naming 07AB, inspected the dossier and
/// consented to the support needs (the console tests' helper) and the
/// attachments going;
/// answers the application's id (registering again answers the same one).
pub async fn student_applied(broker: &TestBroker, student: &str) -> Uuid {
    crate::console_support::student_applied(broker, student).await;
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(chrono::Months::new(17 * 12))
        .unwrap();
    let (status, body) = broker
        .system(VO)
        .send(
            reqwest::Method::POST,
            "/v1/consents",
            Some(&json!({
                "student_number": {"type": "bsn", "number": student},
                "date_of_birth": born.to_string(),
                "recipient": MBO,
                "sections": ["attachments"],
                "given_by": "student",
                "method": "paper_form",
                "evidence_ref": "formulier 2027-114",
                "notice_version": "privacyverklaring v3",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "consent for the attachments: {body}");
    let (status, body) = broker
        .system(MBO)
        .send(
            reqwest::Method::POST,
            "/v1/applications",
            Some(&json!({
                "student_number": {"type": "bsn", "number": student},
                "sending_school": VO,
                "programme": {"name": "Verzorgende IG", "crebo": "25491"},
                "school_year": "2027-2028",
                "applied_on": "2027-03-01",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 200, "the same application: {body}");
    body["id"].as_str().unwrap().parse().unwrap()
}

/// A reply of the desk, read whole.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

/// The desk over plain HTTPS, as a script (or an attacker) would use it:
/// no redirects followed, the session cookie carried by hand.
pub struct DeskClient {
    http: reqwest::Client,
    base_url: String,
    pub session: Option<String>,
}

impl DeskClient {
    pub fn new(broker: &TestBroker, base_url: &str) -> Self {
        let ca = reqwest::Certificate::from_pem(&broker.ca_pem()).unwrap();
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            base_url: base_url.to_owned(),
            session: None,
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base_url));
        if let Some(session) = &self.session {
            request = request.header(COOKIE, session);
        }
        Self::read(request.send().await.unwrap()).await
    }

    /// Posts a form body (already encoded) with extra headers.
    pub async fn post_raw(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Page {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(session) = &self.session {
            request = request.header(COOKIE, session);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::read(request.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.post_raw(path, body, &[]).await
    }

    /// Logs in through the form (the broker checks password and code).
    pub async fn login(&mut self, broker: &TestBroker, creds: &StaffCredentials) -> Page {
        let code = broker.totp(&creds.totp_secret);
        let fields = [
            ("username", creds.username.as_str()),
            ("password", creds.password.as_str()),
            ("totp", code.as_str()),
        ];
        let page = self.post("/login", &fields).await;
        if let Some(cookie) = page
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("__Host-doorstroom-desk="))
        {
            self.session = Some(cookie.split(';').next().unwrap().to_owned());
        }
        page
    }
}
