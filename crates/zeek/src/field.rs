//! One value of a record as Zeek wrote it: unset (`-`), empty (`(empty)`), or a value, decoded
//! from `\xNN` escapes only when it contains one; and the items of a set or vector value.

use std::borrow::Cow;

use crate::escape::unescape;

/// A field value. `Value` borrows from the line unless the text had to be unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field<'a> {
    /// The unset marker (`-`), a JSON `null`, a key absent from a JSON line, or a column the
    /// header does not have.
    Unset,
    /// The empty marker (`(empty)`): an empty set, vector or string, or an empty JSON array.
    Empty,
    /// Any other value, unescaped.
    Value(Cow<'a, str>),
}

impl<'a> Field<'a> {
    /// The value as text: `None` when unset, `""` when empty.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Unset => None,
            Field::Empty => Some(""),
            Field::Value(value) => Some(value),
        }
    }

    /// The value, or `None` when unset or empty.
    pub fn value(self) -> Option<Cow<'a, str>> {
        match self {
            Field::Value(value) => Some(value),
            Field::Unset | Field::Empty => None,
        }
    }

    /// An owned copy that outlives the record.
    pub fn into_owned(self) -> Field<'static> {
        match self {
            Field::Unset => Field::Unset,
            Field::Empty => Field::Empty,
            Field::Value(value) => Field::Value(Cow::Owned(value.into_owned())),
        }
    }

    /// True for the unset marker.
    pub fn is_unset(&self) -> bool {
        matches!(self, Field::Unset)
    }

    /// Classifies raw text from a line against the header's markers and unescapes it.
    pub(crate) fn from_raw(raw: &'a str, unset_field: &str, empty_field: &str) -> Field<'a> {
        if raw == unset_field {
            Field::Unset
        } else if raw == empty_field {
            Field::Empty
        } else {
            Field::Value(unescape(raw))
        }
    }
}

/// The items of a set or vector field (`service`, `tunnel_parents`, `request_values`, ...), in
/// the order written, each unescaped. An unset or empty field has no items.
#[derive(Debug, Clone)]
pub struct SetItems<'a> {
    rest: Option<&'a str>,
    separator: &'a str,
}

impl<'a> SetItems<'a> {
    pub(crate) fn new(raw: Option<&'a str>, separator: &'a str) -> SetItems<'a> {
        SetItems {
            rest: raw,
            separator,
        }
    }

    /// No items.
    pub fn none() -> SetItems<'static> {
        SetItems {
            rest: None,
            separator: ",",
        }
    }

    /// The field as written (before splitting and unescaping) and its separator: for callers
    /// that keep the items as borrowed text and split them later.
    pub fn raw(&self) -> (Option<&'a str>, &'a str) {
        (self.rest, self.separator)
    }

    /// True when any item equals `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.clone().any(|item| item == name)
    }
}

impl<'a> Iterator for SetItems<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        let rest = self.rest?;
        if self.separator.is_empty() {
            self.rest = None;
            return Some(unescape(rest));
        }
        match rest.find(self.separator) {
            Some(end) => {
                self.rest = Some(&rest[end + self.separator.len()..]);
                Some(unescape(&rest[..end]))
            }
            None => {
                self.rest = None;
                Some(unescape(rest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_markers_and_values() {
        assert_eq!(Field::from_raw("-", "-", "(empty)"), Field::Unset);
        assert_eq!(Field::from_raw("(empty)", "-", "(empty)"), Field::Empty);
        assert_eq!(
            Field::from_raw("\\x2d", "-", "(empty)"),
            Field::Value(Cow::Borrowed("-"))
        );
        assert!(matches!(
            Field::from_raw("modbus", "-", "(empty)"),
            Field::Value(Cow::Borrowed("modbus"))
        ));
    }

    #[test]
    fn splits_set_items_and_unescapes_each() {
        let items: Vec<_> = SetItems::new(Some("cotp,s7comm\\x2cx"), ",").collect();
        assert_eq!(items, vec!["cotp", "s7comm,x"]);
        assert_eq!(SetItems::new(None, ",").count(), 0);
        assert!(SetItems::new(Some("s7comm,cotp"), ",").contains("cotp"));
    }
}
