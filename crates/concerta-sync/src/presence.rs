//! Presence: who is in a document, named by the server, and whose ephemeral messages are
//! whose.
//!
//! The contract (ARCHITECTURE.md, "Presence identity"):
//! - every ephemeral message the engine relays carries, as `senderId`, the sending
//!   connection's own announced peer id, whatever the client wrote;
//! - whenever a document's set of peers or their access changes, every peer of it gets a
//!   roster authored by the server (its own peer id, its own session id, an increasing
//!   count) whose `data` is the CBOR of `{"type":"concerta-peers","peers":[{"peerId",
//!   "userId","name","access"}]}`; clients name cursors from that roster only.
//!
//! The official JavaScript client passes every ephemeral message it receives on to its other
//! peers of the document, the server included (`DocSynchronizer.receiveEphemeralMessage`).
//! Relayed back to everyone with the forwarding connection's peer id, each message would come
//! back once per client under a wrong name; [`Sessions`] recognises those echoes (a session
//! we relayed under another peer id) and drops them before they cost the forwarder's rate.

use std::collections::HashMap;

use minicbor::Encoder;

use crate::engine::{Access, ConnId};

/// Who a connection is, as the runtime authenticated it (carried in
/// [`Event::Connected`](crate::Event::Connected)): what rosters name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The user's id, as the server spells it.
    pub user_id: String,
    /// The user's display name.
    pub name: String,
}

/// One connection in a document, as rosters and [`Engine::presence`](crate::Engine::presence)
/// show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPresence {
    /// The peer id the connection announced in its `join`.
    pub peer_id: String,
    pub user_id: String,
    pub name: String,
    /// `Read` or `Write` (a writer whose change was refused counts as `Read`).
    pub access: Access,
}

/// The `type` of a server-authored roster.
pub const ROSTER_TYPE: &str = "concerta-peers";

/// The CBOR `data` of a roster: `{"type":"concerta-peers","peers":[{"peerId","userId",
/// "name","access"}]}`, `access` being `read` or `write`.
pub fn encode_roster(peers: &[PeerPresence]) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    let write = |e: &mut Encoder<Vec<u8>>| -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        e.map(2)?;
        e.str("type")?.str(ROSTER_TYPE)?;
        e.str("peers")?.array(peers.len() as u64)?;
        for p in peers {
            e.map(4)?;
            e.str("peerId")?.str(&p.peer_id)?;
            e.str("userId")?.str(&p.user_id)?;
            e.str("name")?.str(&p.name)?;
            e.str("access")?.str(if p.access == Access::Write { "write" } else { "read" })?;
        }
        Ok(())
    };
    write(&mut e).expect("encoding into a Vec is infallible");
    e.into_writer()
}

/// Reads a roster's `data` (for tests and tools): `None` unless it is one.
pub fn decode_roster(data: &[u8]) -> Option<Vec<PeerPresence>> {
    use minicbor::data::Type;
    let mut d = minicbor::Decoder::new(data);
    let n = d.map().ok()??;
    let mut kind = None;
    let mut peers = None;
    for _ in 0..n {
        match d.str().ok()? {
            "type" => kind = Some(d.str().ok()?.to_owned()),
            "peers" => {
                let count = d.array().ok()??;
                let mut list = Vec::new();
                for _ in 0..count {
                    let fields = d.map().ok()??;
                    let (mut peer_id, mut user_id, mut name, mut access) = (None, None, None, None);
                    for _ in 0..fields {
                        let key = d.str().ok()?;
                        if d.datatype().ok()? != Type::String {
                            d.skip().ok()?;
                            continue;
                        }
                        let value = d.str().ok()?.to_owned();
                        match key {
                            "peerId" => peer_id = Some(value),
                            "userId" => user_id = Some(value),
                            "name" => name = Some(value),
                            "access" => access = Some(value),
                            _ => {}
                        }
                    }
                    let access = match access?.as_str() {
                        "write" => Access::Write,
                        "read" => Access::Read,
                        _ => return None,
                    };
                    list.push(PeerPresence { peer_id: peer_id?, user_id: user_id?, name: name?, access });
                }
                peers = Some(list);
            }
            _ => d.skip().ok()?,
        }
    }
    (kind.as_deref() == Some(ROSTER_TYPE)).then_some(peers).flatten()
}

/// Ephemeral sessions the engine relayed, to tell a connection's own messages from the
/// echoes clients send back. Bounded: a connection owns at most [`Sessions::PER_CONN`]
/// sessions, and sessions of closed connections are forgotten at the next sweep (kept that
/// long so that echoes still in flight when their author leaves are recognised).
#[derive(Default)]
pub(crate) struct Sessions {
    /// Session id → (the peer id we relayed it under, the connection it came from).
    relayed: HashMap<String, (String, ConnId)>,
    per_conn: HashMap<ConnId, usize>,
}

/// What to do with an incoming ephemeral message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Relay it under the connection's own peer id.
    Relay,
    /// A message we relayed, coming back: drop it.
    Echo,
    /// The connection uses too many sessions: drop it.
    TooMany,
}

impl Sessions {
    /// Sessions one connection may hold (a client uses one per repository).
    pub const PER_CONN: usize = 4;

    /// Classifies a message from `conn` (announced as `own_peer`) that claims `sender` and
    /// `session`, and records the session as `conn`'s when it is to be relayed.
    pub fn classify(&mut self, conn: ConnId, own_peer: &str, sender: &str, session: &str) -> Verdict {
        match self.relayed.get_mut(session) {
            // Relayed before under another connection's name, and this one repeats that name
            // instead of its own: an echo (or an attempt to speak as that peer).
            Some((peer, owner)) if *owner != conn && peer.as_str() == sender && sender != own_peer => Verdict::Echo,
            Some((peer, owner)) => {
                if *owner != conn {
                    // The same repository reconnected, or a new author of that session id:
                    // from now on it is this connection's.
                    let count = self.per_conn.get(&conn).copied().unwrap_or(0);
                    if count >= Self::PER_CONN {
                        return Verdict::TooMany;
                    }
                    let old = std::mem::replace(owner, conn);
                    own_peer.clone_into(peer);
                    release(&mut self.per_conn, old);
                    *self.per_conn.entry(conn).or_default() += 1;
                } else {
                    own_peer.clone_into(peer);
                }
                Verdict::Relay
            }
            None => {
                let count = self.per_conn.entry(conn).or_default();
                if *count >= Self::PER_CONN {
                    return Verdict::TooMany;
                }
                *count += 1;
                self.relayed.insert(session.to_owned(), (own_peer.to_owned(), conn));
                Verdict::Relay
            }
        }
    }

    /// Forgets the sessions of connections that are gone.
    pub fn sweep(&mut self, live: impl Fn(ConnId) -> bool) {
        self.relayed.retain(|_, (_, owner)| live(*owner));
        self.per_conn.retain(|conn, _| live(*conn));
    }
}

fn release(per_conn: &mut HashMap<ConnId, usize>, conn: ConnId) {
    if let Some(n) = per_conn.get_mut(&conn) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_conn.remove(&conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rosters_round_trip() {
        let peers = vec![
            PeerPresence { peer_id: "p1".into(), user_id: "u1".into(), name: "Ana Núñez".into(), access: Access::Write },
            PeerPresence { peer_id: "p2".into(), user_id: "u2".into(), name: "Bruno".into(), access: Access::Read },
        ];
        assert_eq!(decode_roster(&encode_roster(&peers)), Some(peers));
        assert_eq!(decode_roster(&encode_roster(&[])), Some(vec![]));
        assert_eq!(decode_roster(b"\xa0"), None);
    }

    #[test]
    fn echoes_are_told_from_originals_and_spoofs() {
        let mut s = Sessions::default();
        // A speaks in its own session: relayed (as A).
        assert_eq!(s.classify(1, "A", "A", "sa"), Verdict::Relay);
        // B passes A's message back, named A: an echo.
        assert_eq!(s.classify(2, "B", "A", "sa"), Verdict::Echo);
        // B claims to be A in a fresh session: relayed, as B (the caller renames it).
        assert_eq!(s.classify(2, "B", "A", "sb"), Verdict::Relay);
        // ... and B's echo of that one, passed back by A under B's name, is an echo.
        assert_eq!(s.classify(1, "A", "B", "sb"), Verdict::Echo);
        // A reconnects as connection 3 with the same peer id and session: its own.
        assert_eq!(s.classify(3, "A", "A", "sa"), Verdict::Relay);
        assert_eq!(s.classify(2, "B", "A", "sa"), Verdict::Echo);
        // Bounded per connection.
        for i in 0..Sessions::PER_CONN {
            let v = s.classify(9, "Z", "Z", &format!("z{i}"));
            assert_eq!(v, Verdict::Relay);
        }
        assert_eq!(s.classify(9, "Z", "Z", "one-too-many"), Verdict::TooMany);
        s.sweep(|c| c != 9);
        assert_eq!(s.classify(9, "Z", "Z", "one-too-many"), Verdict::Relay);
    }
}
