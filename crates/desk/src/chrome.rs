//! The frame of every desk page (language, the switch, who is logged in,
//! the CSRF token for the logout form). Its own file, so that the error
//! pages and the pages share it without referring to each other.

use crate::i18n::{Lang, Messages};

/// What every page's frame needs.
pub struct Chrome {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub t: &'static Messages,
    pub user: Option<String>,
    pub csrf: String,
}

impl Chrome {
    pub fn anonymous(lang: Lang) -> Self {
        Chrome {
            lang: lang.code(),
            other_lang: lang.other().code(),
            t: lang.messages(),
            user: None,
            csrf: String::new(),
        }
    }

    /// A page of a logged-in intaker: their name and the session's CSRF token.
    pub fn of(lang: Lang, username: &str, csrf: &str) -> Self {
        Chrome {
            user: Some(username.to_owned()),
            csrf: csrf.to_owned(),
            ..Chrome::anonymous(lang)
        }
    }
}
