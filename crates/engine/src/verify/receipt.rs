//! A receipt: what a verification found, for every file and Doc, in a file a user can keep and
//! hand on (JSON, or CSV for a spreadsheet), carrying the SHA-256 of its own canonical content
//! so that any later change to it shows.
//!
//! The canonical content is the receipt as JSON without its `sha256` member, object keys
//! sorted, no whitespace (numbers as serde_json writes them). The CSV form holds the same
//! entries, one per row, with the receipt-wide fields and the receipt's SHA-256 repeated on
//! every row, so either form can be read back and checked.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::{Counts, Verdict, Verification};
use crate::error::{Error, Result};

/// The `format` of the receipts this code writes.
pub const FORMAT: &str = "twindrop-receipt/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    /// `trusted_twin`, `redivis`.
    pub service: String,
    pub base_url: String,
    /// The Twin (or table).
    pub destination: String,
    /// The digest the server records: `sha256` or `md5`.
    pub algorithm: String,
    /// When the server was read (RFC 3339, UTC).
    pub checked_at: String,
    /// Entries by verdict (`match`, `differs`, `not_on_server`, …), every verdict listed.
    pub counts: BTreeMap<String, u64>,
    pub entries: Vec<Entry>,
    /// SHA-256 of the canonical content (see the module doc).
    pub sha256: String,
}

/// One file or Doc of a receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The Doc's name.
    pub name: String,
    /// The local file (U+FFFD for bytes that are not UTF-8); none when only on the server.
    pub path: Option<String>,
    pub verdict: Verdict,
    /// The local file's size and SHA-256, when it was read.
    pub size: Option<u64>,
    pub sha256: Option<String>,
    /// What the server holds: size, digest (of `algorithm`), status, times.
    pub server_size: Option<u64>,
    pub server_digest: Option<String>,
    pub status: Option<String>,
    pub created_ts: Option<f64>,
    pub updated_ts: Option<f64>,
    /// The creation certificate as the server returned it (Trusted Twin: `created_ts`,
    /// `creator`, `size`, `hash`).
    pub certificate: Option<Value>,
    /// When this entry was checked (RFC 3339, UTC).
    pub checked_at: String,
}

/// Seconds since the epoch as RFC 3339 UTC, to the millisecond.
pub fn rfc3339(epoch: f64) -> String {
    let at = chrono::DateTime::from_timestamp_millis((epoch * 1000.0).round() as i64).unwrap_or_default();
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Receipt {
    /// The receipt of `v`, sealed with its hash.
    pub fn of(v: &Verification) -> Receipt {
        let checked_at = rfc3339(v.checked_at);
        let entries = v
            .rows
            .iter()
            .map(|row| Entry {
                name: row.name.clone(),
                path: row.path.clone(),
                verdict: row.verdict,
                size: row.local.as_ref().map(|l| l.size),
                sha256: row.local.as_ref().map(|l| l.sha256.clone()),
                server_size: row.server.as_ref().and_then(|s| s.size),
                server_digest: row.server.as_ref().and_then(|s| s.digest.as_ref()).map(|d| d.hex().to_owned()),
                status: row.server.as_ref().map(|s| s.status.as_str().to_owned()),
                created_ts: row.server.as_ref().and_then(|s| s.created_ts),
                updated_ts: row.server.as_ref().and_then(|s| s.updated_ts),
                certificate: row.server.as_ref().and_then(|s| s.certificate.clone()),
                checked_at: checked_at.clone(),
            })
            .collect();
        let algorithm = serde_json::to_value(v.algorithm).ok().and_then(|a| a.as_str().map(str::to_owned));
        let mut receipt = Receipt {
            format: FORMAT.into(),
            service: v.service.as_str().into(),
            base_url: v.base_url.clone(),
            destination: v.destination.clone(),
            algorithm: algorithm.unwrap_or_default(),
            checked_at,
            counts: counted(&v.counts),
            entries,
            sha256: String::new(),
        };
        receipt.sha256 = receipt.content_hash();
        receipt
    }

    /// The SHA-256 of the canonical content: what `sha256` must say.
    pub fn content_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a receipt is plain data");
        if let Value::Object(map) = &mut value {
            map.remove("sha256");
        }
        let mut text = String::new();
        canonical(&value, &mut text);
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// Write it to `path`: CSV when the name ends in `.csv`, JSON otherwise. Written beside and
    /// renamed into place, so a crash never leaves half a receipt.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = match is_csv(path) {
            true => self.to_csv()?,
            false => {
                let mut b = serde_json::to_vec_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
                b.push(b'\n');
                b
            }
        };
        let tmp = path.with_extension("receipt-part");
        std::fs::write(&tmp, bytes).map_err(|e| Error::file(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::file(path, e))
    }

    /// Read a receipt back (either form) and check it against its own hash.
    pub fn read(path: &Path) -> Result<Receipt> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
        let invalid = |message: String| Error::ReceiptInvalid { path: path.display().to_string(), message };
        let receipt = match is_csv(path) {
            true => Receipt::from_csv(&text).map_err(invalid)?,
            false => serde_json::from_str::<Receipt>(&text).map_err(|e| invalid(e.to_string()))?,
        };
        if receipt.format != FORMAT {
            return Err(invalid(format!("format {:?}; this Twindrop reads {FORMAT:?}", receipt.format)));
        }
        let found = receipt.content_hash();
        if found != receipt.sha256 {
            return Err(Error::ReceiptTampered { path: path.display().to_string(), found, says: receipt.sha256 });
        }
        Ok(receipt)
    }

    fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| Error::Internal(format!("writing a receipt: {e}"));
        w.write_record(CSV_COLUMNS).map_err(fail)?;
        for e in &self.entries {
            let opt = |v: Option<String>| v.unwrap_or_default();
            w.write_record([
                self.format.clone(),
                self.service.clone(),
                self.base_url.clone(),
                self.destination.clone(),
                self.algorithm.clone(),
                self.checked_at.clone(),
                e.name.clone(),
                opt(e.path.clone()),
                e.verdict.as_str().to_owned(),
                opt(e.size.map(|v| v.to_string())),
                opt(e.sha256.clone()),
                opt(e.server_size.map(|v| v.to_string())),
                opt(e.server_digest.clone()),
                opt(e.status.clone()),
                opt(e.created_ts.map(|v| v.to_string())),
                opt(e.updated_ts.map(|v| v.to_string())),
                opt(e.certificate.as_ref().map(Value::to_string)),
                e.checked_at.clone(),
                self.sha256.clone(),
            ])
            .map_err(fail)?;
        }
        w.into_inner().map_err(|e| Error::Internal(format!("writing a receipt: {e}")))
    }

    fn from_csv(text: &str) -> std::result::Result<Receipt, String> {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().map_err(|e| e.to_string())?.iter().map(str::to_owned).collect();
        if header != CSV_COLUMNS {
            return Err(format!("the columns are {header:?}, not a receipt's"));
        }
        let mut receipt: Option<Receipt> = None;
        for (line, record) in r.records().enumerate() {
            let record = record.map_err(|e| e.to_string())?;
            let col = |i: usize| record.get(i).unwrap_or_default().to_owned();
            let opt = |i: usize| Some(col(i)).filter(|s| !s.is_empty());
            let num = |i: usize| -> std::result::Result<Option<u64>, String> {
                opt(i).map(|s| s.parse().map_err(|_| format!("row {}: {:?} is not a size", line + 2, s))).transpose()
            };
            let float = |i: usize| -> std::result::Result<Option<f64>, String> {
                opt(i).map(|s| s.parse().map_err(|_| format!("row {}: {:?} is not a time", line + 2, s))).transpose()
            };
            let verdict = serde_json::from_value(Value::String(col(8)))
                .map_err(|_| format!("row {}: verdict {:?}", line + 2, col(8)))?;
            let certificate = opt(16)
                .map(|s| serde_json::from_str(&s).map_err(|_| format!("row {}: the certificate is not JSON", line + 2)))
                .transpose()?;
            let receipt = receipt.get_or_insert_with(|| Receipt {
                format: col(0),
                service: col(1),
                base_url: col(2),
                destination: col(3),
                algorithm: col(4),
                checked_at: col(5),
                counts: counted(&Counts::default()),
                entries: Vec::new(),
                sha256: col(18),
            });
            receipt.entries.push(Entry {
                name: col(6),
                path: opt(7),
                verdict,
                size: num(9)?,
                sha256: opt(10),
                server_size: num(11)?,
                server_digest: opt(12),
                status: opt(13),
                created_ts: float(14)?,
                updated_ts: float(15)?,
                certificate,
                checked_at: col(17),
            });
            *receipt.counts.entry(verdict.as_str().to_owned()).or_default() += 1;
        }
        receipt.ok_or_else(|| "no entries".to_owned())
    }
}

fn counted(counts: &Counts) -> BTreeMap<String, u64> {
    Verdict::ALL.iter().map(|&v| (v.as_str().to_owned(), counts.get(v))).collect()
}

const CSV_COLUMNS: [&str; 19] = [
    "format",
    "service",
    "base_url",
    "destination",
    "algorithm",
    "receipt_checked_at",
    "name",
    "path",
    "verdict",
    "size",
    "sha256",
    "server_size",
    "server_digest",
    "status",
    "created_ts",
    "updated_ts",
    "certificate",
    "checked_at",
    "receipt_sha256",
];

fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// JSON with object keys sorted and no whitespace, whatever order the map keeps them in
/// (serde_json's `preserve_order` may be on in the app's build).
fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Receipt {
        let entry = Entry {
            name: "data/a.txt".into(),
            path: Some("/home/u/data/a.txt".into()),
            verdict: Verdict::Match,
            size: Some(3),
            sha256: Some("ab".repeat(32)),
            server_size: Some(3),
            server_digest: Some("ab".repeat(32)),
            status: Some("ok".into()),
            created_ts: Some(1_765_000_000.125),
            updated_ts: Some(1_765_000_001.5),
            certificate: Some(serde_json::json!({"creator": "acct", "created_ts": 1_765_000_000.125, "size": 3})),
            checked_at: rfc3339(1_765_000_002.0),
        };
        let mut r = Receipt {
            format: FORMAT.into(),
            service: "trusted_twin".into(),
            base_url: "https://rest.trustedtwin.com".into(),
            destination: "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d".into(),
            algorithm: "sha256".into(),
            checked_at: rfc3339(1_765_000_002.0),
            counts: counted(&Counts { r#match: 1, ..Counts::default() }),
            entries: vec![entry],
            sha256: String::new(),
        };
        r.sha256 = r.content_hash();
        r
    }

    /// JSON with every object's keys in reverse order, as another writer might lay it out.
    fn reversed(v: &Value) -> String {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                keys.reverse();
                let parts: Vec<String> =
                    keys.iter().map(|k| format!("{}: {}", Value::String((*k).clone()), reversed(&map[*k]))).collect();
                format!("{{\n{}\n}}", parts.join(",\n"))
            }
            Value::Array(items) => format!("[{}]", items.iter().map(reversed).collect::<Vec<_>>().join(", ")),
            other => other.to_string(),
        }
    }

    #[test]
    fn the_hash_is_of_the_content_not_its_layout() {
        let dir = tempfile::tempdir().unwrap();
        let r = sample();
        let path = dir.path().join("r.json");
        std::fs::write(&path, reversed(&serde_json::to_value(&r).unwrap())).unwrap();
        assert_eq!(Receipt::read(&path).unwrap(), r, "another key order and whitespace still check out");

        // Any change to a value deep inside shows.
        let mut changed = serde_json::to_value(&r).unwrap();
        changed["entries"][0]["certificate"]["size"] = serde_json::json!(4);
        std::fs::write(&path, changed.to_string()).unwrap();
        let e = Receipt::read(&path).unwrap_err();
        assert_eq!(e.code(), "receipt.tampered", "{e}");

        // So does a member added, and a receipt of another format is refused as such.
        let mut added = serde_json::to_value(&r).unwrap();
        added["entries"][0]["note"] = serde_json::json!("x");
        std::fs::write(&path, added.to_string()).unwrap();
        assert_eq!(Receipt::read(&path).unwrap_err().code(), "receipt.invalid");
        std::fs::write(&path, "{\"hello\": 1}").unwrap();
        assert_eq!(Receipt::read(&path).unwrap_err().code(), "receipt.invalid");
    }

    #[test]
    fn the_csv_form_reads_back_to_the_same_receipt() {
        let dir = tempfile::tempdir().unwrap();
        let r = sample();
        let path = dir.path().join("r.csv");
        r.write(&path).unwrap();
        assert_eq!(Receipt::read(&path).unwrap(), r);
        let json = dir.path().join("r.json");
        r.write(&json).unwrap();
        assert_eq!(Receipt::read(&json).unwrap(), r);
    }
}
