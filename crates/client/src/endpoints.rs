//! Every route the command line calls, as the server declares it (method
//! and path template). A client call names one of these, never a path
//! typed at the call site; `tests` in the binary hold [`ALL`] against the
//! server's route table.

use reqwest::Url;

use crate::ClientError;

/// One route: its method and its path template, `{name}` marking a
/// parameter, exactly as the server's route table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// GET, POST, PATCH or DELETE.
    pub method: &'static str,
    /// The template.
    pub path: &'static str,
}

impl Endpoint {
    const fn new(method: &'static str, path: &'static str) -> Self {
        Endpoint { method, path }
    }

    /// `GET /v1/cards/{id}`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The URL with `params` in place of the template's parameters, each
    /// percent-encoded as one path segment.
    pub(crate) fn url(&self, base: &Url, params: &[&str]) -> Result<Url, ClientError> {
        let wanted = self.path.split('/').filter(|s| s.starts_with('{')).count();
        if wanted != params.len() {
            return Err(ClientError::Params(self.path, wanted));
        }
        let mut url = base.clone();
        let mut given = params.iter();
        {
            let mut segments = url.path_segments_mut().map_err(|()| ClientError::BadServer(base.to_string()))?;
            segments.pop_if_empty();
            for part in self.path.split('/').filter(|s| !s.is_empty()) {
                if part.starts_with('{') {
                    segments.push(given.next().copied().unwrap_or_default());
                } else {
                    segments.push(part);
                }
            }
        }
        Ok(url)
    }
}

macro_rules! endpoints {
    ($($name:ident = $method:literal $path:literal;)*) => {
        $(
            #[doc = concat!("`", $method, " ", $path, "`")]
            pub const $name: Endpoint = Endpoint::new($method, $path);
        )*
        /// Every endpoint above.
        pub const ALL: &[Endpoint] = &[$($name),*];
    };
}

endpoints! {
    LOGIN = "POST" "/v1/login";
    LOGOUT = "POST" "/v1/logout";
    SESSION = "GET" "/v1/session";
    PEOPLE = "GET" "/v1/people";
    PERSON_ADD = "POST" "/v1/people";
    PEOPLE_FIND = "POST" "/v1/people/find";
    PERSON = "GET" "/v1/people/{id}";
    PERSON_UPDATE = "PATCH" "/v1/people/{id}";
    PERSON_ERASE = "DELETE" "/v1/people/{id}";
    CARDS = "GET" "/v1/cards";
    CARD_REQUEST = "POST" "/v1/cards";
    CARD = "GET" "/v1/cards/{id}";
    CARD_CREDENTIAL = "GET" "/v1/cards/{id}/credential";
    CARD_ARTWORK = "GET" "/v1/cards/{id}/artwork";
    CARD_APPROVE = "POST" "/v1/cards/{id}/approve";
    CARD_REJECT = "POST" "/v1/cards/{id}/reject";
    CARD_PRINT = "POST" "/v1/cards/{id}/print";
    CARD_ISSUE = "POST" "/v1/cards/{id}/issue";
    CARD_SUSPEND = "POST" "/v1/cards/{id}/suspend";
    CARD_RESUME = "POST" "/v1/cards/{id}/resume";
    CARD_REVOKE = "POST" "/v1/cards/{id}/revoke";
    CARD_DESTROY = "POST" "/v1/cards/{id}/destroy";
    CARD_REISSUE = "POST" "/v1/cards/{id}/reissue";
    STATUS_LIST = "GET" "/v1/status-lists/{id}";
    ZONES = "GET" "/v1/zones";
    ZONE_ADD = "POST" "/v1/zones";
    PERMITS = "GET" "/v1/permits";
    PERMIT_GRANT = "POST" "/v1/permits";
    PERMIT_REVOKE = "POST" "/v1/permits/{id}/revoke";
    ACCESS_CHECK = "POST" "/v1/access/check";
    USERS = "GET" "/v1/users";
    USER_ADD = "POST" "/v1/users";
    USER_DISABLE = "POST" "/v1/users/{name}/disable";
    USER_RESET = "POST" "/v1/users/{name}/reset";
    TOKENS = "GET" "/v1/tokens";
    TOKEN_CREATE = "POST" "/v1/tokens";
    TOKEN_REVOKE = "POST" "/v1/tokens/{id}/revoke";
    BREACH_SCOPE = "POST" "/v1/breach/scope";
    PEOPLE_IMPORT = "POST" "/v1/people/import";
    PEOPLE_EXPORT = "GET" "/v1/people/export";
    SUPPLIERS = "GET" "/v1/suppliers";
    SUPPLIER_ADD = "POST" "/v1/suppliers";
    SUPPLIER_DISABLE = "POST" "/v1/suppliers/{name}/disable";
    SUPPLIER_RECIPIENT = "POST" "/v1/suppliers/{name}/recipient";
    SUPPLIER_EXPOSURE = "GET" "/v1/suppliers/{name}/exposure";
    BATCHES = "GET" "/v1/batches";
    BATCH_CREATE = "POST" "/v1/batches";
    BATCH = "GET" "/v1/batches/{id}";
    BATCH_FILE = "GET" "/v1/batches/{id}/file";
    BATCH_KEY = "GET" "/v1/batch-key";
    AUDIT_EVENT = "GET" "/v1/audit/events/{index}";
    AUDIT_NOTE = "GET" "/v1/audit/events/{index}/note";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_one_encoded_segment_each() {
        let base = Url::parse("http://127.0.0.1:8443/").unwrap();
        let url = PERSON.url(&base, &["a/b c"]).unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8443/v1/people/a%2Fb%20c");
        let url = CARD_APPROVE.url(&base, &["7KX3M9QZ2B"]).unwrap();
        assert_eq!(url.path(), "/v1/cards/7KX3M9QZ2B/approve");
        assert!(matches!(PERSON.url(&base, &[]), Err(ClientError::Params(..))));
        // A server under a path prefix keeps it.
        let base = Url::parse("https://host/lanyard/").unwrap();
        assert_eq!(PEOPLE.url(&base, &[]).unwrap().path(), "/lanyard/v1/people");
    }

    #[test]
    fn no_endpoint_is_listed_twice() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(!ALL.iter().skip(i + 1).any(|b| a == b), "{} twice", a.describe());
        }
    }
}
