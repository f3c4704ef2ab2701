//! Approval channels: the names a policy's `approval_channel` may use, each mapped to a
//! mechanism the code verifies. A policy naming a channel the code cannot verify is refused when
//! it is read, because a channel that is only recorded is a promise nobody keeps.
//!
//! - physical presence: entered at the otsentry host's console (`otsentry change approve`,
//!   against the local database) after the approver types their own passphrase; never through
//!   the HTTP API.
//! - out-of-band: a one-time confirmation code shown only to the requester when the request is
//!   filed, read back to the approver in person or by voice, and typed in by the approver; each
//!   code is spent by one approval.
//! - signed ticket: a ticket id with an ed25519 signature by the ticketing system's key
//!   configured on the host (`--ticket-key`), over [`ticket_message`].

use std::fmt;

use serde::Serialize;

/// A verified approval mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    PhysicalPresence,
    OutOfBand,
    SignedTicket,
}

/// The channel names a policy may use, and what each one means.
pub const CHANNEL_NAMES: &[(&str, Channel)] = &[
    ("physical presence", Channel::PhysicalPresence),
    ("console", Channel::PhysicalPresence),
    ("out-of-band", Channel::OutOfBand),
    ("voice", Channel::OutOfBand),
    ("signed ticket", Channel::SignedTicket),
    ("signed ticket in siem", Channel::SignedTicket),
];

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::PhysicalPresence => "physical presence",
            Channel::OutOfBand => "out-of-band",
            Channel::SignedTicket => "signed ticket",
        }
    }

    /// How the code verifies it, in words (what `policy check` explains).
    pub fn verification(self) -> &'static str {
        match self {
            Channel::PhysicalPresence => {
                "physical presence: entered at the otsentry host's console with the approver's own passphrase, never through the API"
            }
            Channel::OutOfBand => {
                "out-of-band: a one-time code shown only to the requester, read back to the approver in person or by voice"
            }
            Channel::SignedTicket => {
                "signed ticket: a ticket id signed by the ticketing system's key configured on this host"
            }
        }
    }

    /// Looks one channel name up (case and spacing forgiven).
    pub fn parse(text: &str) -> Option<Channel> {
        let wanted = normalise(text);
        CHANNEL_NAMES
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, channel)| *channel)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The known names, for error messages.
pub fn known_names() -> String {
    CHANNEL_NAMES
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a policy's `approval_channel`: one or more channel names joined by `or`, commas or
/// parentheses, as in `out-of-band (voice or physical presence)`. Every name must be known.
pub fn parse_channels(text: &str) -> Result<Vec<Channel>, String> {
    let spaced = text.replace(['(', ')', ',', '/'], " or ");
    let mut channels = Vec::new();
    for part in spaced.split(" or ") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let channel = Channel::parse(part).ok_or_else(|| {
            format!(
                "approval channel `{part}` is not one otsentry can verify; known channels: {}",
                known_names()
            )
        })?;
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    if channels.is_empty() {
        return Err(format!(
            "approval_channel is empty; known channels: {}",
            known_names()
        ));
    }
    Ok(channels)
}

/// The bytes a ticketing system signs to approve change request `request_id`: the request's
/// action and proposed value are included so a signature cannot be moved to another change.
pub fn ticket_message(
    request_id: i64,
    action: &str,
    proposed_value: &str,
    ticket_id: &str,
) -> String {
    format!(
        "otsentry approval\nchange_request {request_id}\naction {action}\nproposed_value {proposed_value}\nticket {ticket_id}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&[Channel], &str>) {
        match (parse_channels(text), expected) {
            (Ok(found), Ok(expected)) => assert_eq!(found, expected, "{text}"),
            (Err(message), Err(fragment)) => assert!(message.contains(fragment), "{message}"),
            (found, expected) => panic!("{text}: found {found:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn the_example_policies_channels_are_known_and_others_are_not() {
        check(
            "out-of-band (voice or physical presence)",
            Ok(&[Channel::OutOfBand, Channel::PhysicalPresence]),
        );
        check("signed ticket in SIEM", Ok(&[Channel::SignedTicket]));
        check("Physical  Presence", Ok(&[Channel::PhysicalPresence]));
        check("email", Err("`email` is not one otsentry can verify"));
        check("voice or email", Err("known channels: `physical presence`"));
        check("  ", Err("approval_channel is empty"));
    }
}
