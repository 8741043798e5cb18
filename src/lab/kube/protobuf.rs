//! Just enough of the Kubernetes protobuf envelope to read the SelfSubjectAccessReview and
//! SelfSubjectRulesReview `kubectl auth can-i` always sends as protobuf; every other body is JSON.

use serde_json::{Value, json};

use super::error::KubeStandInError;

/// The magic prefix of a protobuf-encoded Kubernetes object.
const MAGIC: &[u8] = b"k8s\0";

/// Whether a request body is protobuf (by magic, whatever the Content-Type says).
pub(crate) fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(MAGIC)
}

/// Field number -> raw bytes of every length-delimited field of one message (others skipped).
fn fields(mut bytes: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        match key & 7 {
            0 => {
                varint(&mut bytes)?;
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (value, rest) = (bytes.get(..len)?, bytes.get(len..)?);
                out.push((key >> 3, value));
                bytes = rest;
            }
            1 => bytes = bytes.get(8..)?,
            5 => bytes = bytes.get(4..)?,
            _ => return None,
        }
    }
    Some(out)
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn field(message: &[u8], number: u64) -> Option<&[u8]> {
    fields(message)?.into_iter().find(|(n, _)| *n == number).map(|(_, v)| v)
}

fn text(message: &[u8], number: u64) -> String {
    field(message, number).map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
}

/// Decodes a protobuf SelfSubjectAccessReview into its JSON form (spec.resourceAttributes only).
pub(crate) fn self_subject_access_review(body: &[u8]) -> Result<Value, KubeStandInError> {
    let unreadable = || KubeStandInError::BadRequest("cannot decode the protobuf SelfSubjectAccessReview".into());
    let unknown = body.strip_prefix(MAGIC).ok_or_else(unreadable)?;
    // runtime.Unknown { typeMeta = 1, raw = 2 }; SSAR { metadata = 1, spec = 2 }; spec { resourceAttributes = 1 }.
    let raw = field(unknown, 2).ok_or_else(unreadable)?;
    let spec = field(raw, 2).unwrap_or_default();
    let Some(attributes) = field(spec, 1) else {
        let non_resource = field(spec, 2).unwrap_or_default();
        return Ok(json!({"spec": {"nonResourceAttributes": {
            "path": text(non_resource, 1), "verb": text(non_resource, 2)}}}));
    };
    let names = ["namespace", "verb", "group", "version", "resource", "subresource", "name"];
    let attributes: serde_json::Map<String, Value> =
        names.iter().zip(1u64..).map(|(name, number)| (name.to_string(), json!(text(attributes, number)))).collect();
    Ok(json!({"spec": {"resourceAttributes": attributes}}))
}

/// Decodes a protobuf SelfSubjectRulesReview into its JSON form (`spec.namespace` only).
pub(crate) fn self_subject_rules_review(body: &[u8]) -> Result<Value, KubeStandInError> {
    let unreadable = || KubeStandInError::BadRequest("cannot decode the protobuf SelfSubjectRulesReview".into());
    let unknown = body.strip_prefix(MAGIC).ok_or_else(unreadable)?;
    // runtime.Unknown { raw = 2 }; SSRR { metadata = 1, spec = 2 }; spec { namespace = 1 }.
    let raw = field(unknown, 2).ok_or_else(unreadable)?;
    let spec = field(raw, 2).unwrap_or_default();
    Ok(json!({"spec": {"namespace": text(spec, 1)}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(fields: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (number, value) in fields {
            out.push(((number << 3) | 2) as u8);
            out.push(value.len() as u8);
            out.extend_from_slice(value);
        }
        out
    }

    #[test]
    fn can_i_delete_pods_reads_verb_and_resource_from_protobuf() -> Result<(), KubeStandInError> {
        let attributes = message(&[(1, b"shop"), (2, b"delete"), (5, b"pods")]);
        let spec = message(&[(1, &attributes)]);
        let review = message(&[(2, &spec)]);
        let mut body = MAGIC.to_vec();
        body.extend(message(&[(2, &review)]));
        let decoded = self_subject_access_review(&body)?;
        assert_eq!(decoded["spec"]["resourceAttributes"]["verb"], "delete");
        assert_eq!(decoded["spec"]["resourceAttributes"]["resource"], "pods");
        Ok(())
    }

    #[test]
    fn can_i_list_reads_the_namespace_from_protobuf() -> Result<(), KubeStandInError> {
        let review = message(&[(2, &message(&[(1, b"shop")]))]);
        let mut body = MAGIC.to_vec();
        body.extend(message(&[(2, &review)]));
        assert_eq!(self_subject_rules_review(&body)?["spec"]["namespace"], "shop");
        Ok(())
    }
}
