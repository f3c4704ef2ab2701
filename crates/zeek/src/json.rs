//! Zeek JSON lines mapped onto the same record shape as TSV.
//!
//! Each line's values are written, escaped as Zeek's TSV writer would write them, into one
//! reusable text buffer, with a span per column of a header built from the keys seen so far.
//! Records from JSON and TSV are therefore read by the same code, and a JSON line and its TSV
//! twin give equal fields. Nested objects are flattened with dots (`id.orig_h`), arrays become
//! set items, `null` and absent keys are unset, `true`/`false` become `T`/`F`. A key never seen
//! before starts a new header that adds it as a column.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::Arc;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::escape::{EscapeContext, escape_into};
use crate::header::{Format, Header};
use crate::problem::ProblemKind;
use crate::record::Span;

const UNSET: &str = "-";
const EMPTY: &str = "(empty)";

/// The state kept between JSON lines.
#[derive(Debug, Default)]
pub(crate) struct JsonLines {
    header: Option<Arc<Header>>,
    columns: HashMap<String, usize>,
    text: String,
    spans: Vec<Span>,
    /// (column, span) pairs of the line being parsed.
    values: Vec<(usize, Span)>,
    /// Keys of the line being parsed that the header does not have yet.
    new_fields: Vec<String>,
}

impl JsonLines {
    pub(crate) fn header(&self) -> Option<&Arc<Header>> {
        self.header.as_ref()
    }

    /// Continues a stream whose header is known (a resumed tail): its columns keep their places.
    pub(crate) fn resume(&mut self, header: Arc<Header>) {
        self.columns = header
            .fields
            .iter()
            .enumerate()
            .map(|(idx, field)| (field.clone(), idx))
            .collect();
        self.header = Some(header);
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn spans(&self) -> &[Span] {
        &self.spans
    }

    /// Parses one line into the buffer; on error the previous state is kept.
    pub(crate) fn parse(
        &mut self,
        line: &[u8],
        line_number: u64,
        path: Option<&str>,
    ) -> Result<(), ProblemKind> {
        self.text.clear();
        self.text.push_str(UNSET);
        self.values.clear();
        self.new_fields.clear();
        let mut deserializer = serde_json::Deserializer::from_slice(line);
        let mut prefix = String::new();
        let result = ObjectSeed {
            lines: self,
            prefix: &mut prefix,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
        if let Err(error) = result {
            return Err(ProblemKind::Json {
                message: error.to_string(),
            });
        }
        if self.header.is_none() || !self.new_fields.is_empty() {
            self.extend_header(line_number, path);
        }
        let width = self.header.as_ref().map_or(0, |header| header.fields.len());
        self.spans.clear();
        self.spans.resize(width, Span { start: 0, end: 1 });
        for &(column, span) in &self.values {
            if let Some(slot) = self.spans.get_mut(column) {
                *slot = span;
            }
        }
        if u32::try_from(self.text.len()).is_err() {
            return Err(ProblemKind::TooLarge);
        }
        Ok(())
    }

    fn extend_header(&mut self, line_number: u64, path: Option<&str>) {
        let mut fields = self
            .header
            .as_ref()
            .map(|header| header.fields.clone())
            .unwrap_or_default();
        for field in self.new_fields.drain(..) {
            self.columns.insert(field.clone(), fields.len());
            fields.push(field);
        }
        let mut header = Header::with_fields(path, fields);
        header.format = Format::Json;
        header.line_number = line_number;
        self.header = Some(Arc::new(header));
    }

    fn column(&mut self, key: &str) -> usize {
        if let Some(&column) = self.columns.get(key) {
            return column;
        }
        let known = self.header.as_ref().map_or(0, |header| header.fields.len());
        match self.new_fields.iter().position(|field| field == key) {
            Some(position) => known + position,
            None => {
                self.new_fields.push(key.to_owned());
                known + self.new_fields.len() - 1
            }
        }
    }

    fn start(&self) -> u32 {
        // Lines are bounded well below 4 GiB by the reader; `parse` reports larger ones.
        u32::try_from(self.text.len()).unwrap_or(u32::MAX)
    }

    fn push_value(&mut self, key: &str, start: u32) {
        let column = self.column(key);
        let end = self.start();
        self.values.retain(|(existing, _)| *existing != column);
        self.values.push((column, Span { start, end }));
    }
}

fn context(in_set: bool) -> EscapeContext<'static> {
    EscapeContext {
        separator: b'\t',
        set_separator: ",",
        unset_field: UNSET,
        empty_field: EMPTY,
        in_set,
    }
}

/// Deserializes an object, flattening nested objects into dotted keys.
struct ObjectSeed<'s> {
    lines: &'s mut JsonLines,
    prefix: &'s mut String,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let prefix_len = self.prefix.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            self.prefix.truncate(prefix_len);
            self.prefix.push_str(&key);
            map.next_value_seed(ValueSeed {
                lines: &mut *self.lines,
                key: &mut *self.prefix,
            })?;
        }
        self.prefix.truncate(prefix_len);
        Ok(())
    }
}

/// Keys borrow from the line unless they contain escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
}

/// Writes one value of `key` into the buffer.
struct ValueSeed<'s> {
    lines: &'s mut JsonLines,
    key: &'s mut String,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn scalar(self, write: impl FnOnce(&mut String)) {
        let start = self.lines.start();
        write(&mut self.lines.text);
        self.lines.push_value(self.key, start);
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.scalar(|text| text.push(if value { 'T' } else { 'F' }));
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.scalar(|text| {
            let _ = write!(text, "{value}");
        });
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.scalar(|text| {
            let _ = write!(text, "{value}");
        });
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        self.scalar(|text| {
            let _ = write!(text, "{value}");
        });
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.scalar(|text| escape_into(value, &context(false), text));
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let start = self.lines.start();
        let mut count = 0usize;
        loop {
            if count > 0 {
                self.lines.text.push(',');
            }
            let item_start = self.lines.text.len();
            match seq.next_element_seed(ItemSeed {
                text: &mut self.lines.text,
            })? {
                Some(()) => count += 1,
                None => {
                    // Remove the separator pushed for an item that did not come.
                    self.lines
                        .text
                        .truncate(item_start.saturating_sub(usize::from(count > 0)));
                    break;
                }
            }
        }
        if count == 0 {
            self.lines.text.push_str(EMPTY);
        }
        self.lines.push_value(self.key, start);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.key.push('.');
        ObjectSeed {
            lines: self.lines,
            prefix: self.key,
        }
        .visit_map(map)
    }
}

/// Writes one array item, escaped as a set item. Nested containers are kept as JSON text.
struct ItemSeed<'s> {
    text: &'s mut String,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::Null => escape_into(UNSET, &context(true), self.text),
            serde_json::Value::Bool(flag) => self.text.push(if flag { 'T' } else { 'F' }),
            serde_json::Value::Number(number) => {
                let _ = write!(self.text, "{number}");
            }
            serde_json::Value::String(text) => escape_into(&text, &context(true), self.text),
            nested @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                escape_into(&nested.to_string(), &context(true), self.text);
            }
        }
        Ok(())
    }
}

use serde::Deserialize as _;
