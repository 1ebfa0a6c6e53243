//! XML and ZIP plumbing shared by the office formats: members read through a
//! counter that enforces the decompressed-size and ratio limits as bytes
//! arrive (headers are never trusted), and small helpers over quick-xml.
//! quick-xml expands no custom entities, so entity bombs have nothing to
//! expand.

use std::cell::Cell;
use std::io::{BufReader, Read, Seek};
use std::rc::Rc;

use quick_xml::events::{BytesStart, Event};

use crate::error::{LimitHit, ScanError};
use crate::sink::Sink;

/// A reader that counts what it inflates and stops at the limits.
pub(crate) struct Counted<R> {
    inner: R,
    total: Rc<Cell<u64>>,
    limit: u64,
    read: u64,
    compressed: u64,
    max_ratio: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.total.set(self.total.get() + n as u64);
        if self.total.get() > self.limit {
            return Err(std::io::Error::other(LimitHit(format!(
                "more than {} MiB decompressed (zip bomb?)",
                self.limit >> 20
            ))));
        }
        if self.read > (1 << 20) && self.read > self.compressed.saturating_mul(self.max_ratio) {
            return Err(std::io::Error::other(LimitHit(format!(
                "a member expands more than {}:1 (zip bomb?)",
                self.max_ratio
            ))));
        }
        Ok(n)
    }
}

/// What a ZIP is read from: a file on disk (so a large workbook is never
/// held whole) or bytes in memory (an upload, a nested file).
pub(crate) trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// An opened ZIP (an office document or an archive).
pub(crate) struct Zip<'b> {
    pub archive: zip::ZipArchive<Box<dyn ReadSeek + 'b>>,
}

impl<'b> Zip<'b> {
    pub fn open(source: Box<dyn ReadSeek + 'b>, sink: &Sink<'_>) -> Result<Self, ScanError> {
        let archive = zip::ZipArchive::new(source)?;
        if archive.len() > sink.limits().max_entries {
            return Err(ScanError::TooLarge(format!(
                "{} members, more than the {} allowed",
                archive.len(),
                sink.limits().max_entries
            )));
        }
        Ok(Zip { archive })
    }

    /// Member names, in archive order. A name that cannot be read makes
    /// the file unreadable (nothing is skipped unseen).
    pub fn names(&self) -> Result<Vec<String>, ScanError> {
        let names: Result<Vec<String>, _> =
            self.archive.file_names().map(|n| n.map(std::borrow::Cow::into_owned)).collect();
        Ok(names?)
    }

    pub fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// Streams member `name` through `f`, counting inflation against the
    /// sink's limits.
    pub fn with_member<T>(
        &mut self,
        sink: &mut Sink<'_>,
        name: &str,
        f: impl FnOnce(&mut dyn Read, &mut Sink<'_>) -> Result<T, ScanError>,
    ) -> Result<T, ScanError> {
        let file = self.archive.by_name(name)?;
        if file.encrypted() {
            return Err(ScanError::Encrypted(format!("member {name} is encrypted")));
        }
        let total = Rc::new(Cell::new(sink.inflated));
        let mut counted = Counted {
            compressed: file.compressed_size().max(1),
            inner: file,
            total: Rc::clone(&total),
            limit: sink.limits().max_inflated_bytes,
            read: 0,
            max_ratio: sink.limits().max_ratio,
        };
        let out = f(&mut counted, sink);
        sink.inflated = total.get();
        out
    }
}

/// The longest run of XML without a `<` or `>`: one text node, or one
/// tag with its attributes. quick-xml holds a whole event in memory, so a
/// cell of a gigabyte of text would be a gigabyte held; no real document
/// has a text node this long.
const MAX_XML_RUN: u64 = 32 << 20;

/// A reader that fails once more than [`MAX_XML_RUN`] bytes pass without a
/// markup delimiter.
pub(crate) struct Runs<R> {
    inner: R,
    run: u64,
}

impl<R: Read> Read for Runs<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        match memchr::memrchr2(b'<', b'>', got) {
            Some(at) => self.run = (n - at - 1) as u64,
            None => self.run += n as u64,
        }
        if self.run > MAX_XML_RUN {
            return Err(std::io::Error::other(LimitHit(format!(
                "a text or tag of more than {} MiB in its XML (a memory bomb?)",
                MAX_XML_RUN >> 20
            ))));
        }
        Ok(n)
    }
}

/// A quick-xml reader over a member, bounded per event.
pub(crate) fn reader(r: &mut dyn Read) -> quick_xml::Reader<BufReader<Runs<&mut dyn Read>>> {
    let mut x = quick_xml::Reader::from_reader(BufReader::with_capacity(64 * 1024, Runs { inner: r, run: 0 }));
    x.config_mut().trim_text(false);
    x
}

/// The local part of an element or attribute name.
/// A style and the styles it inherits from, nearest first (`w:basedOn` in
/// Word, `style:parent-style-name` in OpenDocument). A cycle, or a chain
/// longer than 16, stops there.
pub(crate) fn ancestry<'a>(name: &'a str, parents: &'a std::collections::HashMap<String, String>) -> Vec<&'a str> {
    let mut chain = Vec::new();
    let mut at = Some(name);
    while let Some(s) = at {
        if chain.len() == 16 {
            break;
        }
        chain.push(s);
        at = parents.get(s).map(String::as_str);
    }
    chain
}

pub(crate) fn local(e: &BytesStart<'_>) -> String {
    let n = e.name();
    let s: &str = n.as_ref();
    s.rsplit(':').next().unwrap_or(s).to_owned()
}

/// An attribute by local name, unescaped.
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        let key: &str = a.key.as_ref();
        (key.rsplit(':').next() == Some(name))
            .then(|| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map(|v| v.into_owned()).ok())
            .flatten()
    })
}

/// Appends the text an event carries (text, CDATA, entity and character
/// references) to `out`, up to `cap` bytes.
pub(crate) fn append_text(ev: &Event<'_>, out: &mut String, cap: usize) {
    if out.len() >= cap {
        return;
    }
    match ev {
        Event::Text(t) => out.push_str(&t.xml10_content()),
        Event::CData(t) => {
            let s: &str = t.as_ref();
            out.push_str(s);
        }
        Event::GeneralRef(r) => {
            if let Ok(Some(c)) = r.resolve_char_ref() {
                out.push(c);
            } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
                out.push_str(s);
            }
        }
        _ => {}
    }
}

/// Maps an XML error, keeping limits as limits.
pub(crate) fn xml_error(e: quick_xml::Error) -> ScanError {
    ScanError::from(e)
}

/// The one event loop of the XML readers: runs `f` on every event of `x` up
/// to the end of the member, checking the scan's deadline (and so its
/// budget) before each event. A reader says what it does with an event;
/// reading, ticking and the end are this function's.
pub(crate) fn each_event<'s, B: std::io::BufRead>(
    x: &mut quick_xml::Reader<B>,
    sink: &mut Sink<'s>,
    mut f: impl FnMut(&mut Sink<'s>, &Event<'_>) -> Result<(), ScanError>,
) -> Result<(), ScanError> {
    let mut buf = Vec::new();
    loop {
        sink.tick()?;
        let ev = x.read_event_into(&mut buf).map_err(xml_error)?;
        if matches!(ev, Event::Eof) {
            return Ok(());
        }
        f(sink, &ev)?;
        buf.clear();
    }
}

/// Every text node of a member, in order, as one string per element with
/// text, up to `cap` bytes each. For small parts (properties, comments).
pub(crate) fn texts_of(
    r: &mut dyn Read,
    sink: &mut Sink<'_>,
    mut each: impl FnMut(&str, &str),
) -> Result<(), ScanError> {
    let mut x = reader(r);
    let mut current = String::new();
    let mut element = String::new();
    // Callers keep what they are given, so all of it counts against the
    // scan's memory budget.
    each_event(&mut x, sink, |sink, ev| {
        match ev {
            Event::Start(e) => {
                if !current.trim().is_empty() {
                    sink.hold(current.len())?;
                    each(&element, &current);
                }
                current.clear();
                element = local(e);
            }
            Event::End(_) => {
                if !current.trim().is_empty() {
                    sink.hold(current.len())?;
                    each(&element, &current);
                }
                current.clear();
            }
            other => append_text(other, &mut current, 1 << 20),
        }
        Ok(())
    })?;
    Ok(())
}

/// Calls `f` with each of the `names` attributes of every element of a
/// member, in document order.
pub(crate) fn each_attribute(
    r: &mut dyn Read,
    sink: &mut Sink<'_>,
    names: &[&str],
    mut f: impl FnMut(&mut Sink<'_>, &str, &str),
) -> Result<(), ScanError> {
    let mut x = reader(r);
    each_event(&mut x, sink, |sink, ev| {
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                for name in names {
                    if let Some(v) = attr(e, name) {
                        f(sink, name, &v);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(())
}
