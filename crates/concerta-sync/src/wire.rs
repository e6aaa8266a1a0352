//! The automerge-repo WebSocket protocol v1: CBOR maps, one per binary frame.
//!
//! Decoding is strict about the fields a message needs and lenient about the rest (unknown
//! keys are skipped, definite or indefinite maps, `data` with or without a typed-array tag,
//! integers sent as floats by `cbor-x`). It never panics on any input.

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use crate::DocumentId;

/// Metadata a peer announces in `join` and `peer`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    pub storage_id: Option<String>,
    pub is_ephemeral: bool,
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq)]
pub enum WireMessage {
    Join { sender_id: String, metadata: Option<PeerMetadata>, supported_protocol_versions: Vec<String> },
    Peer { sender_id: String, target_id: String, metadata: Option<PeerMetadata>, selected_protocol_version: String },
    Leave { sender_id: String },
    Error { message: String },
    Request { sender_id: String, target_id: String, document_id: DocumentId, data: Vec<u8> },
    Sync { sender_id: String, target_id: String, document_id: DocumentId, data: Vec<u8> },
    DocUnavailable { sender_id: String, target_id: String, document_id: DocumentId },
    Ephemeral { sender_id: String, target_id: String, count: u64, session_id: String, document_id: DocumentId, data: Vec<u8> },
    RemoteSubscriptionChange { sender_id: String, target_id: String },
    RemoteHeadsChanged { sender_id: String, target_id: String, document_id: DocumentId },
}

/// A frame that is not a valid protocol message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("unknown message type `{0}`")]
    UnknownType(String),
    #[error("invalid document id")]
    InvalidDocumentId,
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        DecodeError::Cbor(e.to_string())
    }
}

#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<String>,
    data: Option<Vec<u8>>,
    message: Option<String>,
    session_id: Option<String>,
    count: Option<u64>,
    selected_protocol_version: Option<String>,
    supported_protocol_versions: Option<Vec<String>>,
    metadata: Option<PeerMetadata>,
}

/// Iterates a definite or indefinite map, calling `f` with each key.
fn each_entry<'b>(
    d: &mut Decoder<'b>,
    mut f: impl FnMut(&mut Decoder<'b>, &str) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    match d.map()? {
        Some(n) => {
            for _ in 0..n {
                let key = d.str()?;
                f(d, key)?;
            }
        }
        None => loop {
            if d.datatype()? == Type::Break {
                d.skip()?;
                break;
            }
            let key = d.str()?;
            f(d, key)?;
        },
    }
    Ok(())
}

fn text(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    Ok(d.str()?.to_owned())
}

fn bytes(d: &mut Decoder<'_>) -> Result<Vec<u8>, DecodeError> {
    if d.datatype()? == Type::Tag {
        d.tag()?;
    }
    Ok(d.bytes()?.to_vec())
}

fn uint(d: &mut Decoder<'_>) -> Result<u64, DecodeError> {
    match d.datatype()? {
        Type::F16 | Type::F32 | Type::F64 => Ok(d.f64()?.max(0.0) as u64),
        _ => Ok(d.u64()?),
    }
}

fn metadata(d: &mut Decoder<'_>) -> Result<PeerMetadata, DecodeError> {
    let mut meta = PeerMetadata::default();
    each_entry(d, |d, key| {
        match key {
            "storageId" if d.datatype()? == Type::String => meta.storage_id = Some(text(d)?),
            "isEphemeral" if d.datatype()? == Type::Bool => meta.is_ephemeral = d.bool()?,
            _ => d.skip()?,
        }
        Ok(())
    })?;
    Ok(meta)
}

impl WireMessage {
    /// Decodes one frame.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let mut d = Decoder::new(frame);
        let mut f = Fields::default();
        each_entry(&mut d, |d, key| {
            match key {
                "type" => f.kind = Some(text(d)?),
                "senderId" => f.sender_id = Some(text(d)?),
                "targetId" => f.target_id = Some(text(d)?),
                "documentId" => f.document_id = Some(text(d)?),
                "data" => f.data = Some(bytes(d)?),
                "message" => f.message = Some(text(d)?),
                "sessionId" => f.session_id = Some(text(d)?),
                "count" => f.count = Some(uint(d)?),
                "selectedProtocolVersion" => f.selected_protocol_version = Some(text(d)?),
                "supportedProtocolVersions" => {
                    let mut versions = Vec::new();
                    let n = d.array()?.ok_or(DecodeError::Cbor("indefinite array".into()))?;
                    for _ in 0..n.min(16) {
                        versions.push(text(d)?);
                    }
                    for _ in 16..n {
                        d.skip()?;
                    }
                    f.supported_protocol_versions = Some(versions);
                }
                "peerMetadata" | "metadata" if d.datatype()? == Type::Map || d.datatype()? == Type::MapIndef => {
                    f.metadata = Some(metadata(d)?)
                }
                _ => d.skip()?,
            }
            Ok(())
        })?;
        let kind = f.kind.take().ok_or(DecodeError::MissingField("type"))?;
        let sender = |f: &mut Fields| f.sender_id.take().ok_or(DecodeError::MissingField("senderId"));
        let target = |f: &mut Fields| f.target_id.take().ok_or(DecodeError::MissingField("targetId"));
        let doc = |f: &mut Fields| -> Result<DocumentId, DecodeError> {
            f.document_id
                .take()
                .ok_or(DecodeError::MissingField("documentId"))?
                .parse()
                .map_err(|_| DecodeError::InvalidDocumentId)
        };
        let data = |f: &mut Fields| f.data.take().ok_or(DecodeError::MissingField("data"));
        Ok(match kind.as_str() {
            "join" => WireMessage::Join {
                sender_id: sender(&mut f)?,
                metadata: f.metadata.take(),
                supported_protocol_versions: f.supported_protocol_versions.take().unwrap_or_default(),
            },
            "peer" => WireMessage::Peer {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                metadata: f.metadata.take(),
                selected_protocol_version: f.selected_protocol_version.take().unwrap_or_default(),
            },
            "leave" => WireMessage::Leave { sender_id: sender(&mut f)? },
            "error" => WireMessage::Error { message: f.message.take().unwrap_or_default() },
            "request" => WireMessage::Request {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                document_id: doc(&mut f)?,
                data: data(&mut f)?,
            },
            "sync" => WireMessage::Sync {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                document_id: doc(&mut f)?,
                data: data(&mut f)?,
            },
            "doc-unavailable" => WireMessage::DocUnavailable {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                document_id: doc(&mut f)?,
            },
            "ephemeral" => WireMessage::Ephemeral {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                count: f.count.ok_or(DecodeError::MissingField("count"))?,
                session_id: f.session_id.take().ok_or(DecodeError::MissingField("sessionId"))?,
                document_id: doc(&mut f)?,
                data: data(&mut f)?,
            },
            "remote-subscription-change" => WireMessage::RemoteSubscriptionChange {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
            },
            "remote-heads-changed" => WireMessage::RemoteHeadsChanged {
                sender_id: sender(&mut f)?,
                target_id: target(&mut f)?,
                document_id: doc(&mut f)?,
            },
            other => return Err(DecodeError::UnknownType(other.chars().take(40).collect())),
        })
    }

    /// Encodes one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(Vec::new());
        // Writing to a Vec cannot fail.
        self.encode_into(&mut e).expect("encoding into a Vec is infallible");
        e.into_writer()
    }

    fn encode_into(&self, e: &mut Encoder<Vec<u8>>) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
        fn meta(e: &mut Encoder<Vec<u8>>, m: &PeerMetadata) -> Result<(), minicbor::encode::Error<std::convert::Infallible>> {
            e.map(if m.storage_id.is_some() { 2 } else { 1 })?;
            if let Some(s) = &m.storage_id {
                e.str("storageId")?.str(s)?;
            }
            e.str("isEphemeral")?.bool(m.is_ephemeral)?;
            Ok(())
        }
        match self {
            WireMessage::Join { sender_id, metadata, supported_protocol_versions } => {
                e.map(if metadata.is_some() { 4 } else { 3 })?;
                e.str("type")?.str("join")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("supportedProtocolVersions")?.array(supported_protocol_versions.len() as u64)?;
                for v in supported_protocol_versions {
                    e.str(v)?;
                }
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    meta(e, m)?;
                }
            }
            WireMessage::Peer { sender_id, target_id, metadata, selected_protocol_version } => {
                e.map(if metadata.is_some() { 5 } else { 4 })?;
                e.str("type")?.str("peer")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("selectedProtocolVersion")?.str(selected_protocol_version)?;
                e.str("targetId")?.str(target_id)?;
                if let Some(m) = metadata {
                    e.str("peerMetadata")?;
                    meta(e, m)?;
                }
            }
            WireMessage::Leave { sender_id } => {
                e.map(2)?.str("type")?.str("leave")?.str("senderId")?.str(sender_id)?;
            }
            WireMessage::Error { message } => {
                e.map(2)?.str("type")?.str("error")?.str("message")?.str(message)?;
            }
            WireMessage::Request { sender_id, target_id, document_id, data }
            | WireMessage::Sync { sender_id, target_id, document_id, data } => {
                let kind = if matches!(self, WireMessage::Request { .. }) { "request" } else { "sync" };
                e.map(5)?;
                e.str("type")?.str(kind)?;
                e.str("documentId")?.str(&document_id.to_string())?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("data")?.bytes(data)?;
            }
            WireMessage::DocUnavailable { sender_id, target_id, document_id } => {
                e.map(4)?;
                e.str("type")?.str("doc-unavailable")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
            }
            WireMessage::Ephemeral { sender_id, target_id, count, session_id, document_id, data } => {
                e.map(7)?;
                e.str("type")?.str("ephemeral")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("count")?.u64(*count)?;
                e.str("sessionId")?.str(session_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
                e.str("data")?.bytes(data)?;
            }
            WireMessage::RemoteSubscriptionChange { sender_id, target_id } => {
                e.map(4)?;
                e.str("type")?.str("remote-subscription-change")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("remove")?.array(0)?;
            }
            WireMessage::RemoteHeadsChanged { sender_id, target_id, document_id } => {
                e.map(5)?;
                e.str("type")?.str("remote-heads-changed")?;
                e.str("senderId")?.str(sender_id)?;
                e.str("targetId")?.str(target_id)?;
                e.str("documentId")?.str(&document_id.to_string())?;
                e.str("newHeads")?.map(0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(m: WireMessage) {
        assert_eq!(WireMessage::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn messages_round_trip() {
        let doc = DocumentId::random();
        round_trip(WireMessage::Join {
            sender_id: "a".into(),
            metadata: Some(PeerMetadata { storage_id: Some("s".into()), is_ephemeral: false }),
            supported_protocol_versions: vec!["1".into()],
        });
        round_trip(WireMessage::Peer {
            sender_id: "s".into(),
            target_id: "a".into(),
            metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
            selected_protocol_version: "1".into(),
        });
        round_trip(WireMessage::Sync { sender_id: "a".into(), target_id: "b".into(), document_id: doc, data: vec![1, 2] });
        round_trip(WireMessage::Request { sender_id: "a".into(), target_id: "b".into(), document_id: doc, data: vec![] });
        round_trip(WireMessage::DocUnavailable { sender_id: "a".into(), target_id: "b".into(), document_id: doc });
        round_trip(WireMessage::Ephemeral {
            sender_id: "a".into(),
            target_id: "b".into(),
            count: 3,
            session_id: "x".into(),
            document_id: doc,
            data: vec![9],
        });
        round_trip(WireMessage::Error { message: "no".into() });
        round_trip(WireMessage::Leave { sender_id: "a".into() });
    }

    #[test]
    fn accepts_floats_tags_and_unknown_keys() {
        let doc = DocumentId::random();
        let mut e = Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("type").unwrap().str("ephemeral").unwrap();
        e.str("extra").unwrap().array(2).unwrap().u8(1).unwrap().u8(2).unwrap();
        e.str("senderId").unwrap().str("a").unwrap();
        e.str("targetId").unwrap().str("b").unwrap();
        e.str("count").unwrap().f64(7.0).unwrap();
        e.str("sessionId").unwrap().str("s").unwrap();
        e.str("documentId").unwrap().str(&doc.to_string()).unwrap();
        e.str("data").unwrap().tag(minicbor::data::Tag::new(64)).unwrap().bytes(&[1]).unwrap();
        e.end().unwrap();
        let m = WireMessage::decode(&e.into_writer()).unwrap();
        assert_eq!(
            m,
            WireMessage::Ephemeral {
                sender_id: "a".into(),
                target_id: "b".into(),
                count: 7,
                session_id: "s".into(),
                document_id: doc,
                data: vec![1]
            }
        );
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for frame in [&b""[..], b"\xa1", b"\xff\xff", b"\xa1\x64type\x63abc", b"\x9f\x9f\x9f"] {
            assert!(WireMessage::decode(frame).is_err());
        }
        let m = WireMessage::decode(&WireMessage::Leave { sender_id: "a".into() }.encode()[..5]);
        assert!(m.is_err());
    }
}
