//! The emulator's routes by name, as fault rules and call counts refer to them.

use axum::http::{HeaderMap, Method, Uri};

/// One API operation (or the upload/download URL) of the emulator. The Redivis ones are named
/// `redivis.*`, the Inspect ones `inspect.*`, HBR's `hbr.*` and OSS's `oss.*`.
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
    /// Redivis `POST /api/v1/datasets/{dataset}/tables` and `GET /api/v1/tables/{table}`
    RedivisTables,
    /// Redivis `POST /api/v1/tables/{table}/tempUploads`
    RedivisTempUploads,
    /// Redivis data plane: `POST /__tempUploads/{id}` with `x-goog-resumable: start`
    RedivisInitiate,
    /// Redivis data plane: any PUT that carries bytes (the whole body of a non-resumable temp
    /// upload, or a `Content-Range: bytes S-E/N` chunk of a session)
    RedivisChunk,
    /// Redivis data plane: a session PUT with `Content-Range: bytes */N` (status query)
    RedivisStatus,
    /// Redivis data plane: `DELETE` of a session (cancel)
    RedivisCancel,
    /// Redivis `POST /api/v1/tables/{table}/rawFiles`
    RedivisRawFiles,
    /// Redivis `GET /api/v1/tables/{table}/rawFiles` (an emulator convenience)
    RedivisListRawFiles,
    /// Redivis `GET /api/v1/rawFiles/{id}` (with `alt=media`: the bytes)
    RedivisGetRawFile,
    /// Inspect `POST /api/inspect/v1/file/upload/presigned`
    InspectPresigned,
    /// Inspect data plane: `PUT /__presigned/{id}` (the presigned URL)
    InspectPut,
    /// Inspect `POST /api/inspect/v1/file/{id}/upload/complete`
    InspectComplete,
    /// HBR `POST /hbr/` with action `CreateTempFileUploadUrl`
    HbrCreateUrl,
    /// HBR `POST /hbr/` with action `GetTempFileDownloadLink`
    HbrDownloadLink,
    /// OSS `POST /__oss/{bucket}` (PostObject, the form upload)
    OssPost,
    /// OSS `GET /__oss/{bucket}/{key}` (a signed download URL)
    OssGet,
}

/// A data plane whose request body bytes are counted (`/_emulator/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plane {
    Redivis,
    Inspect,
    Oss,
}

impl Route {
    pub const ALL: [Route; 29] = [
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
        Route::RedivisTables,
        Route::RedivisTempUploads,
        Route::RedivisInitiate,
        Route::RedivisChunk,
        Route::RedivisStatus,
        Route::RedivisCancel,
        Route::RedivisRawFiles,
        Route::RedivisListRawFiles,
        Route::RedivisGetRawFile,
        Route::InspectPresigned,
        Route::InspectPut,
        Route::InspectComplete,
        Route::HbrCreateUrl,
        Route::HbrDownloadLink,
        Route::OssPost,
        Route::OssGet,
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
            Route::RedivisTables => "redivis.tables",
            Route::RedivisTempUploads => "redivis.temp_uploads",
            Route::RedivisInitiate => "redivis.initiate",
            Route::RedivisChunk => "redivis.chunk",
            Route::RedivisStatus => "redivis.status",
            Route::RedivisCancel => "redivis.cancel",
            Route::RedivisRawFiles => "redivis.raw_files",
            Route::RedivisListRawFiles => "redivis.list_raw_files",
            Route::RedivisGetRawFile => "redivis.get_raw_file",
            Route::InspectPresigned => "inspect.presigned",
            Route::InspectPut => "inspect.put",
            Route::InspectComplete => "inspect.complete",
            Route::HbrCreateUrl => "hbr.create_url",
            Route::HbrDownloadLink => "hbr.download_link",
            Route::OssPost => "oss.post",
            Route::OssGet => "oss.get",
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

    /// The Redivis API (`/api/v1/...`): D-R1 error bodies and rate-limit headers.
    pub(crate) fn is_redivis_api(self) -> bool {
        matches!(
            self,
            Route::RedivisTables
                | Route::RedivisTempUploads
                | Route::RedivisRawFiles
                | Route::RedivisListRawFiles
                | Route::RedivisGetRawFile
        )
    }

    /// The Redivis data plane (`/__tempUploads/...`): D-R1 error bodies, body bytes counted.
    pub(crate) fn is_redivis_data_plane(self) -> bool {
        matches!(self, Route::RedivisInitiate | Route::RedivisChunk | Route::RedivisStatus | Route::RedivisCancel)
    }

    /// Whose body bytes this route's requests carry, if a data plane's.
    pub(crate) fn data_plane(self) -> Option<Plane> {
        match self {
            _ if self.is_redivis_data_plane() => Some(Plane::Redivis),
            Route::InspectPut => Some(Plane::Inspect),
            Route::OssPost => Some(Plane::Oss),
            _ => None,
        }
    }

    /// Which route a request is for, from its method, raw path and (for the Redivis session PUTs,
    /// where a status query and a chunk share method and path) its `Content-Range`, or (for HBR's
    /// RPC endpoint) its action, before routing. `None` for the control endpoints and for anything
    /// the emulator does not serve.
    pub(crate) fn classify(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Route> {
        let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
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
            ("POST", ["api", "v1", "datasets", dataset, "tables"]) if !dataset.is_empty() => Route::RedivisTables,
            ("GET" | "HEAD", ["api", "v1", "tables", table]) if !table.is_empty() => Route::RedivisTables,
            ("POST", ["api", "v1", "tables", table, "tempUploads"]) if !table.is_empty() => Route::RedivisTempUploads,
            ("POST", ["api", "v1", "tables", table, "rawFiles"]) if !table.is_empty() => Route::RedivisRawFiles,
            ("GET" | "HEAD", ["api", "v1", "tables", table, "rawFiles"]) if !table.is_empty() => {
                Route::RedivisListRawFiles
            }
            ("GET" | "HEAD", ["api", "v1", "rawFiles", id]) if !id.is_empty() => Route::RedivisGetRawFile,
            ("POST", ["__tempUploads", id]) if !id.is_empty() => Route::RedivisInitiate,
            ("PUT", ["__tempUploads", id]) if !id.is_empty() => Route::RedivisChunk,
            ("PUT", ["__tempUploads", _, "session", session]) if !session.is_empty() => {
                let range = headers.get("content-range").and_then(|value| value.to_str().ok()).unwrap_or("");
                if range.trim_start().strip_prefix("bytes").is_some_and(|rest| rest.trim_start().starts_with('*')) {
                    Route::RedivisStatus
                } else {
                    Route::RedivisChunk
                }
            }
            ("DELETE", ["__tempUploads", _, "session", session]) if !session.is_empty() => Route::RedivisCancel,
            ("POST", ["api", "inspect", "v1", "file", "upload", "presigned"]) => Route::InspectPresigned,
            ("POST", ["api", "inspect", "v1", "file", id, "upload", "complete"]) if !id.is_empty() => {
                Route::InspectComplete
            }
            ("PUT", ["__presigned", id]) if !id.is_empty() => Route::InspectPut,
            ("POST", ["hbr"] | ["hbr", ""]) => match hbr_action(uri, headers)?.as_str() {
                "CreateTempFileUploadUrl" => Route::HbrCreateUrl,
                "GetTempFileDownloadLink" => Route::HbrDownloadLink,
                _ => return None,
            },
            ("POST", ["__oss", bucket] | ["__oss", bucket, ""]) if !bucket.is_empty() => Route::OssPost,
            ("GET" | "HEAD", ["__oss", bucket, key, ..]) if !bucket.is_empty() && !key.is_empty() => Route::OssGet,
            _ => return None,
        };
        Some(route)
    }
}

/// HBR's action: the `x-acs-action` header (V3 signing), or the `Action` query parameter (V2).
fn hbr_action(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(action) = headers.get("x-acs-action").and_then(|value| value.to_str().ok()) {
        return Some(action.trim().to_owned());
    }
    let pairs = crate::signing::query_pairs(uri.query());
    crate::signing::query_value(&pairs, "Action").map(str::to_owned)
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
            ("POST", "/api/v1/datasets/demo.sandbox%3Av1/tables", Some(Route::RedivisTables)),
            ("GET", "/api/v1/tables/demo.sandbox%3Av1.files", Some(Route::RedivisTables)),
            ("POST", "/api/v1/tables/t/tempUploads", Some(Route::RedivisTempUploads)),
            ("POST", "/api/v1/tables/t/rawFiles", Some(Route::RedivisRawFiles)),
            ("GET", "/api/v1/tables/t/rawFiles", Some(Route::RedivisListRawFiles)),
            ("GET", "/api/v1/rawFiles/f", Some(Route::RedivisGetRawFile)),
            ("POST", "/__tempUploads/u", Some(Route::RedivisInitiate)),
            ("PUT", "/__tempUploads/u", Some(Route::RedivisChunk)),
            ("PUT", "/__tempUploads/u/session/s", Some(Route::RedivisChunk)),
            ("DELETE", "/__tempUploads/u/session/s", Some(Route::RedivisCancel)),
            ("GET", "/__tempUploads/u", None),
            ("POST", "/api/inspect/v1/file/upload/presigned", Some(Route::InspectPresigned)),
            ("POST", "/api/inspect/v1/file/f/upload/complete", Some(Route::InspectComplete)),
            ("GET", "/api/inspect/v1/assets/a/files", None),
            ("PUT", "/__presigned/f", Some(Route::InspectPut)),
            ("POST", "/hbr/?Action=CreateTempFileUploadUrl&FileName=a", Some(Route::HbrCreateUrl)),
            ("POST", "/hbr?Action=GetTempFileDownloadLink", Some(Route::HbrDownloadLink)),
            ("POST", "/hbr/?Action=DescribeVaults", None),
            ("POST", "/hbr/", None),
            ("POST", "/__oss/hbr-temp-bucket", Some(Route::OssPost)),
            ("POST", "/__oss/hbr-temp-bucket/", Some(Route::OssPost)),
            ("GET", "/__oss/hbr-temp-bucket/temp/1/a.txt", Some(Route::OssGet)),
            ("GET", "/__oss/hbr-temp-bucket/", None),
        ];
        let none = HeaderMap::new();
        for (method, path, expected) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let uri: Uri = path.parse().unwrap();
            assert_eq!(Route::classify(&method, &uri, &none), expected, "{method} {path}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-acs-action", "GetTempFileDownloadLink".parse().unwrap());
        let uri: Uri = "/hbr/?TempFileKey=k".parse().unwrap();
        assert_eq!(Route::classify(&Method::POST, &uri, &headers), Some(Route::HbrDownloadLink));
        let session = "/__tempUploads/u/session/s";
        for (range, expected) in [
            ("bytes */1000", Route::RedivisStatus),
            ("bytes */*", Route::RedivisStatus),
            ("bytes 0-262143/1000000", Route::RedivisChunk),
            ("bytes 0-262143/*", Route::RedivisChunk),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("content-range", range.parse().unwrap());
            let uri: Uri = session.parse().unwrap();
            assert_eq!(Route::classify(&Method::PUT, &uri, &headers), Some(expected), "{range}");
        }
    }
}
