//! The emulator's routes by name, as fault rules and call counts refer to them.

use axum::http::Method;

/// One API operation (or the upload/download URL) of the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `GET /whoami`
    Whoami,
    /// `POST /cache`
    Cache,
    /// `DELETE /cache/{handler}`
    CacheDelete,
    /// `PUT /upload/{token}` (the upload URL)
    Upload,
    /// `POST /twins`
    CreateTwin,
    /// `GET /twins/{twin}`
    GetTwin,
    /// `POST /twins/{twin}/docs`
    Attach,
    /// `GET /twins/{twin}/docs/{doc_name}`
    GetDoc,
    /// `GET /twins/{twin}/docs`
    ListDocs,
    /// `PATCH /twins/{twin}/docs/{doc_name}`
    PatchDoc,
    /// `DELETE /twins/{twin}/docs/{doc_name}`
    DeleteDoc,
    /// `DELETE /twins/{twin}/docs`
    DeleteDocs,
    /// `GET /download/{token}` (a download link)
    Download,
}

impl Route {
    pub const ALL: [Route; 13] = [
        Route::Whoami,
        Route::Cache,
        Route::CacheDelete,
        Route::Upload,
        Route::CreateTwin,
        Route::GetTwin,
        Route::Attach,
        Route::GetDoc,
        Route::ListDocs,
        Route::PatchDoc,
        Route::DeleteDoc,
        Route::DeleteDocs,
        Route::Download,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Route::Whoami => "whoami",
            Route::Cache => "cache",
            Route::CacheDelete => "cache_delete",
            Route::Upload => "upload",
            Route::CreateTwin => "create_twin",
            Route::GetTwin => "get_twin",
            Route::Attach => "attach",
            Route::GetDoc => "get_doc",
            Route::ListDocs => "list_docs",
            Route::PatchDoc => "patch_doc",
            Route::DeleteDoc => "delete_doc",
            Route::DeleteDocs => "delete_docs",
            Route::Download => "download",
        }
    }

    pub fn from_name(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.name() == name)
    }

    pub(crate) fn names() -> String {
        Route::ALL.map(Route::name).join(", ")
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Which route a request is for, from its method and raw path, before routing. `None` for
    /// the control endpoints and for anything the emulator does not serve.
    pub(crate) fn classify(method: &Method, path: &str) -> Option<Route> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let route = match (method.as_str(), segments.as_slice()) {
            ("GET", ["whoami"]) => Route::Whoami,
            ("POST", ["cache"]) => Route::Cache,
            ("DELETE", ["cache", handler]) if !handler.is_empty() => Route::CacheDelete,
            ("PUT", ["upload", token]) if !token.is_empty() => Route::Upload,
            ("POST", ["twins"]) => Route::CreateTwin,
            ("GET", ["twins", twin]) if !twin.is_empty() => Route::GetTwin,
            // The listing path is also written with a trailing slash.
            (method, ["twins", _, "docs"] | ["twins", _, "docs", ""]) => match method {
                "POST" => Route::Attach,
                "GET" => Route::ListDocs,
                "DELETE" => Route::DeleteDocs,
                _ => return None,
            },
            // A doc name may contain literal slashes.
            (method, ["twins", _, "docs", _, ..]) => match method {
                "GET" => Route::GetDoc,
                "PATCH" => Route::PatchDoc,
                "DELETE" => Route::DeleteDoc,
                _ => return None,
            },
            ("GET", ["download", token]) if !token.is_empty() => Route::Download,
            _ => return None,
        };
        Some(route)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_in_order() {
        for (index, route) in Route::ALL.into_iter().enumerate() {
            assert_eq!(Route::from_name(route.name()), Some(route));
            assert_eq!(route.index(), index);
        }
        assert_eq!(Route::from_name("*"), None);
    }

    #[test]
    fn requests_are_classified_before_routing() {
        let cases = [
            ("GET", "/whoami", Some(Route::Whoami)),
            ("POST", "/cache", Some(Route::Cache)),
            ("DELETE", "/cache/abc", Some(Route::CacheDelete)),
            ("PUT", "/upload/tok", Some(Route::Upload)),
            ("POST", "/twins", Some(Route::CreateTwin)),
            ("GET", "/twins/t", Some(Route::GetTwin)),
            ("POST", "/twins/t/docs", Some(Route::Attach)),
            ("GET", "/twins/t/docs/", Some(Route::ListDocs)),
            ("DELETE", "/twins/t/docs", Some(Route::DeleteDocs)),
            ("GET", "/twins/t/docs/dir%2Fa.txt", Some(Route::GetDoc)),
            ("GET", "/twins/t/docs/dir/a.txt", Some(Route::GetDoc)),
            ("PATCH", "/twins/t/docs/a", Some(Route::PatchDoc)),
            ("DELETE", "/twins/t/docs/a", Some(Route::DeleteDoc)),
            ("GET", "/download/tok", Some(Route::Download)),
            ("GET", "/_emulator/stats", None),
            ("PUT", "/twins/t/docs", None),
            ("GET", "/cache", None),
        ];
        for (method, path, expected) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(Route::classify(&method, path), expected, "{method} {path}");
        }
    }
}
