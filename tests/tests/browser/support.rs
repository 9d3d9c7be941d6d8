//! Data for the console tests, made through the broker's own API, and a
//! plain HTTP client for the console (cookies and forms by hand).

use chrono::Months;
use doorstroom_domain::Clock;
use doorstroom_tests::{MBO, StaffCredentials, TestBroker, VO};
use reqwest::Method;
use reqwest::header::{COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

/// The `n`-th test BSN (eleven-proof; see the e2e tests' helper).
pub fn bsn(n: u32) -> String {
    let mut candidate = 10_000_000 + n;
    loop {
        let prefix = format!("{candidate:08}");
        let sum: u32 = prefix
            .bytes()
            .zip((2..=9).rev())
            .map(|(digit, weight)| u32::from(digit - b'0') * weight)
            .sum();
        let check = sum % 11;
        if check <= 9 {
            return format!("{prefix}{check}");
        }
        candidate += 1;
    }
}

/// Through the API: 25LX registers the student's application naming 07AB
/// as sending school; then 07AB (now party to the student) records the
/// student's inspection and a consent for 25LX.
pub async fn student_applied(broker: &TestBroker, student: &str) {
    let (status, body) = broker
        .system(MBO)
        .send(
            Method::POST,
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
    assert!(matches!(status.as_u16(), 200 | 201), "application: {body}");
    let vo = broker.system(VO);
    let at = broker.clock.now() - chrono::Duration::hours(1);
    let (status, body) = vo
        .send(
            Method::POST,
            "/v1/inspections",
            Some(&json!({
                "student_number": {"type": "bsn", "number": student},
                "inspected_at": at.to_rfc3339(),
                "inspected_by": "student",
                "remarks_added": false,
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "inspection: {body}");
    let born = broker
        .clock
        .now()
        .date_naive()
        .checked_sub_months(Months::new(17 * 12))
        .unwrap();
    let (status, body) = vo
        .send(
            Method::POST,
            "/v1/consents",
            Some(&json!({
                "student_number": {"type": "bsn", "number": student},
                "date_of_birth": born.to_string(),
                "recipient": MBO,
                "sections": ["support_needs"],
                "given_by": "student",
                "method": "paper_form",
                "evidence_ref": "formulier 2027-113",
                "notice_version": "privacyverklaring v3",
            })),
        )
        .await
        .unwrap();
    assert_eq!(status.as_u16(), 201, "consent: {body}");
}

/// A reply of the console, read whole.
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

/// The console over plain HTTPS, as a script (or an attacker) would use
/// it: no redirects followed, the session cookie carried by hand.
pub struct ConsoleClient {
    http: reqwest::Client,
    base_url: String,
    pub session: Option<String>,
}

impl ConsoleClient {
    pub fn new(broker: &TestBroker) -> Self {
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
            base_url: broker.base_url.clone(),
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

    /// Logs in through the login form; keeps the session cookie.
    pub async fn login(&mut self, broker: &TestBroker, creds: &StaffCredentials) -> Page {
        let code = broker.totp(&creds.totp_secret);
        let page = self
            .post(
                "/console/login",
                &[
                    ("username", creds.username.as_str()),
                    ("password", creds.password.as_str()),
                    ("totp", code.as_str()),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "login of {}: {}", creds.username, page.body);
        let cookie = page
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("__Host-doorstroom-console="))
            .expect("a session cookie");
        self.session = Some(cookie.split(';').next().unwrap().to_owned());
        page
    }
}
