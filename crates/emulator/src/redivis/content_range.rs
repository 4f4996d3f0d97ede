//! The `Content-Range` of a GCS-style session PUT: `bytes S-E/N` or `bytes S-E/*` for a chunk,
//! `bytes */N` or `bytes */*` for a status query.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContentRange {
    /// `bytes */N` or `bytes */*`: how far is the upload? (With N equal to what is committed, it
    /// also finalizes.)
    Query { total: Option<u64> },
    /// `bytes S-E/N` or `bytes S-E/*`: bytes S to E inclusive.
    Chunk { start: u64, end: u64, total: Option<u64> },
}

impl ContentRange {
    pub(crate) fn parse(value: &str) -> Result<ContentRange, String> {
        let bad = || format!("Invalid Content-Range '{value}': expected 'bytes S-E/N', 'bytes S-E/*' or 'bytes */N'.");
        let rest = value.trim().strip_prefix("bytes").ok_or_else(bad)?.trim_start();
        let (range, total) = rest.split_once('/').ok_or_else(bad)?;
        let total = match total.trim() {
            "*" => None,
            total => Some(number(total).ok_or_else(bad)?),
        };
        if range.trim() == "*" {
            return Ok(ContentRange::Query { total });
        }
        let (start, end) = range.trim().split_once('-').ok_or_else(bad)?;
        let (start, end) = (number(start).ok_or_else(bad)?, number(end).ok_or_else(bad)?);
        if end < start {
            return Err(format!("Invalid Content-Range '{value}': the range ends before it starts."));
        }
        if total.is_some_and(|total| end >= total) {
            return Err(format!("Invalid Content-Range '{value}': the range goes past the total size."));
        }
        Ok(ContentRange::Chunk { start, end, total })
    }
}

fn number(text: &str) -> Option<u64> {
    let text = text.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_forms_parse() {
        assert_eq!(ContentRange::parse("bytes */2000000"), Ok(ContentRange::Query { total: Some(2_000_000) }));
        assert_eq!(ContentRange::parse("bytes */*"), Ok(ContentRange::Query { total: None }));
        assert_eq!(
            ContentRange::parse("bytes 0-524287/2000000"),
            Ok(ContentRange::Chunk { start: 0, end: 524_287, total: Some(2_000_000) })
        );
        assert_eq!(
            ContentRange::parse("bytes 262144-524287/*"),
            Ok(ContentRange::Chunk { start: 262_144, end: 524_287, total: None })
        );
        assert_eq!(ContentRange::parse("bytes */0"), Ok(ContentRange::Query { total: Some(0) }));
    }

    #[test]
    fn nonsense_is_refused() {
        for value in
            ["", "bytes", "bytes 0-1", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "bytes -1-3/5", "bytes 0--1/0"]
        {
            assert!(ContentRange::parse(value).is_err(), "{value}");
        }
    }
}
