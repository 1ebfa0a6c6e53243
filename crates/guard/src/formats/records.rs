//! Where the records of a CSV file begin and end, found exactly as
//! `csv_core` splits them (the `csv` crate's parser, with its defaults:
//! `"` quotes, doubled to escape; `\r`, `\n` or `\r\n` ends a record; blank
//! lines are no record) but without copying a field. The table reader uses
//! it to pass over records that the raw prefilter shows hold nothing to
//! find, and parses fields only for the rest. A property test holds it to
//! the `csv` crate on arbitrary bytes.

use std::borrow::Cow;

use memchr::{memchr, memchr3};

/// One record's place in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// Its first byte.
    pub start: usize,
    /// Past its last byte of content, before its terminator.
    pub end: usize,
    /// Where the search for the next record starts.
    pub next: usize,
    /// A field is not one run of the raw bytes with at most its quotes
    /// doubled: a closing quote was followed by more text (`"ab"cd` reads
    /// as `abcd`). Such a record is never passed over on the raw bytes.
    pub rejoined: bool,
}

/// What the buffer holds next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// A whole record.
    Record(Span),
    /// The buffer ends inside a record, which starts here (or in blank
    /// lines, and this is the buffer's end): read more, keeping the bytes
    /// from here on.
    More(usize),
    /// Nothing but blank lines remain, and the input has ended.
    End,
}

fn terminator(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// The next record of `buf` from `from`. `eof` says that the input ends
/// with `buf`: a record then ends at the end of the buffer, as `csv_core`
/// ends one at the end of its input.
pub(crate) fn next_record(buf: &[u8], from: usize, eof: bool, delimiter: u8) -> Next {
    let len = buf.len();
    let mut i = from;
    while i < len && buf.get(i).copied().is_some_and(terminator) {
        i += 1;
    }
    if i >= len {
        return if eof { Next::End } else { Next::More(len) };
    }
    let start = i;
    let at_end = |rejoined: bool| {
        if eof { Next::Record(Span { start, end: len, next: len, rejoined }) } else { Next::More(start) }
    };
    let mut rejoined = false;
    // Whether `i` is the first byte of a field (where a quote opens one).
    let mut field_start = true;
    loop {
        if i >= len {
            return at_end(rejoined);
        }
        if field_start && buf.get(i) == Some(&b'"') {
            // A quoted field: delimiters and terminators are text until
            // the closing quote; a doubled quote is one quote.
            i += 1;
            loop {
                let Some(k) = buf.get(i..).and_then(|rest| memchr(b'"', rest)) else {
                    return at_end(rejoined);
                };
                let quote = i + k;
                match buf.get(quote + 1).copied() {
                    None => return at_end(rejoined),
                    Some(b'"') => i = quote + 2,
                    Some(c) if c == delimiter => {
                        i = quote + 2;
                        field_start = true;
                        break;
                    }
                    Some(c) if terminator(c) => {
                        return Next::Record(Span { start, end: quote + 1, next: quote + 1, rejoined });
                    }
                    Some(_) => {
                        rejoined = true;
                        i = quote + 1;
                        field_start = false;
                        break;
                    }
                }
            }
            continue;
        }
        // Unquoted: a quote is text unless it opens a field, that is,
        // unless a delimiter stands right before it.
        let rest = buf.get(i..).unwrap_or_default();
        let Some(k) = memchr3(b'"', b'\r', b'\n', rest) else {
            return at_end(rejoined);
        };
        let p = i + k;
        if buf.get(p) == Some(&b'"') {
            if p > i && buf.get(p - 1) == Some(&delimiter) {
                i = p;
                field_start = true;
            } else {
                i = p + 1;
                field_start = false;
            }
            continue;
        }
        return Next::Record(Span { start, end: p, next: p + 1, rejoined });
    }
}

/// The fields of one record, `raw` being its bytes as [`next_record`]
/// spans them, as `csv_core` reads them: a field is borrowed from `raw`
/// unless undoing its quotes changed it.
pub(crate) fn fields<'a>(raw: &'a [u8], delimiter: u8, out: &mut Vec<Cow<'a, [u8]>>) {
    out.clear();
    let len = raw.len();
    // A field's text so far: borrowed while it is one run of `raw`.
    fn add<'a>(text: &mut Option<Cow<'a, [u8]>>, run: &'a [u8]) {
        *text = Some(match text.take() {
            None => Cow::Borrowed(run),
            Some(t) => {
                let mut v = t.into_owned();
                v.extend_from_slice(run);
                Cow::Owned(v)
            }
        });
    }
    let mut i = 0;
    loop {
        if raw.get(i) != Some(&b'"') {
            let end = raw.get(i..).and_then(|rest| memchr(delimiter, rest)).map_or(len, |k| i + k);
            out.push(Cow::Borrowed(raw.get(i..end).unwrap_or_default()));
            if end >= len {
                return;
            }
            i = end + 1;
            continue;
        }
        let mut text: Option<Cow<'a, [u8]>> = None;
        let mut run = i + 1;
        let mut j = i + 1;
        loop {
            let Some(k) = raw.get(j..).and_then(|rest| memchr(b'"', rest)) else {
                // Never closed: the rest of the record is the field's.
                add(&mut text, raw.get(run..).unwrap_or_default());
                out.push(text.unwrap_or_default());
                return;
            };
            let quote = j + k;
            match raw.get(quote + 1).copied() {
                Some(b'"') => {
                    // A doubled quote: one quote of text.
                    add(&mut text, raw.get(run..=quote).unwrap_or_default());
                    run = quote + 2;
                    j = quote + 2;
                }
                None => {
                    add(&mut text, raw.get(run..quote).unwrap_or_default());
                    out.push(text.unwrap_or_default());
                    return;
                }
                Some(c) if c == delimiter => {
                    add(&mut text, raw.get(run..quote).unwrap_or_default());
                    out.push(text.unwrap_or_default());
                    i = quote + 2;
                    break;
                }
                Some(_) => {
                    // Closed, then more text up to the delimiter, its
                    // quotes taken as they stand.
                    add(&mut text, raw.get(run..quote).unwrap_or_default());
                    let from = quote + 1;
                    let end = raw.get(from..).and_then(|rest| memchr(delimiter, rest)).map_or(len, |k| from + k);
                    add(&mut text, raw.get(from..end).unwrap_or_default());
                    out.push(text.unwrap_or_default());
                    if end >= len {
                        return;
                    }
                    i = end + 1;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record of `input` as raw spans, feeding it `chunk` bytes at a
    /// time as the table reader does (a record cut by the buffer's end is
    /// looked at again once more is read).
    fn spans(input: &[u8], delimiter: u8, chunk: usize) -> Vec<(usize, usize, bool)> {
        let mut out = Vec::new();
        let mut filled = 0;
        let mut from = 0;
        loop {
            let eof = filled >= input.len();
            match next_record(input.get(..filled).unwrap_or_default(), from, eof, delimiter) {
                Next::Record(s) => {
                    out.push((s.start, s.end, s.rejoined));
                    from = s.next;
                }
                Next::More(_) => filled = (filled + chunk).min(input.len()),
                Next::End => return out,
            }
        }
    }

    /// The records `csv` reads from `input`, each as its fields.
    fn csv_records(input: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(input);
        let mut rec = csv::ByteRecord::new();
        let mut out = Vec::new();
        while r.read_byte_record(&mut rec).unwrap_or(false) {
            out.push(rec.iter().map(<[u8]>::to_vec).collect());
        }
        out
    }

    /// The fields of one raw span, as [`fields`] reads them.
    fn owned_fields(raw: &[u8], delimiter: u8) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        fields(raw, delimiter, &mut out);
        out.into_iter().map(Cow::into_owned).collect()
    }

    #[test]
    fn quoted_fields_hold_delimiters_terminators_and_doubled_quotes() {
        let input = b"a,\"b,\r\nc\",\"say \"\"hi\"\"\"\r\n\r\n\nx\"y,z\n\"ab\"cd,e";
        let s = spans(input, b',', 1 << 20);
        assert_eq!(s.len(), 3);
        assert_eq!(&input[s[0].0..s[0].1], b"a,\"b,\r\nc\",\"say \"\"hi\"\"\"");
        assert_eq!(&input[s[1].0..s[1].1], b"x\"y,z");
        assert_eq!(&input[s[2].0..s[2].1], b"\"ab\"cd,e");
        assert_eq!((s[0].2, s[1].2, s[2].2), (false, false, true));
    }

    fn csvish() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                Just(b'a'),
                Just(b'7'),
                Just(b' '),
                Just(b','),
                Just(b';'),
                Just(b'\t'),
                Just(b'"'),
                Just(b'\r'),
                Just(b'\n'),
                any::<u8>(),
            ],
            0..200,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// The spans are csv's records, in order, whatever the bytes and
        /// wherever the buffer is cut.
        #[test]
        fn spans_are_the_records_csv_reads(input in csvish(), delim in prop_oneof![Just(b','), Just(b';'), Just(b'\t')], chunk in 1usize..64) {
            let expected = csv_records(&input, delim);
            for chunk in [chunk, 1 << 20] {
                let got: Vec<Vec<Vec<u8>>> =
                    spans(&input, delim, chunk).iter().map(|(s, e, _)| owned_fields(&input[*s..*e], delim)).collect();
                prop_assert_eq!(&got, &expected);
            }
        }

        /// A record not marked rejoined has every field as one run of its
        /// raw bytes, quotes aside: each field (doubled quotes undone)
        /// is found in the raw record.
        #[test]
        fn unrejoined_fields_are_runs_of_the_raw_bytes(input in csvish()) {
            for (s, e, rejoined) in spans(&input, b',', 1 << 20) {
                let raw = &input[s..e];
                for f in owned_fields(raw, b',') {
                    if rejoined || f.is_empty() {
                        continue;
                    }
                    let doubled: Vec<u8> = f.iter().flat_map(|b| if *b == b'"' { vec![b'"', b'"'] } else { vec![*b] }).collect();
                    let found = raw.windows(f.len()).any(|w| w == f.as_slice())
                        || raw.windows(doubled.len()).any(|w| w == doubled.as_slice());
                    prop_assert!(found, "field {:?} of {:?}", f, raw);
                }
            }
        }
    }
}
